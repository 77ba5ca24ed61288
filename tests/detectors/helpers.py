"""Tiny hand-built inputs for the detector tests."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl

from transforms.config import DetectorConfig, RecommendationSettings, detector_config
from transforms.schema import (
    ATTRIBUTED_COST_COLUMNS,
    GPU_METRICS_COLUMNS,
    INFERENCE_COLUMNS,
    JOBS_COLUMNS,
    MONEY,
    NETWORK_FLOWS_COLUMNS,
    STORAGE_INVENTORY_COLUMNS,
    conform,
)

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "recommendations.toml"
WEEK = date(2026, 11, 16)
T0 = datetime(2026, 11, 16, tzinfo=timezone.utc)

MACHINE_SCHEMA = {
    "resource_id": pl.String,
    "provider": pl.String,
    "region_id": pl.String,
    "instance_type": pl.String,
    "gpu_count": pl.Int32,
    "billing_currency": pl.String,
    "hours": MONEY,
    "effective_cost": MONEY,
    "pricing_category": pl.String,
    "tags": pl.String,
}
PRICE_SCHEMA = {
    "provider": pl.String,
    "region": pl.String,
    "item": pl.String,
    "price_type": pl.String,
    "value": MONEY,
    "unit": pl.String,
    "currency": pl.String,
    "source_id": pl.String,
    "as_of": pl.String,
    "notes": pl.String,
}


def config(fx: dict | None = None, **overrides) -> DetectorConfig:
    """The shipped settings plus this run's context; ``overrides`` = {section: {key: value}} (validated)."""
    document = tomllib.loads(CONFIG_FILE.read_text())
    for name, values in overrides.items():
        document.setdefault(name, {}).update(values)
    return detector_config(RecommendationSettings.model_validate(document), WEEK, "USD", fx)


def at(hours: float) -> datetime:
    """The report week's Monday 00:00 UTC plus ``hours``."""
    return T0 + timedelta(hours=hours)


def metrics(resource_id: str, utils: list[float], gpus: int = 8, start_hour: int = 0) -> pl.DataFrame:
    """One sample per GPU per hour: hour i of the week at ``utils[i]`` % on every GPU."""
    rows = [
        {
            "ts": at(start_hour + h),
            "interval_s": 3600.0,
            "resource_id": resource_id,
            "gpu_index": g,
            "utilization_pct": float(u),
        }
        for h, u in enumerate(utils)
        for g in range(gpus)
    ]
    return conform(pl.DataFrame(rows).lazy(), GPU_METRICS_COLUMNS).collect()


def hourly_requests(endpoint, model, resource, requests, batch, tokens=(100, 50), hours=168) -> list[dict]:
    """Inference rows of one endpoint, one an hour from the week's start: ``requests`` an hour at mean
    batch size ``batch``, ``tokens`` = (in, out) per request."""
    return [
        {
            "ts": at(h),
            "interval_s": 3600.0,
            "endpoint": endpoint,
            "model": model,
            "resource_id": resource,
            "requests": requests,
            "tokens_in": tokens[0] * requests,
            "tokens_out": tokens[1] * requests,
            "batch_size": batch,
        }
        for h in range(hours)
    ]


def hourly_flows(hours: int, gb_per_hour: int, **fields) -> list[dict]:
    """Network flow rows, one an hour from the week's start, each moving ``gb_per_hour`` decimal GB;
    ``fields``: source, destination, regions, content key."""
    return [
        {"interval_start": at(h), "interval_s": 3600.0, **fields, "bytes": gb_per_hour * 10**9} for h in range(hours)
    ]


def tagged_costs(*rows: tuple) -> pl.DataFrame:
    """The ``tagged_costs`` input: AWS us-east-1 rows billed in USD, each (resource_id, tags JSON,
    consumed_unit, effective_cost, consumed_quantity), money as text."""
    return pl.DataFrame(
        [
            {
                "resource_id": resource_id,
                "provider": "aws",
                "region_id": "us-east-1",
                "billing_currency": "USD",
                "tags": tags,
                "consumed_unit": unit,
                "effective_cost": Decimal(cost),
                "consumed_quantity": Decimal(quantity),
            }
            for resource_id, tags, unit, cost, quantity in rows
        ],
        schema={
            "resource_id": pl.String,
            "provider": pl.String,
            "region_id": pl.String,
            "billing_currency": pl.String,
            "tags": pl.String,
            "consumed_unit": pl.String,
            "effective_cost": MONEY,
            "consumed_quantity": MONEY,
        },
    )


