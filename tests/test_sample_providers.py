"""The generated sample's GCP and Azure GPU machines: billed as those providers bill them, named by host
name in the usage logs, and every planted saving found by its detector with the generator's figure."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from sample_data import company as co
from sample_data import generate_sample

pytestmark = pytest.mark.slow  # generates a sample company or runs SMTP servers: seconds a test

END_WEEK = date(2026, 11, 16)
FOLDERS = ("billing", "usage/gpu", "usage/jobs", "usage/inference", "usage/network", "usage/storage")
DETECTOR = {"hdfs": "hdfs_to_object"}
# Figures the detector reproduces to the cent (rates are the bill's own); batching's utilisation is the
# mean of the GPU samples, the generator's the mean of the hourly schedule the samples scatter around.
TOLERANCE = {"batching": Decimal("0.01")}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The sample ingested, the last week attributed and its recommendations made (as the demo does)."""
    from flows.attribute import attribute_week
    from flows.ingest import ingest_files
    from flows.recommend import recommend_week
    from flows.settings import Settings
    from flows.warehouse import connect

    out = tmp_path_factory.mktemp("providers")
    summary = generate_sample(out / "sample", end_week=END_WEEK)
    con = connect(out / "warehouse.duckdb")
    results = ingest_files(con, [out / "sample" / f for f in FOLDERS])
    assert sum(r.rows_rejected for r in results) == 0 and not [r.error for r in results if r.error]
    settings = Settings(db=out / "unused.duckdb")
    attribute_week(con, END_WEEK, settings)
    recs = recommend_week(con, END_WEEK, settings)
    cost = (
        con.sql("select * from attributed_cost")
        .pl()
        .with_columns(converted=pl.col("effective_cost_reporting").is_not_null())
    )
    yield out / "sample", summary, recs, cost
    con.close()


def _planted(summary) -> list[dict]:
    return [o for o in summary["opportunities"] if o.get("provider") in ("gcp", "azure")]


def _gcp(out: Path, summary) -> pl.DataFrame:
    with gzip.open(out / summary["files"]["gcp_billing_jsonl"][0], "rb") as fh:
        return pl.read_ndjson(fh.read())


def test_every_gpu_saving_kind_is_planted_on_gcp_and_azure(tmp_path):
    summary = generate_sample(tmp_path, end_week=END_WEEK)
    planted = {(o["kind"], o["provider"]) for o in _planted(summary)}
    assert {("idle_gpu", "gcp"), ("idle_gpu", "azure"), ("hdfs", "gcp"), ("spot", "gcp")} <= planted
    kinds = {kind for kind, _ in planted}
    assert {"underused_gpu", "batching", "gpu_to_cpu"} <= kinds


def test_gcp_bills_each_vm_hour_as_core_ram_and_gpu_lines(week):
    out, summary, _, _ = week
    rows = (
        _gcp(out, summary)
        .filter(pl.col("service").struct.field("description") == "Compute Engine")
        .select(
            name=pl.col("resource").struct.field("name"),
            global_name=pl.col("resource").struct.field("global_name"),
            sku=pl.col("sku").struct.field("description"),
            start=pl.col("usage_start_time"),
            cost=pl.col("cost"),
            spec=pl.col("system_labels").list.eval(pl.element().struct.field("value")).list.first(),
        )
    )
    for m in (x for x in co.MACHINES if x.provider == "gcp" and x.name != "a3-train-1"):
        vm = rows.filter(pl.col("name") == m.name)
        assert set(vm["global_name"]) == {m.resource_id} and set(vm["spec"]) == {m.instance_type}
        per_hour = vm.group_by("start").agg(pl.len(), pl.col("sku"), pl.col("cost").sum())
        assert set(per_hour["len"]) == {3 if m.gpus else 2}, m.name
        assert all(any("Core" in s for s in skus) and any("Ram" in s for s in skus) for skus in per_hour["sku"])
        assert per_hour["cost"].round(6).unique().to_list() == [m.hourly]  # core + RAM + GPU = the list price
    disks = rows.filter(pl.col("global_name").str.contains("/disks/"))
    assert set(disks["name"]) == {f"lake-dn-{i}-data" for i in (1, 2, 3)}
    labels = _gcp(out, summary).filter(pl.col("resource").struct.field("name") == "lake-dn-1-data")["labels"][0]
    assert {(kv["key"], kv["value"]) for kv in labels} >= {
        ("role", "hdfs-datanode"),
        ("cluster", "lake"),
        ("hdfs_replication", "2"),
    }


