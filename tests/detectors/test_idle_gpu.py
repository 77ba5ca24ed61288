"""idle_gpu: a machine idle most of the week fires; a busy one does not."""

from decimal import Decimal

import polars as pl

from tests.detectors.helpers import config, machines, metrics, prices
from transforms.detectors import idle_gpu


def test_idle_machine_valued_at_its_billed_rate():
    # 120 idle hours (1-3 %) then 48 busy hours (90 %); billed 168 h for 3,360.00 USD -> 20 USD/h.
    frames = {
        "gpu_metrics": metrics("i-idle", [2.0] * 120 + [90.0] * 48),
        "machines": machines(
            {"resource_id": "i-idle", "instance_type": "p4d.24xlarge", "hours": 168, "effective_cost": "3360.00"}
        ),
        "prices": prices(("aws", "us-east-1", "p4d.24xlarge", "ondemand_hour", "21.957642")),
    }
    out = idle_gpu.detect(frames, config())
    assert out.height == 1
    row = out.row(0, named=True)
    expected = (Decimal(120) / Decimal(168) * Decimal(730) * Decimal("20")).quantize(Decimal("0.01"))
    assert row["monthly_savings"] == expected == Decimal("10428.57")
    assert row["confidence"] == "high"
    assert row["resource_id"] == "i-idle"
    assert row["overlap_group"] == "machine:i-idle"
    assert "120 idle h / 168 h x 730 h x 20 USD/h" in row["formula"]


def test_list_price_used_without_a_billed_rate():
    frames = {
        "gpu_metrics": metrics("i-x", [0.0] * 168),
        "machines": machines(
            {"resource_id": "i-x", "instance_type": "p4d.24xlarge", "hours": None, "effective_cost": None}
        ),
        "prices": prices(("aws", "us-east-1", "p4d.24xlarge", "ondemand_hour", "21.957642")),
    }
    row = idle_gpu.detect(frames, config()).row(0, named=True)
    assert row["monthly_savings"] == (Decimal(730) * Decimal("21.957642")).quantize(Decimal("0.01"))
    assert row["confidence"] == "medium"


def test_busy_or_briefly_idle_machines_do_not_fire():
    frames = {
        # busy all week
        "gpu_metrics": pl.concat(
            [
                metrics("i-busy", [88.0] * 168),
                # idle 80 h of 168 (< 50 %)
                metrics("i-half", [1.0] * 80 + [70.0] * 88),
                # one GPU busy, the rest idle: the machine is in use
                metrics("i-one", [0.0] * 168, gpus=7),
                metrics("i-one", [60.0] * 168, gpus=1).with_columns(pl.lit(7, dtype=pl.Int32).alias("gpu_index")),
            ]
        ),
        "machines": machines(
            *[
                {"resource_id": r, "instance_type": "p4d.24xlarge", "hours": 168, "effective_cost": "3360"}
                for r in ("i-busy", "i-half", "i-one")
            ]
        ),
        "prices": prices(),
    }
    assert idle_gpu.detect(frames, config()).height == 0
