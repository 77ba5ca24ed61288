"""The GPU split: a machine's daily cost shared by jobs in proportion to GPU-hours, the rest idle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from tests.attribution.frames import billing, jobs, metrics
from transforms.attribution import AttributionConfig, attribute_costs

WEEK = date(2026, 11, 16)
NODE = {
    "resource_id": "i-node",
    "x_gpu_count": 8,
    "x_instance_type": "p4d.24xlarge",
    "service_name": "Amazon Elastic Compute Cloud",
}


def one_day_node(cost: str = "240") -> pl.DataFrame:
    return billing(
        {
            **NODE,
            "charge_period_start": "2026-11-16T00:00",
            "charge_period_end": "2026-11-17T00:00",
            "effective_cost": cost,
        }
    )


def by_line(frame: pl.DataFrame) -> dict[tuple, Decimal]:
    return {
        (r["team"], r["category"], r["is_idle"]): r["effective_cost"]
        for r in frame.group_by("team", "category", "is_idle").agg(pl.col("effective_cost").sum()).iter_rows(named=True)
    }


def test_two_jobs_share_an_eight_gpu_node_and_the_rest_is_idle():
    # capacity 8 GPUs x 24 h = 192 GPU-h; job A 4 GPUs x 13 h = 52 GPU-h, job B 8 GPUs x 6 h = 48 GPU-h
    work = jobs(
        {
            "job_id": "a",
            "kind": "training",
            "team": "vision",
            "project": "det",
            "model": "yolo",
            "resource_id": "i-node",
            "start_ts": "2026-11-16T00:00",
            "end_ts": "2026-11-16T13:00",
            "gpus": 4,
        },
        {
            "job_id": "b",
            "kind": "inference",
            "team": "nlp",
            "project": "chat",
            "model": "llama",
            "resource_id": "i-node",
            "start_ts": "2026-11-16T13:00",
            "end_ts": "2026-11-16T19:00",
            "gpus": 8,
        },
    )
    result = attribute_costs(one_day_node(), work, metrics(), WEEK, AttributionConfig())
    cost = Decimal("240")
    expected_a = cost * Decimal(52) / Decimal(192)
    expected_b = cost * Decimal(48) / Decimal(192)
    lines = by_line(result.frame)
    assert lines[("vision", "training", False)] == expected_a.quantize(Decimal("1e-10"))
    assert lines[("nlp", "inference", False)] == expected_b
    # idle: 92 GPU-h, under the main use (training, 52 > 48 GPU-h) and its main user's team
    assert lines[("vision", "training", True)] == cost - lines[("vision", "training", False)] - expected_b
    assert sum(lines.values()) == cost
    assert set(result.frame["attribution_method"]) == {"usage"}
    hours = result.frame.group_by("is_idle", "team").agg(pl.col("gpu_hours").sum()).sort("is_idle", "team").rows()
    assert hours == [(False, "nlp", 48.0), (False, "vision", 52.0), (True, "vision", 92.0)]


def test_overlap_beyond_the_machine_gpus_is_scaled_to_capacity_and_counted():
    # two 8-GPU jobs all day on an 8-GPU node: 384 GPU-h claimed for 192 GPU-h of capacity
    work = jobs(
        {
            "job_id": "a",
            "kind": "training",
            "team": "vision",
            "resource_id": "i-node",
            "start_ts": "2026-11-16T00:00",
            "end_ts": "2026-11-17T00:00",
            "gpus": 8,
        },
        {
            "job_id": "b",
            "kind": "training",
            "team": "nlp",
            "resource_id": "i-node",
            "start_ts": "2026-11-16T00:00",
            "end_ts": "2026-11-17T00:00",
            "gpus": 8,
        },
    )
    result = attribute_costs(one_day_node(), work, metrics(), WEEK, AttributionConfig())
    lines = by_line(result.frame)
    assert lines == {("nlp", "training", False): Decimal("120"), ("vision", "training", False): Decimal("120")}
    assert result.anomalies["gpu_overcommit_days"] == 1
    assert result.anomalies["overcommit_resources"] == ["i-node"]


def test_job_without_end_runs_to_the_end_of_the_week_and_is_counted():
    node_week = billing(
        {
            **NODE,
            "charge_period_start": "2026-11-16T00:00",
            "charge_period_end": "2026-11-23T00:00",
            "effective_cost": "700",
        }
    )
    work = jobs(
        {
            "job_id": "a",
            "kind": "training",
            "team": "vision",
            "resource_id": "i-node",
            "start_ts": "2026-11-19T00:00",
            "gpus": 8,
        }
    )
    result = attribute_costs(node_week, work, metrics(), WEEK, AttributionConfig())
    lines = by_line(result.frame)
    # the week-long row is spread evenly: 100 a day; the job holds the whole node Thursday to Sunday
    assert lines[("vision", "training", False)] == Decimal("400")
    assert lines[("vision", "training", True)] == Decimal("300")
    assert result.anomalies["jobs_without_end"] == 1


def test_clock_skew_of_a_few_minutes_is_absorbed_not_an_anomaly():
    hourly = billing(
        *[
            {
                **NODE,
                "charge_period_start": f"2026-11-16T{h:02d}:00",
                "charge_period_end": f"2026-11-16T{h + 1:02d}:00",
                "effective_cost": "10",
            }
            for h in range(8, 12)
        ]
    )
    # the scheduler's clock is 5 minutes ahead of the bill: the job seems to start before billing
    work = jobs(
        {
            "job_id": "a",
            "kind": "training",
            "team": "vision",
            "resource_id": "i-node",
            "start_ts": "2026-11-16T07:55",
            "end_ts": "2026-11-16T12:05",
            "gpus": 8,
        }
    )
    result = attribute_costs(hourly, work, metrics(), WEEK, AttributionConfig())
    lines = by_line(result.frame)
    assert lines == {("vision", "training", False): Decimal("40")}
    assert result.anomalies["clock_skew_adjusted_days"] == 1
    assert result.anomalies["gpu_overcommit_days"] == 0


def test_jobs_and_metrics_for_machines_the_bill_does_not_know_are_counted():
    work = jobs(
        {
            "job_id": "x",
            "kind": "training",
            "team": "vision",
            "resource_id": "ghost-node",
            "start_ts": "2026-11-16T00:00",
            "end_ts": "2026-11-16T05:00",
            "gpus": 8,
        }
    )
    telemetry = metrics(
        {"ts": "2026-11-16T00:00", "interval_s": 900.0, "resource_id": "ghost-node", "gpu_index": 0, "power_w": 300.0}
    )
    result = attribute_costs(one_day_node(), work, telemetry, WEEK, AttributionConfig())
    assert result.anomalies["jobs_on_unknown_resources"] == 1
    assert result.anomalies["unknown_job_resources"] == ["ghost-node"]
    assert result.anomalies["metrics_for_unknown_resources"] == 1
    # the known node had no job: built-in knowledge calls a GPU instance on no usage log training
    assert result.frame["category"].to_list() == ["training"]
    assert result.frame["attribution_method"].to_list() == ["service"]
    assert result.frame["effective_cost"].sum() == Decimal("240")
