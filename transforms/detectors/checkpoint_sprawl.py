"""Too many checkpoints kept per training run: keep the last few.

Objects whose key matches ``pattern`` (default ``(?:^|/)checkpoints/([^/]+)/``: the first group is
the run) in each bucket's latest snapshot. Per run the newest ``keep_last`` (default 3) by
last_modified are kept; the rest count. Fires per bucket from ``min_gb`` (default 10 GB).

    monthly_savings = sum over classes of GB beyond the retention x class_price

Confidence: medium (some older checkpoints may be kept on purpose, e.g. for evaluation).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import Price, frame, money, num, to_frame
from transforms.detectors.storage_common import (
    bucket_recommendation,
    bucket_storage_cost,
    class_savings,
    gb,
    latest_snapshot,
)

KIND = "checkpoint_sprawl"
STRATEGY = "data compression"
INPUTS = ("storage_inventory", "prices", "bucket_regions")


def surplus_checkpoints(inventory: pl.DataFrame, pattern: str, keep: int) -> pl.DataFrame:
    """Checkpoint objects beyond the newest ``keep`` of their run."""
    return (
        latest_snapshot(inventory)
        .with_columns(pl.col("key").str.extract(pattern, 1).alias("run"))
        .filter(pl.col("run").is_not_null() & pl.col("size_bytes").is_not_null())
        .sort(["provider", "bucket", "run", "last_modified", "key"], descending=[False, False, False, True, False])
        .with_columns((pl.int_range(pl.len()).over("provider", "bucket", "run") + 1).alias("newest_rank"))
        .filter(pl.col("newest_rank") > keep)
    )


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Buckets where old checkpoints pile up."""
    cfg = config.checkpoint_sprawl
    pattern = cfg.pattern
    keep = cfg.keep_last
    min_gb = cfg.min_gb
    inventory = frame(frames, "storage_inventory")
    if inventory is None:
        return to_frame([])
    surplus = surplus_checkpoints(inventory, pattern, keep)
    per_class = (
        surplus.group_by("provider", "bucket", "storage_class")
        .agg(
            pl.len().alias("objects"), pl.col("size_bytes").sum().alias("bytes"), pl.col("run").n_unique().alias("runs")
        )
        .sort("provider", "bucket", "storage_class")
    )
    cur = config.reporting_currency
    bucket_cost = bucket_storage_cost(frames, config)
    rows = []
    for (provider, bucket), classes in per_class.group_by("provider", "bucket", maintain_order=True):
        if gb(classes["bytes"].sum()) < min_gb:
            continue

        def deleted(c: dict, size: Decimal, price: Price) -> tuple[Decimal, str, dict]:
            saving = size * price.value
            return (
                saving,
                f"{num(size.quantize(Decimal('0.01')))} GB x {num(price.value)} {cur}/GB-month = {num(money(saving))}",
                {
                    "objects": c["objects"],
                    "runs": c["runs"],
                    "gb": size.quantize(Decimal("0.001")),
                    **price.evidence("price"),
                },
            )

        total, formulas, evidence = class_savings(frames, config, provider, bucket, classes, deleted)
        if total <= 0:
            continue
        objects = sum(v["objects"] for v in evidence.values())
        runs = int(surplus.filter(pl.col("bucket") == bucket)["run"].n_unique())
        rows.append(
            bucket_recommendation(
                bucket,
                total,
                bucket_cost,
                config,
                kind=KIND,
                strategy=STRATEGY,
                formula="; ".join(formulas),
                evidence={"bucket": bucket, "keep_last": keep, "pattern": pattern, "runs": runs, "classes": evidence},
                evidence_text=f"{objects} checkpoints beyond the newest {keep} of {runs} run(s) in {bucket}",
                confidence="medium",
                confidence_reason="older checkpoints may be kept on purpose (evaluation, rollback)",
                action=f"Keep only the last {keep} checkpoints per run in {bucket} (lifecycle rule or training-script retention).",
            )
        )
    return to_frame(rows, config)
