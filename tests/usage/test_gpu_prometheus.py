"""Prometheus GPU metrics (nvidia_gpu_exporter real scrapes, hand-written DCGM exporter text), via ingest."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.ingest import ingest_files
from flows.readers import UnreadableFile, sniff
from transforms.formats import detect

EXPORTER = ("linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01", "linux-x86_64__nvidia-l40s__595.80")
COLUMNS = "resource_id, gpu_index, gpu_uuid, gpu_model, utilization_pct, memory_used_mib, memory_total_mib, power_w, interval_s, ts"


def sample_value(path: Path, metric: str) -> float:
    """The one sample of ``metric`` in a scrape file, read straight from its line."""
    (value,) = re.findall(rf"(?m)^{metric}\{{[^}}]*\}} (\S+)$", path.read_text())
    return float(value)


def info_label(path: Path, name: str) -> str:
    (value,) = re.findall(rf'(?m)^nvidia_smi_gpu_info\{{.*\b{name}="([^"]*)"', path.read_text())
    return value


def expected_row(path: Path) -> dict:
    """What the scrape says about its GPU, in the table's units, computed from the file's lines."""
    return {
        "resource_id": path.name.removesuffix(".metrics"),
        "gpu_index": int(sample_value(path, "nvidia_smi_index")),
        "gpu_uuid": info_label(path, "uuid"),
        "gpu_model": info_label(path, "name"),
        "utilization_pct": round(sample_value(path, "nvidia_smi_utilization_gpu_ratio") * 100, 9),
        "memory_used_mib": sample_value(path, "nvidia_smi_memory_used_bytes") / 2**20,
        "memory_total_mib": sample_value(path, "nvidia_smi_memory_total_bytes") / 2**20,
        "power_w": sample_value(path, "nvidia_smi_power_draw_watts"),
        "interval_s": 60.0,
        "ts": datetime.fromtimestamp(os.stat(path).st_mtime, UTC),
    }


@pytest.mark.parametrize("machine", EXPORTER)
def test_nvidia_gpu_exporter_idle_and_load_scrapes(warehouse, shared_data, machine):
    # utkuozdemir/nvidia_gpu_exporter integration testdata (MIT): one scrape idle, one under load
    folder = shared_data / "gpu" / "nvidia_gpu_exporter"
    paths = {state: folder / f"{machine}__{state}.metrics" for state in ("idle", "load")}
    rows = {}
    for state, path in paths.items():
        (result,) = ingest_files(warehouse, [path])
        assert result.error is None, result.error
        assert (result.source_format, result.table, result.rows_loaded, result.rows_rejected) == (
            "prometheus_gpu",
            "gpu_metrics",
            1,
            0,
        )
        stored = warehouse.sql(
            f"SELECT {COLUMNS} FROM gpu_metrics WHERE source_file = $f", params={"f": str(path)}
        ).pl()
        rows[state] = stored.row(0, named=True)
        assert rows[state] == expected_row(path)
    idle, load = rows["idle"], rows["load"]
    assert load["memory_used_mib"] > idle["memory_used_mib"]
    if "h100" in machine:
        assert load["utilization_pct"] > idle["utilization_pct"] and load["power_w"] > idle["power_w"]
        assert (idle["utilization_pct"], load["utilization_pct"]) == (0.0, 100.0)
    else:
        # the upstream L40S "idle" scrape caught the GPU at 100 % and 144.97 W, the "load" one at 9 %:
        # the reader stores what the files say (checked above), it does not guess from the names
        assert idle["utilization_pct"] > load["utilization_pct"]


DCGM = """\
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaa",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node1",DCGM_FI_DRIVER_VERSION="550.54.15"} 87 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-bbb",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 3 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaa",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 91 1763283660000
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-aaa",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 40212 1763283600000
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-aaa",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 40838 1763283600000
DCGM_FI_DEV_FB_RESERVED{gpu="0",UUID="GPU-aaa",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 509 1763283600000
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-aaa",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 512.3 1763283600000
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-bbb",modelName="NVIDIA H100 80GB HBM3",Hostname="node1"} 71.5 1763283600000
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-aaa",Hostname="node1"} 1980 1763283600000
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-ccc",modelName="NVIDIA L4",pod="a \\"quoted\\", {braced} name"} 50
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-bbb",Hostname="node1"} lots 1763283660000
DCGM_FI_DEV_GPU_UTIL{Hostname="node1"} 10
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaa" 10
"""


def test_dcgm_exposition_one_row_per_gpu_and_scrape(warehouse, tmp_path):
    path = tmp_path / "dcgm-scrape.prom"
    path.write_text(DCGM)
    mtime = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    assert detect(sniff(path)).name == "prometheus_gpu"
    (result,) = ingest_files(warehouse, [path], column_defaults={"interval_s": "30"})
    assert result.error is None, result.error
    # records are GPU scrapes and bad sample lines, not comment or HELP/TYPE lines
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (7, 4, 3)

    stored = warehouse.sql(
        f"SELECT {COLUMNS}, source_row FROM gpu_metrics ORDER BY resource_id, gpu_uuid, ts"
    ).fetchall()
    first, second = datetime(2025, 11, 16, 9, 0, tzinfo=UTC), datetime(2025, 11, 16, 9, 1, tzinfo=UTC)
    assert stored == [
        # no Hostname label: the file's stem; no timestamp: the file's modification time
        ("dcgm-scrape", 0, "GPU-ccc", "NVIDIA L4", 50.0, None, None, None, 30.0, mtime, 13),
        (
            "node1",
            0,
            "GPU-aaa",
            "NVIDIA H100 80GB HBM3",
            87.0,
            40212.0,
            40212.0 + 40838.0 + 509.0,
            512.3,
            30.0,
            first,
            3,
        ),
        ("node1", 0, "GPU-aaa", "NVIDIA H100 80GB HBM3", 91.0, None, None, None, 30.0, second, 5),
        ("node1", 1, "GPU-bbb", "NVIDIA H100 80GB HBM3", 3.0, None, None, 71.5, 30.0, first, 4),
    ]
    reasons = dict(warehouse.sql("SELECT source_row, reason FROM rejected_rows").fetchall())
    assert reasons[14] == "line 14: metric DCGM_FI_DEV_POWER_USAGE: expected a number, got 'lots'"
    assert reasons[15] == "line 15: metric DCGM_FI_DEV_GPU_UTIL: expected a UUID, uuid or gpu label naming the GPU"
    assert reasons[16].startswith("line 16: expected a Prometheus sample") and 'UUID="GPU-aaa" 10' in reasons[16]


def test_default_interval_and_a_gpu_without_index(warehouse, tmp_path):
    path = tmp_path / "node7.metrics"
    path.write_text(
        'nvidia_smi_utilization_gpu_ratio{uuid="GPU-x"} 0.5\nnvidia_smi_power_draw_watts{uuid="GPU-x"} 300\n'
        'nvidia_smi_index{uuid="GPU-y"} 1\nnvidia_smi_utilization_gpu_ratio{uuid="GPU-y"} 0.25 1763283600000\n'
    )
    (result,) = ingest_files(warehouse, [path])
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert warehouse.sql(
        "SELECT resource_id, gpu_index, gpu_uuid, utilization_pct, interval_s, ts FROM gpu_metrics"
    ).fetchall() == [("node7", 1, "GPU-y", 25.0, 60.0, datetime(2025, 11, 16, 9, 0, tzinfo=UTC))]
    (reason,) = warehouse.sql("SELECT reason FROM rejected_rows").fetchall()[0]
    assert reason.startswith("line 1: GPU GPU-x on node7: expected its index")


def test_a_bad_interval_or_no_gpu_samples_refuse_the_file(warehouse, tmp_path):
    path = tmp_path / "node8.metrics"
    path.write_text('DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 10\n')
    (result,) = ingest_files(warehouse, [path], column_defaults={"interval_s": "a minute"})
    assert "interval_s" in result.error and "a minute" in result.error
    other = tmp_path / "node9.metrics"
    other.write_text('nvidia_smi_gpu_info{uuid="GPU-a",index="0",name="NVIDIA L4"} 1\n')
    (result,) = ingest_files(warehouse, [other], fmt="prometheus_gpu")
    assert "no GPU samples found" in result.error and str(other) in result.error
    assert warehouse.sql("SELECT count(*) FROM gpu_metrics").fetchall() == [(0,)]


def test_detection_claims_no_other_shared_file(shared_data, tmp_path):
    claimed = []
    for path in sorted(p for p in shared_data.rglob("*") if p.is_file()):
        try:
            found = detect(sniff(path))
        except UnreadableFile:
            continue
        if found is not None and found.name == "prometheus_gpu":
            claimed.append(path.name)
    assert sorted(claimed) == sorted(f"{m}__{s}.metrics" for m in EXPORTER for s in ("idle", "load"))
    listing = tmp_path / "counters.csv"
    listing.write_text("DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\nnvidia_smi_index, gauge, index\n")
    assert detect(sniff(listing)) is None or detect(sniff(listing)).name != "prometheus_gpu"
