"""The deterministic sample generator: same bytes for the same seed, formats the readers accept,
totals that survive ingestion exactly, and the planted opportunities visible in the files."""

from __future__ import annotations

import calendar
import gzip
import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote_plus, unquote_plus

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.readers import file_stem, sniff
from sample_data import generate_sample, last_complete_week
from transforms.billing.aws_cur2_columns import CUR2_COLUMNS
from transforms.formats import detect

pytestmark = pytest.mark.slow  # generates a sample company or runs SMTP servers: seconds a test

END_WEEK = date(2026, 11, 16)
BILLING_FORMATS = ("aws_cur_csv", "aws_cur2_parquet", "gcp_billing_jsonl", "azure_cost_details", "focus")
USAGE_FOLDERS = ("usage/gpu", "usage/jobs", "usage/inference", "usage/network")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out, end_week=END_WEEK)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _gcp_rows(out: Path, summary) -> pl.DataFrame:
    """The gzip BigQuery export as a frame (nested columns kept)."""
    with gzip.open(out / summary["files"]["gcp_billing_jsonl"][0], "rb") as fh:
        return pl.read_ndjson(fh.read())


def _sql(query: str, **params):
    return duckdb.sql(query, params=params or None).fetchall()


def test_same_arguments_give_identical_bytes_and_another_seed_differs(sample, tmp_path):
    out, summary = sample
    again = generate_sample(tmp_path / "again", end_week=END_WEEK)
    assert again == summary
    first = _digests(out)
    assert _digests(tmp_path / "again") == first
    generate_sample(tmp_path / "seed8", end_week=END_WEEK, seed=8)
    other = _digests(tmp_path / "seed8")
    assert set(other) == set(first)
    changed = {name for name in first if other[name] != first[name]}
    for fmt in (*BILLING_FORMATS, "nvidia_smi_csv", "jobs_csv", "inference_hourly", "network_flows_csv"):
        assert set(summary["files"][fmt]) <= changed, fmt


def test_weeks_are_iso_mondays_ending_at_end_week(sample):
    _, summary = sample
    weeks = [date.fromisoformat(d) for d in summary["weeks"]]
    assert len(weeks) == 8 and weeks[-1] == END_WEEK and all(w.weekday() == 0 for w in weeks)
    assert last_complete_week(date(2026, 11, 25)) == END_WEEK
    assert last_complete_week(date(2026, 11, 23)) == END_WEEK


def test_end_week_must_be_a_monday(tmp_path):
    with pytest.raises(ValueError, match="end_week must be a Monday"):
        generate_sample(tmp_path, end_week=date(2026, 11, 18))


def test_every_billing_file_is_detected_as_its_format(sample):
    out, summary = sample
    for fmt in BILLING_FORMATS:
        assert summary["files"][fmt], fmt
        for rel in summary["files"][fmt]:
            found = detect(sniff(out / rel))
            assert found is not None and found.name == fmt, (rel, found)


def test_usage_logs_are_detected_as_their_formats(sample):
    out, summary = sample
    for fmt in ("nvidia_smi_csv", "jobs_csv", "inference_hourly", "network_flows_csv"):
        for rel in summary["files"][fmt]:
            assert detect(sniff(out / rel)).name == fmt, rel


def test_whole_set_ingests_without_rejections_and_totals_match(sample, warehouse):
    from flows.ingest import ingest_files

    out, summary = sample
    results = ingest_files(warehouse, [out / "billing", *(out / f for f in USAGE_FOLDERS)])
    assert [r.error for r in results if r.error] == []
    assert sum(r.rows_rejected for r in results) == 0
    billed: dict[str, Decimal] = {}
    effective: dict[str, Decimal] = {}
    loaded: dict[str, int] = {}
    for r in results:
        loaded[r.source_format] = loaded.get(r.source_format, 0) + r.rows_loaded
        for cur, v in r.billed_cost.items():
            billed[cur] = billed.get(cur, Decimal(0)) + v
        for cur, v in r.effective_cost.items():
            effective[cur] = effective.get(cur, Decimal(0)) + v
    assert set(billed) == {"USD", "EUR"}
    assert billed == {c: Decimal(v) for c, v in summary["billed_totals"].items()}
    assert effective == {c: Decimal(v) for c, v in summary["effective_totals"].items()}
    for fmt in (*BILLING_FORMATS, "nvidia_smi_csv", "inference_hourly", "network_flows_csv"):
        assert loaded[fmt] == summary["rows"][fmt], fmt
    stored = warehouse.sql("select billing_currency, sum(billed_cost) from billing_line_items group by 1").fetchall()
    assert {c: v for c, v in stored} == billed
    # credits are kept: AWS credit lines and GCP credits inside rows
    assert (
        warehouse.sql("select count(*) from billing_line_items where charge_category = 'Credit'").fetchall()[0][0] >= 2
    )
    assert warehouse.sql("select sum(x_credit_amount) < 0 from billing_line_items where provider = 'gcp'").fetchall()[
        0
    ][0]


