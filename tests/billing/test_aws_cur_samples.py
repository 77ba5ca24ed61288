"""The real AWS CUR samples, loaded through ingest_files, against totals computed from the source itself."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest_files

TOLERANCE = Decimal("0.0001")  # far below a cent: canonical money keeps twelve decimal places


def _loaded(warehouse, path: Path):
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    return result


def _canonical_totals(warehouse) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    rows = warehouse.sql(
        "SELECT strftime(billing_period_start, '%Y-%m-%d'), billing_currency, sum(billed_cost), sum(effective_cost) "
        "FROM billing_line_items GROUP BY ALL"
    ).fetchall()
    return {(period, currency): (billed, effective) for period, currency, billed, effective in rows}


def _assert_totals_match(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, (billed, effective) in expected.items():
        assert abs(actual[key][0] - billed) < TOLERANCE, (key, "billed", actual[key][0], billed)
        assert abs(actual[key][1] - effective) < TOLERANCE, (key, "effective", actual[key][1], effective)


def _by_row(warehouse, columns: str) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in warehouse.sql(f"SELECT source_row, {columns} FROM billing_line_items").fetchall()}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _amortised_from_csv_row(row: dict[str, str]) -> Decimal:
    """AWS's amortised cost of one legacy CUR row, straight from its own columns."""

    def money(name: str) -> Decimal:
        return Decimal(row.get(name) or "0")

    kind = row["lineItem/LineItemType"]
    if kind == "DiscountedUsage":
        return money("reservation/EffectiveCost")
    if kind == "RIFee":
        return money("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod") + money("reservation/UnusedRecurringFee")
    if kind == "Fee" and row.get("reservation/ReservationARN"):
        return Decimal(0)
    if kind == "SavingsPlanCoveredUsage":
        return money("savingsPlan/SavingsPlanEffectiveCost")
    if kind in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
        return Decimal(0)
    if kind == "SavingsPlanRecurringFee":
        return money("savingsPlan/TotalCommitmentToDate") - money("savingsPlan/UsedCommitment")
    return money("lineItem/UnblendedCost")


