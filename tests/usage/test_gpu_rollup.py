"""GPU telemetry rolled up at ingest into one row per GPU and hour (``gpu_hourly``), exactly once per
file; MIG-aware utilisation from DCGM; raw samples kept only for the configured retention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.ingest import ingest_files

# A DCGM exporter scrape of an A100 80GB in MIG mode (GPU 0: a 3g.40gb and two 1g.10gb instances),
# an H100 with profiling metrics (GPU 1) and one without (GPU 2). Labels as dcgm-exporter writes
# them (gpu, UUID, device, modelName, GPU_I_PROFILE, GPU_I_ID, Hostname).
MIG = """\
# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.
# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="node1"} 0.5 1763283600000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="7",Hostname="node1"} 0.7 1763283600000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="8",Hostname="node1"} 0 1763283600000
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="node1"} 20000 1763283600000
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="7",Hostname="node1"} 5000 1763283600000
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="8",Hostname="node1"} 0 1763283600000
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="3g.40gb",GPU_I_ID="1",Hostname="node1"} 20000 1763283600000
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="7",Hostname="node1"} 4000 1763283600000
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="8",Hostname="node1"} 9000 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="node1"} 100 1763283600000
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-mig",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="node1"} 250 1763283600000
DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="1",UUID="GPU-whole",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 0.25 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-whole",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 90 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-plain",device="nvidia2",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 40 1763283600000
"""


def test_mig_instances_count_by_their_size_and_engine_activity_is_preferred(warehouse, tmp_path):
    path = tmp_path / "node1.prom"
    path.write_text(MIG)
    (result,) = ingest_files(warehouse, [path], column_defaults={"interval_s": "15"})
    assert result.error is None, result.error
    stored = warehouse.sql(
        "SELECT gpu_index, gpu_uuid, utilization_pct, memory_used_mib, memory_total_mib, power_w FROM gpu_metrics ORDER BY gpu_index"
    ).fetchall()
    assert stored == [
        # 100 x (3/7 x 0.5 + 1/7 x 0.7 + 1/7 x 0) = 220/7 %, not DCGM_FI_DEV_GPU_UTIL's 100 %;
        # memory is the instances' sum; power is the device's
        (0, "GPU-mig", round(220 / 7, 9), 25000.0, 25000.0 + 33000.0, 250.0),
        (1, "GPU-whole", 25.0, None, None, None),  # the engine's 0.25, not GPU_UTIL's 90
        (2, "GPU-plain", 40.0, None, None, None),  # no profiling metric: GPU_UTIL
    ]


HEADER = "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]\n"


def smi(folder: Path, lines: list[tuple[str, int, float, float]]) -> Path:
    """An nvidia-smi query-gpu CSV of machine node1 (time, GPU index, utilisation %, power W)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "node1.csv"
    path.write_text(
        HEADER
        + "".join(
            f"2026/11/16 {t}.000, {i}, GPU-{i}, NVIDIA H100 80GB HBM3, {u:g} %, 1000 MiB, 81559 MiB, {p:.2f} W\n"
            for t, i, u, p in lines
        )
    )
    return path


ROLLUP = (
    "SELECT resource_id, gpu_index, strftime(hour AT TIME ZONE 'UTC', '%H:%M'), samples, util_samples, util_sum, util_max, "
    "energy_j, interval_s_min, interval_s_max, gpu_model FROM gpu_hourly ORDER BY gpu_index, hour"
)


def test_two_files_sharing_an_hour_combine_exactly_and_a_file_counts_once(warehouse, tmp_path):
    # file 1: GPU 0 at 09:59:30, 10:00:00, 10:00:30 (gaps of 30 s; the last takes the median gap, 30 s)
    first = smi(tmp_path / "day1", [("09:59:30", 0, 10, 100), ("10:00:00", 0, 20, 100), ("10:00:30", 0, 30, 100)])
    # file 2: the same GPU at 10:59:30 and 11:00:00, and GPU 1 once (a lone sample: no interval)
    second = smi(tmp_path / "day2", [("10:59:30", 0, 90, 200), ("11:00:00", 0, 0, 200), ("10:15:00", 1, 50, 300)])
    for path in (first, second, first):  # the first file again: already stored, rolled up once
        (result,) = ingest_files(warehouse, [path])
        assert result.error is None, result.error
    assert warehouse.sql(ROLLUP).fetchall() == [
        ("node1", 0, "09:00", 1, 1, 10.0, 10.0, 100.0 * 30, 30.0, 30.0, "NVIDIA H100 80GB HBM3"),
        # 10:00 holds two samples of file 1 and one of file 2: sums and counts, so the mean is
        # (20 + 30 + 90) / 3, not the mean of the files' means ((25 + 90) / 2)
        (
            "node1",
            0,
            "10:00",
            3,
            3,
            140.0,
            90.0,
            100.0 * 30 + 100.0 * 30 + 200.0 * 30,
            30.0,
            30.0,
            "NVIDIA H100 80GB HBM3",
        ),
        ("node1", 0, "11:00", 1, 1, 0.0, 0.0, 200.0 * 30, 30.0, 30.0, "NVIDIA H100 80GB HBM3"),
        ("node1", 1, "10:00", 1, 1, 50.0, 50.0, None, None, None, "NVIDIA H100 80GB HBM3"),
    ]
    assert warehouse.sql("SELECT count(*) FROM gpu_metrics").fetchall() == [(6,)]