def test_default_sample_is_small(sample):
    out, summary = sample
    assert 20_000 < summary["billing_rows"] < 100_000
    billing_bytes = sum(p.stat().st_size for p in (out / "billing").rglob("*") if p.is_file())
    assert billing_bytes < 10 * 2**20


def test_rows_scales_the_billing_exports(tmp_path):
    summary = generate_sample(tmp_path, end_week=END_WEEK, rows=200_000)
    counted = sum(pq.ParquetFile(tmp_path / rel).metadata.num_rows for rel in summary["files"]["aws_cur2_parquet"])
    for rel in summary["files"]["aws_cur_csv"]:
        with gzip.open(tmp_path / rel, "rt") as fh:
            counted += sum(1 for _ in fh) - 1
    counted += sum(1 for _ in gzip.open(tmp_path / summary["files"]["gcp_billing_jsonl"][0], "rt"))
    for fmt in ("azure_cost_details", "focus"):
        counted += sum(1 for _ in open(tmp_path / summary["files"][fmt][0], encoding="utf-8-sig")) - 1
    assert counted == summary["billing_rows"]
    assert abs(counted - 200_000) <= 2_000
    fleet_jobs = _sql("select count(*) from read_csv($p)", p=str(tmp_path / "usage/jobs/jobs_fleet.csv"))[0][0]
    assert 0 < fleet_jobs <= 20_000


def test_cur2_files_have_exactly_the_reader_columns(sample):
    out, summary = sample
    for rel in summary["files"]["aws_cur2_parquet"]:
        schema = pq.read_schema(out / rel)
        assert {f.name: f.type for f in schema} == dict(CUR2_COLUMNS)
    types = _sql(
        "select distinct line_item_line_item_type from read_parquet($p)",
        p=[str(out / r) for r in summary["files"]["aws_cur2_parquet"]],
    )
    assert {t for (t,) in types} >= {
        "Usage",
        "DiscountedUsage",
        "RIFee",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanRecurringFee",
        "Credit",
        "Tax",
    }
    classes = _sql(
        "select distinct product['storage_class'] from read_parquet($p) where product['storage_class'] is not null",
        p=[str(out / r) for r in summary["files"]["aws_cur2_parquet"]],
    )
    assert {c for (c,) in classes} == {"STANDARD", "STANDARD_IA", "GLACIER", "INTELLIGENT_TIERING"}


def test_legacy_cur_is_two_gzip_parts_listed_by_a_manifest(sample):
    out, summary = sample
    manifest_path = out / summary["files"]["aws_cur_manifest"][0]
    assert manifest_path.name.endswith("-Manifest.json")
    manifest = json.loads(manifest_path.read_text())
    parts = [out / rel for rel in summary["files"]["aws_cur_csv"]]
    assert manifest["assemblyId"] and [Path(k).name for k in manifest["reportKeys"]] == [p.name for p in parts]
    assert [p.name[-13:] for p in parts] == ["-00001.csv.gz", "-00002.csv.gz"]
    with gzip.open(parts[0], "rt") as fh:
        header = fh.readline()
    assert "lineItem/UnblendedCost" in header and "resourceTags/user:team" in header


def test_azure_is_eur_with_a_bom_and_gcp_is_nested(sample):
    out, summary = sample
    raw = (out / summary["files"]["azure_cost_details"][0]).read_bytes()
    assert raw.startswith("\ufeff".encode()) and b",EUR," in raw
    with gzip.open(out / summary["files"]["gcp_billing_jsonl"][0], "rt") as fh:
        first = json.loads(fh.readline())
    assert set(first["service"]) == {"id", "description"} and isinstance(first["labels"], list)


