"""Deliveries in a synced landing folder: each billing period counted exactly once.

Inputs are built in tmp_path in the layouts the providers write, from the shared samples:
- AWS legacy CUR: finopsfoundation/focus_converters sample (MIT), Nov 2023, one payer account;
- FOCUS 1.0: FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data (CC-BY-4.0), Sept 2024;
- GCP: project-koku/koku BigQuery billing export flattened to CSV (Apache-2.0), Nov 2020.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from flows.ingest import ingest_files, prepare_file
from flows.warehouse import query

CUR_SAMPLE = "aws/focus_converters_sample-anonymous-aws-export-dataset.csv"
FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"
GCP_SAMPLE = "gcp/koku_gcp_202011_2020-11-08_2020-11-11.csv"

REPORT = "ai-cur"
PERIOD = "20231101-20231201"
T0 = datetime(2023, 12, 2, 8, 0, tzinfo=UTC).timestamp()  # a fixed file time; later deliveries add hours
HOUR = 3600
# assembly ids: the current one sorts *first*, so "the last folder alphabetically" would pick the stale one
CURRENT = "0b6c1a52-2f0e-4d55-9c1d-6f0e2a9d1c11"
STALE = "f3d2e1c0-1111-4222-8333-944455556666"
OLDER = "a1a1a1a1-2222-4333-8444-955555555555"


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(
    path: Path, header: list[str], rows: list[dict], *, gz: bool = False, mtime: float | None = None
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def cur_rows(shared_data: Path) -> tuple[list[str], list[dict]]:
    return read_rows(shared_data / CUR_SAMPLE)


def assembly(
    root: Path,
    assembly_id: str,
    header: list[str],
    rows: list[dict],
    *,
    mtime: float,
    parts: int = 2,
    write: tuple[int, ...] | None = None,
) -> Path:
    """``<report>/<period>/<assemblyId>/<report>-0000N.csv.gz`` + the assembly's manifest (written last)."""
    folder = root / REPORT / PERIOD / assembly_id
    size = -(-len(rows) // parts)
    keys = []
    for i in range(parts):
        name = f"{REPORT}-{i + 1:05d}.csv.gz"
        keys.append(f"cur/{REPORT}/{PERIOD}/{assembly_id}/{name}")
        if write is None or i + 1 in write:
            write_rows(folder / name, header, rows[i * size : (i + 1) * size], gz=True, mtime=mtime)
    manifest = {
        "assemblyId": assembly_id,
        "account": rows[0]["bill/PayerAccountId"],
        "reportName": REPORT,
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "bucket": "billing-bucket",
        "reportKeys": keys,
        "compression": "GZIP",
        "contentType": "text/csv",
    }
    path = folder / f"{REPORT}-Manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    os.utime(path, (mtime, mtime))
    return folder


def top_level_manifest(root: Path, current: Path) -> None:
    """The period's ``<report>/<period>/<report>-Manifest.json``: a copy of the current assembly's."""
    (root / REPORT / PERIOD / f"{REPORT}-Manifest.json").write_text((current / f"{REPORT}-Manifest.json").read_text())


def stored(con) -> tuple[int, Decimal]:
    return con.execute("SELECT count(*), coalesce(sum(billed_cost), 0) FROM billing_line_items").fetchone()


def decisions(con) -> list[tuple]:
    return con.execute(
        "SELECT delivery_id, decision, reason, files FROM delivery_decisions ORDER BY decided_at, delivery_id"
    ).fetchall()


def billed(rows: list[dict], column: str) -> Decimal:
    return sum(Decimal(r[column]) for r in rows)


# --- 1. several AWS CUR assemblies of one month in one synced folder ---------------------------------


def test_the_top_level_manifest_decides_which_assembly_is_loaded(warehouse, shared_data, tmp_path):
    header, rows = cur_rows(shared_data)
    current_rows, stale_rows = rows[:300], rows[:200]
    # the stale assembly has the *newer* file time: only the top-level manifest says which is current
    landing = tmp_path / "landing"
    current = assembly(landing, CURRENT, header, current_rows, mtime=T0)
    assembly(landing, STALE, header, stale_rows, mtime=T0 + 5 * HOUR)
    top_level_manifest(landing, current)

    results = ingest_files(warehouse, [landing])

    assert [r.error for r in results] == [None] * 4
    assert stored(warehouse) == (300, billed(current_rows, "lineItem/UnblendedCost"))
    assert {r.delivery_id for r in results if not r.skipped} == {f"aws-assembly-{CURRENT}"}
    passed = [r for r in results if r.skipped]
    assert len(passed) == 2 and all(STALE in r.path and r.message.startswith("passed over") for r in passed)
    assert warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0] == 2  # stale parts not loaded
    got = {(d[0], d[1]) for d in decisions(warehouse)}
    assert got == {(f"aws-assembly-{CURRENT}", "loaded"), (f"aws-assembly-{STALE}", "passed_over")}
    reason = next(d[2] for d in decisions(warehouse) if d[1] == "passed_over")
    assert f"top-level manifest names {CURRENT}" in reason
    row = warehouse.execute(
        "SELECT provider, billing_account_id, billing_period_start FROM delivery_decisions WHERE decision = 'passed_over'"
    ).fetchone()
    assert row == ("aws", "123412340534", datetime(2023, 11, 1, tzinfo=UTC))