def test_raw_samples_are_kept_for_the_retention_only_and_their_hours_stay(warehouse, tmp_path, monkeypatch):
    from flows.warehouse import query
    from transforms.weeks import week_params

    monkeypatch.setenv("AICOST_GPU_RAW_RETENTION_WEEKS", "1")
    old = smi(tmp_path / "old", [("10:00:00", 0, 40, 100), ("10:00:30", 0, 60, 100)])
    newer = tmp_path / "new" / "node1.csv"
    newer.parent.mkdir()
    newer.write_text(
        HEADER + "2026/11/17 10:00:00.000, 0, GPU-0, NVIDIA H100 80GB HBM3, 5 %, 1000 MiB, 81559 MiB, 50.00 W\n"
    )
    (result,) = ingest_files(warehouse, [old])
    assert result.error is None, result.error
    # the first file was ingested eight days ago: more than the week of retention
    warehouse.execute("UPDATE ingest_manifest SET ingested_at = ingested_at - INTERVAL 8 DAY").fetchall()
    (result,) = ingest_files(warehouse, [newer])
    assert result.error is None, result.error
    assert warehouse.sql("SELECT strftime(ts AT TIME ZONE 'UTC', '%m-%d') FROM gpu_metrics").fetchall() == [("11-17",)]
    week = query(warehouse, "attribution_gpu_metrics", week_params(datetime(2026, 11, 16).date()))
    # 16 November still counts, from the rollup: (40 + 60 + 5) / 3 %, 100 W x 30 s x 2 that day
    assert week.select("day", "mean_utilization_pct", "power_joules").rows() == [
        (datetime(2026, 11, 16).date(), 35.0, 100.0 * 30 * 2),
        (datetime(2026, 11, 17).date(), 35.0, None),
    ]


def test_a_retention_of_zero_keeps_no_raw_sample_and_rolls_up_the_same_hours_once(warehouse, tmp_path, monkeypatch):
    from flows.warehouse import connect

    first = smi(tmp_path / "day1", [("09:59:30", 0, 10, 100), ("10:00:00", 0, 20, 100), ("10:00:30", 0, 30, 100)])
    second = smi(tmp_path / "day2", [("10:59:30", 0, 90, 200), ("11:00:00", 0, 0, 200), ("10:15:00", 1, 50, 300)])
    kept = connect(tmp_path / "kept.duckdb")  # the default retention: raw samples stored
    for path in (first, second):
        (result,) = ingest_files(kept, [path])
        assert result.error is None, result.error
    monkeypatch.setenv("AICOST_GPU_RAW_RETENTION_WEEKS", "0")
    for path in (first, second, first):  # the first file again: known to the manifest, rolled up once
        (result,) = ingest_files(warehouse, [path])
        assert result.error is None, result.error
    assert result.skipped
    assert warehouse.sql("SELECT count(*) FROM gpu_metrics").fetchall() == [(0,)]
    assert warehouse.sql(ROLLUP).fetchall() == kept.sql(ROLLUP).fetchall()
    assert warehouse.sql("SELECT sum(samples) FROM gpu_hourly").fetchall() == [(6,)]
    assert warehouse.sql(
        "SELECT rows_loaded FROM ingest_manifest WHERE target_table = 'gpu_metrics' ORDER BY source_file"
    ).fetchall() == [(3,), (3,)]
    kept.close()


def test_the_retention_is_a_setting_of_whole_weeks(monkeypatch):
    from flows.settings import SettingsInvalid, get_settings

    assert get_settings().gpu_raw_retention_weeks == 8
    monkeypatch.setenv("AICOST_GPU_RAW_RETENTION_WEEKS", "-1")
    with pytest.raises(SettingsInvalid, match="GPU_RAW_RETENTION_WEEKS"):
        get_settings()


