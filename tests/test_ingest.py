"""Ingest: exactly once, deliveries replace whole, nothing lost, clear errors."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from flows.cli import main as cli
from flows.ingest import ingest_files

FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"


def focus_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_focus(path: Path, header: list[str], rows: list[dict], opener=open) -> Path:
    with opener(path, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def table_totals(con, where: str = "TRUE") -> dict:
    rows = con.sql(
        f"SELECT strftime(billing_period_start, '%Y-%m'), billing_currency, sum(billed_cost), sum(effective_cost) "
        f"FROM billing_line_items WHERE {where} GROUP BY ALL"
    ).fetchall()
    return {(period, cur): (billed, effective) for period, cur, billed, effective in rows}


# FOCUS sample: FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data, CC-BY-4.0.
def test_focus_sample_totals_match_the_source_to_the_cent(warehouse, shared_data):
    path = shared_data / FOCUS_SAMPLE
    _, rows = focus_rows(path)
    expected: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        key = (row["BillingPeriodStart"][:7], row["BillingCurrency"])
        expected[key][0] += Decimal(row["BilledCost"])
        expected[key][1] += Decimal(row["EffectiveCost"])

    [result] = ingest_files(warehouse, [path])

    assert result.error is None and result.source_format == "focus"
    assert result.rows_loaded + result.rows_rejected == len(rows) == 1000
    assert result.rows_rejected == 0
    got = table_totals(warehouse)
    assert set(got) == set(expected)
    for key, (billed, effective) in expected.items():
        assert round(got[key][0], 2) == round(billed, 2)
        assert round(got[key][1], 2) == round(effective, 2)
    # exact, not just to the cent
    assert sum(v[0] for v in got.values()) == sum(v[0] for v in expected.values())


def test_focus_sample_rows_keep_their_meaning(warehouse, shared_data):
    ingest_files(warehouse, [shared_data / FOCUS_SAMPLE])
    gpu = warehouse.execute(
        "SELECT count(*), any_value(x_gpu_count), sum(billed_cost) FROM billing_line_items "
        "WHERE x_instance_type = 'g5.4xlarge'"
    ).fetchone()
    assert gpu[0] == 8 and gpu[1] == 1.0
    providers = dict(warehouse.execute("SELECT provider, count(*) FROM billing_line_items GROUP BY 1").fetchall())
    assert providers == {"aws": 942, "azure": 51, "oracle": 7}
    tagged = warehouse.execute("SELECT tags FROM billing_line_items WHERE tags IS NOT NULL LIMIT 1").fetchone()[0]
    assert isinstance(json.loads(tagged), dict)
    credits = warehouse.execute("SELECT count(*) FROM billing_line_items WHERE charge_category = 'Credit'").fetchone()[
        0
    ]
    assert credits > 0  # credits are rows, never dropped
    tz = warehouse.execute("SELECT typeof(charge_period_start) FROM billing_line_items LIMIT 1").fetchone()[0]
    assert tz == "TIMESTAMP WITH TIME ZONE"


def test_the_same_file_twice_changes_nothing(warehouse, shared_data, tmp_path):
    path = shared_data / FOCUS_SAMPLE
    ingest_files(warehouse, [path])
    before = warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone()
    copy = tmp_path / "renamed-copy.csv"
    copy.write_bytes(path.read_bytes())
    again = ingest_files(warehouse, [path, copy])
    assert all(r.skipped for r in again)
    assert "already loaded" in again[0].message
    assert warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone() == before
    assert warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0] == 1


def _one_account(shared_data: Path) -> tuple[list[str], list[dict]]:
    header, rows = focus_rows(shared_data / FOCUS_SAMPLE)
    return header, [r for r in rows if r["ProviderName"] == "AWS"]


def test_a_newer_delivery_replaces_the_period_whole(warehouse, shared_data, tmp_path):
    header, rows = _one_account(shared_data)
    first = write_focus(tmp_path / "export-v1.csv", header, rows)
    restated = [dict(r, BilledCost=str(Decimal(r["BilledCost"]) * 2)) for r in rows[:500]]
    second = write_focus(tmp_path / "export-v2.csv", header, restated)

    ingest_files(warehouse, [first])
    ingest_files(warehouse, [second])

    count, billed = warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone()
    assert count == 500
    assert billed == sum(Decimal(r["BilledCost"]) for r in restated)
    holder = warehouse.execute("SELECT delivery_id, replaced_delivery_id FROM billing_deliveries").fetchall()
    assert len(holder) == 1 and holder[0][1] is not None and holder[0][0] != holder[0][1]


def test_parts_of_one_delivery_add_up(warehouse, shared_data, tmp_path):
    header, rows = _one_account(shared_data)
    part1 = write_focus(tmp_path / "export-00001.csv.gz", header, rows[:400], opener=gzip.open)
    part2 = write_focus(tmp_path / "export-00002.csv", header, rows[400:])
    results = ingest_files(warehouse, [part1, part2])
    assert [r.error for r in results] == [None, None]
    assert len({r.delivery_id for r in results}) == 1
    count, billed = warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone()
    assert count == len(rows)
    assert billed == sum(Decimal(r["BilledCost"]) for r in rows)


@pytest.mark.slow
def test_a_truncated_part_stores_nothing_of_its_delivery(warehouse, shared_data, tmp_path):
    header, rows = _one_account(shared_data)
    ingest_files(warehouse, [write_focus(tmp_path / "old.csv", header, rows[:100])])
    before = warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone()

    good = write_focus(tmp_path / "new-00001.csv", header, rows[:300])
    broken = write_focus(tmp_path / "new-00002.csv", header, rows[300:600])
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) - 700])  # cut in the middle of a line
    results = ingest_files(warehouse, [good, broken])

    assert all(r.error for r in results)
    assert "new-00002.csv" in results[1].error
    assert "another part of the same delivery failed" in results[0].error
    assert warehouse.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone() == before
    assert warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0] == 1
    # fixed and given again, the delivery loads
    broken.write_bytes(data)
    assert all(r.error is None for r in ingest_files(warehouse, [good, broken]))
    assert warehouse.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 600


def test_bad_rows_are_rejected_with_file_row_and_reason(warehouse, shared_data, tmp_path):
    header, rows = _one_account(shared_data)
    rows = [dict(r) for r in rows[:10]]
    rows[2]["BilledCost"] = "12,5x"
    rows[4]["ChargePeriodStart"] = "2024-13-45 00:00:00"
    rows[6]["BillingCurrency"] = "XYZ"
    path = write_focus(tmp_path / "bad-rows.csv", header, rows)

    [result] = ingest_files(warehouse, [path])

    assert (result.rows_loaded, result.rows_rejected) == (7, 3)
    rejected = warehouse.execute(
        "SELECT source_file, source_row, reason FROM rejected_rows ORDER BY source_row"
    ).fetchall()
    assert [r[1] for r in rejected] == [3, 5, 7]
    assert all(r[0].endswith("bad-rows.csv") for r in rejected)
    assert "BilledCost" in rejected[0][2] and "12,5x" in rejected[0][2]
    assert "ChargePeriodStart" in rejected[1][2]
    assert "ISO 4217" in rejected[2][2] and "XYZ" in rejected[2][2]


@pytest.mark.parametrize(
    "content, expected",
    [
        ("just,some,columns\n1,2,3\n", "not a recognised billing export"),
        ("BilledCost;EffectiveCost;ChargePeriodStart;BillingCurrency\n1;1;2024-01-01;USD\n", "not a recognised"),
    ],
    ids=["unknown-header", "wrong-delimiter"],
)
def test_unreadable_files_are_refused_naming_the_file(warehouse, tmp_path, content, expected):
    path = tmp_path / "mystery.csv"
    path.write_text(content)
    [result] = ingest_files(warehouse, [path])
    assert result.error and "mystery.csv" in result.error and expected in result.error
    assert warehouse.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0] == 0


def test_a_missing_required_column_is_named(warehouse, shared_data, tmp_path):
    header, rows = _one_account(shared_data)
    header = [h for h in header if h != "BillingAccountId"]
    path = write_focus(tmp_path / "no-account.csv", header, [{k: r[k] for k in header} for r in rows[:5]])
    [result] = ingest_files(warehouse, [path], "focus")
    assert "no-account.csv" in result.error and "BillingAccountId" in result.error
    assert warehouse.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 0


# FOCUS specification worked examples: FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, CC-BY-4.0.
@pytest.mark.slow
def test_focus_worked_examples_load_with_stated_defaults(warehouse, shared_data):
    folder = shared_data / "focus" / "FOCUS_Spec_worked_examples"
    files = sorted(folder.rglob("*.csv"))
    # Separate scenarios, not one account's deliveries: each is ingested on its own with its own account
    # (the file's stem), else the examples of one period would compete as restatements of each other.
    # The SaaS examples carry their own account (12345, 000-00-000), which a default never changes: a
    # later example of the same account and month replaces an earlier one, as a restatement would, so
    # each file's stored amount is read right after its own run.
    results, stored_after_own_run = [], {}
    for path in files:
        results += ingest_files(
            warehouse,
            [path],
            "focus",
            column_defaults={"BillingCurrency": "USD", "ProviderName": "FOCUS example", "BillingAccountId": path.stem},
        )
        stored_after_own_run[path.name] = warehouse.execute(
            "SELECT billed_cost FROM billing_line_items WHERE source_file = $f", {"f": str(path)}
        ).fetchall()
    assert len(results) == len(files) and all(r.error is None for r in results)
    for result in results:
        with open(result.path, newline="") as fh:
            assert result.rows_loaded + result.rows_rejected == sum(1 for _ in csv.DictReader(fh))
    rejected = warehouse.execute("SELECT reason FROM rejected_rows").fetchall()
    # the spec's purchase scenarios 2 and 3 carry an impossible hour (T30:00:00): refused, not guessed
    assert [r[0] for r in rejected] == [
        "column ChargePeriodEnd: expected a timestamp (ISO 8601), got '2023-02-01T30:00:00Z'"
    ] * 2
    # "$10,000.00 " spreadsheet amounts are read exactly
    [(upfront,)] = stored_after_own_run["simple_saas_agreements_a1.csv"]
    assert upfront == Decimal("10000")


@pytest.mark.slow
def test_cli_ingest_json_reports_totals_per_currency(tmp_path, shared_data, capsys):
    db = tmp_path / "w.duckdb"
    code = cli(["--db", str(db), "ingest", "--json", str(shared_data / FOCUS_SAMPLE)])
    assert code == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["source_format"] == "focus"
    assert (report["rows_loaded"], report["rows_rejected"]) == (1000, 0)
    _, rows = focus_rows(shared_data / FOCUS_SAMPLE)
    assert Decimal(report["billed_cost"]["USD"]) == sum(Decimal(r["BilledCost"]) for r in rows)
    assert Decimal(report["effective_cost"]["USD"]) == sum(Decimal(r["EffectiveCost"]) for r in rows)
    code = cli(["--db", str(db), "ingest", str(tmp_path / "missing.csv")])
    assert code == 2
    assert "missing.csv" in capsys.readouterr().err


def test_focus_parquet_with_map_tags_matches_the_csv(warehouse, shared_data, tmp_path):
    csv_path = shared_data / FOCUS_SAMPLE
    parquet = tmp_path / "focus.parquet"
    duckdb_sql = f"""
        COPY (
            SELECT * REPLACE (
                CAST(NULLIF(BilledCost, 'NULL') AS DECIMAL(38, 12)) AS BilledCost,
                CAST(NULLIF(EffectiveCost, 'NULL') AS DECIMAL(38, 12)) AS EffectiveCost,
                CAST(NULLIF(ChargePeriodStart, 'NULL') AS TIMESTAMP) AS ChargePeriodStart,
                CASE WHEN Tags = 'NULL' THEN NULL ELSE CAST(json_transform(Tags, '"MAP(VARCHAR, VARCHAR)"') AS MAP(VARCHAR, VARCHAR)) END AS Tags
            )
            FROM read_csv('{csv_path}', all_varchar = true)
        ) TO '{parquet}' (FORMAT parquet)
    """
    import duckdb

    duckdb.sql(duckdb_sql)
    [from_parquet] = ingest_files(warehouse, [parquet])
    assert from_parquet.error is None and from_parquet.source_format == "focus_parquet"
    _, rows = focus_rows(csv_path)
    assert from_parquet.rows_loaded == len(rows)
    assert from_parquet.billed_cost["USD"] == sum(Decimal(r["BilledCost"]) for r in rows)
    tags = warehouse.execute(
        "SELECT tags FROM billing_line_items WHERE tags IS NOT NULL ORDER BY source_row LIMIT 1"
    ).fetchone()[0]
    first_tagged = next(r for r in rows if r["Tags"] != "NULL")
    assert json.loads(tags) == json.loads(first_tagged["Tags"])


# Column lists: microsoft/finops-toolkit open data (MIT), FocusCost 1.0 and 1.2-preview metadata.
@pytest.mark.parametrize("version", ["1.0", "1.2-preview"])
def test_focus_exports_with_every_column_of_a_version_load(warehouse, shared_data, tmp_path, version):
    meta = json.loads((shared_data / "focus" / f"finops-toolkit_FocusCost_{version}_metadata.json").read_text())
    columns = [c["ColumnName"] for c in meta["Columns"]]
    header, rows = focus_rows(shared_data / FOCUS_SAMPLE)
    rows = [{c: r.get(c, "") for c in columns} for r in rows[:50]]
    path = write_focus(tmp_path / f"focus-{version}.csv", columns, rows)
    [result] = ingest_files(warehouse, [path])
    assert result.error is None and result.source_format == "focus"
    assert (result.rows_loaded, result.rows_rejected) == (50, 0)
    assert result.billed_cost["USD"] == sum(Decimal(r["BilledCost"]) for r in rows)
