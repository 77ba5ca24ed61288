"""DuckDB groups the week's identical line items before attribution (sql/attribution_billing_groups.sql):
many rows that collapse (one machine's hours, credits and refunds among them, several currencies, identical
monthly fees) attribute to the figures of attributing them row by row, rounding of each row included."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl

from flows.attribute import attribute_week, compute_week, load_config
from flows.settings import Settings
from flows.warehouse import insert_frame, query
from tests.attribution.frames import billing, jobs
from transforms.attribution import attribute_costs
from transforms.weeks import week_params

WEEK = date(2026, 11, 16)
GPU = {
    "resource_id": "i-gpu",
    "x_gpu_count": 8,
    "x_instance_type": "p4d.24xlarge",
    "service_name": "Amazon Elastic Compute Cloud",
}


def hour(day: int, h: int) -> dict:
    start = datetime(2026, 11, day, h, tzinfo=timezone.utc)
    return {"charge_period_start": start, "charge_period_end": start + timedelta(hours=1)}


def week_rows() -> pl.DataFrame:
    """53 line items in source order that DuckDB groups into 6."""
    rows = [{**GPU, **hour(17, 0), "charge_category": "Credit", "effective_cost": "-1"}]  # first in source order
    rows += [{**GPU, **hour(17, h), "effective_cost": "10"} for h in range(12)]  # the machine billed 00:00-12:00
    rows += [{**GPU, **hour(17, h), "charge_category": "Credit", "effective_cost": "-1"} for h in (1, 2)]
    bucket = {"resource_id": "bucket-eu", "service_name": "Amazon Simple Storage Service", "billing_currency": "EUR"}
    rows += [{**bucket, **hour(18, h), "x_storage_class": "STANDARD", "effective_cost": "0.125"} for h in range(24)]
    rows += [
        {**bucket, **hour(18, h), "charge_category": "Credit", "x_line_item_type": "Refund", "effective_cost": "-0.125"}
        for h in (3, 4)
    ]
    vm = {"resource_id": "vm-jp", "service_name": "Virtual Machines", "billing_currency": "JPY", "provider": "azure"}
    rows += [{**vm, **hour(19, h), "effective_cost": "37"} for h in range(10)]
    fee = {
        "service_name": "Savings Plans for AWS Compute usage",
        "charge_category": "Purchase",
        "x_line_item_type": "SavingsPlanRecurringFee",
        "charge_period_start": "2026-11-01T00:00",
        "charge_period_end": "2026-12-01T00:00",
        "effective_cost": "100",
    }
    rows += [fee, fee]
    return billing(*({**r, "source_file": "cur.parquet", "source_row": n} for n, r in enumerate(rows, start=1)))


def seed(con) -> None:
    insert_frame(con, "billing_line_items", week_rows())
    work = {"kind": "training", "team": "vision", "project": "det", "model": "yolo", "resource_id": "i-gpu"}
    insert_frame(
        con,
        "jobs",
        jobs({**work, "job_id": "a", "start_ts": "2026-11-17T00:00", "end_ts": "2026-11-17T05:00", "gpus": 4}),
    )


def lines(frame: pl.DataFrame) -> dict[tuple, tuple]:
    keys = ["resource_id", "charge_category", "team", "is_idle"]
    columns = ("effective_cost", "effective_cost_reporting", "gpu_hours")
    summed = frame.group_by(keys).agg(pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()) for c in columns)
    return {tuple(r[:4]): tuple(r[4:]) for r in summed.rows()}


def test_grouped_line_items_attribute_to_the_row_by_row_figures(warehouse):
    seed(warehouse)
    groups = query(warehouse, "attribution_billing_groups", week_params(WEEK))
    assert (groups.height, groups["line_items"].sum()) == (6, 53)
    machine = groups.filter(pl.col("resource_id") == "i-gpu", pl.col("charge_category") == "Usage")
    assert machine["periods"].list.len().item() == 12 and machine["source_row"].item() == 2

    frame = compute_week(warehouse, WEEK, Settings()).frame
    got = lines(frame)
    # i-gpu, Tue 17th: billed 12 distinct hours (the credits' hours are among them) x 8 GPUs = 96 GPU-h; job a
    # used 4 GPUs x 5 h = 20 GPU-h = 5/24 of it, the rest idle under its main use. Each line item is cut on
    # its own, floored to 1e-12: 10 -> 2.083333333333 + 7.916666666667, -1 -> -0.208333333334 + -0.791666666666.
    # The GPU-hours go to the first slice in source order of the longest (all are 1 h): the credit of row 1.
    assert got[("i-gpu", "Usage", "vision", False)] == (Decimal("24.999999999996"), Decimal("24.999999999996"), None)
    assert got[("i-gpu", "Usage", "vision", True)] == (Decimal("95.000000000004"), Decimal("95.000000000004"), None)
    assert got[("i-gpu", "Credit", "vision", False)] == (Decimal("-0.625000000002"), Decimal("-0.625000000002"), 20.0)
    assert got[("i-gpu", "Credit", "vision", True)] == (Decimal("-2.374999999998"), Decimal("-2.374999999998"), 76.0)
    # EUR at the example rate 1.08: 24 x 0.125 and two refunds of 0.125; JPY has no rate
    assert got[("bucket-eu", "Usage", "unattributed", False)] == (Decimal("3"), Decimal("3.24"), None)
    assert got[("bucket-eu", "Credit", "unattributed", False)] == (Decimal("-0.25"), Decimal("-0.27"), None)
    assert got[("vm-jp", "Usage", "unattributed", False)] == (Decimal("370"), None, None)
    # two identical monthly fees of 100 over the 30 days of November: each floor(100 * 22/30) - floor(100 * 15/30)
    assert got[(None, "Purchase", "unattributed", False)] == (Decimal("46.666666666666"),) * 2 + (None,)
    assert len(got) == 8
    fees = frame.filter(pl.col("charge_category") == "Purchase").sort("day")["effective_cost"].to_list()
    low, high = Decimal("6.666666666666"), Decimal("6.666666666668")  # 2 x (f(k) - f(k - 1)), f(k) = floor(100 k/30)
    assert fees == [low, low, high, low, low, high, low]

    # the same rows attributed one by one (no grouping) give the same frame, row for row
    per_row = query(warehouse, "attribution_billing", {**week_params(WEEK), "parts": 1, "part": 0})
    ungrouped = attribute_costs(
        per_row,
        query(warehouse, "attribution_jobs", week_params(WEEK)),
        query(warehouse, "attribution_gpu_metrics", week_params(WEEK)),
        WEEK,
        load_config(Settings()),
    )
    assert frame.equals(ungrouped.frame)

    summary = attribute_week(warehouse, WEEK, Settings())
    assert Decimal(summary["idle_gpu_cost"]) == Decimal("92.625000000006")
    assert summary["unconverted"] == {"JPY": "370.000000000000"}