def test_the_detectors_read_hourly_rows_with_the_figures_of_the_samples(warehouse):
    """recommend_gpu_metrics.sql gives one row per machine and hour, as machine_hours does from the raw
    samples; hourly_util and endpoint_stats give on them what they give on the raw samples (several
    samples per hour, of unequal counts per GPU)."""
    import polars as pl

    from flows.warehouse import insert_frame, query
    from tests.attribution.frames import samples
    from transforms.detectors.common import hourly_util
    from transforms.detectors.endpoints import endpoint_stats
    from transforms.weeks import week_params

    raw = samples(
        {"resource_id": "i-a", "gpu_index": 0, "ts": "2026-11-16T10:00", "interval_s": 60.0, "utilization_pct": 10.0},
        {"resource_id": "i-a", "gpu_index": 0, "ts": "2026-11-16T10:01", "interval_s": 60.0, "utilization_pct": 20.0},
        {"resource_id": "i-a", "gpu_index": 0, "ts": "2026-11-16T10:02", "interval_s": 60.0, "utilization_pct": 90.0},
        {"resource_id": "i-a", "gpu_index": 1, "ts": "2026-11-16T10:30", "interval_s": 60.0, "utilization_pct": 0.0},
        {"resource_id": "i-a", "gpu_index": 1, "ts": "2026-11-16T11:30", "interval_s": 60.0, "utilization_pct": None},
        {"resource_id": "i-a", "gpu_index": 0, "ts": "2026-11-16T11:59", "interval_s": 60.0, "utilization_pct": 40.0},
        {"resource_id": "i-b", "gpu_index": 0, "ts": "2026-11-17T03:10", "interval_s": 60.0, "utilization_pct": 70.0},
    )
    insert_frame(warehouse, "gpu_metrics", raw)
    rows = query(warehouse, "recommend_gpu_metrics", week_params(datetime(2026, 11, 16).date()))
    assert rows.height == 3  # machine-hours (of 5 GPU-hours), not samples
    # the SQL's rows are machine_hours of the samples: per GPU with a utilisation its hourly mean
    from transforms.detectors.common import machine_hours

    mine = machine_hours(raw).sort("resource_id", "ts")
    assert (
        rows.select("resource_id", "ts", "gpu_indexes", "util_samples").rows()
        == mine.select("resource_id", "ts", "gpu_indexes", "util_samples").rows()
    )
    assert rows["gpu_utils"].to_list() == mine["gpu_utils"].to_list() == [[40.0, 0.0], [40.0], [70.0]]
    key = ["resource_id", "hour"]
    got, want = hourly_util(rows).sort(key), hourly_util(raw).sort(key)
    assert got.select(key, "gpus_seen").rows() == want.select(key, "gpus_seen").rows()
    # i-a at 10:00: (10 + 20 + 90 + 0) / 4 samples = 30 %, max 90 %
    for column in ("util_mean", "util_max"):
        assert got[column].to_list() == pytest.approx(want[column].to_list())
    assert got.row(0, named=True)["util_mean"] == 30.0
    inference = pl.DataFrame(
        {
            "endpoint": ["chat"],
            "model": ["m"],
            "resource_id": ["i-a"],
            "requests": [10],
            "ts": [datetime(2026, 11, 16, 10, tzinfo=UTC)],
            "batch_size": [1.0],
            "tokens_in": [1],
            "tokens_out": [1],
        }
    )
    # i-a's mean over its five samples with a utilisation: 160 / 5 = 32 %, not a mean of hourly means
    assert endpoint_stats(inference, rows)["gpu_util"].to_list() == [32.0]
    assert endpoint_stats(inference, raw)["gpu_util"].to_list() == [32.0]


def test_a_warehouse_from_before_the_rollup_is_rolled_up_once_when_opened(tmp_path):
    from flows.warehouse import connect, insert_frame
    from tests.attribution.frames import samples

    path = tmp_path / "old.duckdb"
    con = connect(path)
    insert_frame(
        con,
        "gpu_metrics",
        samples(
            {
                "resource_id": "i-a",
                "gpu_index": 0,
                "ts": "2026-11-16T10:00",
                "interval_s": 60.0,
                "utilization_pct": 10.0,
            },
            {
                "resource_id": "i-a",
                "gpu_index": 0,
                "ts": "2026-11-17T10:30",
                "interval_s": 60.0,
                "utilization_pct": 30.0,
            },
            {
                "resource_id": None,
                "gpu_index": None,
                "ts": "2026-11-17T10:40",
                "interval_s": 60.0,
                "utilization_pct": 50.0,
            },
        ),
    )
    rolled = "SELECT resource_id, gpu_index, strftime(hour AT TIME ZONE 'UTC', '%d %H'), samples, util_sum FROM gpu_hourly ORDER BY ALL"
    want = con.sql(rolled).fetchall()
    assert len(want) == 3
    con.execute("DELETE FROM gpu_hourly").fetchall()  # as a warehouse written before gpu_hourly existed
    con.close()
    con = connect(path)
    assert con.sql(rolled).fetchall() == want
    con.close()
    con = connect(path)  # opened again: nothing rolled up twice
    assert con.sql(rolled).fetchall() == want
    con.close()