def _gpu(out: Path, resource_id: str) -> np.ndarray:
    rows = _sql(
        'select "utilization.gpu [%]" from read_csv($p, all_varchar=true)',
        p=str(out / "usage/gpu" / f"{resource_id}.csv.gz"),
    )
    return np.array([int(v.strip().rstrip("%")) for (v,) in rows])


def _jobs(out: Path):
    return _sql(
        'select job_id, kind, resource_ids, start, "end" from read_csv($p, all_varchar=true)',
        p=str(out / "usage/jobs/jobs.csv"),
    )


def _opportunity(summary, kind):
    return next(o for o in summary["opportunities"] if o["kind"] == kind)


def test_planted_gpu_opportunities_are_in_the_logs(sample):
    out, summary = sample
    jobs = _jobs(out)
    for rid in _opportunity(summary, "idle_gpu")["resource_id"]:
        util = _gpu(out, rid)
        assert np.mean(util <= 3) > 0.85
        assert not [j for j in jobs if rid in j[2]]
    under = _gpu(out, _opportunity(summary, "underused_gpu")["resource_id"])
    assert 22 <= np.percentile(under, 95) <= 28
    cluster = _opportunity(summary, "distributed_efficiency")["resource_id"]
    multi = [j for j in jobs if j[2].count(";") == 3]
    assert len(multi) == 8 and all(j[2].split(";") == cluster for j in multi)
    node = _gpu(out, cluster[0]).reshape(-1, 4 * 8)  # one row per hour: 4 samples x 8 GPUs
    start = lambda ts: (date.fromisoformat(ts[:10]) - date(2026, 9, 28)).days * 24 + int(ts[11:13])  # noqa: E731
    single = [j for j in jobs if j[2] == cluster[0] and j[1] == "training"]
    single_util = np.mean(np.concatenate([node[start(j[3]) : start(j[4])].ravel() for j in single]))
    multi_util = np.mean(np.concatenate([node[start(j[3]) : start(j[4])].ravel() for j in multi]))
    assert 85 <= single_util <= 95 and multi_util < 50
    lengths = np.array([start(j[4]) - start(j[3]) for j in single])
    assert lengths[lengths > 24].sum() > 0.7 * lengths.sum()  # mostly long on-demand jobs (spot)