def test_usage_logs_name_gcp_and_azure_machines_by_host_name(week):
    out, summary, _, _ = week
    hosts = {m.name for m in co.GPU_MACHINES if m.provider in ("gcp", "azure")}
    smi = {Path(p).name.removesuffix(".csv.gz") for p in summary["files"]["nvidia_smi_csv"]}
    dcgm = {Path(p).name.removesuffix(".prom.gz") for p in summary["files"]["gpu_prometheus"]}
    assert hosts == (smi | dcgm) & hosts and dcgm == {"vm-nlp-nc24-01"}
    text = gzip.open(out / summary["files"]["gpu_prometheus"][0], "rt").read()
    assert 'Hostname="vm-nlp-nc24-01"' in text and "DCGM_FI_DEV_GPU_UTIL{" in text
    sacct = (out / summary["files"]["slurm_sacct"][0]).read_text().splitlines()
    assert sacct[0].startswith("JobID|") and {line.split("|")[-1] for line in sacct[1:]} == {"nw-gpu-[01-02]"}
    jobs = pl.read_csv(out / "usage/jobs/jobs.csv", infer_schema=False)
    logged = set(jobs["resource_ids"].str.split(";").explode())
    assert {"a3-train-1", "nd96-train-1", "vm-research-nc96-01"} <= logged and not any(
        "/" in r for r in logged if not r.startswith("arn:")
    )
    inference = pl.read_csv(out / "usage/inference/inference_hourly.csv", infer_schema=False)
    assert {"nw-ocr-a2-01", "nw-rerank-a2-01"} <= set(inference["resource_id"])
    azure = (out / summary["files"]["azure_cost_details"][0]).read_text(encoding="utf-8-sig")
    for name in ("vm-nlp-nc24-01", "vm-research-nc96-01", "nd96-train-1"):
        assert f"/Microsoft.Compute/virtualMachines/{name}," in azure


def _found(recs: pl.DataFrame, planted: dict) -> pl.DataFrame:
    kind = DETECTOR.get(planted["kind"], planted["kind"])
    rows = recs.filter((pl.col("kind") == kind) & (pl.col("status") != "resolved"))
    if kind == "spot":
        return rows.filter(pl.col("project") == "llm-pretrain")
    if kind == "hdfs_to_object":
        return rows.filter(pl.col("resource_id") == "hdfs:lake")
    return rows.filter(pl.col("resource_id") == planted["resource_id"])


def test_each_planted_gcp_and_azure_saving_fires_with_the_generators_figure(week):
    _, summary, recs, _ = week
    planted = _planted(summary)
    assert len(planted) == 7
    for o in planted:
        found = _found(recs, o)
        assert found.height == 1, (o["kind"], o["host"])
        measured = Decimal(found["monthly_savings"][0])
        expected = Decimal(str(o["monthly_saving_usd"]))
        tolerance = max(Decimal("0.05"), expected * TOLERANCE.get(o["kind"], Decimal("0.00005")))
        assert abs(measured - expected) <= tolerance, (o["kind"], o["host"], measured, expected, o["formula"])
        if o["kind"] in ("idle_gpu", "underused_gpu"):
            evidence = json.loads(found["evidence"][0])
            assert (
                evidence["hourly_rate_source"] == "bill"
                and evidence["instance_type"] == co.machine(o["host"]).instance_type
            )


def test_the_headline_is_the_plans_open_savings_and_below_the_cost_it_touches(week):
    from transforms.plan import parse_basis
    from transforms.recommendations import open_savings
    from transforms.report import headline

    _, _, recs, cost = week
    head = headline(cost, recs, END_WEEK, "USD")
    counted = recs.filter(pl.col("counted") & (pl.col("status") != "resolved"))
    total = sum((Decimal(v) for v in counted["monthly_savings"]), Decimal(0))
    assert Decimal(head["open_savings_exact"]) == total == open_savings(recs)
    largest: dict[str, Decimal] = {}
    for text in recs["cost_basis"]:
        for key, value in parse_basis(text).items():
            largest[key] = max(largest.get(key, Decimal(0)), value)
    assert 0 < total < sum(largest.values()), (total, sum(largest.values()))
