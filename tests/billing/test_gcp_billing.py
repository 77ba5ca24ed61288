"""GCP billing export readers: the real koku CSV sample, nested JSONL / Parquet built here, bad input."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_files
from transforms.billing.gcp_billing import GCP_EXPORT_SCHEMA, gcp_to_canonical
from transforms.formats import REGISTRY, FormatError, Sniff, detect

# Origin: project-koku/koku, koku/masu/test/data/gcp/202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08:2020-11-11.csv
# (commit 768be82535f8e75523d966b4797e954ad054b52f, Apache-2.0).
GCP_SAMPLE = "gcp/koku_gcp_202011_2020-11-08_2020-11-11.csv"
CENT = Decimal("0.01")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _credit_amounts(credits_text: str) -> list[Decimal]:
    return [Decimal(a) for a in re.findall(r"'amount':\s*([-+0-9.eE]+)", credits_text)]


def _billing(con) -> pl.DataFrame:
    return con.sql("SELECT * FROM billing_line_items ORDER BY source_row").pl()


def test_real_sample_totals_match_the_source(shared_data, warehouse):
    path = shared_data / GCP_SAMPLE
    rows = _rows(path)
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    effective: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        key = (row["invoice.month"], row["currency"])
        billed[key] += Decimal(row["cost"])
        effective[key] += Decimal(row["cost"]) + sum(_credit_amounts(row["credits"]), Decimal(0))

    [result] = ingest_files(warehouse, [path])

    assert result.error is None and result.source_format == "gcp_billing_csv"
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file == len(rows) == 25
    assert result.rows_rejected == 0
    totals = warehouse.sql(
        "SELECT strftime(billing_period_start, '%Y%m') AS month, billing_currency, "
        "sum(billed_cost) AS billed, sum(effective_cost) AS effective FROM billing_line_items GROUP BY ALL"
    ).fetchall()
    assert {(m, c): (b.quantize(CENT), e.quantize(CENT)) for m, c, b, e in totals} == {
        k: (billed[k].quantize(CENT), effective[k].quantize(CENT)) for k in billed
    }
    # exact, not only to the cent: the credits cancel the cost to the last digit
    assert {(m, c): (b, e) for m, c, b, e in totals} == {k: (billed[k], effective[k]) for k in billed}
    assert result.billed_cost == {"USD": billed[("202011", "USD")]}


def test_real_sample_credit_kept_and_subtracted(shared_data, warehouse):
    ingest_files(warehouse, [shared_data / GCP_SAMPLE])
    first = _billing(warehouse).row(0, named=True)

    assert first["billed_cost"] == Decimal("0.000005")
    assert first["x_credit_amount"] == Decimal("-0.000005")
    assert first["effective_cost"] == Decimal("0")
    assert first["billing_period_start"] == datetime(2020, 11, 1, tzinfo=UTC)
    assert first["billing_period_end"] == datetime(2020, 12, 1, tzinfo=UTC)
    assert first["charge_period_start"] == datetime(2020, 11, 9, 23, tzinfo=UTC)
    assert first["charge_period_end"] == datetime(2020, 11, 10, 0, tzinfo=UTC)
    assert first["sub_account_id"] == "billing-example-00000"
    assert first["service_category"] == "Security"
    fourth = _billing(warehouse).row(3, named=True)
    assert fourth["tags"] == '{"goog-resource-type":"bigquery_resource"}'
    assert fourth["service_name"] == "Stackdriver Logging"


def _nested_rows() -> list[dict]:
    def row(**fields) -> dict:
        base = {name: None for name in GCP_EXPORT_SCHEMA}
        base.update(
            billing_account_id="01AB-CDEF",
            usage_start_time=datetime(2026, 11, 16, 10, tzinfo=UTC),
            usage_end_time=datetime(2026, 11, 16, 11, tzinfo=UTC),
            project={"id": "ml-prod", "number": "42", "name": "ML prod", "labels": [], "ancestry_numbers": "/1/"},
            currency="EUR",
            invoice={"month": "202611"},
            cost_type="regular",
            labels=[],
            system_labels=[],
            credits=[],
        )
        base.update(fields)
        return base

    return [
        row(
            service={"id": "6F81-5844-456A", "description": "Compute Engine"},
            sku={"id": "A100", "description": "Nvidia Tesla A100 GPU running in Americas"},
            cost=Decimal("29.3876"),
            cost_at_list=Decimal("32.10"),
            labels=[{"key": "team", "value": "vision"}],
            system_labels=[{"key": "compute.googleapis.com/machine_spec", "value": "a2-highgpu-8g"}],
            credits=[
                {
                    "name": "CUD",
                    "amount": Decimal("-10.5"),
                    "full_name": None,
                    "id": "c1",
                    "type": "COMMITTED_USAGE_DISCOUNT",
                },
                {
                    "name": "SUD",
                    "amount": Decimal("-0.0000001"),
                    "full_name": None,
                    "id": "c2",
                    "type": "SUSTAINED_USAGE_DISCOUNT",
                },
            ],
            location={"location": "us-central1", "country": "US", "region": "us-central1", "zone": "us-central1-a"},
            usage={
                "amount": Decimal("28800"),
                "unit": "seconds",
                "amount_in_pricing_units": Decimal("8"),
                "pricing_unit": "hour",
            },
        ),
        row(
            service={"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"},
            sku={"id": "NL", "description": "Nearline Storage US Multi-region"},
            cost=Decimal("0.0123456789"),
        ),
        row(
            service={"id": "E505-1604-58F8", "description": "Networking"},
            sku={"id": "EG", "description": "Network Internet Egress from Americas to Americas"},
            cost=Decimal("1.20"),
        ),
        row(
            service={"id": "E505-1604-58F8", "description": "Networking"},
            sku={"id": "IR", "description": "Network Inter Region Egress from Americas to EMEA"},
            cost=Decimal("0.80"),
        ),
        row(
            service={"id": "T", "description": "Invoice"},
            sku={"id": "TX", "description": "Tax"},
            cost=Decimal("6.31"),
            cost_type="tax",
        ),
    ]


def _check_nested(con) -> None:
    out = _billing(con)
    gpu, storage, egress, inter_region, tax = out.iter_rows(named=True)
    assert gpu["billed_cost"] == Decimal("29.3876")
    assert gpu["x_credit_amount"] == Decimal("-10.5000001")
    assert gpu["effective_cost"] == Decimal("18.8875999")
    assert gpu["list_cost"] == Decimal("32.10")
    assert gpu["x_instance_type"] == "a2-highgpu-8g"
    assert gpu["x_gpu_count"] == 8
    assert gpu["tags"] == '{"team":"vision"}'
    assert gpu["region_id"] == "us-central1" and gpu["availability_zone"] == "us-central1-a"
    assert gpu["pricing_quantity"] == Decimal("8") and gpu["consumed_unit"] == "seconds"
    assert gpu["service_category"] == "Compute"
    assert storage["x_storage_class"] == "NEARLINE" and storage["service_category"] == "Storage"
    assert storage["list_cost"] == storage["billed_cost"] == Decimal("0.0123456789")
    assert egress["x_transfer_direction"] == "internet_out"
    assert inter_region["x_transfer_direction"] == "inter_region"
    assert tax["charge_category"] == "Tax" and tax["effective_cost"] == Decimal("6.31")
    assert set(out["billing_currency"]) == {"EUR"}
    assert set(out["billing_period_start"]) == {datetime(2026, 11, 1, tzinfo=UTC)}


def _ingest_nested_export(warehouse, path, write, source_format: str) -> None:
    """The nested export's five rows written by ``write`` to ``path`` load whole as ``source_format``."""
    write(pl.DataFrame(_nested_rows(), schema=GCP_EXPORT_SCHEMA), path)

    [result] = ingest_files(warehouse, [path])

    assert result.error is None, result.error
    assert result.source_format == source_format
    assert (result.rows_loaded, result.rows_rejected) == (5, 0)
    _check_nested(warehouse)