def test_planted_inference_and_storage_opportunities(sample):
    out, summary = sample
    inf = str(out / "usage/inference/inference_hourly.csv")
    (batch,) = _sql("select avg(avg_batch_size) from read_csv($p) where endpoint = 'seg-realtime'", p=inf)[0:1]
    assert 1.0 <= batch[0] < 1.1
    (rate,) = _sql(
        "select sum(requests) / (count(*) * 3600.0) from read_csv($p) where endpoint = 'embed-search'", p=inf
    )
    assert rate[0] < 1
    spend = _sql("select model, count(*) from read_csv($p) group by 1", p=inf)
    assert {m for m, _ in spend} >= {"nw-chat-70b", "seg-v3", "embed-small", "asr-large"}
    manifest = json.loads((out / "usage/storage/nw-training-data/manifest.json").read_text())
    assert manifest["fileSchema"] == "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessedDate"
    data = [out / "usage/storage/nw-training-data/data" / Path(f["key"]).name for f in manifest["files"]]
    assert all(hashlib.md5(p.read_bytes()).hexdigest() == f["MD5checksum"] for p, f in zip(data, manifest["files"]))
    rows = _sql(
        "select * from read_csv($p, header=false, all_varchar=true, "
        "names=['b','k','size','modified','cls','accessed'])",
        p=[str(p) for p in data],
    )
    snapshot = int(manifest["creationTimestamp"]) // 1000
    from datetime import datetime

    age = lambda t: (snapshot - datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()) / 86400  # noqa: E731
    cold = [r for r in rows if r[4] == "STANDARD" and r[5] and age(r[5]) >= 90]
    assert sum(int(r[2]) for r in cold if int(r[2]) >= 128 * 1024 and age(r[3]) >= 30) > 300 * 2**40
    assert sum(1 for r in cold if int(r[2]) < 128 * 1024) >= 1000  # near-miss: tiny objects
    assert sum(1 for r in rows if age(r[3]) < 30) >= 500  # near-miss: young objects
    ckpt = json.loads((out / "usage/storage/nw-checkpoints/manifest.json").read_text())
    keys = _sql(
        "select column1 from read_csv($p, header=false, all_varchar=true)",
        p=[str(out / "usage/storage/nw-checkpoints/data" / Path(f["key"]).name) for f in ckpt["files"]],
    )
    runs = {}
    for (raw,) in keys:
        k = unquote_plus(raw)
        assert k.startswith("checkpoints/") and k.endswith(".pt") and "/step-" in k
        runs[k.split("/")[1]] = runs.get(k.split("/")[1], 0) + 1
    assert min(runs.values()) >= 24
    kinds = {o["kind"] for o in summary["opportunities"]}
    assert kinds == {
        "idle_gpu",
        "underused_gpu",
        "batching",
        "gpu_to_cpu",
        "compression",
        "commitments",
        "spot",
        "storage_tiering",
        "data_compression",
        "checkpoint_sprawl",
        "network",
        "hdfs",
        "distributed_efficiency",
        "scheduling",
    }
    assert all(o["monthly_saving_usd"] > 100 for o in summary["opportunities"])


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _aws_storage_days(out: Path, summary) -> pl.DataFrame:
    """Every GB-Mo line item of both AWS formats: resource, usage type, day, quantity, cost."""
    cur2 = pl.read_parquet([out / r for r in summary["files"]["aws_cur2_parquet"]]).select(
        resource=pl.col("line_item_resource_id"),
        usage_type=pl.col("line_item_usage_type"),
        day=pl.col("line_item_usage_start_date").dt.date(),
        quantity=pl.col("line_item_usage_amount"),
        cost=pl.col("line_item_unblended_cost"),
        unit=pl.col("pricing_unit"),
    )
    legacy = pl.concat([pl.read_csv(out / r, infer_schema=False) for r in summary["files"]["aws_cur_csv"]]).select(
        resource=pl.col("lineItem/ResourceId"),
        usage_type=pl.col("lineItem/UsageType"),
        day=pl.col("lineItem/UsageStartDate").str.slice(0, 10).str.to_date(),
        quantity=pl.col("lineItem/UsageAmount").cast(pl.Float64),
        cost=pl.col("lineItem/UnblendedCost").cast(pl.Float64),
        unit=pl.col("pricing/unit"),
    )
    rows = pl.concat([cur2, legacy]).filter(pl.col("unit") == "GB-Mo")
    return rows.with_columns(month_days=pl.col("day").map_elements(_days_in_month, return_dtype=pl.Int64))


def _from_the_first_day(rows: pl.DataFrame) -> pl.DataFrame:
    """Only the volumes and buckets billed since the window's first day (not the new project's machine)."""
    return rows.filter(pl.col("day").min().over("resource", "usage_type") == pl.col("day").min())


def _assert_flat_per_month_day(rows: pl.DataFrame, keys: list[str], value: str, rel: float) -> None:
    """``value`` x days in the day's month is the same on every day of each series (size x 24 / hours in month)."""
    spread = rows.group_by(keys).agg(
        lo=(pl.col(value) * pl.col("month_days")).min(),
        hi=(pl.col(value) * pl.col("month_days")).max(),
        months=pl.col("day").dt.month().n_unique(),
        days=pl.len(),
    )
    assert spread.height and spread["months"].min() >= 2, spread
    bad = spread.filter(pl.col("hi") > pl.col("lo") * (1 + rel))
    assert bad.height == 0, bad


