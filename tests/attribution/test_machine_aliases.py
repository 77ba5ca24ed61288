"""Usage logs meet billed machines by the name they carry (sql/schema/machine_aliases.sql).

AWS logs carry instance ids (the bill's resource id); a GCP VM's host name is the export's
``resource.name`` while its resource id is ``resource.global_name``; an Azure VM's name is
ResourceName and the last segment of its ARM resource id.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flows.attribute import attribute_week
from flows.ingest import ingest_files
from flows.settings import Settings
from flows.warehouse import query
from tests.detectors.bills import (
    azure_row,
    azure_vm_id,
    gcp_a2_hour,
    gcp_boot_disk_hour,
    gcp_instance_id,
    write_azure,
    write_gcp,
    write_nvidia_smi,
)
from tests.detectors.helpers import WEEK

T0 = datetime(WEEK.year, WEEK.month, WEEK.day, tzinfo=timezone.utc)
PARAMS = {"week_start": T0, "week_end": T0 + timedelta(days=7)}


def _ingest(warehouse, paths):
    for r in ingest_files(warehouse, paths):
        assert r.error is None and r.rows_rejected == 0, (r.path, r.error)


def test_azure_vm_named_by_jobs_is_split_among_them(warehouse, tmp_path):
    # one day of an NC24ads A100 v4 (1 GPU) at 88.08 EUR; jobs.csv names the VM as its host name
    vm = azure_vm_id("gpu-az-1")
    bill = [azure_row(T0, vm, "Virtual Machines", "NCadsA100v4 Series", "NC24ads A100 v4", "24", "88.08", "1 Hour")]
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        "job_id,kind,team,project,model,user,resource_ids,start,end,gpus_per_node,pricing_model\n"
        f"a,training,nlp,llm,m1,ana,GPU-AZ-1,{T0:%Y-%m-%dT%H:%M:%SZ},{T0 + timedelta(hours=12):%Y-%m-%dT%H:%M:%SZ},1,on_demand\n"
        f"b,inference,search,rank,m2,bo,gpu-az-1,{T0 + timedelta(hours=12):%Y-%m-%dT%H:%M:%SZ},"
        f"{T0 + timedelta(hours=18):%Y-%m-%dT%H:%M:%SZ},1,on_demand\n"
    )
    _ingest(warehouse, [write_azure(tmp_path / "azure_cost_details.csv", bill), jobs])
    summary = attribute_week(warehouse, WEEK, Settings(db=tmp_path / "unused.duckdb"))

    assert summary["anomalies"]["jobs_on_unknown_resources"] == 0
    rows = warehouse.sql(
        "SELECT team, category, is_idle, sum(effective_cost) FROM attributed_cost WHERE resource_id = $r "
        "GROUP BY ALL ORDER BY ALL",
        params={"r": vm},
    ).fetchall()
    # 12 of 24 GPU-hours to nlp, 6 to search, 6 idle (under the main use: training, nlp)
    assert rows == [
        ("nlp", "training", False, Decimal("44.04")),
        ("nlp", "training", True, Decimal("22.02")),
        ("search", "inference", False, Decimal("22.02")),
    ]


def test_gcp_host_name_means_the_vm_not_its_boot_disk_and_a_fqdn_is_its_short_name(warehouse, tmp_path):
    # The boot disk takes its VM's name (GCP's default); an nvidia-smi file named by the VM's FQDN; a
    # log naming a machine the bill does not know keeps its name.
    bill = gcp_a2_hour(T0, "gpu-node-1") + [gcp_boot_disk_hour(T0, "gpu-node-1")]
    _ingest(
        warehouse,
        [
            write_gcp(tmp_path / "gcp_billing_export.csv", bill),
            write_nvidia_smi(tmp_path / "gpu-node-1.us-central1-a.c.ml-prod-4711.internal.csv", T0, [50.0], gpus=1),
            write_nvidia_smi(tmp_path / "gpu-node-9.csv", T0, [40.0], gpus=1),
        ],
    )
    seen = sorted(set(query(warehouse, "recommend_gpu_metrics", PARAMS)["resource_id"].to_list()))
    assert seen == sorted([gcp_instance_id("gpu-node-1"), "gpu-node-9"])
    aliases = dict(
        warehouse.execute(
            "SELECT alias, resource_id FROM machine_aliases($s, $e)",
            {"s": PARAMS["week_start"], "e": PARAMS["week_end"]},
        ).fetchall()
    )
    assert aliases["gpu-node-1"] == gcp_instance_id("gpu-node-1")
    assert aliases[gcp_instance_id("gpu-node-1")] == gcp_instance_id("gpu-node-1")  # the id itself


def test_a_machine_two_logs_name_in_one_hour_is_one_machine_with_its_gpus_combined(warehouse, tmp_path):
    # The same GCP VM in one hour from two exporters: by its host name (GPUs 0 and 1 at 50 %) and by its
    # FQDN (GPU 0 at 10 %). The rollup keeps one row per name; the readers combine them per GPU.
    bill = gcp_a2_hour(T0, "gpu-node-1")
    _ingest(
        warehouse,
        [
            write_gcp(tmp_path / "gcp_billing_export.csv", bill),
            write_nvidia_smi(tmp_path / "gpu-node-1.csv", T0, [50.0], gpus=2),
            write_nvidia_smi(tmp_path / "gpu-node-1.us-central1-a.c.ml-prod-4711.internal.csv", T0, [10.0], gpus=1),
        ],
    )
    assert warehouse.sql("SELECT count(DISTINCT resource_id), count(*) FROM gpu_hourly").fetchall() == [(2, 3)]
    hours = query(warehouse, "recommend_gpu_metrics", PARAMS)
    assert hours.select("resource_id", "util_sum", "util_samples", "gpu_indexes", "gpu_utils").rows() == [
        (gcp_instance_id("gpu-node-1"), 110.0, 3, [0, 1], [30.0, 50.0])  # GPU 0: (50 + 10) / 2 samples
    ]
    days = query(warehouse, "attribution_gpu_metrics", PARAMS)
    assert days.select("resource_id", "gpus_seen").rows() == [(gcp_instance_id("gpu-node-1"), 2)]
    assert days["mean_utilization_pct"].to_list() == [110.0 / 3]
