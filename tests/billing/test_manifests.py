"""Export manifests read for what they say: headerless CUR Hive text, AWS Data Exports, Azure exports.

Where each manifest's fields come from:
- AWS legacy CUR manifest (``<report>-Manifest.json``): AWS CUR user guide, "Cost and Usage Report
  manifest" / "understanding report versions": ``assemblyId``, ``account``, ``reportName``,
  ``billingPeriod`` {start, end}, ``reportKeys`` and ``columns`` [{``category``, ``name``, ``type``}]
  in the order of the report's fields (``lineItem`` + ``UnblendedCost`` = ``lineItem/UnblendedCost``).
- AWS Data Exports ``Manifest.json`` (CUR 2.0, "FOCUS 1.2 with AWS columns"): AWS Data Exports user
  guide, "Data Exports manifest file reference" (``executionId``, ``exportArn``, ``columns``,
  ``dataFiles`` as full S3 URIs, ``additionalOutputFiles``) and "Understanding export delivery"
  (``<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`` for the data, ``metadata/`` beside it for
  the manifest): the export's name is the folder above ``data``, its billing period the partition.
- Azure Cost Management export ``manifest.json`` (Microsoft Learn, "Tutorial: improved exports"):
  ``manifestVersion``, ``exportConfig`` {``exportName``, ``type``, ``dataVersion``, ``timeFrame``,
  ``granularity``}, ``deliveryConfig`` {``fileFormat``, ``compressionMode``, ...}, ``runInfo``
  {``runId``, ``startDate``, ``endDate``, ``submittedTime``}, ``blobs`` [{``blobName``, ``byteCount``,
  ``dataRowCount``}].

Data rows come from the shared samples, read in place:
- legacy CUR: finopsfoundation/focus_converters sample-anonymous-aws-export-dataset.csv (MIT), Nov 2023;
- FOCUS 1.0: FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data FOCUS-1.0/focus_sample.csv
  (CC-BY-4.0, FinOps Foundation), Sept 2024: its AWS rows as a Data Exports FOCUS export, its
  Microsoft rows as an Azure FocusCost export.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from flows.ingest import ingest_files
from tests.billing.shapes import loaded_totals

CUR_SAMPLE = "aws/focus_converters_sample-anonymous-aws-export-dataset.csv"
FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"
REPORT = "ai-cur"
PERIOD = "20231101-20231201"
ASSEMBLY = "0b6c1a52-2f0e-4d55-9c1d-6f0e2a9d1c11"
T0 = 1_733_126_400  # 2024-12-02 08:00 UTC, a fixed file time


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _stored(con) -> int:
    return con.execute("SELECT count(*) FROM billing_line_items").fetchall()[0][0]


def _decisions(con) -> list[dict]:
    return con.sql("SELECT * FROM delivery_decisions ORDER BY decided_at").pl().to_dicts()


# --- 1. AWS CUR as Hive text without a header: the names are in the assembly's manifest ----------------


def _write_hive(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """Hive text as the CUR Athena integration writes it: ``\\x01`` between fields, ``\\N`` for null, no header."""
    lines = ["\x01".join(r[c] if r[c] != "" else "\\N" for c in header) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
    os.utime(path, (T0, T0))
    return path


def _cur_manifest(folder: Path, header: list[str], names: list[str], account: str) -> Path:
    category_name = [c.split("/", 1) for c in header]
    manifest = {
        "assemblyId": ASSEMBLY,
        "account": account,
        "columns": [{"category": cat, "name": name, "type": "String"} for cat, name in category_name],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/plain",
        "reportId": "e4b3c2a1",
        "reportName": REPORT,
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "billing-bucket",
        "reportKeys": [f"cur/{REPORT}/{PERIOD}/{ASSEMBLY}/{n}" for n in names],
    }
    path = folder / f"{REPORT}-Manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    os.utime(path, (T0, T0))
    return path


def _hive_assembly(root: Path, shared_data: Path, columns_dropped: int = 0) -> tuple[Path, list[Path], list[dict]]:
    header, rows = _rows(shared_data / CUR_SAMPLE)
    folder = root / REPORT / PERIOD / ASSEMBLY
    half = len(rows) // 2
    parts = [
        _write_hive(folder / f"{REPORT}-00001.txt.gz", header, rows[:half]),
        _write_hive(folder / f"{REPORT}-00002.txt.gz", header, rows[half:]),
    ]
    listed = header[: len(header) - columns_dropped]
    manifest = _cur_manifest(folder, listed, [p.name for p in parts], rows[0]["bill/PayerAccountId"])
    return manifest, parts, rows


def _cur_totals(rows: list[dict[str, str]]) -> dict:
    """Billed and amortised cost per period and currency from the CUR's own columns (the sample has only
    Usage and Tax line items, whose amortised cost is the unblended cost)."""
    assert {r["lineItem/LineItemType"] for r in rows} == {"Usage", "Tax"}
    totals: dict = defaultdict(Decimal)
    for r in rows:
        totals[(r["bill/BillingPeriodStartDate"][:7], r["lineItem/CurrencyCode"])] += Decimal(
            r["lineItem/UnblendedCost"]
        )
    return {k: (v, v) for k, v in totals.items()}


def test_headerless_cur_hive_text_loads_with_the_column_names_of_its_manifest(warehouse, shared_data, tmp_path):
    manifest, parts, rows = _hive_assembly(tmp_path / "landing", shared_data)
    expected = _cur_totals(rows)
    assert len(rows) == 1281 and list(expected) == [("2023-11", "USD")]

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert [r.error for r in results] == [None, None]
    assert [r.source_format for r in results] == ["aws_cur_hive_text_headerless"] * 2
    assert [r.rows_in_file for r in results] == [640, 641]
    assert all(r.rows_loaded + r.rows_rejected == r.rows_in_file for r in results)
    assert sum(r.rows_rejected for r in results) == 0
    assert loaded_totals(warehouse) == expected
    assert {r.delivery_id for r in results} == {f"aws-assembly-{ASSEMBLY}"}
    # the names are the manifest's: each row keeps its own usage type; \N (an empty field) is null
    got = warehouse.execute(
        "SELECT source_row, x_usage_type FROM billing_line_items WHERE source_file = ?", [str(parts[0])]
    ).fetchall()
    assert sorted(got) == [(i + 1, r["lineItem/UsageType"] or None) for i, r in enumerate(rows[:640])]

    again = ingest_files(warehouse, [tmp_path / "landing"])
    assert all(r.skipped and r.rows_loaded == 0 for r in again)
    assert loaded_totals(warehouse) == expected


def test_headerless_cur_hive_text_no_manifest_lists_is_refused_naming_the_file(warehouse, shared_data, tmp_path):
    manifest, parts, _ = _hive_assembly(tmp_path / "landing", shared_data)
    manifest.unlink()

    results = ingest_files(warehouse, [parts[0]])

    [result] = results
    assert result.error is not None
    assert str(parts[0]) in result.error
    assert "Hive text without a header line" in result.error
    assert "no AWS CUR manifest" in result.error and "lists it" in result.error
    assert _stored(warehouse) == 0


def test_headerless_cur_hive_text_whose_manifest_has_other_columns_is_refused(warehouse, shared_data, tmp_path):
    manifest, parts, rows = _hive_assembly(tmp_path / "landing", shared_data, columns_dropped=1)
    fields = len(rows[0])

    results = ingest_files(warehouse, [tmp_path / "landing"])

    for part, result in zip(parts, results, strict=True):
        assert result.error is not None and str(part) in result.error
        assert str(manifest) in result.error
        assert f"lists {fields - 1} columns" in result.error and f"has {fields} fields" in result.error
    assert _stored(warehouse) == 0


# --- 2. AWS Data Exports (here "FOCUS with AWS columns", CSV gzip) and its Manifest.json -----------------

EXPORT = "focus-with-aws-columns"
EXPORT_ARN = f"arn:aws:bcm-data-exports:us-east-1:123456789012:export/{EXPORT}-4e8f1c2a"
EXECUTION = "20240915T061512Z-7c1d2e3f"


def _write_csv_gz(path: Path, header: list[str], rows: list[dict[str, str]], mtime: float = T0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.utime(path, (mtime, mtime))
    return path


def _focus_rows(shared_data: Path, provider: str) -> tuple[list[str], list[dict[str, str]]]:
    header, rows = _rows(shared_data / FOCUS_SAMPLE)
    return header, [r for r in rows if r["ProviderName"] == provider]


def _focus_totals(rows: list[dict[str, str]]) -> dict:
    billed: dict = defaultdict(Decimal)
    effective: dict = defaultdict(Decimal)
    for r in rows:
        key = (r["BillingPeriodStart"][:7], r["BillingCurrency"])
        billed[key] += Decimal(r["BilledCost"])
        effective[key] += Decimal(r["EffectiveCost"])
    return {k: (billed[k], effective[k]) for k in billed}


def _data_export(root: Path, shared_data: Path, listed_parts: int = 2) -> tuple[list[Path], list[dict], Path]:
    header, rows = _focus_rows(shared_data, "AWS")
    data = root / "exports" / EXPORT / "data" / "BILLING_PERIOD=2024-09"
    half = len(rows) // 2
    parts = [
        _write_csv_gz(data / f"{EXPORT}-00001.csv.gz", header, rows[:half]),
        _write_csv_gz(data / f"{EXPORT}-00002.csv.gz", header, rows[half:]),
    ]
    names = [f"{EXPORT}-{i + 1:05d}.csv.gz" for i in range(listed_parts)]
    manifest = {
        "executionId": EXECUTION,
        "exportArn": EXPORT_ARN,
        "columns": [{"name": c, "type": "string"} for c in header],
        "dataFiles": [f"s3://billing-bucket/exports/{EXPORT}/data/BILLING_PERIOD=2024-09/{n}" for n in names],
        "additionalOutputFiles": [],
    }
    path = root / "exports" / EXPORT / "metadata" / "BILLING_PERIOD=2024-09" / f"{EXPORT}-Manifest.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(manifest, indent=2))
    os.utime(path, (T0, T0))
    return parts, rows, path


def test_data_exports_manifest_names_the_export_and_period_in_the_delivery_record(warehouse, shared_data, tmp_path):
    parts, rows, manifest = _data_export(tmp_path / "landing", shared_data)
    expected = _focus_totals(rows)
    assert len(rows) == 942 and list(expected) == [("2024-09", "USD")]

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert [Path(r.path) for r in results] == parts  # the manifest is not data
    assert [r.error for r in results] == [None, None]
    assert [r.rows_in_file for r in results] == [471, 471]
    assert all(r.rows_loaded + r.rows_rejected == r.rows_in_file for r in results)
    assert loaded_totals(warehouse) == expected
    [decision] = _decisions(warehouse)
    assert decision["decision"] == "loaded"
    assert (decision["export_name"], decision["export_id"], decision["export_run_id"]) == (
        EXPORT,
        EXPORT_ARN,
        EXECUTION,
    )
    assert decision["export_billing_period"] == "2024-09"
    assert decision["export_manifest"] == str(manifest)

    again = ingest_files(warehouse, [tmp_path / "landing"])
    assert all(r.skipped and r.rows_loaded == 0 for r in again)
    assert loaded_totals(warehouse) == expected


def test_data_exports_delivery_whose_manifest_lists_a_missing_file_is_held_back(warehouse, shared_data, tmp_path):
    parts, rows, _ = _data_export(tmp_path / "landing", shared_data, listed_parts=3)

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert [r.error for r in results] == [None, None]
    assert all(r.skipped and r.message.startswith("held back") for r in results)
    assert f"{EXPORT}-00003.csv.gz" in results[0].message
    assert _stored(warehouse) == 0
    [decision] = _decisions(warehouse)
    assert decision["decision"] == "held_back" and decision["export_name"] == EXPORT
    assert "its manifest lists parts that are missing" in decision["reason"]

    # the missing part arrives: the whole delivery loads
    header, _ = _focus_rows(shared_data, "AWS")
    extra = [dict(rows[0], BilledCost="1.5", EffectiveCost="1.25")]
    _write_csv_gz(parts[0].parent / f"{EXPORT}-00003.csv.gz", header, extra)
    later = ingest_files(warehouse, [tmp_path / "landing"])
    assert [r.error for r in later] == [None] * 3
    billed, effective = _focus_totals(rows)[("2024-09", "USD")]
    assert loaded_totals(warehouse) == {("2024-09", "USD"): (billed + Decimal("1.5"), effective + Decimal("1.25"))}


def test_data_exports_part_lacking_a_column_its_manifest_lists_is_refused_and_holds_back_its_delivery(
    warehouse, shared_data, tmp_path
):
    parts, rows, manifest = _data_export(tmp_path / "landing", shared_data)
    header, _ = _focus_rows(shared_data, "AWS")
    short = [c for c in header if c != "ChargeFrequency"]
    _write_csv_gz(parts[1], short, [{c: r[c] for c in short} for r in rows[len(rows) // 2 :]])

    results = ingest_files(warehouse, [tmp_path / "landing"])

    damaged = next(r for r in results if Path(r.path) == parts[1])
    assert str(parts[1]) in damaged.error and str(manifest) in damaged.error
    assert f"lists {len(header)} columns and the file lacks 1 of them (ChargeFrequency)" in damaged.error
    first = next(r for r in results if Path(r.path) == parts[0])
    assert first.error is None and first.message.startswith("held back")
    assert "could not be read" in first.message and parts[1].name in first.message
    assert _stored(warehouse) == 0


def _cur2_execution(root: Path, execution: str, rows: int, mtime: float) -> Path:
    """A CUR 2.0 Parquet export with "create new" versions: each execution in its own folder."""
    from benchmarks.make_billing import aws_items
    from sample_data import aws

    data = root / "exports" / "cur2" / "data" / "BILLING_PERIOD=2026-11" / execution
    data.mkdir(parents=True)
    part = data / "cur2-00001.snappy.parquet"
    aws.write_cur2(aws_items(rows), part)
    os.utime(part, (mtime, mtime))
    metadata = root / "exports" / "cur2" / "metadata" / "BILLING_PERIOD=2026-11" / execution
    metadata.mkdir(parents=True)
    manifest = metadata / "cur2-Manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "executionId": execution,
                "exportArn": "arn:aws:bcm-data-exports:us-east-1:123456789012:export/cur2-0a1b2c3d",
                "columns": [{"name": "bill_payer_account_id", "type": "string"}],  # (shortened: not read)
                "dataFiles": [f"s3://b/exports/cur2/data/BILLING_PERIOD=2026-11/{execution}/{part.name}"],
            }
        )
    )
    os.utime(manifest, (mtime, mtime))
    return part


def test_cur2_data_export_executions_the_newest_manifest_is_the_delivery(warehouse, tmp_path):
    # CUR 2.0 Parquet (no real sample has its MAP columns): the project's generated line items, whose
    # own micro-unit sums for 300 rows are billed 46,685.660067 and amortised 28,724.389559 USD, Nov 2026
    older = _cur2_execution(tmp_path / "landing", "exec-0001", 200, T0)
    newer = _cur2_execution(tmp_path / "landing", "exec-0002", 300, T0 + 3600)

    results = {Path(r.path): r for r in ingest_files(warehouse, [tmp_path / "landing"])}

    assert [r.error for r in results.values()] == [None, None]
    assert results[newer].rows_loaded == 300 and results[newer].source_format == "aws_cur2_parquet"
    assert results[older].skipped and results[older].message.startswith("passed over")
    assert loaded_totals(warehouse) == {("2026-11", "USD"): (Decimal("46685.660067"), Decimal("28724.389559"))}
    by_decision = {d["decision"]: d for d in _decisions(warehouse)}
    assert by_decision["loaded"]["export_run_id"] == "exec-0002"
    assert by_decision["passed_over"]["export_run_id"] == "exec-0001"
    assert by_decision["loaded"]["time_source"] == "the export manifest's file time"

    again = ingest_files(warehouse, [tmp_path / "landing"])
    assert all(r.skipped for r in again)
    assert loaded_totals(warehouse) == {("2026-11", "USD"): (Decimal("46685.660067"), Decimal("28724.389559"))}


# --- 3. Azure Cost Management export run folder and its manifest.json -------------------------------------

RUN = "5e0f7a9c-3b1d-4c2e-9f80-1a2b3c4d5e6f"
AZ_EXPORT = "focus-daily"


def _azure_run(
    root: Path, shared_data: Path, listed: int = 2, counts: tuple[int, ...] | None = None
) -> tuple[Path, list[Path], list[dict]]:
    header, rows = _focus_rows(shared_data, "Microsoft")
    run = root / "costexports" / "finops" / AZ_EXPORT / "20240901-20240930" / RUN
    half = 30
    chunks = [rows[:half], rows[half:]]
    parts = [_write_csv_gz(run / f"part_0_{i + 1:04d}.csv.gz", header, chunk) for i, chunk in enumerate(chunks)]
    counts = counts or tuple(len(c) for c in chunks) + (5,) * (listed - 2)
    blob = f"finops/{AZ_EXPORT}/20240901-20240930/{RUN}"
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(p.stat().st_size for p in parts),
        "blobCount": listed,
        "dataRowCount": sum(counts),
        "exportConfig": {
            "exportName": AZ_EXPORT,
            "resourceId": f"/providers/Microsoft.Billing/billingAccounts/8611537/providers/"
            f"Microsoft.CostManagement/exports/{AZ_EXPORT}",
            "dataVersion": "1.0r2",
            "apiVersion": "2023-07-01-preview",
            "type": "FocusCost",
            "timeFrame": "MonthToDate",
            "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True,
            "dataOverwriteBehavior": "CreateNewReport",
            "fileFormat": "Csv",
            "compressionMode": "gzip",
            "containerName": "costexports",
            "rootFolderPath": "finops",
        },
        "runInfo": {
            "executionType": "Scheduled",
            "submittedTime": "2024-09-15T06:15:12.1234567Z",
            "runId": RUN,
            "startDate": "2024-09-01T00:00:00",
            "endDate": "2024-09-30T00:00:00",
        },
        "blobs": [
            {"blobName": f"{blob}/part_0_{i + 1:04d}.csv.gz", "byteCount": 1000, "dataRowCount": counts[i]}
            for i in range(listed)
        ],
    }
    path = run / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path, parts, rows


def test_azure_export_manifest_gives_type_version_and_run_to_the_delivery_record(warehouse, shared_data, tmp_path):
    manifest, parts, rows = _azure_run(tmp_path / "landing", shared_data)
    expected = _focus_totals(rows)
    assert len(rows) == 51 and list(expected) == [("2024-09", "USD")]

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert [Path(r.path) for r in results] == parts
    assert [r.error for r in results] == [None, None]
    assert [r.rows_loaded + r.rows_rejected for r in results] == [30, 21]
    assert loaded_totals(warehouse) == expected
    [decision] = _decisions(warehouse)
    assert decision["decision"] == "loaded"
    assert (decision["export_name"], decision["export_type"], decision["data_version"], decision["export_run_id"]) == (
        AZ_EXPORT,
        "FocusCost",
        "1.0r2",
        RUN,
    )
    assert decision["export_billing_period"] == "2024-09-01/2024-09-30"
    assert decision["export_manifest"] == str(manifest)
    # the provider's own time of the run, not the files' copy time
    assert decision["time_source"] == "the export manifest's submittedTime"
    assert f"{decision['delivery_time']:%Y-%m-%d %H:%M:%S}" == "2024-09-15 06:15:12"

    again = ingest_files(warehouse, [tmp_path / "landing"])
    assert all(r.skipped and r.rows_loaded == 0 for r in again)
    assert loaded_totals(warehouse) == expected


def test_azure_export_blob_the_manifest_lists_missing_holds_the_run_back(warehouse, shared_data, tmp_path):
    _azure_run(tmp_path / "landing", shared_data, listed=3)

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert all(r.error is None and r.message.startswith("held back") for r in results)
    assert "part_0_0003.csv.gz" in results[0].message
    assert _stored(warehouse) == 0
    assert [d["decision"] for d in _decisions(warehouse)] == ["held_back"]


def test_azure_export_blob_with_fewer_rows_than_its_manifest_says_is_refused_as_truncated(
    warehouse, shared_data, tmp_path
):
    manifest, parts, _ = _azure_run(tmp_path / "landing", shared_data, counts=(30, 25))

    results = ingest_files(warehouse, [tmp_path / "landing"])

    truncated = results[1]
    assert truncated.error is not None
    assert str(parts[1]) in truncated.error and str(manifest) in truncated.error
    assert "truncated" in truncated.error and "25 data rows" in truncated.error and "21 were read" in truncated.error
    assert results[0].error is not None  # a delivery is stored whole or not at all
    assert _stored(warehouse) == 0
    assert warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchall()[0][0] == 0
    assert [d["decision"] for d in _decisions(warehouse)] == ["held_back"]


def test_azure_actual_and_amortized_exports_are_told_apart_by_their_manifests_type(warehouse, shared_data, tmp_path):
    # finops-toolkit EA_ActualCost_Small.csv / EA_AmortizedCost_Small.csv (MIT): the same account and month
    # seen as actual and as amortised cost, each in an export whose file names do not say which
    from tests.billing.test_azure_cost import ACTUAL, AMORTIZED, _expected_totals

    def export(name: str, sample: str, kind: str, run: str, mtime: float) -> Path:
        header, rows = _rows(shared_data / sample)
        folder = tmp_path / "landing" / name / "20230901-20230930" / run
        part = _write_csv_gz(folder / "part_0_0001.csv.gz", header, rows, mtime=mtime)
        manifest = {
            "manifestVersion": "2024-04-01",
            "exportConfig": {"exportName": name, "type": kind, "dataVersion": "2021-10-01"},
            "runInfo": {"runId": run, "startDate": "2023-09-01T00:00:00", "endDate": "2023-09-30T00:00:00"},
            "blobs": [{"blobName": f"{name}/20230901-20230930/{run}/{part.name}", "dataRowCount": len(rows)}],
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return part

    amortized = export("daily-b", AMORTIZED, "AmortizedCost", "0d0e0f10-1111-4222-8333-944455556666", T0)
    actual = export("daily-a", ACTUAL, "ActualCost", "1a1b1c1d-1111-4222-8333-944455556666", T0 + 3600)  # newer

    results = {Path(r.path): r for r in ingest_files(warehouse, [tmp_path / "landing"])}

    assert results[amortized].error is None and results[amortized].rows_loaded == 28
    assert results[actual].skipped and "amortized cost" in results[actual].message
    totals = {
        k: (b.quantize(Decimal("0.01")), e.quantize(Decimal("0.01"))) for k, (b, e) in loaded_totals(warehouse).items()
    }
    assert totals == _expected_totals(_rows(shared_data / AMORTIZED)[1])


def test_a_manifest_json_with_a_file_schema_is_still_s3_inventory(tmp_path):
    from flows.ingest_discover import is_export_metadata

    azure = tmp_path / "a" / "manifest.json"
    azure.parent.mkdir()
    azure.write_text(json.dumps({"manifestVersion": "2024-04-01", "blobs": []}))
    inventory = tmp_path / "b" / "manifest.json"
    inventory.parent.mkdir()
    inventory.write_text(json.dumps({"fileSchema": "Bucket, Key, Size", "files": []}))

    assert is_export_metadata(azure) and not is_export_metadata(inventory)