def test_nested_jsonl_export(tmp_path, warehouse):
    _ingest_nested_export(warehouse, tmp_path / "gcp_export.jsonl", pl.DataFrame.write_ndjson, "gcp_billing_jsonl")


def test_nested_parquet_export(tmp_path, warehouse):
    _ingest_nested_export(warehouse, tmp_path / "gcp_export.parquet", pl.DataFrame.write_parquet, "gcp_billing_parquet")


def test_jsonl_money_as_json_numbers_is_read_exactly():
    raw = pl.DataFrame(
        {
            "billing_account_id": ["A"],
            "usage_start_time": ["2026-11-16T10:00:00Z"],
            "usage_end_time": ["2026-11-16T11:00:00Z"],
            "cost": [0.1],
            "currency": ["USD"],
            "invoice": [{"month": "202611"}],
            "credits": [[{"name": "x", "amount": -5e-06}]],
            "source_row": [1],
        }
    )
    row = gcp_to_canonical(raw.lazy()).collect().row(0, named=True)
    assert row["billed_cost"] == Decimal("0.1")
    assert row["effective_cost"] == Decimal("0.099995")


CSV_HEADER = "billing_account_id,service.description,sku.id,sku.description,usage_start_time,usage_end_time,project.id,cost,currency,credits,invoice.month,cost_type"


