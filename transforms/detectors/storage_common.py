"""What the storage detectors share: the bucket's region, class prices, GiB arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal

import polars as pl

from transforms.detectors.common import Price, lookup_price, recommendation

BYTES_PER_GB = Decimal(1024**3)  # providers bill storage per GiB and call it GB


def gb(size_bytes: int | Decimal) -> Decimal:
    """Bytes as (binary) GB."""
    return Decimal(size_bytes) / BYTES_PER_GB


def bucket_regions(frames: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Bucket -> region where the bill names it (``bucket_regions`` frame: resource_id, region_id)."""
    regions = frames.get("bucket_regions")
    if regions is None or regions.height == 0:
        return {}
    return {r["resource_id"]: r["region_id"] for r in regions.iter_rows(named=True) if r["region_id"]}


def class_price(
    frames: Mapping[str, pl.DataFrame],
    provider: str,
    region: str | None,
    storage_class: str,
    price_type: str,
    config: Mapping,
) -> Price | None:
    """A storage-class figure from the price table (class names as the inventory spells them)."""
    prices = frames.get("prices")
    found = lookup_price(prices, provider, region, storage_class, price_type, config)
    if found is None and storage_class != storage_class.upper():
        found = lookup_price(prices, provider, region, storage_class.upper(), price_type, config)
    return found


def latest_snapshot(inventory: pl.DataFrame) -> pl.DataFrame:
    """Only each bucket's latest snapshot."""
    latest = inventory.group_by("provider", "bucket").agg(pl.col("snapshot_date").max().alias("_latest"))
    return (
        inventory.join(latest, on=["provider", "bucket"], how="inner")
        .filter(pl.col("snapshot_date") == pl.col("_latest"))
        .drop("_latest")
    )


def priced_classes(
    frames: Mapping[str, pl.DataFrame],
    config,
    provider: str,
    bucket: str,
    classes: pl.DataFrame,
    size_column: str = "bytes",
) -> Iterator[tuple[dict, Decimal, Price]]:
    """Each storage class of one bucket that the price table prices: (its row, its size in GB, the
    class's storage price per GB-month in the bucket's billed region). Classes with no price are left out."""
    region = bucket_regions(frames).get(bucket)
    for row in classes.iter_rows(named=True):
        price = class_price(frames, provider, region, row["storage_class"], "storage_gb_month", config)
        if price is not None:
            yield row, gb(row[size_column]), price


def class_savings(
    frames: Mapping[str, pl.DataFrame],
    config,
    provider: str,
    bucket: str,
    classes: pl.DataFrame,
    term: Callable[[dict, Decimal, Price], tuple[Decimal, str, dict]],
) -> tuple[Decimal, list[str], dict[str, dict]]:
    """A bucket's saving added up over its priced storage classes (``priced_classes``): ``term(row, gb,
    price)`` gives one class's (saving, formula, evidence); returns the total, the formulas and the
    evidence per class."""
    total, formulas, evidence = Decimal(0), [], {}
    for row, size, price in priced_classes(frames, config, provider, bucket, classes):
        saving, formula, found = term(row, size, price)
        total += saving
        formulas.append(formula)
        evidence[row["storage_class"]] = found
    return total, formulas, evidence


def bucket_recommendation(bucket: str, total: Decimal, bucket_cost: Mapping[str, Decimal], config, **fields) -> dict:
    """A ``recommendation`` saving ``total`` a month on one bucket: its basis is what storing the bucket
    costs (``bucket_storage_cost``, else the saving itself), its overlap group ``storage:<bucket>``."""
    return recommendation(
        resource_id=bucket,
        monthly_savings=total,
        config=config,
        cost_basis={bucket: bucket_cost.get(bucket, total)},
        overlap_group=f"storage:{bucket}",
        **fields,
    )


def bucket_storage_cost(frames: Mapping[str, pl.DataFrame], config: Mapping) -> dict[str, Decimal]:
    """Bucket -> what storing its latest snapshot costs a month at the class prices (a plan's cost basis)."""
    inventory = frames.get("storage_inventory")
    if inventory is None or inventory.height == 0:
        return {}
    per_class = (
        latest_snapshot(inventory)
        .group_by("provider", "bucket", "storage_class")
        .agg(pl.col("size_bytes").sum())
        .sort("provider", "bucket", "storage_class")
    )
    cost: dict[str, Decimal] = {}
    for (provider, bucket), classes in per_class.group_by("provider", "bucket", maintain_order=True):
        for _, size, price in priced_classes(frames, config, provider, bucket, classes, "size_bytes"):
            cost[bucket] = cost.get(bucket, Decimal(0)) + size * price.value
    return cost