@pytest.mark.slow
def test_without_a_top_level_manifest_the_newest_assembly_wins_now_and_in_later_runs(warehouse, shared_data, tmp_path):
    header, rows = cur_rows(shared_data)
    current_rows, stale_rows = rows[:300], rows[:200]
    # AWS CUR manifests carry no creation time: the manifest files' times decide
    assembly(tmp_path / "sync", CURRENT, header, current_rows, mtime=T0 + 5 * HOUR)
    assembly(tmp_path / "sync", STALE, header, stale_rows, mtime=T0)

    ingest_files(warehouse, [tmp_path / "sync"])
    assert stored(warehouse) == (300, billed(current_rows, "lineItem/UnblendedCost"))

    # a later run finds an even older assembly of the month (a late sync): it must not replace the newer one
    assembly(tmp_path / "late", OLDER, header, rows[:100], mtime=T0 - 5 * HOUR)
    results = ingest_files(warehouse, [tmp_path / "late"])

    assert all(r.skipped and r.error is None for r in results)
    assert stored(warehouse) == (300, billed(current_rows, "lineItem/UnblendedCost"))
    last = decisions(warehouse)[-1]
    assert last[:2] == (f"aws-assembly-{OLDER}", "passed_over")
    assert f"aws-assembly-{CURRENT}, stored by an earlier run, is newer" in last[2]
    assert warehouse.execute("SELECT delivery_id FROM billing_deliveries").fetchall() == [(f"aws-assembly-{CURRENT}",)]
    # a newer assembly in a later run still replaces the month whole
    assembly(tmp_path / "next", STALE.replace("f3", "f4"), header, rows[:250], mtime=T0 + 9 * HOUR)
    ingest_files(warehouse, [tmp_path / "next"])
    assert stored(warehouse) == (250, billed(rows[:250], "lineItem/UnblendedCost"))


# --- 2. a partial assembly ----------------------------------------------------------------------------


