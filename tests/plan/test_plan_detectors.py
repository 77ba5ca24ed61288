"""The real detectors on one endpoint machine, then the plan: four savings on one cost add up to less than it."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import polars as pl

from flows.recommend import detect_all
from tests.detectors.helpers import (
    T0,
    attributed,
    commitment_inputs,
    config,
    g5_xlarge,
    hourly_requests,
    inference,
    metrics,
    prices,
)
from tests.detectors.test_spend_detectors import LOOKBACK_SCHEMA
from transforms.plan import plan_violations
from transforms.recommendations import bill_monthly_costs, finalise

D = Decimal


def _lookback() -> pl.DataFrame:
    # the same machine on demand at 1 USD/h for the whole 4-week lookback
    start = T0 - timedelta(weeks=3)
    rows = [
        {
            "provider": "aws",
            "billing_currency": "USD",
            "resource_id": "i-a",
            "charge_period_start": start + timedelta(hours=h),
            "charge_period_end": start + timedelta(hours=h + 1),
            "charge_category": "Usage",
            "pricing_category": "Standard",
            "effective_cost": D(1),
            "x_instance_type": "g5.xlarge",
            "region_id": "us-east-1",
            "commitment_discount_id": None,
            "commitment_discount_name": None,
            "commitment_discount_type": None,
            "commitment_discount_status": None,
            "x_line_item_type": None,
        }
        for h in range(4 * 168)
    ]
    return pl.DataFrame(rows, schema=LOOKBACK_SCHEMA)


def test_four_recommendations_on_one_endpoint_machine_add_up_to_less_than_its_cost(warehouse):
    # i-a: one g5.xlarge GPU billed 1 USD/h for the whole week: 730 USD a month
    frames = {
        # 3,000 requests an hour (0.83 / s), one at a time, 100 tokens in and 50 out: small and quiet
        "inference_requests": inference(*hourly_requests("chat-a", "seg-v3", "i-a", 3000, 1.0)),
        "gpu_metrics": metrics("i-a", [15.0] * 168, gpus=1),
        "machines": g5_xlarge("i-a"),
        "prices": prices(
            ("aws", "us-east-1", "c7i.2xlarge", "ondemand_hour", "0.17"),
            ("aws", "us-east-1", "g5.xlarge", "ondemand_hour", "1.00"),
            ("aws", "us-east-1", "g5.xlarge", "commit_1yr_hour", "0.60"),
        ),
        "attributed_cost": attributed(
            {
                "week_start": T0.date(),
                "category": "inference",
                "model": "seg-v3",
                "team": "search",
                "resource_id": "i-a",
                "effective_cost_reporting": "168.00",
            }
        ),
        **commitment_inputs(warehouse, _lookback()),
    }
    found = detect_all(frames, config(compression={"min_monthly_spend": 100}))
    standalone = dict(zip(found["kind"], found["monthly_savings"]))
    # alone: GPU to CPU (1 - 0.17) x 730 = 605.90; batching 730 x (1 - 15 / 60) = 547.50; compression
    # 0.4 x 730 = 292.00; a commitment for the steady 1 USD/h at a 40 % discount: 0.4 x 730 = 292.00
    assert standalone == {
        "gpu_to_cpu": D("605.90"),
        "batching": D("547.50"),
        "compression": D("292.00"),
        "commitments": D("292.00"),
    }
    assert sum(standalone.values()) == D("1737.40")  # 238 % of the machine: never the headline
    for basis in found["cost_basis"]:
        assert json.loads(basis) == {"i-a": "730.00"}

    recs = finalise(found, None, T0.date(), cost_now=frames["attributed_cost"])
    incremental = dict(zip(recs["kind"], recs["monthly_savings"]))
    order = dict(zip(recs["kind"], recs["plan_order"]))
    assert order == {"gpu_to_cpu": 1, "batching": 2, "compression": 3, "commitments": 4}
    # GPU to CPU first (the largest of "make the work cheaper"): 605.90, leaving 17 % = 124.10;
    # batching 75 % of that = 93.075 (rounded down 93.07), leaving 4.25 % = 31.025; compression 40 % of that
    # = 12.41, leaving 2.55 % = 18.615; the commitment prices what remains: 40 % of 18.615 = 7.446 -> 7.44
    assert incremental == {
        "gpu_to_cpu": D("605.90"),
        "batching": D("93.07"),
        "compression": D("12.41"),
        "commitments": D("7.44"),
    }
    assert sum(incremental.values()) == D("718.82") <= D("730")
    assert plan_violations(recs, bill_monthly_costs(frames["attributed_cost"])) == []
    note = recs.filter(pl.col("kind") == "commitments")["plan_note"].item()
    assert note.startswith("after batching on i-a, compression on search/seg-v3, gpu_to_cpu on i-a")
