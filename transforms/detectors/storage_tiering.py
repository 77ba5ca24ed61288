"""Hot objects nobody reads: move them to an infrequent-access or archive class.

Considers each bucket's latest inventory snapshot. An object in a hot class (``hot_classes``,
default STANDARD / Hot) that was last read ``archive_after_days`` (default 90) or more days before
the snapshot goes to the provider's ``archive_class`` (default S3 Glacier Instant Retrieval /
Coldline / Cold); one unread ``infrequent_after_days`` (default 30) or more goes to the
``infrequent_class`` (Standard-IA / Nearline / Cool). Objects never count when they are smaller than
the target's minimum billable size (e.g. 128 KB for Standard-IA), younger (since last modified)
than the target's minimum storage duration, or have no last-access date (unless
``count_unknown_access``). Sizes are binary GB (GiB, as providers bill).

Per target tier, net of the costs the move brings:

    storage   = GB x (hot_price - target_price)
    retrieval = GB x reread_fraction_per_month x target_retrieval_price           (default 5 %)
    transition= objects x transition_fee_per_1000 / 1000 / transition_amortisation_months
    early_del = GB x early_deletion_fraction x target_price x min_storage_days / 30 (default 5 %)
    monthly_savings = sum over tiers of (storage - retrieval - transition - early_del)

Confidence: high when every counted object has a last-access date, else medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig, StorageTiering
from transforms.detectors.common import frame, money, num, to_frame
from transforms.detectors.storage_common import (
    bucket_recommendation,
    bucket_regions,
    bucket_storage_cost,
    class_price,
    gb,
    latest_snapshot,
)

KIND = "storage_tiering"
STRATEGY = "hot/cold tiering"
INPUTS = ("storage_inventory", "prices", "bucket_regions")


def _tier_terms(frames, config, cfg, provider, region, hot_class, target, objects, size_bytes) -> dict | None:
    """The money terms of moving these objects to ``target``; None without the prices."""
    hot = class_price(frames, provider, region, hot_class, "storage_gb_month", config)
    cold = class_price(frames, provider, region, target, "storage_gb_month", config)
    if hot is None or cold is None:
        return None
    retrieval = class_price(frames, provider, region, target, "retrieval_gb", config)
    min_days = class_price(frames, provider, region, target, "min_storage_days", config)
    size = gb(size_bytes)
    reread = cfg.reread_fraction_per_month
    fee = cfg.transition_fee_per_1000
    months = cfg.transition_amortisation_months
    early = cfg.early_deletion_fraction
    days = min_days.value if min_days else Decimal(0)
    retrieval_price = retrieval.value if retrieval else Decimal(0)
    terms = {
        "storage": size * (hot.value - cold.value),
        "retrieval": size * reread * retrieval_price,
        "transition": Decimal(objects) * fee / Decimal(1000) / months,
        "early_deletion": size * early * cold.value * days / Decimal(30),
    }
    terms["net"] = terms["storage"] - terms["retrieval"] - terms["transition"] - terms["early_deletion"]
    terms["formula"] = (
        f"{target}: {num(size.quantize(Decimal('0.01')))} GB x ({num(hot.value)} - {num(cold.value)})"
        f" - {num(size.quantize(Decimal('0.01')))} GB x {num(reread)} x {num(retrieval_price)}"
        f" - {objects} x {num(fee)} / 1000 / {num(months)}"
        f" - {num(size.quantize(Decimal('0.01')))} GB x {num(early)} x {num(cold.value)} x {num(days)} / 30"
        f" = {num(money(terms['net']))}"
    )
    terms["evidence"] = {
        "objects": objects,
        "gb": size.quantize(Decimal("0.001")),
        **hot.evidence("hot_price"),
        **cold.evidence("target_price"),
        "retrieval_price": float(retrieval_price),
        "min_storage_days": float(days),
        "net_monthly": money(terms["net"]),
    }
    return terms


def eligible_objects(
    inventory: pl.DataFrame, frames: Mapping, config: DetectorConfig, cfg: StorageTiering
) -> pl.DataFrame:
    """Hot objects with their target class, after the size, age and access rules."""
    hot = [c.upper() for c in cfg.hot_classes]
    ia_days = cfg.infrequent_after_days
    archive_days = cfg.archive_after_days
    ia_class = cfg.infrequent_class
    archive_class = cfg.archive_class
    unknown = cfg.count_unknown_access
    snap = pl.col("snapshot_date").cast(pl.Datetime("us", "UTC"))
    read_ref = pl.col("last_accessed").fill_null(pl.col("last_modified")) if unknown else pl.col("last_accessed")
    objects = (
        latest_snapshot(inventory)
        .filter(pl.col("storage_class").str.to_uppercase().is_in(hot) & pl.col("size_bytes").is_not_null())
        .with_columns(
            ((snap - read_ref).dt.total_days()).alias("unread_days"),
            ((snap - pl.col("last_modified")).dt.total_days()).alias("age_days"),
        )
        .filter(pl.col("unread_days").is_not_null() & pl.col("age_days").is_not_null())
        .with_columns(
            pl.when(pl.col("unread_days") >= archive_days)
            .then(pl.col("provider").replace_strict(archive_class, default=None, return_dtype=pl.String))
            .when(pl.col("unread_days") >= ia_days)
            .then(pl.col("provider").replace_strict(ia_class, default=None, return_dtype=pl.String))
            .alias("target")
        )
        .filter(pl.col("target").is_not_null())
    )
    regions = bucket_regions(frames)
    minimums = []
    for row in objects.select("provider", "bucket", "target").unique().iter_rows(named=True):
        region = regions.get(row["bucket"])
        size = class_price(frames, row["provider"], region, row["target"], "min_object_kb", config)
        days = class_price(frames, row["provider"], region, row["target"], "min_storage_days", config)
        minimums.append(
            {
                **row,
                "min_bytes": int(size.value * 1024) if size else 0,
                "min_days": int(days.value) if days else 0,
            }
        )
    if not minimums:
        return objects.clear()
    limits = pl.DataFrame(
        minimums,
        schema={
            "provider": pl.String,
            "bucket": pl.String,
            "target": pl.String,
            "min_bytes": pl.Int64,
            "min_days": pl.Int64,
        },
    )
    return objects.join(limits, on=["provider", "bucket", "target"], how="left").filter(
        (pl.col("size_bytes") >= pl.col("min_bytes")) & (pl.col("age_days") >= pl.col("min_days"))
    )


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Buckets holding hot objects that have gone cold."""
    cfg = config.storage_tiering
    inventory = frame(frames, "storage_inventory")
    if inventory is None:
        return to_frame([])
    objects = eligible_objects(inventory, frames, config, cfg)
    regions = bucket_regions(frames)
    per_tier = (
        objects.group_by("provider", "bucket", "storage_class", "target")
        .agg(
            pl.len().alias("objects"),
            pl.col("size_bytes").sum().alias("bytes"),
            pl.col("last_accessed").is_null().sum().alias("unknown_access"),
            pl.col("unread_days").median().alias("median_unread_days"),
        )
        .sort("provider", "bucket", "target", "storage_class")
    )
    cur = config.reporting_currency
    bucket_cost = bucket_storage_cost(frames, config)
    rows = []
    for (provider, bucket), tiers in per_tier.group_by("provider", "bucket", maintain_order=True):
        region = regions.get(bucket)
        total, formulas, evidence, unknown = Decimal(0), [], {}, 0
        for t in tiers.iter_rows(named=True):
            terms = _tier_terms(
                frames, config, cfg, provider, region, t["storage_class"], t["target"], t["objects"], t["bytes"]
            )
            if terms is None or terms["net"] <= 0:
                continue
            total += terms["net"]
            formulas.append(terms["formula"])
            evidence[t["target"]] = {**terms["evidence"], "median_unread_days": t["median_unread_days"]}
            unknown += t["unknown_access"]
        if total <= 0:
            continue
        moved_gb = sum((v["gb"] for v in evidence.values()), Decimal(0))
        rows.append(
            bucket_recommendation(
                bucket,
                total,
                bucket_cost,
                config,
                kind=KIND,
                strategy=STRATEGY,
                formula="; ".join(formulas) + f"; total = {num(money(total))} {cur}/month",
                evidence={
                    "bucket": bucket,
                    "provider": provider,
                    "region": region,
                    "tiers": evidence,
                    "rules": {
                        "infrequent_after_days": cfg.infrequent_after_days,
                        "archive_after_days": cfg.archive_after_days,
                    },
                },
                evidence_text=(
                    f"{num(moved_gb.quantize(Decimal('0.1')))} GB in hot storage unread for 30+ days "
                    "(" + ", ".join(f"{k}: {v['objects']} objects" for k, v in evidence.items()) + ")"
                ),
                confidence="medium" if unknown else "high",
                confidence_reason=(
                    "some objects have no last-access date"
                    if unknown
                    else "every counted object has a last-access date"
                ),
                action=f"Add a lifecycle rule on {bucket} moving objects unread for 30 / 90 days to {', '.join(evidence)}.",
            )
        )
    return to_frame(rows, config)
