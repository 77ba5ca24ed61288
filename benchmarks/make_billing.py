"""Benchmark-sized billing files of exactly N AWS line items, built from the sample generator's rows.

The generator (``sample_data``) gives one sample company's AWS line items (GPU machines, RIs,
Savings Plans, storage, SageMaker, Bedrock, transfer, tax, credits) plus a CPU fleet of hourly
on-demand rows that scales to any size (``sample_data.bulk``). This module takes the first
N of those rows and writes them, chunk by chunk, as one file per format:

- legacy CUR CSV (``lineItem/...`` headers), uncompressed, one file (no manifest);
- CUR 2.0 Parquet (the generator's own writer);
- FOCUS 1.0 CSV: the same line items projected onto FOCUS columns (ProviderName AWS);
- CUR Parquet, Athena style: the legacy rows with snake_case names (``line_item_usage_start_date``),
  timestamps and doubles, plus four columns focus-converter 1.0.0 requires, empty. focus-converter
  refuses ``lineItem/...`` CSV headers (even on its own sample file) and fails on CSV timestamps
  ("expected duration or datetime, got str"), so this Parquet file is the one both it and
  ``aicost ingest`` (format ``aws_cur_parquet``) are measured on.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from sample_data import aws, bulk, storage, usage_logs
from sample_data.money import text_expr
from sample_data.workloads import Window, build_schedule

START = datetime(2026, 11, 2, tzinfo=UTC)  # four ISO weeks inside one month: one billing period
WEEKS = 4
SEED = 7
ISO = "%Y-%m-%dT%H:%M:%SZ"
CHARGE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
}


def aws_items(rows: int) -> Iterator[pl.DataFrame]:
    """Exactly ``rows`` AWS line items in chunks, every chunk with the same columns and types."""
    window = Window(start=START, weeks=WEEKS)
    sched = build_schedule(window, SEED)
    objects = storage.inventory(SEED)
    flows = usage_logs.network_frame(sched, window, SEED)
    base = aws.line_items(sched, window, storage.bucket_totals(objects), flows, SEED)
    template = base.clear()
    yield base.head(rows)
    extra = rows - min(rows, base.height)
    if extra:
        fleet = bulk.fleet_chunks(window, 0, window.hours, bulk.fleet_size(extra, window.hours), extra, "bench")
        for chunk in fleet:
            yield pl.concat([template, chunk], how="diagonal_relaxed").select(template.columns).cast(template.schema)


def focus_frame(items: pl.DataFrame) -> pl.DataFrame:
    """AWS line items as FOCUS 1.0 columns (text, as a FOCUS CSV carries them)."""
    period = pl.col("billing_period_start")
    tags = pl.struct([pl.col(f"tag_{k}").alias(k) for k in aws.TAG_KEYS]).struct.json_encode()
    return items.select(
        AvailabilityZone=pl.col("availability_zone"),
        BilledCost=text_expr("unblended_cost"),
        BillingAccountId=pl.col("payer_account_id"),
        BillingAccountName=pl.col("payer_account_name"),
        BillingCurrency=pl.col("currency"),
        BillingPeriodEnd=pl.col("billing_period_end").dt.strftime(ISO),
        BillingPeriodStart=period.dt.strftime(ISO),
        ChargeCategory=pl.col("line_item_type").replace_strict(CHARGE_CATEGORY, default="Usage"),
        ChargeClass=pl.lit(None, pl.String),
        ChargeDescription=pl.col("description"),
        ChargeFrequency=pl.when(pl.col("line_item_type").is_in(["RIFee", "SavingsPlanRecurringFee"]))
        .then(pl.lit("Recurring"))
        .otherwise(pl.lit("Usage-Based")),
        ChargePeriodEnd=pl.col("usage_end").dt.strftime(ISO),
        ChargePeriodStart=pl.col("usage_start").dt.strftime(ISO),
        ConsumedQuantity=pl.col("usage_amount").cast(pl.String),
        ConsumedUnit=pl.col("pricing_unit"),
        ContractedCost=text_expr("effective_cost"),
        EffectiveCost=text_expr("effective_cost"),
        InvoiceIssuerName=pl.col("invoicing_entity"),
        ListCost=text_expr("public_on_demand_cost"),
        ListUnitPrice=pl.col("public_on_demand_rate").cast(pl.String),
        PricingCategory=pl.lit("Standard"),
        PricingQuantity=pl.col("usage_amount").cast(pl.String),
        PricingUnit=pl.col("pricing_unit"),
        ProviderName=pl.lit("AWS"),
        PublisherName=pl.lit("AWS"),
        RegionId=pl.col("region_code"),
        RegionName=pl.col("region"),
        ResourceId=pl.col("resource_id"),
        ServiceCategory=pl.lit("Compute"),
        ServiceName=pl.col("product_name"),
        SubAccountId=pl.col("usage_account_id"),
        SubAccountName=pl.col("usage_account_name"),
        Tags=tags,
    )


def cur_legacy_frame(items: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """Legacy CUR columns in the fixed ``header`` order (columns a chunk lacks are empty)."""
    frame = aws.legacy_frame(items)
    return frame.select([pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in header])


FC_REQUIRED_EXTRA = ("product_sku", "pricing_rate_code", "pricing_rate_id", "reservation_total_reserved_units")


def athena_name(legacy: str) -> str:
    """``lineItem/UsageStartDate`` -> ``line_item_usage_start_date`` (CUR's Athena / Parquet naming).

    Every capital letter after the first starts a word, as AWS writes them: ``reservation/ReservationARN``
    -> ``reservation_reservation_a_r_n`` (the column the well-architected sample and the reader use).
    """
    if legacy.startswith("resourceTags/user:"):
        return "resource_tags_user_" + legacy.split(":", 1)[1]
    snake = lambda part: re.sub(r"(?<!^)([A-Z])", r"_\1", part).lower()  # noqa: E731
    category, _, name = legacy.partition("/")
    return f"{snake(category)}_{snake(name)}"


def cur_athena_frame(items: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """The legacy CUR rows with Athena-style names, plus the columns focus-converter requires, empty."""
    frame = cur_legacy_frame(items, header)
    frame = frame.rename({c: athena_name(c) for c in frame.columns})
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in FC_REQUIRED_EXTRA)


NUMERIC = re.compile(r"(cost|rate|amount|commitment|fee|units)(_|$)")


def cur_athena_parquet_frame(items: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """Athena-style CUR rows typed as AWS writes them: timestamps, doubles for money and amounts."""
    frame = cur_athena_frame(items, header)
    return frame.with_columns(
        [
            pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC").dt.replace_time_zone(None)
            for c in frame.columns
            if c.endswith("_date") and not NUMERIC.search(c)
        ]
        + [pl.col(c).cast(pl.Float64) for c in frame.columns if NUMERIC.search(c) and not c.endswith("_arn")]
    )


def write_parquet_chunks(frames: Iterator[pl.DataFrame], path: Path) -> int:
    """Write frames as row groups of one Parquet file; returns the rows written."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    written, writer = 0, None
    for frame in frames:
        table = frame.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table.cast(writer.schema))
        written += frame.height
    if writer is not None:
        writer.close()
    return written