def _csv_raw(lines: list[str]) -> pl.LazyFrame:
    reader = csv.reader([CSV_HEADER, *lines])
    header = next(reader)
    data = [dict(zip(header, r, strict=True)) for r in reader]
    return (
        pl.DataFrame(data, schema={c: pl.String for c in header})
        .with_row_index("source_row", offset=1)
        .with_columns(pl.col("source_row").cast(pl.Int64))
        .lazy()
    )


def test_bad_rows_are_rejected_naming_the_column():
    good = "A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,1.5,USD,[],202611,regular"
    raw = _csv_raw(
        [
            good,
            "A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,abc,USD,[],202611,regular",
            "A,BigQuery,S,Analysis,16/11/2026 10h,2026-11-16 11:00:00+00:00,p,1.5,USD,[],202611,regular",
            "A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,1.5,XYZ,[],202611,regular",
            "A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,1.5,USD,\"[{'name': 'c', 'amount': oops}]\",202611,regular",
            "A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,1.5,USD,[],2026-13,regular",
        ]
    )
    reasons = gcp_to_canonical(raw).collect()["_reject_reason"].to_list()
    assert reasons[0] is None
    assert reasons[1] == "column cost: expected a decimal number, got 'abc'"
    assert reasons[2] == "column usage_start_time: expected an ISO 8601 timestamp, got '16/11/2026 10h'"
    assert reasons[3] == "column currency: expected an ISO 4217 currency code, got 'XYZ'"
    assert reasons[4] == "column credits: expected a decimal amount in every credit, got 'oops'"
    assert reasons[5] == "column invoice.month: expected a month as YYYYMM, got '2026-13'"


def test_missing_cost_column_raises_naming_it(tmp_path, warehouse):
    raw = _csv_raw(
        ["A,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,1.5,USD,[],202611,regular"]
    )
    with pytest.raises(FormatError, match="missing required column.*cost"):
        gcp_to_canonical(raw.drop("cost"))

    path = tmp_path / "no_cost.csv"
    path.write_text(
        CSV_HEADER.replace(",cost,", ",")
        + "\nA,BigQuery,S,Analysis,2026-11-16 10:00:00+00:00,2026-11-16 11:00:00+00:00,p,USD,[],202611,regular\n"
    )
    [result] = ingest_files(warehouse, [path], fmt="gcp_billing_csv")
    assert result.error and "cost" in result.error and result.rows_loaded == 0
    assert warehouse.sql("SELECT count(*) FROM billing_line_items").fetchall() == [(0,)]


def test_detection_tells_gcp_from_focus_and_cur():
    gcp_csv = Sniff(columns=tuple(CSV_HEADER.split(",")), head=CSV_HEADER, name="export.csv")
    gcp_nested = Sniff(columns=tuple(GCP_EXPORT_SCHEMA), head='{"billing_account_id": "A"}', name="export.jsonl")
    gcp_parquet = Sniff(columns=tuple(GCP_EXPORT_SCHEMA), head="", name="export.parquet")
    focus = Sniff(columns=("BilledCost", "BillingAccountId", "ChargePeriodStart", "ServiceName"), head="", name="f.csv")
    cur = Sniff(
        columns=("identity/LineItemId", "lineItem/UnblendedCost", "lineItem/UsageStartDate"), head="", name="c.csv"
    )

    assert REGISTRY["gcp_billing_csv"].matches(gcp_csv)
    assert detect(gcp_csv).name == "gcp_billing_csv"
    assert detect(gcp_nested).name == "gcp_billing_jsonl"
    assert detect(gcp_parquet).name == "gcp_billing_parquet"
    for name in ("gcp_billing_csv", "gcp_billing_jsonl", "gcp_billing_parquet"):
        assert not REGISTRY[name].matches(focus)
        assert not REGISTRY[name].matches(cur)
        assert REGISTRY[name].period_policy == "append"