def machines(*rows: dict) -> pl.DataFrame:
    """Billing facts per machine (as recommend_machines.sql returns them)."""
    defaults = {
        "provider": "aws",
        "region_id": "us-east-1",
        "billing_currency": "USD",
        "pricing_category": "Standard",
        "tags": None,
        "gpu_count": 8,
    }
    full = [
        {
            **defaults,
            **{
                k: (Decimal(str(v)) if k in ("hours", "effective_cost") and v is not None else v)
                for k, v in row.items()
            },
        }
        for row in rows
    ]
    return pl.DataFrame(full, schema=MACHINE_SCHEMA)


def g5_xlarge(*resource_ids: str, effective_cost: str = "168.00", **facts) -> pl.DataFrame:
    """One-GPU g5.xlarge machines in us-east-1, each billed 168 h this week for ``effective_cost``
    (168.00: 1 USD/h); ``facts`` adds columns (e.g. tags)."""
    return machines(
        *(
            {
                "resource_id": r,
                "instance_type": "g5.xlarge",
                "gpu_count": 1,
                "hours": 168,
                "effective_cost": effective_cost,
                **facts,
            }
            for r in resource_ids
        )
    )


def prices(*rows: tuple) -> pl.DataFrame:
    """Price rows: (provider, region, item, price_type, value)."""
    return pl.DataFrame(
        [
            {
                "provider": p,
                "region": r,
                "item": i,
                "price_type": t,
                "value": Decimal(str(v)),
                "unit": "",
                "currency": "USD",
                "source_id": "test_prices",
                "as_of": "2026-01-01",
                "notes": None,
            }
            for p, r, i, t, v in rows
        ],
        schema=PRICE_SCHEMA,
    )


def table(columns: dict, rows: list[dict]) -> pl.DataFrame:
    """Rows conformed to a schema (missing columns null)."""
    if not rows:
        return pl.DataFrame(schema=columns)
    return conform(pl.DataFrame(rows, infer_schema_length=None).lazy(), columns).collect()


def jobs(*rows: dict) -> pl.DataFrame:
    return table(JOBS_COLUMNS, list(rows))


def inference(*rows: dict) -> pl.DataFrame:
    return table(INFERENCE_COLUMNS, list(rows))


def storage(*rows: dict) -> pl.DataFrame:
    return table(STORAGE_INVENTORY_COLUMNS, list(rows))


def flows(*rows: dict) -> pl.DataFrame:
    return table(NETWORK_FLOWS_COLUMNS, list(rows))


def attributed(*rows: dict) -> pl.DataFrame:
    """Attributed cost rows; money given as text or Decimal."""
    fixed = [
        {**r, **{k: Decimal(str(r[k])) for k in ("effective_cost", "effective_cost_reporting") if k in r}} for r in rows
    ]
    return table(ATTRIBUTED_COST_COLUMNS, fixed)


def instances_frame(*rows: tuple) -> pl.DataFrame:
    """Instance reference rows: (provider, instance_type, gpu_count)."""
    return pl.DataFrame([{"provider": p, "instance_type": i, "gpu_count": float(g)} for p, i, g in rows])


def commitment_inputs(con, lines: pl.DataFrame, lookback_weeks: int = 4) -> dict[str, pl.DataFrame]:
    """The commitments detector's inputs as the flow reads them: ``lines`` (billing line items) stored in
    the warehouse ``con``, then read by the flow's own queries for the lookback ending with ``WEEK``."""
    from flows.recommend import commitment_inputs as read
    from flows.warehouse import insert_frame

    insert_frame(con, "billing_line_items", lines)
    return read(con, T0 + timedelta(weeks=1), lookback_weeks)
