"""sql/attribution_gpu_metrics.sql: the week's samples aggregated per machine and day equal the same
aggregates computed in polars from the samples (which attribution used to read one by one)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tests.attribution.frames import metrics, samples
from transforms.attribution import GPU_TELEMETRY_COLUMNS

WEEK = date(2026, 11, 16)
ROWS = [
    # machine a: two GPUs, a sample without an index (counted as one more GPU), a day without power
    {
        "resource_id": "a",
        "gpu_index": 0,
        "ts": "2026-11-16T00:00",
        "interval_s": 60.0,
        "power_w": 300.0,
        "utilization_pct": 5.0,
        "gpu_model": "NVIDIA H100",
    },
    {
        "resource_id": "a",
        "gpu_index": 1,
        "ts": "2026-11-16T23:59",
        "interval_s": 60.0,
        "power_w": 250.0,
        "utilization_pct": None,
        "gpu_model": None,
    },
    {
        "resource_id": "a",
        "gpu_index": None,
        "ts": "2026-11-17T00:00",
        "interval_s": 60.0,
        "power_w": None,
        "utilization_pct": 15.0,
        "gpu_model": "NVIDIA A100",
    },
    {
        "resource_id": "a",
        "gpu_index": 1,
        "ts": "2026-11-22T23:59",
        "interval_s": None,
        "power_w": 100.0,
        "utilization_pct": 1.0,
    },
    # machine b: its first sample names no model, a later one does
    {
        "resource_id": "b",
        "gpu_index": 3,
        "ts": "2026-11-18T10:00",
        "interval_s": 120.0,
        "power_w": 400.0,
        "utilization_pct": 90.0,
    },
    {
        "resource_id": "b",
        "gpu_index": 3,
        "ts": "2026-11-18T10:02",
        "interval_s": 120.0,
        "power_w": 410.0,
        "utilization_pct": 80.0,
        "gpu_model": "NVIDIA L4",
    },
    # outside the week: never counted
    {
        "resource_id": "a",
        "gpu_index": 7,
        "ts": "2026-11-15T23:59",
        "interval_s": 60.0,
        "power_w": 999.0,
        "utilization_pct": 0.0,
    },
    {
        "resource_id": "c",
        "gpu_index": 0,
        "ts": "2026-11-23T00:00",
        "interval_s": 60.0,
        "power_w": 999.0,
        "utilization_pct": 0.0,
    },
]


def expected(raw: pl.DataFrame) -> pl.DataFrame:
    """The aggregates straight from the samples, in polars."""
    week = raw.filter(pl.col("ts").dt.date().is_between(WEEK, date(2026, 11, 22)))
    per_machine = (
        week.sort("ts", "gpu_index")
        .group_by("resource_id")
        .agg(
            gpus_seen=pl.col("gpu_index").n_unique().cast(pl.Int32),
            gpu_model=pl.col("gpu_model").drop_nulls().first(),
            mean_utilization_pct=pl.col("utilization_pct").mean(),
        )
    )
    per_day = week.group_by("resource_id", day=pl.col("ts").dt.date()).agg(
        power_joules=pl.when((pl.col("power_w") * pl.col("interval_s")).is_not_null().any()).then(
            (pl.col("power_w") * pl.col("interval_s")).sum()
        )
    )
    return per_day.join(per_machine, on="resource_id").select(list(GPU_TELEMETRY_COLUMNS)).sort("resource_id", "day")


def test_the_sql_aggregate_equals_the_samples_aggregated_in_polars():
    got = metrics(*ROWS, week_start=WEEK)
    assert got.schema == pl.Schema(GPU_TELEMETRY_COLUMNS)
    want = expected(samples(*ROWS))
    assert (
        got.select("resource_id", "day", "gpus_seen", "gpu_model").rows()
        == want.select("resource_id", "day", "gpus_seen", "gpu_model").rows()
    )
    for column in ("mean_utilization_pct", "power_joules"):
        assert got[column].to_list() == pytest.approx(want[column].to_list(), nan_ok=False)
    # spelled out: a has GPUs 0, 1 and one without an index; its last day has no usable power reading
    assert got.filter(pl.col("resource_id") == "a")["gpus_seen"].unique().to_list() == [3]
    assert got.filter(pl.col("resource_id") == "a")["gpu_model"].unique().to_list() == ["NVIDIA H100"]
    assert got.filter(pl.col("resource_id") == "b")["gpu_model"].unique().to_list() == ["NVIDIA L4"]
    assert got.filter(pl.col("day") == date(2026, 11, 22))["power_joules"].to_list() == [None]
    assert "c" not in got["resource_id"].to_list()


def test_no_samples_give_an_empty_frame_of_the_documented_columns():
    assert metrics().schema == pl.Schema(GPU_TELEMETRY_COLUMNS)
    assert metrics().height == 0