def test_storage_is_charged_per_day_as_size_times_24_over_month_hours(sample):
    out, summary = sample
    aws = _from_the_first_day(_aws_storage_days(out, summary))
    assert {"USE1-TimedStorage-ByteHrs", "EBS:VolumeUsage.st1", "EBS:VolumeUsage.gp3"} <= set(aws["usage_type"])
    assert aws["day"].min() < date(2026, 10, 1) and aws["day"].max() > date(2026, 11, 1)  # legacy and CUR 2.0 months
    _assert_flat_per_month_day(aws, ["resource", "usage_type"], "quantity", 1e-5)
    _assert_flat_per_month_day(aws.filter(pl.col("cost") > 1), ["resource", "usage_type"], "cost", 1e-5)
    # one 12,500 GB st1 volume: 12,500 x 24 / hours in month GB-Mo every day
    st1 = aws.filter(pl.col("usage_type") == "EBS:VolumeUsage.st1").filter(
        pl.col("resource") == pl.col("resource").min()
    )
    assert np.allclose(st1["quantity"].to_numpy(), 12_500 / st1["month_days"].to_numpy(), rtol=1e-6)
    gcp = (
        _gcp_rows(out, summary)
        .filter(pl.col("service").struct.field("description") == "Cloud Storage")
        .select(
            resource=pl.col("resource").struct.field("name"),
            day=pl.col("usage_start_time").str.slice(0, 10).str.to_date(),
            cost=pl.col("cost"),
            bytes_day=pl.col("usage").struct.field("amount") / 86400,
        )
    )
    _assert_flat_per_month_day(
        gcp.with_columns(month_days=pl.col("day").map_elements(_days_in_month, return_dtype=pl.Int64)),
        ["resource"],
        "cost",
        1e-5,
    )
    assert gcp.group_by("resource").agg(pl.col("bytes_day").n_unique())["bytes_day"].to_list() == [1, 1]
    azure = pl.read_csv(out / summary["files"]["azure_cost_details"][0], infer_schema=False, encoding="utf8-lossy")
    azure = (
        azure.rename({azure.columns[0]: azure.columns[0].lstrip("\ufeff")})
        .filter(pl.col("MeterName").str.ends_with("Data Stored"))
        .select("MeterName", day=pl.col("Date").str.to_date("%m/%d/%Y"), quantity=pl.col("Quantity").cast(pl.Float64))
    )
    assert azure["MeterName"].n_unique() == 2  # Blob Hot and Cool
    _assert_flat_per_month_day(
        azure.with_columns(month_days=pl.col("day").map_elements(_days_in_month, return_dtype=pl.Int64)),
        ["MeterName"],
        "quantity",
        1e-5,
    )
    oci = (
        pl.read_csv(out / summary["files"]["focus"][0], infer_schema=False)
        .filter(pl.col("ServiceName") == "Object Storage")
        .select(
            "ResourceId",
            day=pl.col("ChargePeriodStart").str.slice(0, 10).str.to_date(),
            quantity=pl.col("ConsumedQuantity").cast(pl.Float64),
        )
    )
    _assert_flat_per_month_day(
        oci.with_columns(month_days=pl.col("day").map_elements(_days_in_month, return_dtype=pl.Int64)),
        ["ResourceId"],
        "quantity",
        0.08,
    )  # 40 TB with 1 % daily noise


def test_constant_storage_is_flat_week_to_week(sample):
    out, summary = sample
    weekly = (
        _from_the_first_day(_aws_storage_days(out, summary))
        .group_by(week=pl.col("day").dt.truncate("1w"))
        .agg(pl.col("cost").sum())
    )
    assert weekly.height == 8
    assert weekly["cost"].max() <= weekly["cost"].min() * 31 / 30 * (1 + 1e-6)


def test_gpu_metrics_are_deterministic_gzip_named_after_the_machine(sample):
    out, summary = sample
    paths = [out / rel for rel in summary["files"]["nvidia_smi_csv"]]
    billed = set(pl.read_parquet([out / r for r in summary["files"]["aws_cur2_parquet"]])["line_item_resource_id"])
    billed |= set(pl.read_csv(out / summary["files"]["focus"][0], infer_schema=False)["ResourceId"])
    billed |= set(_gcp_rows(out, summary)["resource"].struct.field("name").drop_nulls())  # GCP: the host name
    azure = pl.read_csv(out / summary["files"]["azure_cost_details"][0], infer_schema=False, encoding="utf8-lossy")
    billed |= set(azure[[c for c in azure.columns if c.endswith("ResourceName")][0]])  # Azure: the VM name
    for path in paths:
        raw = path.read_bytes()
        assert path.name.endswith(".csv.gz") and raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # mtime 0
        assert detect(sniff(path)).name == "nvidia_smi_csv"
        with gzip.open(path, "rt") as fh:
            header = fh.readline()
        assert header.rstrip("\n").endswith(
            "utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
        )
        assert file_stem(path) in billed or header.startswith("host, ")
    assert sum(p.stat().st_size for p in paths) < 8 * 2**20