def test_an_assembly_with_a_missing_part_is_held_back_and_the_previous_one_stays(warehouse, shared_data, tmp_path):
    header, rows = cur_rows(shared_data)
    ingest_files(warehouse, [assembly(tmp_path / "run1", OLDER, header, rows[:100], mtime=T0)])
    before = stored(warehouse)
    assert before == (100, billed(rows[:100], "lineItem/UnblendedCost"))

    # the newer assembly's manifest lists two parts; the sync has brought only the first
    partial = assembly(tmp_path / "run2", CURRENT, header, rows[:400], mtime=T0 + HOUR, write=(1,))
    results = ingest_files(warehouse, [tmp_path / "run2"])

    assert [r.skipped for r in results] == [True]
    assert results[0].message.startswith("held back") and f"{REPORT}-00002.csv.gz" in results[0].message
    assert stored(warehouse) == before
    last = decisions(warehouse)[-1]
    assert last[1] == "held_back" and f"parts that are missing: {REPORT}-00002.csv.gz" in last[2]
    assert last[3] == [str(partial / f"{REPORT}-00001.csv.gz")]

    # the second part arrives, unreadable (cut off mid-transfer): still held back whole
    part2 = partial / f"{REPORT}-00002.csv.gz"
    with gzip.open(part2, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows[200:400])
    data = part2.read_bytes()
    part2.write_bytes(data[: len(data) // 2])
    results = ingest_files(warehouse, [tmp_path / "run2"])
    assert stored(warehouse) == before
    assert any(r.error and f"{REPORT}-00002.csv.gz" in r.error for r in results)
    last = decisions(warehouse)[-1]
    assert last[:2] == (f"aws-assembly-{CURRENT}", "held_back") and f"{REPORT}-00002.csv.gz" in last[2]

    # complete at last: the whole assembly loads and replaces the previous one
    part2.write_bytes(data)
    results = ingest_files(warehouse, [tmp_path / "run2"])
    assert [r.error for r in results] == [None, None]
    assert stored(warehouse) == (400, billed(rows[:400], "lineItem/UnblendedCost"))


# --- 3. a restated FOCUS month given in one run ---------------------------------------------------------


def focus_aws_rows(shared_data: Path) -> tuple[list[str], list[dict]]:
    header, rows = read_rows(shared_data / FOCUS_SAMPLE)
    return header, [r for r in rows if r["ProviderName"] == "AWS"]  # one account, September 2024


RUN_OLD = "9f8e7d6c-0000-4000-8000-000000000001"
RUN_NEW = "1a2b3c4d-0000-4000-8000-000000000002"  # sorts first


@pytest.mark.parametrize("layout", ["folder per export run", "run id in the file name"])
def test_a_restated_focus_month_keeps_only_the_newest_export_run(warehouse, shared_data, tmp_path, layout):
    header, rows = focus_aws_rows(shared_data)
    first, restated = rows[:300], [dict(r, BilledCost=str(Decimal(r["BilledCost"]) * 2)) for r in rows[:400]]
    export = tmp_path / "landing" / "focus-daily" / "20240901-20240930"
    if layout == "folder per export run":  # Azure: <export>/<yyyymmdd-yyyymmdd>/<run id>/part_0_0001.csv
        old = write_rows(export / RUN_OLD / "part_0_0001.csv", header, first, mtime=T0)
        new = write_rows(export / RUN_NEW / "part_0_0001.csv", header, restated, mtime=T0 + HOUR)
    else:  # Azure's older layout: <export>_<run id>.csv, one file per run in the period folder
        old = write_rows(export / f"focus-daily_{RUN_OLD}.csv", header, first, mtime=T0)
        new = write_rows(export / f"focus-daily_{RUN_NEW}.csv", header, restated, mtime=T0 + HOUR)

    results = {Path(r.path): r for r in ingest_files(warehouse, [tmp_path / "landing"])}

    assert stored(warehouse) == (400, billed(restated, "BilledCost"))
    assert results[new].error is None and not results[new].skipped
    assert results[old].skipped and results[old].message.startswith("passed over")
    got = {d[3][0]: (d[1], d[2]) for d in decisions(warehouse)}
    assert got[str(old)][0] == "passed_over" and "is newer (2023-12-02 09:00:00 UTC by file time)" in got[str(old)][1]
    assert got[str(new)][0] == "loaded"


# --- 4. parts of one FOCUS export arriving in two runs ---------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("part_0.csv", "part_1.csv"),
        ("part_0_0001.csv", "part_1_0001.csv"),
        ("focus-00001.csv.gz", "focus-00002.csv.gz"),
    ],
    ids=["part_N", "azure part_N_NNNN", "aws -0000N"],
)
def test_parts_of_one_export_add_up_across_runs(warehouse, shared_data, tmp_path, names):
    header, rows = focus_aws_rows(shared_data)
    landing = tmp_path / "landing"
    folder = landing / "focus-export" / "20240901-20240930"
    gz = names[0].endswith(".gz")
    write_rows(folder / names[0], header, rows[:500], gz=gz, mtime=T0)
    first = ingest_files(warehouse, [landing])
    assert stored(warehouse) == (500, billed(rows[:500], "BilledCost"))

    write_rows(folder / names[1], header, rows[500:], gz=gz, mtime=T0 + 60)
    second = ingest_files(warehouse, [landing])

    assert stored(warehouse) == (len(rows), billed(rows, "BilledCost"))
    assert second[0].skipped and "already loaded" in second[0].message
    assert second[1].delivery_id == first[0].delivery_id

    # the export written again in place (same part name, new content) is a new delivery: it replaces
    restated = [dict(r, BilledCost="1") for r in rows[:10]]
    write_rows(folder / names[0], header, restated, gz=gz, mtime=T0 + 2 * HOUR)
    (folder / names[1]).unlink()
    [third] = ingest_files(warehouse, [landing])
    assert third.error is None and third.delivery_id != first[0].delivery_id
    assert stored(warehouse) == (10, Decimal(10))


