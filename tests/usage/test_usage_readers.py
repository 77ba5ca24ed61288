"""Each usage reader on the real samples (read in place) and on small generated files, via ingest."""

from __future__ import annotations

import json

import pytest

from flows.ingest import ingest_files


def load(con, path):
    (result,) = ingest_files(con, [path])
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize(
    "name",
    [
        "capture_linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt",
        "capture_linux-x86_64__nvidia-l40s__595.80.txt",
    ],
)
def test_nvidia_smi_capture_sections(warehouse, shared_data, name):
    # utkuozdemir/nvidia_gpu_exporter captures (MIT): one idle and one loaded query-gpu section each
    result = load(warehouse, shared_data / "gpu" / "nvidia_gpu_exporter" / name)
    assert (result.source_format, result.table, result.rows_loaded, result.rows_rejected) == (
        "nvidia_smi_csv",
        "gpu_metrics",
        2,
        0,
    )
    rows = warehouse.sql("SELECT power_w, utilization_pct, interval_s, resource_id FROM gpu_metrics ORDER BY ts").pl()
    assert rows["power_w"].min() > 0 and rows["utilization_pct"].max() > rows["utilization_pct"].min()
    assert rows["interval_s"][0] == rows["interval_s"][1] > 0
    assert rows["resource_id"][0] == name.removesuffix(".txt")


def test_nvidia_smi_generated_file_with_a_bad_row(warehouse, tmp_path):
    path = tmp_path / "i-0abc123.csv"
    path.write_text(
        "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]\n"
        "2026/11/16 00:00:00.000, 0, GPU-1, NVIDIA H100 80GB HBM3, 87 %, 40212 MiB, 81559 MiB, 512.30 W\n"
        "2026/11/16 00:15:00.000, 0, GPU-1, NVIDIA H100 80GB HBM3, 85 %, 40212 MiB, 81559 MiB, 500.00 W\n"
        "2026/11/16 00:30:00.000, 0, GPU-1, NVIDIA H100 80GB HBM3, lots %, 40212 MiB, 81559 MiB, 500.00 W\n"
    )
    result = load(warehouse, path)
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    reason = warehouse.sql("SELECT reason FROM rejected_rows").fetchall()[0][0]
    assert "utilization.gpu [%]" in reason and "lots" in reason
    stored = warehouse.sql("SELECT resource_id, interval_s, power_w FROM gpu_metrics ORDER BY ts").fetchall()
    assert stored == [("i-0abc123", 900.0, 512.3), ("i-0abc123", 900.0, 500.0)]


def test_slurm_samples(warehouse, shared_data):
    # ubccr/xdmod test artifacts (LGPL-3.0): headerless sacct --parsable2, old and new layouts
    old = load(warehouse, shared_data / "slurm" / "xdmod_sacct_accounting-logs-with-gpu-gres_old-format.log")
    assert (old.source_format, old.rows_rejected) == ("slurm_sacct", 0)
    assert old.rows_loaded == 24  # records: 24 jobs ...
    assert warehouse.sql("SELECT count(*) FROM jobs").fetchall()[0][0] == 24 * 8  # ... node[01-08] expanded for each
    new = load(warehouse, shared_data / "slurm" / "xdmod_sacct_accounting-logs.log")
    assert new.rows_loaded + new.rows_rejected == new.rows_in_file
    assert warehouse.sql("SELECT count(*) FROM jobs").fetchall()[0][0] == 24 * 8 + 32 + 3 + 4 + 2
    gpu_job = warehouse.sql(
        "SELECT resource_id, gpus, team FROM jobs WHERE job_id = '5692623' ORDER BY resource_id"
    ).fetchall()
    assert gpu_job == [("cpn-k16-35-01", 1, "ccr"), ("cpn-k16-37-01", 1, "ccr")]


def test_opencost_export(warehouse, shared_data):
    # opencost/opencost-website static/export-sample.csv (Apache-2.0)
    result = load(warehouse, shared_data / "k8s" / "opencost_export-sample.csv")
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == ("opencost_allocation_csv", 2, 0)
    assert warehouse.sql("SELECT DISTINCT team FROM jobs").fetchall() == [("my-team",)]


