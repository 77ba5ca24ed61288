"""GCP committed use discounts, their credits, and adjustment rows, in the flattened CSV export.

Column list: the koku sample's header (``gcp/koku_gcp_202011_2020-11-08_2020-11-11.csv``, project-koku/koku,
Apache-2.0), i.e. Google's "Structure of Standard data export" (cloud.google.com/billing/docs/how-to/
export-data-bigquery-tables/standard-usage) flattened to dotted names, plus the same page's
``adjustment_info.id/description/mode/type`` and ``subscription.instance_id`` fields, which the
sample (free-trial credits only) does not carry. Credit types, adjustment modes and types are the
values that page lists.
"""

from __future__ import annotations

import ast
import csv
from collections import defaultdict
from decimal import Decimal

from tests.billing.shapes import check_load, write_csv

HEADER = (
    "billing_account_id,service.id,service.description,sku.id,sku.description,usage_start_time,usage_end_time,"
    "project.id,project.name,labels,system_labels,location.region,cost,currency,usage.amount,usage.unit,"
    "credits,invoice.month,cost_type,adjustment_info.id,adjustment_info.description,adjustment_info.mode,"
    "adjustment_info.type,subscription.instance_id,some_column_added_later"
).split(",")
CUD = "projects/ml/regions/us-central1/commitments/a100-1y"


def _row(sku: str, cost: str, credits: str = "[]", cost_type: str = "regular", **more: str) -> dict[str, str]:
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service.description": "Compute Engine",
        "sku.description": sku,
        "usage_start_time": "2026-11-03 00:00:00+00:00",
        "usage_end_time": "2026-11-03 01:00:00+00:00",
        "project.id": "ml",
        "cost": cost,
        "currency": "USD",
        "credits": credits,
        "invoice.month": "202611",
        "cost_type": cost_type,
        "some_column_added_later": "x",
        **more,
    }


ROWS = [
    # usage a resource-based commitment covers: its credit names the commitment
    _row(
        "Nvidia Tesla A100 GPU running in Americas",
        "2.933908",
        f"[{{'name': 'Committed use discount: GPU', 'amount': -2.933908, 'full_name': None, 'id': '{CUD}', "
        "'type': 'COMMITTED_USAGE_DISCOUNT'}]",
    ),
    # usage a spend-based commitment covers (no id in the credit: its full name stands for it)
    _row(
        "Vertex AI: Online prediction A100",
        "4.0",
        "[{'name': 'CUD-dollar', 'amount': -1.12, 'full_name': 'Committed use discount - dollar based', "
        "'id': None, 'type': 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE'}]",
    ),
    # the commitment's monthly fee
    _row("Commitment v1: A100 GPU in Americas for 1 Year", "1.851", **{"subscription.instance_id": "sub-cud-77"}),
    _row("Commitment - dollar based v1: Vertex AI for 1 year", "0.9"),
    # adjustments: a usage correction, a goodwill credit, a rounding error
    _row(
        "Nvidia Tesla A100 GPU running in Americas",
        "-0.5",
        cost_type="adjustment",
        **{
            "adjustment_info.id": "adj-1",
            "adjustment_info.mode": "PARTIAL_CORRECTION",
            "adjustment_info.type": "USAGE_CORRECTION",
        },
    ),
    _row(
        "Nvidia Tesla A100 GPU running in Americas",
        "-3",
        cost_type="adjustment",
        **{
            "adjustment_info.id": "adj-2",
            "adjustment_info.mode": "MANUAL_ADJUSTMENT",
            "adjustment_info.type": "GOODWILL",
        },
    ),
    _row("Rounding", "0.01", cost_type="rounding_error"),
]


def test_committed_use_discounts_and_adjustments_are_classed(tmp_path, warehouse):
    path = write_csv(tmp_path / "gcp_billing_export.csv", HEADER, ROWS)
    billed: dict = defaultdict(Decimal)
    effective: dict = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (f"{row['invoice.month'][:4]}-{row['invoice.month'][4:]}", row["currency"])
            credits = sum((Decimal(str(c["amount"])) for c in ast.literal_eval(row["credits"])), Decimal(0))
            billed[key] += Decimal(row["cost"])
            effective[key] += Decimal(row["cost"]) + credits
    expected = {k: (billed[k], effective[k]) for k in billed}
    assert expected == {("2026-11", "USD"): (Decimal("6.194908"), Decimal("2.141"))}

    check_load(warehouse, path, "gcp_billing_csv", expected, records=7)

    got = warehouse.execute(
        "SELECT source_row, charge_category, charge_class, charge_frequency, pricing_category, commitment_discount_id, "
        "commitment_discount_category, commitment_discount_type, commitment_discount_status "
        "FROM billing_line_items ORDER BY source_row"
    ).fetchall()
    cud = "Committed Use Discount"
    assert got == [
        (1, "Usage", None, "Usage-Based", "Committed", CUD, "Usage", cud, "Used"),
        (2, "Usage", None, "Usage-Based", "Committed", "Committed use discount - dollar based", "Spend", cud, "Used"),
        (3, "Purchase", None, "Recurring", "Committed", "sub-cud-77", "Usage", cud, None),
        (4, "Purchase", None, "Recurring", "Committed", None, "Spend", cud, None),
        (5, "Adjustment", "Correction", None, None, None, None, None, None),
        (6, "Credit", None, None, None, None, None, None, None),
        (7, "Adjustment", None, None, None, None, None, None, None),
    ]
