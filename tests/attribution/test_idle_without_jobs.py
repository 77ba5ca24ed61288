"""A GPU machine that ran no job and whose telemetry shows it unused is idle cost, not training."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.attribution.frames import billing, jobs, metrics
from transforms.attribution import AttributionConfig, attribute_costs

WEEK = date(2026, 11, 16)
NODE = {
    "resource_id": "i-idle",
    "x_gpu_count": 8,
    "x_instance_type": "p4d.24xlarge",
    "service_name": "Amazon Elastic Compute Cloud",
}


def node_day(cost: str) -> object:
    return billing(
        {
            **NODE,
            "charge_period_start": "2026-11-16T00:00",
            "charge_period_end": "2026-11-17T00:00",
            "effective_cost": cost,
        }
    )


def telemetry(utilisation: float) -> object:
    return metrics(
        *(
            {
                "resource_id": "i-idle",
                "gpu_index": g,
                "ts": f"2026-11-16T{h:02d}:00",
                "interval_s": 3600.0,
                "utilization_pct": utilisation,
                "power_w": 60.0,
            }
            for g in range(8)
            for h in range(24)
        )
    )


def test_an_unused_machine_without_jobs_is_idle_under_its_kind_of_use():
    result = attribute_costs(node_day("527.04"), jobs(), telemetry(2.0), WEEK, AttributionConfig())
    [row] = result.frame.to_dicts()
    assert row["is_idle"] is True
    assert row["category"] == "training"  # a GPU instance with no job log: its service knowledge
    assert row["attribution_method"] == "usage"
    assert row["effective_cost"] == Decimal("527.04")


def test_a_busy_machine_without_job_logs_is_not_called_idle():
    result = attribute_costs(node_day("527.04"), jobs(), telemetry(85.0), WEEK, AttributionConfig())
    [row] = result.frame.to_dicts()
    assert row["is_idle"] is False
    assert row["attribution_method"] == "service"


def test_a_machine_without_telemetry_is_left_to_service_knowledge():
    result = attribute_costs(node_day("527.04"), jobs(), metrics(), WEEK, AttributionConfig())
    [row] = result.frame.to_dicts()
    assert (row["is_idle"], row["attribution_method"]) == (False, "service")