def test_azure_llm_trace(warehouse, shared_data):
    # Azure/AzurePublicDataset AzureLLMInferenceTrace_code.csv (CC-BY-4.0, Splitwise, ISCA 2024)
    result = load(warehouse, shared_data / "llm" / "AzureLLMInferenceTrace_code.csv")
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == ("inference_trace", 8819, 0)
    endpoint, requests = warehouse.sql("SELECT any_value(endpoint), sum(requests) FROM inference_requests").fetchall()[
        0
    ]
    assert (endpoint, requests) == ("AzureLLMInferenceTrace_code", 8819)


def test_documented_jobs_csv_and_bad_rows(warehouse, tmp_path):
    path = tmp_path / "jobs_week.csv"
    path.write_text(
        "job_id,kind,team,project,model,user,resource_ids,start,end,gpus_per_node,pricing_model\n"
        "j1,training,vision,det,yolo,ann,i-a;i-b,2026-11-16T00:00:00Z,2026-11-16T05:00:00Z,8,spot\n"
        "j2,cooking,vision,,,,i-a,2026-11-16T00:00:00Z,,8,\n"
        "j3,inference,nlp,,,,i-c,2026-11-16T00:00:00Z,,8,\n"
    )
    result = load(warehouse, path)
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == ("jobs_csv", 2, 1)  # records
    assert warehouse.sql("SELECT count(*) FROM jobs").fetchall()[0][0] == 3  # j1 on two machines
    assert "column kind" in warehouse.sql("SELECT reason FROM rejected_rows").fetchall()[0][0]
    assert warehouse.sql("SELECT count(*) FROM jobs WHERE end_ts IS NULL").fetchall()[0][0] == 1


def test_inference_hourly_and_network_flows(warehouse, tmp_path):
    hourly = tmp_path / "inference_week.csv"
    hourly.write_text(
        "hour,endpoint,model,resource_id,requests,tokens_in,tokens_out,avg_batch_size,avg_latency_ms\n"
        "2026-11-16T00:00:00Z,chat,llama,i-g5,1200,400000,90000,3.5,210\n"
        "2026-11-16T01:00:00Z,chat,llama,i-g5,-4,400000,90000,3.5,210\n"
    )
    result = load(warehouse, hourly)
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == ("inference_hourly", 1, 1)
    flows = tmp_path / "network_flows_week.csv"
    flows.write_text(
        "interval_start,interval_seconds,source_resource_id,source_region,destination,destination_region,bytes,content_key\n"
        "2026-11-16T00:00:00Z,3600,i-web,us-east-1,internet,,123456789,models/llama/\n"
        "2026-11-16T01:00:00Z,3600,i-web,us-east-1,internet,,many,\n"
    )
    result = load(warehouse, flows)
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == ("network_flows_csv", 1, 1)
    assert (
        "column bytes" in warehouse.sql("SELECT reason FROM rejected_rows WHERE reason LIKE '%bytes%'").fetchall()[0][0]
    )


def test_opencost_allocation_api_response(warehouse, shared_data):
    # opencost/opencost-website static/allocation-example-output.json (Apache-2.0)
    path = shared_data / "k8s" / "opencost_allocation-example-output.json"
    expected = [
        (name, alloc["start"], alloc.get("gpuCount", 0))
        for window in json.loads(path.read_text())["data"]
        for name, alloc in window.items()
    ]
    result = load(warehouse, path)
    assert (result.source_format, result.rows_loaded, result.rows_rejected) == (
        "opencost_allocation_json",
        len(expected),
        0,
    )
    stored = warehouse.sql(
        "SELECT job_id, strftime(start_ts, '%Y-%m-%dT%H:%M:%SZ'), gpus, project FROM jobs ORDER BY job_id"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in stored] == sorted((n, s, int(g)) for n, s, g in expected)
    assert all(r[3] == r[0] for r in stored)  # aggregated by namespace: the allocation is the namespace
