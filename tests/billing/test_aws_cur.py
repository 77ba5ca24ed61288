"""AWS CUR mapping rules on hand-built rows: amortisation per line item type, rejections, CUR 2.0 MAPs."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.ingest import ingest_files
from transforms.billing.aws_cur import legacy_csv_to_canonical
from transforms.billing.aws_cur2_columns import CUR2_COLUMNS, CUR2_REQUIRED
from transforms.formats import FormatError
from transforms.parsing import NULL_STRINGS, json_object_from_columns, json_object_from_pairs

BASE = {
    "bill/PayerAccountId": "111122223333",
    "bill/BillingPeriodStartDate": "2026-11-01T00:00:00Z",
    "bill/BillingPeriodEndDate": "2026-12-01T00:00:00Z",
    "lineItem/UsageAccountId": "444455556666",
    "lineItem/LineItemType": "Usage",
    "lineItem/UsageStartDate": "2026-11-16T00:00:00Z",
    "lineItem/UsageEndDate": "2026-11-16T01:00:00Z",
    "lineItem/ProductCode": "AmazonEC2",
    "lineItem/UsageType": "BoxUsage:p5.48xlarge",
    "lineItem/CurrencyCode": "USD",
    "lineItem/UnblendedCost": "98.32",
    "reservation/ReservationARN": "",
    "reservation/EffectiveCost": "",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "",
    "reservation/UnusedRecurringFee": "",
    "savingsPlan/SavingsPlanARN": "",
    "savingsPlan/SavingsPlanEffectiveCost": "",
    "savingsPlan/TotalCommitmentToDate": "",
    "savingsPlan/UsedCommitment": "",
    "resourceTags/user:team": "",
    "resourceTags/user:project": "",
}


def _map(*rows: dict[str, str]) -> pl.DataFrame:
    """Run legacy CUR rows (BASE with overrides) through the aws_cur_csv mapping."""
    records = [{**BASE, **row} for row in rows]
    raw = pl.DataFrame(records, schema={k: pl.String for k in records[0]}).with_row_index("source_row", offset=1)
    return legacy_csv_to_canonical(raw.with_columns(pl.col("source_row").cast(pl.Int64)).lazy()).collect()


RI = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/abc"
SP = "arn:aws:savingsplans::111122223333:savingsplan/xyz"

# line item type row -> (billed, effective) by AWS's amortised-cost definition, worked by hand
AMORTISATION_CASES = [
    ({"lineItem/LineItemType": "Usage", "lineItem/UnblendedCost": "98.32"}, "98.32", "98.32"),
    (
        {
            "lineItem/LineItemType": "DiscountedUsage",
            "lineItem/UnblendedCost": "0",
            "reservation/ReservationARN": RI,
            "reservation/EffectiveCost": "61.7500000001",
        },
        "0",
        "61.7500000001",
    ),
    (
        {
            "lineItem/LineItemType": "RIFee",
            "lineItem/UnblendedCost": "1200",
            "reservation/ReservationARN": RI,
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "40.5",
            "reservation/UnusedRecurringFee": "12.25",
        },
        "1200",
        "52.75",
    ),
    ({"lineItem/LineItemType": "Fee", "lineItem/UnblendedCost": "8760", "reservation/ReservationARN": RI}, "8760", "0"),
    ({"lineItem/LineItemType": "Fee", "lineItem/UnblendedCost": "15"}, "15", "15"),
    (
        {
            "lineItem/LineItemType": "SavingsPlanCoveredUsage",
            "lineItem/UnblendedCost": "98.32",
            "savingsPlan/SavingsPlanARN": SP,
            "savingsPlan/SavingsPlanEffectiveCost": "70.1",
        },
        "98.32",
        "70.1",
    ),
    (
        {
            "lineItem/LineItemType": "SavingsPlanNegation",
            "lineItem/UnblendedCost": "-98.32",
            "savingsPlan/SavingsPlanARN": SP,
        },
        "-98.32",
        "0",
    ),
    (
        {
            "lineItem/LineItemType": "SavingsPlanRecurringFee",
            "lineItem/UnblendedCost": "100",
            "savingsPlan/SavingsPlanARN": SP,
            "savingsPlan/TotalCommitmentToDate": "100",
            "savingsPlan/UsedCommitment": "87.5",
        },
        "100",
        "12.5",
    ),
    (
        {
            "lineItem/LineItemType": "SavingsPlanUpfrontFee",
            "lineItem/UnblendedCost": "5000",
            "savingsPlan/SavingsPlanARN": SP,
        },
        "5000",
        "0",
    ),
    ({"lineItem/LineItemType": "Tax", "lineItem/UnblendedCost": "7.14"}, "7.14", "7.14"),
    ({"lineItem/LineItemType": "Credit", "lineItem/UnblendedCost": "-25"}, "-25", "-25"),
    ({"lineItem/LineItemType": "Refund", "lineItem/UnblendedCost": "-3.5"}, "-3.5", "-3.5"),
    ({"lineItem/LineItemType": "BundledDiscount", "lineItem/UnblendedCost": "-1"}, "-1", "-1"),
    ({"lineItem/LineItemType": "Discount", "lineItem/UnblendedCost": "-2"}, "-2", "-2"),
    ({"lineItem/LineItemType": "EdpDiscount", "lineItem/UnblendedCost": "-4.2"}, "-4.2", "-4.2"),
    ({"lineItem/LineItemType": "PrivateRateDiscount", "lineItem/UnblendedCost": "-0.3"}, "-0.3", "-0.3"),
    ({"lineItem/LineItemType": "SomeFutureType", "lineItem/UnblendedCost": "1.01"}, "1.01", "1.01"),
]


@pytest.mark.parametrize(
    "row, billed, effective",
    AMORTISATION_CASES,
    ids=lambda v: v.get("lineItem/LineItemType") if isinstance(v, dict) else None,
)
def test_effective_cost_of_each_line_item_type(row, billed, effective):
    out = _map(row)
    assert out["_reject_reason"].to_list() == [None]
    assert out["billed_cost"][0] == Decimal(billed)
    assert out["effective_cost"][0] == Decimal(effective)
    assert out["x_line_item_type"][0] == row["lineItem/LineItemType"]


def test_charge_columns_follow_the_line_item_type_table():
    out = _map(
        {"lineItem/LineItemType": "Refund", "lineItem/UnblendedCost": "-3.5"},
        {"lineItem/LineItemType": "SomeFutureType"},
        {
            "lineItem/LineItemType": "RIFee",
            "reservation/ReservationARN": RI,
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "0",
            "reservation/UnusedRecurringFee": "0",
        },
        {
            "lineItem/LineItemType": "SavingsPlanCoveredUsage",
            "savingsPlan/SavingsPlanARN": SP,
            "savingsPlan/SavingsPlanEffectiveCost": "1",
        },
        {"lineItem/LineItemType": "Usage", "lineItem/UsageType": "SpotUsage:g5.xlarge"},
        {"lineItem/LineItemType": "Usage", "pricing/term": "OnDemand"},
    ).with_columns(pl.col("commitment_discount_id").is_not_null().alias("has_id"))
    cols = [
        "charge_category",
        "charge_class",
        "pricing_category",
        "commitment_discount_type",
        "commitment_discount_status",
        "has_id",
    ]
    assert out.select(cols).rows() == [
        ("Credit", "Correction", None, None, None, False),
        ("Adjustment", None, None, None, None, False),
        ("Purchase", None, "Committed", "Reserved Instance", "Unused", True),
        ("Usage", None, "Committed", "Savings Plan", "Used", True),
        ("Usage", None, "Dynamic", None, None, False),
        ("Usage", None, "Standard", None, None, False),
    ]
    assert out["commitment_discount_id"][2] == RI and out["commitment_discount_id"][3] == SP


@pytest.mark.parametrize(
    "row, column, bad",
    [
        ({"lineItem/UnblendedCost": "12,50"}, "lineItem/UnblendedCost", "12,50"),
        ({"lineItem/UsageStartDate": "16/11/2026 25:00"}, "lineItem/UsageStartDate", "16/11/2026 25:00"),
        ({"lineItem/CurrencyCode": "XYZ"}, "lineItem/CurrencyCode", "XYZ"),
        (
            {
                "lineItem/LineItemType": "DiscountedUsage",
                "reservation/ReservationARN": RI,
                "reservation/EffectiveCost": "n/a",
            },
            "reservation/EffectiveCost",
            "n/a",
        ),
    ],
)
def test_a_bad_value_rejects_the_row_naming_the_column(row, column, bad):
    out = _map({}, row)
    good, rejected = out["_reject_reason"].to_list()
    assert good is None
    assert rejected.startswith(f"column {column}: expected ") and f"'{bad}'" in rejected
    assert out["source_row"].to_list() == [1, 2]


def test_a_row_without_the_value_its_amortised_cost_needs_is_rejected():
    out = _map({"lineItem/LineItemType": "SavingsPlanCoveredUsage", "savingsPlan/SavingsPlanARN": SP})
    assert out["_reject_reason"][0] == (
        "column savingsPlan/SavingsPlanEffectiveCost: required value is missing "
        "(the amortised cost of a SavingsPlanCoveredUsage row)"
    )


def test_a_file_without_unblended_cost_is_refused_naming_it():
    raw = pl.DataFrame({k: [v] for k, v in BASE.items() if k != "lineItem/UnblendedCost"}).with_columns(
        pl.lit(1, dtype=pl.Int64).alias("source_row")
    )
    with pytest.raises(FormatError, match="lineItem/UnblendedCost"):
        legacy_csv_to_canonical(raw.lazy())


@pytest.mark.parametrize(
    "usage_type, direction",
    [
        ("DataTransfer-Out-Bytes", "internet_out"),
        ("USW2-DataTransfer-Out-Bytes", "internet_out"),
        ("USE1-USW2-AWS-Out-Bytes", "inter_region"),
        ("DataTransfer-Regional-Bytes", "intra_region"),
        ("USE1-DataTransfer-In-Bytes", "in"),
        ("USE1-USW2-AWS-In-Bytes", "in"),
        ("BoxUsage:p5.48xlarge", None),
    ],
)
def test_transfer_direction_from_the_usage_type(usage_type, direction):
    assert _map({"lineItem/UsageType": usage_type})["x_transfer_direction"][0] == direction


def test_tags_are_a_json_object_of_the_present_resource_tags():
    out = _map({"resourceTags/user:team": "vision", "resourceTags/user:project": 'say "hi"'}, {})
    assert json.loads(out["tags"][0]) == {"user:team": "vision", "user:project": 'say "hi"'}
    assert out["tags"][1] is None


# Tag values JSON must escape exactly: quotes, backslashes, control characters; unicode kept as is.
AWKWARD_TAGS = {
    "user:team": 'say "hi"',
    "user:path": "C:\\models\\v2",
    "user:owner": "Zoë ✓ 😀",
    "user:note": "a\tb\nc",
}


def test_tag_values_are_escaped_exactly_as_json_and_keys_kept_as_spelled():
    awkward = {f"resourceTags/{key}": value for key, value in AWKWARD_TAGS.items()}
    blank = {"resourceTags/user:team": " ", "resourceTags/user:path": "NULL", "resourceTags/user:note": ""}
    out = _map(awkward, {**awkward, **blank})
    assert json.loads(out["tags"][0]) == AWKWARD_TAGS
    # the exact text, keys in column order (BASE's user:team first): what json.dumps writes, unicode as is
    assert out["tags"][0] == json.dumps(AWKWARD_TAGS, ensure_ascii=False, separators=(",", ":"))
    assert out["tags"][1] == '{"user:owner":"Zoë ✓ 😀"}'  # blank, NULL and empty values are left out


def test_athena_tag_columns_are_a_json_object_keyed_by_the_column_suffix():
    from transforms.billing.aws_cur import athena_parquet_to_canonical

    legacy = {k: v for k, v in BASE.items() if not k.startswith("resourceTags/")}
    athena = {
        "bill_payer_account_id": legacy["bill/PayerAccountId"],
        "bill_billing_period_start_date": legacy["bill/BillingPeriodStartDate"],
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": legacy["lineItem/UsageStartDate"],
        "line_item_usage_end_date": legacy["lineItem/UsageEndDate"],
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": "1.5",
    }
    rows = [
        {**athena, "resource_tags_user_team": 'q"uote\\', "resource_tags_user_project": None},
        {**athena, "resource_tags_user_team": "", "resource_tags_user_project": None},
    ]
    raw = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]}).with_row_index("source_row", offset=1)
    out = athena_parquet_to_canonical(raw.with_columns(pl.col("source_row").cast(pl.Int64)).lazy()).collect()
    assert out["tags"].to_list() == ['{"user_team":"q\\"uote\\\\"}', None]
    assert json.loads(out["tags"][0]) == {"user_team": 'q"uote\\'}


# --- CUR 2.0 (Data Exports) Parquet -----------------------------------------------------------


def _cur2_rows() -> list[dict]:
    from datetime import datetime

    common = {
        "bill_payer_account_id": "111122223333",
        "bill_payer_account_name": "ml-org",
        "bill_billing_period_start_date": datetime(2026, 11, 1),
        "bill_billing_period_end_date": datetime(2026, 12, 1),
        "line_item_usage_account_id": "444455556666",
        "line_item_usage_start_date": datetime(2026, 11, 16, 3),
        "line_item_usage_end_date": datetime(2026, 11, 16, 4),
        "line_item_currency_code": "USD",
        "line_item_product_code": "AmazonEC2",
    }
    return [
        {
            **common,
            "line_item_line_item_type": "SavingsPlanCoveredUsage",
            "line_item_unblended_cost": 98.32,
            "line_item_usage_type": "USE1-BoxUsage:p5.48xlarge",
            "line_item_resource_id": "i-0abc",
            "savings_plan_savings_plan_a_r_n": SP,
            "savings_plan_savings_plan_effective_cost": 61.1,
            "product": [
                ("instance_type", "p5.48xlarge"),
                ("region", "us-east-1"),
                ("gpu", "8"),
                ("product_name", "Amazon Elastic Compute Cloud"),
                ("servicecode", "AmazonEC2"),
            ],
            "resource_tags": [("user_team", "vision"), ("user_project", "detector")],
        },
        {
            **common,
            "line_item_line_item_type": "SavingsPlanRecurringFee",
            "line_item_unblended_cost": 100.0,
            "line_item_usage_type": "ComputeSP:1yrNoUpfront",
            "savings_plan_savings_plan_a_r_n": SP,
            "savings_plan_total_commitment_to_date": 100.0,
            "savings_plan_used_commitment": 61.1,
            "product": [],
            "resource_tags": [],
        },
        {
            **common,
            "line_item_line_item_type": "Usage",
            "line_item_unblended_cost": 0.0000004,
            "line_item_product_code": "AmazonS3",
            "line_item_usage_type": "TimedStorage-ByteHrs",
            "product": [("storage_class", "Intelligent-Tiering"), ("servicecode", "AmazonS3"), ("region", "eu-west-1")],
            "resource_tags": [("user_team", "")],
        },
    ]


def _write_cur2(path, rows, columns=CUR2_COLUMNS):
    table = pa.Table.from_pylist(rows, schema=pa.schema([(n, t) for n, t in columns.items()]))
    pq.write_table(table, path)


@pytest.mark.slow
def test_cur2_parquet_reads_the_product_and_resource_tag_maps(warehouse, tmp_path):
    path = tmp_path / "cur2-00001.snappy.parquet"
    _write_cur2(path, _cur2_rows())
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    assert result.source_format == "aws_cur2_parquet"
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    rows = warehouse.sql(
        "SELECT source_row, x_instance_type, region_id, x_gpu_count, service_name, tags, effective_cost, "
        "billed_cost, x_storage_class, service_category, billing_account_name, charge_period_start "
        "FROM billing_line_items ORDER BY source_row"
    ).fetchall()
    covered, fee, storage = rows
    assert covered[1:5] == ("p5.48xlarge", "us-east-1", 8, "Amazon Elastic Compute Cloud")
    assert json.loads(covered[5]) == {"user_team": "vision", "user_project": "detector"}
    assert (covered[6], covered[7]) == (Decimal("61.1"), Decimal("98.32"))
    assert covered[10] == "ml-org"
    assert covered[11].isoformat() == "2026-11-16T03:00:00+00:00"
    assert (fee[6], fee[7]) == (Decimal("38.9"), Decimal("100"))  # commitment to date - used
    assert fee[5] is None and fee[1] is None
    assert (storage[7], storage[8], storage[9]) == (Decimal("0.0000004"), "Intelligent-Tiering", "Storage")
    assert storage[5] is None  # an empty tag value is left out, leaving no tags
    assert result.effective_cost == {"USD": Decimal("61.1") + Decimal("38.9") + Decimal("0.0000004")}


def test_cur2_resource_tag_map_is_escaped_exactly_and_empty_values_left_out(warehouse, tmp_path):
    path = tmp_path / "cur2-tags.snappy.parquet"
    tricky_key = 'odd","value":"key\\'  # looks like the encoded entry's own separator
    first, second, third = _cur2_rows()
    first["resource_tags"] = [("user_team", 'say "hi" \\ Zoë ✓ 😀\n'), (tricky_key, "x"), ("user_empty", None)]
    second["resource_tags"] = [("user_blank", " "), ("user_null", None)]
    third["resource_tags"] = None
    _write_cur2(path, [first, second, third])
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    tags = [t for (t,) in warehouse.sql("SELECT tags FROM billing_line_items ORDER BY source_row").fetchall()]
    expected = {"user_team": 'say "hi" \\ Zoë ✓ 😀\n', tricky_key: "x"}
    assert tags[0] == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(tags[0]) == expected
    assert tags[1:] == [None, None]


def test_cur2_top_level_product_column_wins_over_the_map(warehouse, tmp_path):
    path = tmp_path / "cur2-top-level.parquet"
    rows = _cur2_rows()[:1]
    rows[0]["product_instance_type"] = "p4d.24xlarge"
    _write_cur2(path, rows, {**CUR2_COLUMNS, "product_instance_type": pa.string()})
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    assert warehouse.sql("SELECT x_instance_type FROM billing_line_items").fetchall() == [("p4d.24xlarge",)]


def test_snake_case_cur_without_maps_is_the_athena_format(warehouse, tmp_path):
    path = tmp_path / "athena.parquet"
    columns = {n: t for n, t in CUR2_COLUMNS.items() if n not in ("product", "resource_tags")}
    rows = [{k: v for k, v in r.items() if k in columns} for r in _cur2_rows()]
    _write_cur2(path, rows, columns)
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    assert (result.source_format, result.rows_loaded) == ("aws_cur_parquet", 3)


def test_cur2_file_missing_a_required_column_is_refused_naming_it(warehouse, tmp_path):
    assert "line_item_unblended_cost" in CUR2_REQUIRED
    path = tmp_path / "cur2-no-cost.parquet"
    columns = {n: t for n, t in CUR2_COLUMNS.items() if n != "line_item_unblended_cost"}
    _write_cur2(path, [{k: v for k, v in r.items() if k in columns} for r in _cur2_rows()], columns)
    [result] = ingest_files(warehouse, [path], fmt="aws_cur2_parquet")
    assert result.error is not None and "line_item_unblended_cost" in result.error
    assert warehouse.sql("SELECT count(*) FROM billing_line_items").fetchall() == [(0,)]


# --- the JSON builders the tags use, against Python's json.dumps -------------------------------

_TAG_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s not in NULL_STRINGS
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_TAG_TEXT, _TAG_TEXT | st.none(), max_size=5))
@example({'a"},{"key":"b': ',"value":', "value": '"},{"key":', "key": None, "x\\": "\\"})
def test_tag_json_builders_write_what_json_dumps_writes(tags):
    present = {k: v for k, v in tags.items() if v is not None}
    expected = json.dumps(present, ensure_ascii=False, separators=(",", ":")) if present else None
    frame = pl.DataFrame(
        {
            "pairs": [[{"key": k, "value": v} for k, v in tags.items()]],
            **{f"c{i}": [v] for i, v in enumerate(tags.values())},
        },
        schema={
            "pairs": pl.List(pl.Struct({"key": pl.String, "value": pl.String})),
            **{f"c{i}": pl.String for i in range(len(tags))},
        },
    )
    by_column = json_object_from_columns({k: pl.col(f"c{i}") for i, k in enumerate(tags)})
    out = frame.select(pairs=json_object_from_pairs(pl.col("pairs")), columns=by_column)
    assert out.row(0) == (expected, expected)