def test_default_sample_stays_well_under_20_mb(sample):
    out, _ = sample
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 16 * 2**20


def test_inventory_keys_are_url_encoded_like_s3_inventory(sample):
    out, _ = sample
    decoded = []
    for manifest_path in sorted((out / "usage/storage").glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for f in manifest["files"]:
            with gzip.open(manifest_path.parent / "data" / Path(f["key"]).name, "rt") as fh:
                for line in fh:
                    raw = line.split('","')[1]
                    assert raw == quote_plus(unquote_plus(raw)) and "/" not in raw and " " not in raw, raw
                    decoded.append(unquote_plus(raw))
    assert any(" " in k for k in decoded) and any("+" in k for k in decoded)


def test_hdfs_planted_figure_is_what_the_detector_measures_every_week(sample, warehouse, tmp_path):
    from flows.ingest import ingest_files
    from flows.recommend import load_config, load_prices, read_inputs
    from flows.settings import Settings
    from transforms.detectors import hdfs_to_object

    out, summary = sample
    ingest_files(warehouse, [out / "billing"])
    settings = Settings(db=tmp_path / "unused.duckdb")
    planted = _opportunity(summary, "hdfs")["monthly_saving_usd"]
    for week in (date.fromisoformat(w) for w in summary["weeks"]):
        config = load_config(settings, week)
        frames = {**read_inputs(warehouse, week, config), "prices": load_prices(settings.prices)}
        found = hdfs_to_object.detect(frames, config).filter(pl.col("resource_id") == "hdfs:hdfs")  # the AWS cluster
        assert found.height == 1, week
        measured = float(found["monthly_savings"][0])
        assert abs(measured - planted) <= 0.03 * planted, (week, measured, planted)  # within the month-length factor


# ------------------------------------------------------------------------------------------------
# The story the weeks tell: pipelines, growth, a new project, an anomaly, a resolved recommendation
# ------------------------------------------------------------------------------------------------
MONDAYS = [date(2026, 9, 28) + timedelta(weeks=w) for w in range(8)]


@pytest.fixture(scope="module")
def story(sample, tmp_path_factory):
    """The generated files ingested, every week attributed, the last two weeks' recommendations tracked."""
    from flows.attribute import attribute_week
    from flows.ingest import ingest_files
    from flows.recommend import recommend_week
    from flows.settings import Settings
    from flows.warehouse import connect

    out, summary = sample
    folder = tmp_path_factory.mktemp("story")
    con = connect(folder / "warehouse.duckdb")
    results = ingest_files(con, [out / "billing", *(out / f for f in (*USAGE_FOLDERS, "usage/storage"))])
    assert sum(r.rows_rejected for r in results) == 0 and not [r.error for r in results if r.error]
    settings = Settings(db=folder / "unused.duckdb")
    for week in MONDAYS:
        attribute_week(con, week, settings)
    recs = {week: recommend_week(con, week, settings) for week in MONDAYS[-2:]}
    cost = (
        con.sql("select * from attributed_cost")
        .pl()
        .with_columns(converted=pl.col("effective_cost_reporting").is_not_null())
    )
    yield cost, recs
    con.close()


def _weekly(cost: pl.DataFrame, *filters) -> dict[date, Decimal]:
    rows = cost.filter(*filters) if filters else cost
    by_week = rows.group_by("week_start").agg(pl.col("effective_cost_reporting").sum())
    return {w: by_week.filter(pl.col("week_start") == w)["effective_cost_reporting"].sum() for w in MONDAYS}


def _cur_rows(out: Path, summary) -> pl.DataFrame:
    """Every CUR 2.0 and legacy CUR line item: product code, resource, start, amount, unblended cost."""
    cur2 = pl.read_parquet([out / r for r in summary["files"]["aws_cur2_parquet"]]).select(
        code=pl.col("line_item_product_code"),
        resource=pl.col("line_item_resource_id"),
        start=pl.col("line_item_usage_start_date").dt.replace_time_zone(None).cast(pl.Datetime("us")),
        amount=pl.col("line_item_usage_amount"),
        cost=pl.col("line_item_unblended_cost"),
        usage_type=pl.col("line_item_usage_type"),
    )
    legacy = pl.concat([pl.read_csv(out / r, infer_schema=False) for r in summary["files"]["aws_cur_csv"]]).select(
        code=pl.col("lineItem/ProductCode"),
        resource=pl.col("lineItem/ResourceId"),
        start=pl.col("lineItem/UsageStartDate").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us"),
        amount=pl.col("lineItem/UsageAmount").cast(pl.Float64),
        cost=pl.col("lineItem/UnblendedCost").cast(pl.Float64),
        usage_type=pl.col("lineItem/UsageType"),
    )
    return pl.concat([cur2, legacy]).with_columns(week=pl.col("start").dt.truncate("1w").dt.date())


def test_daily_pipelines_are_billed_by_four_services_and_attributed_as_data_processing(sample, story):
    out, summary = sample
    cost, _ = story
    codes = set(_cur_rows(out, summary)["code"])
    assert {"AWSGlue", "ElasticMapReduce"} <= codes
    gcp = _gcp_rows(out, summary)
    assert "Dataflow" in set(gcp["service"].struct.field("description"))
    azure = (out / summary["files"]["azure_cost_details"][0]).read_text(encoding="utf-8-sig")
    assert ",Azure Databricks," in azure
    processing = cost.filter(pl.col("category") == "data_processing")
    assert set(processing["service_name"]) >= {"AWS Glue", "Amazon Elastic MapReduce", "Dataflow", "Azure Databricks"}
    share = {w: _weekly(processing)[w] / _weekly(cost)[w] for w in MONDAYS}
    assert all(Decimal("0.01") <= v <= Decimal("0.06") for v in share.values()), share


def test_inference_traffic_and_token_spend_grow_a_few_percent_a_week(sample):
    out, summary = sample
    hourly = pl.read_csv(out / "usage/inference/inference_hourly.csv").with_columns(
        week=pl.col("hour").str.slice(0, 10).str.to_date().dt.truncate("1w")
    )
    weekly = hourly.group_by("week").agg(pl.col("requests", "tokens_in", "tokens_out").sum()).sort("week")
    assert weekly.height == 8
    for column in ("requests", "tokens_in", "tokens_out"):
        values = weekly[column].to_numpy().astype(float)
        growth = values[1:] / values[:-1]
        assert np.all((growth > 1.01) & (growth < 1.06)), (column, growth)
    bedrock = (
        _cur_rows(out, summary)
        .filter(pl.col("code") == "AmazonBedrock")
        .group_by("week")
        .agg(pl.col("amount").sum())
        .sort("week")["amount"]
        .to_numpy()
    )
    assert 1.03**7 * 0.9 < bedrock[-1] / bedrock[0] < 1.03**7 * 1.1


def test_a_new_project_trains_on_a_new_machine_in_the_last_two_weeks(sample, story):
    out, summary = sample
    cost, _ = story
    jobs = pl.read_csv(out / "usage/jobs/jobs.csv", infer_schema=False).filter(pl.col("project") == "vision-seg-v4")
    assert jobs.height >= 8 and set(jobs["kind"]) == {"training"} and set(jobs["team"]) == {"vision"}
    machine = jobs["resource_ids"].unique().to_list()
    assert len(machine) == 1
    starts = jobs["start"].str.slice(0, 10).str.to_date()
    assert starts.min() >= MONDAYS[-2] + timedelta(days=3)
    hours = (
        _cur_rows(out, summary)
        .filter((pl.col("resource") == machine[0]) & pl.col("usage_type").str.starts_with("BoxUsage:p5"))
        .group_by("week")
        .agg(pl.len())
    )
    billed = dict(zip(hours["week"], hours["len"]))
    assert set(billed) == {MONDAYS[-2], MONDAYS[-1]} and billed[MONDAYS[-1]] == 168 and 24 < billed[MONDAYS[-2]] < 168
    util = _gpu(out, machine[0])
    assert util.size == 8 * 4 * (billed[MONDAYS[-2]] + billed[MONDAYS[-1]]) and np.mean(util) > 70
    total = _weekly(cost)
    change = total[MONDAYS[-1]] / total[MONDAYS[-2]] - 1
    assert Decimal("0.05") <= change <= Decimal("0.15"), change
    last, before = (
        cost.filter(pl.col("week_start") == w).group_by("project").agg(pl.col("effective_cost_reporting").sum())
        for w in MONDAYS[-2:][::-1]
    )
    moves = (
        last.join(before, on="project", how="left", suffix="_before")
        .with_columns(move=pl.col("effective_cost_reporting") - pl.col("effective_cost_reporting_before").fill_null(0))
        .sort("move", descending=True)
    )
    assert moves["project"][0] == "vision-seg-v4"
    assert not cost.filter((pl.col("project") == "vision-seg-v4") & (pl.col("week_start") < MONDAYS[-2])).height


def test_the_last_week_has_one_anomalous_day_and_service(sample, story):
    from transforms.report import daily_anomalies, service_anomalies

    out, summary = sample
    cost, _ = story
    flows = pl.read_csv(out / "usage/network/network_flows.csv").filter(
        (pl.col("source_resource_id") == "nw-model-weights") & (pl.col("destination") == "internet")
    )
    daily = flows.group_by(day=pl.col("interval_start").str.slice(0, 10)).agg(pl.col("bytes").sum()).sort("bytes")
    burst_day = date.fromisoformat(daily["day"][-1])
    assert burst_day == MONDAYS[-1] + timedelta(days=2)
    assert daily["bytes"][-1] > 10 * daily["bytes"].median()
    days = daily_anomalies(cost, MONDAYS[-1], "USD")
    assert [d["subject"] for d in days] == [f"{burst_day:%a %b} {burst_day.day}"]
    services = service_anomalies(cost, MONDAYS[-1], "USD")
    assert [s["subject"] for s in services] == ["Amazon Simple Storage Service (aws)"]
    for week in MONDAYS[4:-1]:  # the weeks before it are quiet
        assert not daily_anomalies(cost, week, "USD") or week == MONDAYS[-2]
        assert not service_anomalies(cost, week, "USD")


def test_the_dev_machine_scheduled_off_resolves_its_recommendation_the_others_stay_open(sample, story):
    out, summary = sample
    _, recs = story
    resolved = summary["story"]["resolved"]
    assert [r["kind"] for r in resolved] == ["scheduling"]
    bob = resolved[0]["resource_id"]
    hours = _cur_rows(out, summary).filter(
        (pl.col("resource") == bob) & pl.col("usage_type").str.starts_with("BoxUsage")
    )
    per_week = dict(zip(*hours.group_by("week").agg(pl.len()).sort("week").to_dict(as_series=False).values()))
    assert [per_week[w] for w in MONDAYS] == [168] * 7 + [60]
    before = recs[MONDAYS[-2]].filter((pl.col("kind") == "scheduling") & (pl.col("resource_id") == bob))
    assert before.height == 1 and before["status"][0] in ("new", "open")
    now = recs[MONDAYS[-1]]
    row = now.filter((pl.col("kind") == "scheduling") & (pl.col("resource_id") == bob))
    assert row["status"].to_list() == ["resolved"]
    # the machine's drop is credited once, to one of its overlapping resolved recommendations
    credited = now.filter((pl.col("resource_id") == bob) & pl.col("realised_savings").is_not_null())
    assert credited.height == 1
    realised = float(credited["realised_savings"][0])
    assert abs(realised - 108 * 1.624 * 730 / 168) < 1 and abs(realised - resolved[0]["monthly_saving_usd"]) <= 1
    assert set(now.filter(pl.col("status") == "resolved")["resource_id"]) == {bob}
    planted = {
        r
        for p in summary["opportunities"]
        for r in ([p["resource_id"]] if isinstance(p["resource_id"], str) else p["resource_id"])
    }
    assert bob not in planted
    alice = _opportunity(summary, "scheduling")["resource_id"]
    assert now.filter((pl.col("kind") == "scheduling") & pl.col("resource_id").is_in(alice))["status"].to_list() == [
        "open"
    ]