# --- 5. an append-only source (GCP) delivered again in another container ------------------------------


@pytest.mark.slow
def test_gcp_rows_delivered_again_are_stored_once_and_identical_lines_in_one_file_are_kept(
    warehouse, shared_data, tmp_path
):
    header, rows = read_rows(shared_data / GCP_SAMPLE)
    rows = rows + [rows[0]]  # two identical lines in one export: two charges, both kept
    plain = write_rows(tmp_path / "a" / "gcp_billing_export.csv", header, rows)
    again = write_rows(tmp_path / "b" / "gcp_billing_export.csv.gz", header, rows, gz=True)

    first = ingest_files(warehouse, [plain])
    assert first[0].rows_loaded == len(rows) == 26
    second = ingest_files(warehouse, [again])

    assert second[0].error is None and second[0].rows_loaded == 0
    assert "26 rows already stored from another file" in second[0].message
    assert stored(warehouse) == (26, billed(rows, "cost"))
    keys = warehouse.execute("SELECT count(DISTINCT row_key), count(*) FROM billing_line_items").fetchone()
    assert keys == (26, 26)
    # a later export that overlaps the first (append-only: old rows again plus new ones) adds only the new
    extra = dict(rows[1], cost="2.5", usage_start_time="2020-11-11 01:00:00+00:00")
    overlap = write_rows(tmp_path / "c" / "gcp_billing_export.csv", header, rows[:5] + [extra])
    [third] = ingest_files(warehouse, [overlap])
    assert third.rows_loaded == 1
    assert stored(warehouse) == (27, billed(rows, "cost") + Decimal("2.5"))


# --- 6. an IO error while storing a delivery ----------------------------------------------------------------


@pytest.mark.slow
def test_an_io_error_while_storing_names_the_file_and_leaves_the_warehouse_unchanged(warehouse, shared_data, tmp_path):
    header, rows = focus_aws_rows(shared_data)
    ingest_files(warehouse, [write_rows(tmp_path / "old.csv", header, rows[:100])])
    before = stored(warehouse), warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()

    part1 = write_rows(tmp_path / "new" / "export-00001.csv", header, rows[:300])
    part2 = write_rows(tmp_path / "new" / "export-00002.csv", header, rows[300:600])
    staging = tmp_path / "staging"
    staging.mkdir()
    staged = {str(p): prepare_file(str(p), "focus", str(staging)) for p in (part1, part2)}
    # the staged copy of part 2 is gone when the store reads it: DuckDB raises an IO error mid-transaction
    Path(staged[str(part2)].good_parts[0]).unlink()

    results = ingest_files(warehouse, [tmp_path / "new"], staged=staged)

    assert "export-00002.csv: could not be stored as focus: IO Error" in results[1].error
    assert "the warehouse is unchanged" in results[1].error
    assert "another part of the same delivery failed" in results[0].error
    assert (stored(warehouse), warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()) == before
    assert decisions(warehouse)[-1][1] == "held_back"


# --- the report's data-quality section lists the decisions -----------------------------------------------


def test_the_data_quality_section_lists_the_weeks_delivery_decisions(warehouse, shared_data, tmp_path):
    from transforms import report as rm

    header, rows = cur_rows(shared_data)
    current = assembly(tmp_path / "sync", CURRENT, header, rows[:300], mtime=T0)
    assembly(tmp_path / "sync", STALE, header, rows[:200], mtime=T0 + HOUR)
    top_level_manifest(tmp_path / "sync", current)
    assembly(tmp_path / "sync2", OLDER, header, rows[:50], mtime=T0 + 2 * HOUR, write=(1,))
    ingest_files(warehouse, [tmp_path / "sync"])
    ingest_files(warehouse, [tmp_path / "sync2"])

    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    week_begin = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
    frame = query(
        warehouse, "report_delivery_decisions", {"since": week_begin, "cutoff": datetime.now(UTC), "limit": 20}
    )
    empty = query(warehouse, "report_ingest", {"cutoff": datetime(2000, 1, 1, tzinfo=UTC)})
    quality = rm.data_quality(empty, empty.clear(), _no_dq(), _no_freshness(), monday, decisions=frame)

    got = [(d["decision"], d["delivery"]) for d in quality["deliveries"]]
    assert got == [
        ("held back", f"aws-assembly-{OLDER}"),
        ("passed over", f"aws-assembly-{STALE}"),
        ("loaded", f"aws-assembly-{CURRENT}"),
    ]
    held = quality["deliveries"][0]
    assert f"missing: {REPORT}-00002.csv.gz" in held["reason"]
    assert held["scope"] == "aws account 123412340534 · 2023-11"
    assert held["files"] == "1 file"
    assert quality["delivery_counts"] == {"loaded": "1", "passed_over": "1", "held_back": "1"}


