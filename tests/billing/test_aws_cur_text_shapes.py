"""AWS CUR with the Athena snake_case names in a CSV, and as Hive text (``\\x01`` between fields).

Column list: AWS's CUR data dictionary (docs.aws.amazon.com/cur/latest/userguide/data-dictionary.html:
identity, bill, lineItem, product, pricing, reservation, savingsPlan, resourceTags columns), in the
names the CUR Athena integration gives them (``lineItem/UnblendedCost`` -> ``line_item_unblended_cost``,
``reservation/ReservationARN`` -> ``reservation_reservation_a_r_n``, ``resourceTags/user:team`` ->
``resource_tags_user_team``). The shared samples hold this naming only as Parquet
(``aws/wal_Oct2018-WorkshopCUR-00001.snappy.parquet``), so the text files are built here.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.billing.shapes import check_load, check_restated, write_csv

COLUMNS = (
    "identity_line_item_id,identity_time_interval,bill_invoice_id,bill_invoicing_entity,bill_billing_entity,"
    "bill_bill_type,bill_payer_account_id,bill_billing_period_start_date,bill_billing_period_end_date,"
    "line_item_usage_account_id,line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,"
    "line_item_product_code,line_item_usage_type,line_item_operation,line_item_availability_zone,"
    "line_item_resource_id,line_item_usage_amount,line_item_normalization_factor,"
    "line_item_normalized_usage_amount,line_item_currency_code,line_item_unblended_rate,line_item_unblended_cost,"
    "line_item_blended_rate,line_item_blended_cost,line_item_line_item_description,line_item_tax_type,"
    "line_item_legal_entity,product_product_name,product_instance_type,product_region_code,product_servicecode,"
    "product_product_family,product_gpu,pricing_public_on_demand_cost,pricing_public_on_demand_rate,pricing_term,"
    "pricing_unit,reservation_reservation_a_r_n,reservation_effective_cost,"
    "reservation_unused_amortized_upfront_fee_for_billing_period,reservation_unused_recurring_fee,"
    "savings_plan_savings_plan_a_r_n,savings_plan_savings_plan_effective_cost,"
    "savings_plan_total_commitment_to_date,savings_plan_used_commitment,resource_tags_user_team"
).split(",")
EXTRA = "some_column_added_later"  # unknown columns never block a load
RI = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-1"


def _row(kind: str, start: str, cost: str, **more: str) -> dict[str, str]:
    day = start[:10]
    return {
        "identity_line_item_id": f"id-{kind}-{start}",
        "bill_payer_account_id": "111122223333",
        "bill_billing_period_start_date": f"{start[:8]}01T00:00:00Z",
        "bill_billing_period_end_date": "2026-12-01T00:00:00Z"
        if start.startswith("2026-11")
        else "2026-11-01T00:00:00Z",
        "bill_billing_entity": "AWS",
        "line_item_usage_account_id": "444455556666",
        "line_item_line_item_type": kind,
        "line_item_usage_start_date": f"{day}T00:00:00Z",
        "line_item_usage_end_date": f"{day}T01:00:00Z",
        "line_item_product_code": "AmazonEC2",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": cost,
        EXTRA: "x",
        **more,
    }


ROWS = [
    _row(
        "Usage",
        "2026-10-31",
        "21.96",
        line_item_resource_id="i-0abc",
        product_instance_type="p4d.24xlarge",
        line_item_usage_amount="1",
        product_gpu="8",
        resource_tags_user_team="ml",
        line_item_line_item_description='$21.96 per On Demand Linux p4d.24xlarge Instance Hour, "US East"',
    ),
    _row(
        "DiscountedUsage",
        "2026-11-01",
        "0",
        reservation_reservation_a_r_n=RI,
        reservation_effective_cost="13.25",
        line_item_usage_amount="1",
        product_instance_type="p4d.24xlarge",
    ),
    _row(
        "RIFee",
        "2026-11-01",
        "9540",
        reservation_reservation_a_r_n=RI,
        reservation_unused_amortized_upfront_fee_for_billing_period="120.5",
        reservation_unused_recurring_fee="80.25",
    ),
    _row("Tax", "2026-11-01", "1.70", line_item_tax_type="Sales Tax"),
]

EFFECTIVE = {  # the CUR's own amortised-cost columns per line item type
    "DiscountedUsage": ("reservation_effective_cost",),
    "RIFee": ("reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee"),
}


def _expected(rows: list[dict[str, str]]) -> dict:
    billed: dict = defaultdict(Decimal)
    effective: dict = defaultdict(Decimal)
    for row in rows:
        key = (row["bill_billing_period_start_date"][:7], row["line_item_currency_code"])
        billed[key] += Decimal(row["line_item_unblended_cost"])
        columns = EFFECTIVE.get(row["line_item_line_item_type"], ("line_item_unblended_cost",))
        effective[key] += sum((Decimal(row[c]) for c in columns), Decimal(0))
    return {k: (billed[k], effective[k]) for k in billed}


def _read_back(path: Path, delimiter: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\x01" else 0))
    return [{k: ("" if v == "\\N" else v) for k, v in row.items()} for row in rows]


def _write_hive(path: Path, rows: list[dict[str, str]]) -> Path:
    """Hive text: ``\\x01`` between fields, no quoting, ``\\N`` for null, a header line."""
    header = [EXTRA, *COLUMNS]
    lines = ["\x01".join(header)] + ["\x01".join(r.get(c) or "\\N" for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SHAPES = {
    "athena_csv": ("aws_cur_athena_csv", ",", lambda p, rows: write_csv(p, [EXTRA, *COLUMNS], rows)),
    "hive_text": ("aws_cur_hive_text", "\x01", _write_hive),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_snake_case_cur_text_loads_with_the_athena_mapping(tmp_path, warehouse, shape):
    fmt, delimiter, write = SHAPES[shape]
    path = write(tmp_path / "cur-00001.csv", ROWS)
    expected = _expected(_read_back(path, delimiter))
    assert expected == {
        ("2026-10", "USD"): (Decimal("21.96"), Decimal("21.96")),
        ("2026-11", "USD"): (Decimal("9541.70"), Decimal("215.70")),
    }

    check_load(warehouse, path, fmt, expected, records=4)

    rows = {
        r["x_line_item_type"]: r for r in warehouse.sql("SELECT * FROM billing_line_items").pl().iter_rows(named=True)
    }
    usage = rows["Usage"]
    assert usage["x_instance_type"] == "p4d.24xlarge" and usage["x_gpu_count"] == 8
    assert usage["tags"] == '{"user_team":"ml"}' and usage["resource_id"] == "i-0abc"
    assert usage["charge_description"] == '$21.96 per On Demand Linux p4d.24xlarge Instance Hour, "US East"'
    assert rows["DiscountedUsage"]["commitment_discount_id"] == RI
    assert rows["DiscountedUsage"]["commitment_discount_status"] == "Used"
    assert rows["Tax"]["charge_category"] == "Tax"
    assert rows["Tax"]["resource_id"] is None  # \N and empty are null

    def restate(p: Path) -> None:
        restated = [dict(r) for r in ROWS]
        restated[3]["line_item_unblended_cost"] = "1.90"
        write(p, restated)

    check_restated(
        warehouse,
        path,
        restate,
        {
            ("2026-10", "USD"): (Decimal("21.96"), Decimal("21.96")),
            ("2026-11", "USD"): (Decimal("9541.90"), Decimal("215.90")),
        },
    )
