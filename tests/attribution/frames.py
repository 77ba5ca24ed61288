"""Tiny hand-made billing, job and metric frames for attribution tests."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import duckdb
import polars as pl

from flows.warehouse import create_schema, insert_frame, query
from transforms.schema import BILLING_COLUMNS, GPU_METRICS_COLUMNS, JOBS_COLUMNS, conform
from transforms.weeks import week_params as _week_params


def ts(text: str) -> datetime:
    """A UTC datetime from ``2026-11-16T03:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def billing(*rows: dict) -> pl.DataFrame:
    """Billing rows with defaults for the columns a test does not care about."""
    defaults = {"provider": "aws", "billing_account_id": "111", "billing_currency": "USD", "charge_category": "Usage"}
    records = []
    for row in rows:
        record = {**defaults, **row}
        for key in ("charge_period_start", "charge_period_end"):
            if isinstance(record.get(key), str):
                record[key] = ts(record[key])
        for key in ("effective_cost", "billed_cost", "list_cost"):
            if key in record and record[key] is not None:
                record[key] = Decimal(str(record[key]))
        record.setdefault("billed_cost", record.get("effective_cost"))
        if isinstance(record.get("tags"), dict):
            record["tags"] = json.dumps(record["tags"])
        records.append(record)
    frame = pl.DataFrame(records, infer_schema_length=None, strict=False)
    return conform(frame.lazy(), BILLING_COLUMNS).collect()


# Two billing rows of 2026-W47: 96.00 of 8-GPU compute on Monday, 12.50 of STANDARD storage on Tuesday.
GPU_AND_STORAGE_ROWS = (
    {
        "resource_id": "i-gpu",
        "x_gpu_count": 8,
        "service_name": "Amazon Elastic Compute Cloud",
        "charge_period_start": "2026-11-16T00:00",
        "charge_period_end": "2026-11-17T00:00",
        "effective_cost": "96",
        "region_id": "us-east-1",
    },
    {
        "resource_id": "bucket-a",
        "service_name": "Amazon Simple Storage Service",
        "x_storage_class": "STANDARD",
        "charge_period_start": "2026-11-17T00:00",
        "charge_period_end": "2026-11-18T00:00",
        "effective_cost": "12.5",
    },
)


def jobs(*rows: dict) -> pl.DataFrame:
    records = [
        {**row, "start_ts": ts(row["start_ts"]), "end_ts": ts(row["end_ts"]) if row.get("end_ts") else None}
        for row in rows
    ]
    if not records:
        return conform(pl.DataFrame().lazy(), JOBS_COLUMNS).collect()
    return conform(pl.DataFrame(records, infer_schema_length=None, strict=False).lazy(), JOBS_COLUMNS).collect()


def samples(*rows: dict) -> pl.DataFrame:
    """GPU metric samples (rows of the gpu_metrics table)."""
    records = [{**row, "ts": ts(row["ts"])} for row in rows]
    if not records:
        return conform(pl.DataFrame().lazy(), GPU_METRICS_COLUMNS).collect()
    return conform(pl.DataFrame(records, infer_schema_length=None, strict=False).lazy(), GPU_METRICS_COLUMNS).collect()


def metrics(*rows: dict, week_start: date = date(2026, 11, 16)) -> pl.DataFrame:
    """The week's GPU telemetry as attribution reads it: the samples aggregated by the real SQL."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        create_schema(con)
        insert_frame(con, "gpu_metrics", samples(*rows))
        return query(con, "attribution_gpu_metrics", _week_params(week_start))
    finally:
        con.close()