def _no_dq():
    """No data-quality results (the columns sql/report_dq_latest.sql reads)."""
    import polars as pl

    from transforms.schema import DQ_RESULTS_COLUMNS

    return pl.DataFrame(schema={k: v for k, v in DQ_RESULTS_COLUMNS.items() if k != "run_id"})


def _no_freshness():
    import polars as pl

    return pl.DataFrame(schema={"target_table": pl.String, "source": pl.String, "latest": pl.Datetime("us", "UTC")})


# --- 7. a restated FOCUS month in a flat folder: competing deliveries of one account / period ------------


def next_month(rows: list[dict]) -> list[dict]:
    """The same charges one month later (Sept 2024 -> Oct 2024) in every period column."""
    columns = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
    return [
        dict(r, **{c: r[c].replace("2024-10-", "2024-11-").replace("2024-09-", "2024-10-") for c in columns})
        for r in rows
    ]


def test_a_restated_focus_month_in_a_flat_folder_keeps_only_the_newest_file(warehouse, shared_data, tmp_path):
    header, rows = focus_aws_rows(shared_data)  # one AWS account, September 2024
    restated_rows = [dict(r, BilledCost=str(Decimal(r["BilledCost"]) * 2)) for r in rows[:400]]
    folder = tmp_path / "landing" / "focus"
    first = write_rows(folder / "focus-2024-09.csv", header, rows[:300], mtime=T0)
    restated = write_rows(folder / "focus-2024-09-restated.csv", header, restated_rows, mtime=T0 + HOUR)

    results = {Path(r.path): r for r in ingest_files(warehouse, [tmp_path / "landing"])}

    assert stored(warehouse) == (400, billed(restated_rows, "BilledCost"))
    assert results[restated].error is None and results[restated].rows_loaded == 400
    assert results[first].skipped and results[first].error is None
    assert (
        results[first].message.startswith("passed over") and f"restated by {restated}, newer" in results[first].message
    )
    got = warehouse.execute(
        "SELECT files[1], decision, reason, provider, billing_account_id, billing_period_start "
        "FROM delivery_decisions ORDER BY decision"
    ).fetchall()
    account = rows[0]["BillingAccountId"]
    september = datetime(2024, 9, 1, tzinfo=UTC)
    assert [g[:2] for g in got] == [(str(restated), "loaded"), (str(first), "passed_over")]
    assert got[1][2].startswith(f"restated by {restated}, newer (2023-12-02 09:00:00 UTC by file time)")
    assert got[1][3:] == got[0][3:] == ("aws", account, september)
    assert warehouse.execute("SELECT source_file FROM ingest_manifest").fetchall() == [(str(restated),)]


def test_competing_deliveries_with_the_same_time_are_both_refused_as_ambiguous(warehouse, shared_data, tmp_path):
    header, rows = focus_aws_rows(shared_data)
    folder = tmp_path / "landing"
    a = write_rows(folder / "focus-a.csv", header, rows[:300], mtime=T0)
    b = write_rows(folder / "focus-b.csv", header, rows[:200], mtime=T0)

    results = {Path(r.path): r for r in ingest_files(warehouse, [folder])}

    assert stored(warehouse) == (0, 0)
    for path, other in ((a, b), (b, a)):
        assert results[path].error and str(path) in results[path].error and str(other) in results[path].error
        assert "ambiguous" in results[path].error and "the same delivery time" in results[path].error
    got = {d[3][0]: (d[1], d[2]) for d in decisions(warehouse)}
    assert {k: v[0] for k, v in got.items()} == {str(a): "held_back", str(b): "held_back"}
    assert str(b) in got[str(a)][1] and "2023-12-02 08:00:00 UTC by file time" in got[str(a)][1]


