"""Large uncompressed text in object storage: compress it or convert it to Parquet.

Objects whose keys end with one of ``suffixes`` (default .csv .json .jsonl .log .txt; compressed
endings such as .csv.gz never match) in each bucket's latest snapshot, summed per bucket; fires
from ``min_gb`` (default 100 GB). Sizes are binary GB; the price is the object's own class price.

    monthly_savings = sum over classes of GB x (1 - 1 / ratio) x class_price     (ratio default 4)

Confidence: medium (the achievable ratio depends on the data).
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

KIND = "data_compression"
STRATEGY = "data compression"
INPUTS = ("storage_inventory", "prices", "bucket_regions")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Buckets with a lot of uncompressed text."""
    cfg = config.data_compression
    suffixes = [s.lower() for s in cfg.suffixes]
    ratio = cfg.ratio
    min_gb = cfg.min_gb
    inventory = frame(frames, "storage_inventory")
    if inventory is None:
        return to_frame([])
    key = pl.col("key").str.to_lowercase()
    text = latest_snapshot(inventory).filter(
        pl.any_horizontal([key.str.ends_with(s) for s in suffixes]) & pl.col("size_bytes").is_not_null()
    )
    per_class = (
        text.group_by("provider", "bucket", "storage_class")
        .agg(pl.len().alias("objects"), pl.col("size_bytes").sum().alias("bytes"))
        .sort("provider", "bucket", "storage_class")
    )
    cur = config.reporting_currency
    bucket_cost = bucket_storage_cost(frames, config)
    rows = []
    for (provider, bucket), classes in per_class.group_by("provider", "bucket", maintain_order=True):
        total_gb = gb(classes["bytes"].sum())
        if total_gb < min_gb:
            continue

        def compressed(c: dict, size: Decimal, price: Price) -> tuple[Decimal, str, dict]:
            saving = size * (Decimal(1) - Decimal(1) / ratio) * price.value
            return (
                saving,
                f"{num(size.quantize(Decimal('0.01')))} GB x (1 - 1 / {num(ratio)}) x {num(price.value)} {cur}/GB-month"
                f" = {num(money(saving))}",
                {"objects": c["objects"], "gb": size.quantize(Decimal("0.001")), **price.evidence("price")},
            )

        total, formulas, evidence = class_savings(frames, config, provider, bucket, classes, compressed)
        if total <= 0:
            continue
        rows.append(
            bucket_recommendation(
                bucket,
                total,
                bucket_cost,
                config,
                kind=KIND,
                strategy=STRATEGY,
                formula="; ".join(formulas),
                evidence={"bucket": bucket, "suffixes": suffixes, "assumed_ratio": float(ratio), "classes": evidence},
                evidence_text=(
                    f"{num(total_gb.quantize(Decimal('0.1')))} GB of uncompressed text "
                    f"({sum(v['objects'] for v in evidence.values())} objects) in {bucket}"
                ),
                confidence="medium",
                confidence_reason=f"the compression ratio {num(ratio)} is assumed; text usually compresses 3-10x",
                action=f"Compress the text objects in {bucket} (gzip / zstd) or rewrite them as Parquet.",
            )
        )
    return to_frame(rows, config)
