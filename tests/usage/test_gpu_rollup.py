"""GPU telemetry rolled up at ingest into one row per GPU and hour (``gpu_hourly``), exactly once per
file; MIG-aware utilisation from DCGM; raw samples kept only for the configured retention."""

from __future__ import annotations

import os
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