def test_a_file_of_two_months_loses_whole_to_a_newer_file_of_one_of_them(warehouse, shared_data, tmp_path):
    header, rows = focus_aws_rows(shared_data)
    two_months = rows[:300] + next_month(rows[:300])
    newer_september = rows[:100]
    folder = tmp_path / "landing"
    old = write_rows(folder / "focus-q3.csv", header, two_months, mtime=T0)
    new = write_rows(folder / "focus-2024-09.csv", header, newer_september, mtime=T0 + HOUR)

    results = {Path(r.path): r for r in ingest_files(warehouse, [folder])}

    # a file is stored whole or not at all: October is not loaded from the older file either
    assert stored(warehouse) == (100, billed(newer_september, "BilledCost"))
    assert results[old].skipped and f"restated by {new}, newer" in results[old].message
    periods = warehouse.execute(
        "SELECT billing_period_start FROM delivery_decisions WHERE decision = 'passed_over' ORDER BY 1"
    ).fetchall()
    assert periods == [(datetime(2024, 9, 1, tzinfo=UTC),), (datetime(2024, 10, 1, tzinfo=UTC),)]


def test_parts_of_one_export_given_together_do_not_compete(warehouse, shared_data, tmp_path):
    header, rows = focus_aws_rows(shared_data)
    folder = tmp_path / "landing" / "focus-export"
    write_rows(folder / "part_0.csv", header, rows[:500], mtime=T0)
    write_rows(folder / "part_1.csv", header, rows[500:], mtime=T0 + 60)

    results = ingest_files(warehouse, [tmp_path / "landing"])

    assert [r.error for r in results] == [None, None]
    assert stored(warehouse) == (len(rows), billed(rows, "BilledCost"))


# --- 8. the export's own metadata files are not data ----------------------------------------------------

FOCUS_METADATA = "focus/finops-toolkit_FocusCost_1.0_metadata.json"  # microsoft/finops-toolkit (MIT)


def test_export_metadata_beside_the_data_is_not_ingested_and_its_schema_date_is_not_a_delivery_time(
    warehouse, shared_data, tmp_path
):
    header, rows = focus_aws_rows(shared_data)
    metadata = (shared_data / FOCUS_METADATA).read_text()
    landing = tmp_path / "landing"
    old = write_rows(landing / "focus-a" / "focus-2024-09.csv", header, rows[:300], mtime=T0)
    new = write_rows(landing / "focus-b" / "focus-2024-09.csv", header, rows[:200], mtime=T0 + HOUR)
    for folder in (old.parent, new.parent):
        # the same schema metadata beside both: its CreationDate (2024-06-20) dates the schema, not the
        # delivery, so it must not make the two deliveries tie
        (folder / "FocusCost_1.0_metadata.json").write_text(metadata)
    # an Azure export run folder's manifest.json (its fields are not read) is not data either
    run = landing / "azure-focus" / "20240901-20240930" / RUN_OLD
    write_rows(run / "part_0_0001.csv", header, next_month(rows[:50]), mtime=T0)
    (run / "manifest.json").write_text("{}")

    results = ingest_files(warehouse, [landing])

    assert sorted(Path(r.path).name for r in results) == ["focus-2024-09.csv", "focus-2024-09.csv", "part_0_0001.csv"]
    assert [r.error for r in results] == [None, None, None]
    assert stored(warehouse) == (250, billed(rows[:200], "BilledCost") + billed(rows[:50], "BilledCost"))
    assert next(r for r in results if Path(r.path) == old).message.startswith("passed over")


# --- 9. decisions are not re-made on every run; held-back deliveries are --------------------------------


@pytest.mark.slow
def test_a_rerun_of_the_same_landing_folder_changes_nothing(warehouse, shared_data, tmp_path):
    header, rows = cur_rows(shared_data)
    landing = tmp_path / "landing"
    current = assembly(landing, CURRENT, header, rows[:300], mtime=T0)
    assembly(landing, STALE, header, rows[:200], mtime=T0 + 5 * HOUR)
    top_level_manifest(landing, current)
    fheader, frows = focus_aws_rows(shared_data)
    write_rows(landing / "focus" / "focus-2024-09.csv", fheader, frows[:300], mtime=T0)
    write_rows(landing / "focus" / "focus-2024-09-restated.csv", fheader, frows[:400], mtime=T0 + HOUR)
    ingest_files(warehouse, [landing])
    before = stored(warehouse), decisions(warehouse)
    assert len(before[1]) == 4

    again = ingest_files(warehouse, [landing])

    assert (stored(warehouse), decisions(warehouse)) == before
    assert all(r.skipped and r.error is None for r in again)
    passed = [r for r in again if STALE in r.path or r.path.endswith("focus-2024-09.csv")]
    assert len(passed) == 3 and all(r.message.startswith("passed over in an earlier run") for r in passed)


