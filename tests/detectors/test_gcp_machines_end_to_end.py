"""A GCP GPU machine through ingest, attribution and the detectors, its logs naming it by host name.

The GCP export names a VM twice: ``resource.global_name`` (the bill's resource id, with the
instance's numeric id) and ``resource.name`` (the instance name, which is its host name). nvidia-smi
files, Slurm's NodeList and job logs carry the host name; machine_aliases joins them to the bill.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import polars as pl

from flows.attribute import attribute_week
from flows.ingest import ingest_files
from flows.recommend import recommend_week
from flows.settings import Settings
from tests.detectors.bills import (
    A2_CORE_COST,
    A2_GPU_COST,
    A2_RAM_COST,
    gcp_a2_hour,
    gcp_boot_disk_hour,
    gcp_instance_id,
    write_gcp,
    write_nvidia_smi,
    write_sacct,
)
from tests.detectors.helpers import WEEK

T0 = datetime(WEEK.year, WEEK.month, WEEK.day, tzinfo=timezone.utc)
C = Decimal("0.01")
A2_HOUR = Decimal(A2_CORE_COST) + Decimal(A2_RAM_COST) + Decimal(A2_GPU_COST)  # 29.38708 USD


def _week_bill(name: str) -> list[dict]:
    """168 hours of an a2-highgpu-8g (3 SKU lines an hour) and its boot disk of the same name."""
    rows = []
    for h in range(168):
        rows += gcp_a2_hour(T0 + timedelta(hours=h), name)
        rows.append(gcp_boot_disk_hour(T0 + timedelta(hours=h), name))
    return rows


def _ingest(warehouse, paths):
    for r in ingest_files(warehouse, paths):
        assert r.error is None and r.rows_rejected == 0, (r.path, r.error)


def test_idle_gcp_gpu_machine_valued_at_its_machine_hour_rate(warehouse, tmp_path):
    _ingest(
        warehouse,
        [
            write_gcp(tmp_path / "gcp_billing_export.csv", _week_bill("gpu-idle-1")),
            write_nvidia_smi(tmp_path / "gpu-idle-1.csv", T0, [0.0] * 168),
        ],
    )
    recs = recommend_week(warehouse, WEEK, Settings(db=tmp_path / "unused.duckdb"))

    idle = recs.filter(pl.col("kind") == "idle_gpu")
    assert idle["resource_id"].to_list() == [gcp_instance_id("gpu-idle-1")]
    assert A2_HOUR == Decimal("29.38708")
    # 168 idle h / 168 h x 730 h x 29.38708 USD/h (the week's 4,937.02944 USD over 168 machine-hours)
    assert idle["monthly_savings"][0] == (Decimal(168) / 168 * 730 * A2_HOUR).quantize(C) == Decimal("21452.57")
    assert idle["confidence"][0] == "high"


def test_gcp_jobs_named_by_host_share_the_machine_and_spot_fires(warehouse, tmp_path):
    # A 330-hour on-demand training job on 4 of the 8 GPUs all week (started 162 h before the week) and
    # a 84-hour evaluation job on the other 4; both logs (Slurm NodeList, the nvidia-smi file name)
    # name the machine gpu-train-1, the bill names it by its global name.
    host = "gpu-train-1"
    _ingest(
        warehouse,
        [
            write_gcp(tmp_path / "gcp_billing_export.csv", _week_bill(host)),
            write_nvidia_smi(tmp_path / f"{host}.csv", T0, [90.0] * 168),
            write_sacct(
                tmp_path / "sacct.log",
                [
                    (
                        "9001",
                        "nlp",
                        "ana",
                        "gpu",
                        T0 - timedelta(hours=162),
                        T0 + timedelta(hours=168),
                        4,
                        host,
                        "pretrain-llm",
                    ),
                    ("9002", "vision", "bo", "gpu", T0, T0 + timedelta(hours=84), 4, host, "eval-seg"),
                ],
            ),
        ],
    )
    settings = Settings(db=tmp_path / "unused.duckdb")
    summary = attribute_week(warehouse, WEEK, settings)
    assert summary["anomalies"]["jobs_on_unknown_resources"] == 0

    vm = gcp_instance_id(host)
    rows = warehouse.sql(
        "SELECT team, is_idle, sum(effective_cost) AS cost FROM attributed_cost "
        "WHERE week_start = $w AND resource_id = $r GROUP BY ALL ORDER BY ALL",
        params={"w": WEEK, "r": vm},
    ).fetchall()
    day = 24 * A2_HOUR  # 705.28992 USD a day, 8 GPUs x 24 h = 192 GPU-hours
    # nlp: 96 of 192 GPU-hours every day; vision: 96 of 192 on days 1-3 and 48 on day 4; the rest idle,
    # shown under the machine's main user (nlp).
    assert rows == [
        ("nlp", False, 7 * day / 2),
        ("nlp", True, day / 4 + 3 * day / 2),
        ("vision", False, Decimal("3.5") * day / 2),
    ]
    assert sum(r[2] for r in rows) == 168 * A2_HOUR == Decimal("4937.02944")

    recs = recommend_week(warehouse, WEEK, settings)
    spot = recs.filter(pl.col("kind") == "spot")
    assert spot["team"].to_list() == ["nlp"]
    # 168 h x 29.38708 USD/h x 4/8 GPUs = 2,468.51472 USD this week, spot discount 1 - 15.42416 / 29.38708
    # (config/prices.csv, a2-highgpu-8g us-central1), / 168 h x 730 h x (1 - 0.1 interruption overhead)
    week_cost = Decimal(168) * A2_HOUR * Decimal(4) / Decimal(8)
    discount = Decimal(1) - Decimal("15.42416") / Decimal("29.38708")
    expected = (week_cost * discount / 168 * 730 * Decimal("0.9")).quantize(C)
    assert spot["monthly_savings"][0] == expected == Decimal("4586.82")
    assert recs.filter(pl.col("kind") == "idle_gpu").height == 0