def write_csv_chunks(frames: Iterator[pl.DataFrame], path: Path) -> int:
    """Append frames to one CSV file (header once); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "wb") as fh:
        for i, frame in enumerate(frames):
            frame.write_csv(fh, include_header=i == 0)
            written += frame.height
    return written


def write_all(rows: int, out: Path, kinds: tuple[str, ...] = ("aws_cur_csv", "aws_cur2_parquet", "focus")) -> dict:
    """Write one file per format of exactly ``rows`` line items; returns format -> path."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    if "aws_cur_csv" in kinds:
        header = aws.legacy_frame(next(aws_items(1))).columns
        path = out / f"bench-cur-legacy-{rows}.csv"
        n = write_csv_chunks((cur_legacy_frame(c, header) for c in aws_items(rows)), path)
        assert n == rows, (n, rows)
        paths["aws_cur_csv"] = str(path)
    if "aws_cur_athena_csv" in kinds:
        header = aws.legacy_frame(next(aws_items(1))).columns
        path = out / f"bench-cur-athena-{rows}.csv"
        n = write_csv_chunks((cur_athena_frame(c, header) for c in aws_items(rows)), path)
        assert n == rows, (n, rows)
        paths["aws_cur_athena_csv"] = str(path)
    if "aws_cur_parquet" in kinds:
        header = aws.legacy_frame(next(aws_items(1))).columns
        path = out / f"bench-cur-athena-{rows}.snappy.parquet"
        n = write_parquet_chunks((cur_athena_parquet_frame(c, header) for c in aws_items(rows)), path)
        assert n == rows, (n, rows)
        paths["aws_cur_parquet"] = str(path)
    if "aws_cur2_parquet" in kinds:
        path = out / f"bench-cur2-{rows}.snappy.parquet"
        aws.write_cur2(aws_items(rows), path)
        paths["aws_cur2_parquet"] = str(path)
    if "focus" in kinds:
        path = out / f"bench-focus-{rows}.csv"
        n = write_csv_chunks((focus_frame(c) for c in aws_items(rows)), path)
        assert n == rows, (n, rows)
        paths["focus"] = str(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kinds", nargs="+", default=["aws_cur_csv", "aws_cur2_parquet", "focus"])
    args = parser.parse_args()
    print(json.dumps(write_all(args.rows, args.out, tuple(args.kinds))))


if __name__ == "__main__":
    main()