def test_a_held_back_delivery_is_decided_again_and_loads_when_its_part_arrives(warehouse, shared_data, tmp_path):
    header, rows = cur_rows(shared_data)
    landing = tmp_path / "landing"
    partial = assembly(landing, CURRENT, header, rows[:400], mtime=T0, write=(1,))
    ingest_files(warehouse, [landing])
    ingest_files(warehouse, [landing])
    assert stored(warehouse) == (0, 0)
    assert [d[1] for d in decisions(warehouse)] == ["held_back", "held_back"]  # decided again, still partial

    write_rows(partial / f"{REPORT}-00002.csv.gz", header, rows[200:400], gz=True, mtime=T0)
    results = ingest_files(warehouse, [landing])

    assert [r.error for r in results] == [None, None]
    assert stored(warehouse) == (400, billed(rows[:400], "lineItem/UnblendedCost"))
    assert decisions(warehouse)[-1][:2] == (f"aws-assembly-{CURRENT}", "loaded")


# --- 10. the disk fills at commit -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_commit_that_fails_for_a_full_disk_names_the_file_and_leaves_the_warehouse_unchanged(
    warehouse, shared_data, tmp_path
):
    import resource
    import signal

    header, rows = focus_aws_rows(shared_data)
    ingest_files(warehouse, [write_rows(tmp_path / "old" / "focus.csv", header, rows[:100])])
    tables = ("billing_line_items", "ingest_manifest", "billing_deliveries", "rejected_rows", "passed_over_files")

    def state():
        return {t: warehouse.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}, stored(warehouse)

    before = state()
    new = write_rows(tmp_path / "new" / "focus-export.csv", header, rows[:900])
    staging = tmp_path / "staging"
    staging.mkdir()
    staged = {str(new): prepare_file(str(new), "focus", str(staging))}  # mapped ahead: only the commit writes
    warehouse.execute("CHECKPOINT")  # an empty write-ahead log: the commit is the first write

    # the file system refuses to grow any file past 16 KiB (as a full disk would): DuckDB's commit, which
    # writes the delivery to its write-ahead log, fails with an IO error
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, limit[1]))
    try:
        [result] = ingest_files(warehouse, [tmp_path / "new"], staged=staged)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, handler)

    assert result.error.startswith(f"{new}: could not be stored as focus: the commit failed: ")
    assert "Could not write file" in result.error and "File too large" in result.error
    assert result.error.endswith("nothing of this delivery was stored: the warehouse is unchanged")
    assert result.rows_loaded == 0 and result.billed_cost == {}
    assert state() == before
    last = decisions(warehouse)[-1]
    assert last[1] == "held_back" and "could not be stored" in last[2] and "the commit failed" in last[2]
    # once there is room again, the same file loads
    [again] = ingest_files(warehouse, [tmp_path / "new"])
    assert again.error is None and stored(warehouse) == (900, billed(rows[:900], "BilledCost"))


@pytest.mark.slow
def test_azure_actual_and_amortized_exports_of_one_month_are_not_added(warehouse, shared_data, tmp_path):
    # the FinOps toolkit's EA samples: the same account and month as actual cost and as amortized cost
    folder = tmp_path / "landing" / "azure"
    folder.mkdir(parents=True)
    actual = folder / "finops-toolkit_EA_ActualCost_Small.csv"
    amortized = folder / "finops-toolkit_EA_AmortizedCost_Small.csv"
    actual.write_bytes((shared_data / "azure" / actual.name).read_bytes())
    amortized.write_bytes((shared_data / "azure" / amortized.name).read_bytes())
    os.utime(actual, (T0 + HOUR,) * 2)  # newer, but the actual view never wins over the amortized one
    os.utime(amortized, (T0,) * 2)

    results = {Path(r.path): r for r in ingest_files(warehouse, [tmp_path / "landing"])}

    assert results[amortized].error is None and results[amortized].rows_loaded > 0
    assert results[actual].skipped and "(amortized cost), which is loaded instead" in results[actual].message
    with open(amortized, newline="", encoding="utf-8-sig") as fh:
        amortized_rows = list(csv.DictReader(fh))
    assert warehouse.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == len(amortized_rows)
