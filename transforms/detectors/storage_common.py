"""What the storage detectors share: the bucket's region, class prices, GiB arithmetic."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.detectors.common import Price, lookup_price

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


def bucket_storage_cost(frames: Mapping[str, pl.DataFrame], config: Mapping) -> dict[str, Decimal]:
    """Bucket -> what storing its latest snapshot costs a month at the class prices (a plan's cost basis)."""
    inventory = frames.get("storage_inventory")
    if inventory is None or inventory.height == 0:
        return {}
    regions = bucket_regions(frames)
    per_class = (
        latest_snapshot(inventory)
        .group_by("provider", "bucket", "storage_class")
        .agg(pl.col("size_bytes").sum())
        .sort("provider", "bucket", "storage_class")
    )
    cost: dict[str, Decimal] = {}
    for row in per_class.iter_rows(named=True):
        price = class_price(
            frames, row["provider"], regions.get(row["bucket"]), row["storage_class"], "storage_gb_month", config
        )
        if price is not None:
            cost[row["bucket"]] = cost.get(row["bucket"], Decimal(0)) + gb(row["size_bytes"]) * price.value
    return cost
