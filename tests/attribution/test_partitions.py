"""compute_week attributes the week's billing in partitions of whole resources: any number of
partitions gives exactly the result of one pass, anomalies included."""

from __future__ import annotations

from datetime import date

import pytest

from flows.attribute import compute_week
from flows.ingest import ingest_files
from flows.settings import Settings
from flows.warehouse import insert_frame
from sample_data import generate_sample
from tests.attribution.frames import jobs, samples

pytestmark = pytest.mark.slow
WEEK = date(2026, 11, 16)


def test_partitions_of_resources_give_the_one_pass_result(warehouse, tmp_path):
    generate_sample(tmp_path / "landing", weeks=1, end_week=WEEK, seed=5)
    assert [r.error for r in ingest_files(warehouse, [tmp_path / "landing"]) if r.error] == []
    # jobs and telemetry of a machine the bill does not know, and a job without a machine: counted once
    insert_frame(
        warehouse,
        "jobs",
        jobs(
            {
                "job_id": "ghost",
                "kind": "training",
                "team": "x",
                "resource_id": "ghost-node",
                "start_ts": "2026-11-17T00:00",
                "gpus": 1,
            },
            {
                "job_id": "nowhere",
                "kind": "training",
                "team": "x",
                "resource_id": None,
                "start_ts": "2026-11-17T00:00",
                "gpus": 1,
            },
        ),
    )
    insert_frame(
        warehouse,
        "gpu_metrics",
        samples(
            {
                "resource_id": "ghost-node",
                "gpu_index": 0,
                "ts": "2026-11-17T00:00",
                "interval_s": 60.0,
                "power_w": 100.0,
            }
        ),
    )
    line_items = warehouse.execute("SELECT count(*) FROM billing_line_items").fetchall()[0][0]
    settings = Settings()
    whole = compute_week(warehouse, WEEK, settings, rows_per_part=line_items + 1)
    assert whole.frame.height > 0 and whole.anomalies["gpu_machines_with_jobs"] > 0
    assert whole.anomalies["metrics_for_unknown_resources"] >= 1 and whole.anomalies["jobs_without_end"] >= 2
    for rows_per_part in (line_items // 3, max(1, line_items // 40)):
        parted = compute_week(warehouse, WEEK, settings, rows_per_part=rows_per_part)
        assert parted.frame.equals(whole.frame)
        assert parted.anomalies == whole.anomalies


def test_rows_per_part_must_be_positive(warehouse):
    with pytest.raises(ValueError, match="rows_per_part"):
        compute_week(warehouse, WEEK, Settings(), rows_per_part=0)