def _python_totals(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        key = (row["bill/BillingPeriodStartDate"][:10], row["lineItem/CurrencyCode"])
        totals[key][0] += Decimal(row["lineItem/UnblendedCost"])
        totals[key][1] += _amortised_from_csv_row(row)
    return {k: (v[0], v[1]) for k, v in totals.items()}


# finopsfoundation/focus_converters, focus_converter_base/tests/provider_config_tests/aws/
# sample-anonymous-aws-export-dataset.csv (MIT): 1281 rows, Usage and Tax, USD, Nov 2023.
def test_focus_converters_sample_totals_and_spot_checks(warehouse, shared_data):
    path = shared_data / "aws" / "focus_converters_sample-anonymous-aws-export-dataset.csv"
    result = _loaded(warehouse, path)
    assert result.source_format == "aws_cur_csv"
    expected_rows = duckdb.sql(
        "SELECT count(*) FROM read_csv($p, all_varchar=true)", params={"p": str(path)}
    ).fetchall()[0][0]
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file == expected_rows
    assert result.rows_rejected == 0

    # independent totals in DuckDB SQL: the file has only Usage and Tax rows, whose amortised cost
    # is their unblended cost by AWS's definition
    expected = duckdb.sql(
        """
        SELECT left("bill/BillingPeriodStartDate", 10), "lineItem/CurrencyCode",
               sum(CAST("lineItem/UnblendedCost" AS DECIMAL(38, 10))),
               sum(CASE WHEN "lineItem/LineItemType" IN ('Usage', 'Tax')
                        THEN CAST("lineItem/UnblendedCost" AS DECIMAL(38, 10)) END)
        FROM read_csv($p, all_varchar = true) GROUP BY ALL
        """,
        params={"p": str(path)},
    ).fetchall()
    _assert_totals_match(_canonical_totals(warehouse), {(p, c): (b, e) for p, c, b, e in expected})
    assert result.billed_cost == {"USD": _canonical_totals(warehouse)[("2023-11-01", "USD")][0]}

    source = _csv_rows(path)
    canonical = _by_row(warehouse, "x_storage_class, x_transfer_direction, service_category, charge_category")
    glacier = [i for i, r in enumerate(source, 1) if r["product/volumeType"] == "Amazon Glacier"]
    standard = [i for i, r in enumerate(source, 1) if r["product/volumeType"] == "Standard"]
    assert glacier and standard
    assert {canonical[i][0] for i in glacier} == {"GLACIER"}
    assert {canonical[i][0] for i in standard} == {"STANDARD"}
    by_usage_type = defaultdict(set)
    for i, r in enumerate(source, 1):
        by_usage_type[r["lineItem/UsageType"]].add(canonical[i][1])
    assert by_usage_type["USE1-CAN1-AWS-Out-Bytes"] == {"inter_region"}
    assert by_usage_type["USW2-DataTransfer-Out-Bytes"] == {"internet_out"}
    assert by_usage_type["USW2-DataTransfer-In-Bytes"] == {"in"}
    taxes = [i for i, r in enumerate(source, 1) if r["lineItem/LineItemType"] == "Tax"]
    assert {canonical[i][3] for i in taxes} == {"Tax"}
    glue = [
        i
        for i, r in enumerate(source, 1)
        if r["lineItem/ProductCode"] == "AWSGlue" and r["product/servicecode"] == "AWSGlue"
    ]
    assert glue and {canonical[i][2] for i in glue} == {"Analytics"}


# project-koku/koku, koku/masu/test/data/aws/2023-06-01.csv (Apache-2.0): three Savings Plan
# covered hours billed in NOK.
def test_koku_savings_plan_sample_totals_and_spot_checks(warehouse, shared_data):
    path = shared_data / "aws" / "koku_2023-06-01_savingsplan.csv"
    result = _loaded(warehouse, path)
    source = _csv_rows(path)
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file == len(source)
    _assert_totals_match(_canonical_totals(warehouse), _python_totals(source))

    rows = _by_row(
        warehouse,
        "billed_cost, effective_cost, billing_currency, commitment_discount_type, commitment_discount_status, "
        "pricing_category, x_instance_type, resource_id",
    )
    for i, r in enumerate(source, 1):
        billed, effective, currency, ctype, status, pricing, instance, resource = rows[i]
        assert billed == Decimal(r["lineItem/UnblendedCost"])
        assert effective == Decimal(r["savingsPlan/SavingsPlanEffectiveCost"])
        assert (currency, ctype, status, pricing) == ("NOK", "Savings Plan", "Used", "Committed")
        assert (instance, resource) == (r["product/instanceType"], r["lineItem/ResourceId"])


# project-koku/koku, koku/masu/test/data/test_cur.csv (Apache-2.0): 19 EC2 data transfer rows
# whose data lines have one field fewer than the header.
def test_koku_test_cur_sample_totals_and_transfer_directions(warehouse, shared_data):
    path = shared_data / "aws" / "koku_test_cur.csv"
    result = _loaded(warehouse, path)
    with open(path, newline="") as fh:
        header, *lines = list(csv.reader(fh))
    source = [dict(zip(header, line, strict=False)) for line in lines]
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file == len(source)
    _assert_totals_match(_canonical_totals(warehouse), _python_totals(source))

    rows = _by_row(warehouse, "x_transfer_direction, resource_id, service_category, charge_period_start")
    expected_direction = {"InterRegion Outbound": "inter_region", "InterRegion Inbound": "in"}
    for i, r in enumerate(source, 1):
        direction, resource, category, start = rows[i]
        assert direction == expected_direction[r["product/transferType"]]
        assert resource == r["lineItem/ResourceId"]
        assert category == "Networking"  # product/servicecode AWSDataTransfer
        assert start.strftime("%Y-%m-%d %H:%M:%S") == r["lineItem/UsageStartDate"]


def test_gzip_cur_csv_is_read_like_the_plain_file(warehouse, shared_data, tmp_path):
    source = shared_data / "aws" / "koku_2023-06-01_savingsplan.csv"
    packed = tmp_path / "cur-00001.csv.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    result = _loaded(warehouse, packed)
    assert result.source_format == "aws_cur_csv"
    assert result.rows_loaded == 3
    _assert_totals_match(_canonical_totals(warehouse), _python_totals(_csv_rows(source)))


# stephensalim/aws-well-architected-labs (fork of awslabs/aws-well-architected-labs),
# static/Cost/200_4_Cost_and_Usage_Analysis/Code/Oct2018-WorkshopCUR-00001.snappy.parquet
# (Apache-2.0 / MIT-0): Athena-style CUR Parquet, Oct 2018, with RIFee and DiscountedUsage rows.
@pytest.mark.slow
def test_well_architected_parquet_totals_and_spot_checks(warehouse, shared_data):
    path = shared_data / "aws" / "wal_Oct2018-WorkshopCUR-00001.snappy.parquet"
    result = _loaded(warehouse, path)
    assert result.source_format == "aws_cur_parquet"
    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'UTC'")
    raw.sql(
        "SELECT file_row_number + 1 AS source_row, * FROM read_parquet($p, file_row_number = true)",
        params={"p": str(path)},
    ).create("cur")
    assert (
        result.rows_loaded + result.rows_rejected
        == result.rows_in_file
        == raw.sql("SELECT count(*) FROM cur").fetchall()[0][0]
    )

    def dec(col: str) -> str:  # a double through its text form, as AWS wrote it, into an exact decimal
        return f"CAST(CAST({col} AS VARCHAR) AS DECIMAL(38, 10))"

    expected = raw.sql(
        f"""
        SELECT strftime(bill_billing_period_start_date, '%Y-%m-%d'), line_item_currency_code,
               sum({dec("line_item_unblended_cost")}),
               sum(CASE line_item_line_item_type
                     WHEN 'DiscountedUsage' THEN {dec("reservation_effective_cost")}
                     WHEN 'RIFee' THEN {dec("reservation_unused_amortized_upfront_fee_for_billing_period")}
                                      + {dec("reservation_unused_recurring_fee")}
                     WHEN 'Fee' THEN CASE WHEN coalesce(reservation_reservation_a_r_n, '') <> '' THEN 0
                                          ELSE {dec("line_item_unblended_cost")} END
                     ELSE {dec("line_item_unblended_cost")} END)
        FROM cur GROUP BY ALL
        """
    ).fetchall()
    _assert_totals_match(_canonical_totals(warehouse), {(p, c): (b, e) for p, c, b, e in expected})

    canonical = _by_row(
        warehouse,
        "billed_cost, effective_cost, commitment_discount_type, commitment_discount_status, commitment_discount_id, "
        "tags, x_transfer_direction, x_instance_type",
    )
    ri_row, ri_effective, ri_arn, instance = raw.sql(
        "SELECT source_row, CAST(reservation_effective_cost AS VARCHAR), reservation_reservation_a_r_n, "
        "product_instance_type FROM cur WHERE line_item_line_item_type = 'DiscountedUsage' "
        "ORDER BY source_row LIMIT 1"
    ).fetchall()[0]
    assert canonical[ri_row][:5] == (Decimal(0), Decimal(ri_effective), "Reserved Instance", "Used", ri_arn)
    assert canonical[ri_row][7] == instance

    fee_row, unused_upfront, unused_recurring = raw.sql(
        "SELECT source_row, CAST(reservation_unused_amortized_upfront_fee_for_billing_period AS VARCHAR), "
        "CAST(reservation_unused_recurring_fee AS VARCHAR) FROM cur WHERE line_item_line_item_type = 'RIFee' "
        "AND reservation_unused_recurring_fee > 0 ORDER BY source_row LIMIT 1"
    ).fetchall()[0]
    assert canonical[fee_row][1] == Decimal(unused_upfront) + Decimal(unused_recurring)
    assert canonical[fee_row][3] == "Unused"

    tag_columns = [c for c in raw.sql("SELECT * FROM cur LIMIT 0").columns if c.startswith("resource_tags_")]
    assert tag_columns
    tagged = raw.sql(
        f"SELECT source_row, {', '.join(tag_columns)} FROM cur WHERE resource_tags_user_name <> '' "
        "ORDER BY source_row LIMIT 1"
    ).fetchall()[0]
    expected_tags = {c.removeprefix("resource_tags_"): v for c, v in zip(tag_columns, tagged[1:], strict=True) if v}
    assert json.loads(canonical[tagged[0]][5]) == expected_tags

    regional = raw.sql(
        "SELECT source_row FROM cur WHERE line_item_usage_type = 'DataTransfer-Regional-Bytes' LIMIT 5"
    ).fetchall()
    assert regional and {canonical[r][6] for (r,) in regional} == {"intra_region"}


@pytest.mark.parametrize(
    "relative, expected",
    [
        ("aws/focus_converters_sample-anonymous-aws-export-dataset.csv", "aws_cur_csv"),
        ("aws/koku_2023-06-01_savingsplan.csv", "aws_cur_csv"),
        ("aws/koku_test_cur.csv", "aws_cur_csv"),
        ("aws/wal_Oct2018-WorkshopCUR-00001.snappy.parquet", "aws_cur_parquet"),
    ],
)
def test_aws_samples_are_detected(shared_data, relative, expected):
    from flows.readers import sniff
    from transforms.formats import detect

    assert detect(sniff(shared_data / relative)).name == expected


def test_no_other_sample_is_taken_for_a_cur(shared_data):
    from flows.readers import UnreadableFile, sniff
    from transforms.formats import detect

    others = [p for p in shared_data.rglob("*") if p.is_file() and p.parent.name != "aws"]
    assert others
    for path in others:
        try:
            found = detect(sniff(path))
        except UnreadableFile:
            continue
        assert found is None or not found.name.startswith("aws_cur"), path
