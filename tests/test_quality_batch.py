"""The billing data checks (flows/quality.py) on the batch GX is given: money as float64 and timestamps as
numpy datetime64, so GX's batch fingerprint does not hash Arrow values one by one in Python; the checks
find the same rows as on the stored DECIMAL and TIMESTAMPTZ values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl

from flows.quality import MAX_ABS_COST, billing_suite, for_gx, validate_frame


def week_rows() -> pl.DataFrame:
    start, end = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 16, 1, tzinfo=UTC)
    money = pl.Decimal(38, 12)
    return pl.DataFrame(
        {
            "provider": ["aws", "aws", "gcp", "azure"],
            "billing_account_id": ["1", "1", "b", "e"],
            "billing_period_start": [datetime(2026, 11, 1, tzinfo=UTC)] * 4,
            "charge_period_start": [start, start, end, start],
            "charge_period_end": [end, end, start, end],  # row 3 ends before it starts
            "charge_category": ["Usage", "Credit", "Usage", "Usage"],
            "billing_currency": ["USD", "USD", "EUR", "EUR"],
            "billed_cost": pl.Series([Decimal("1.5"), Decimal("-0.25"), Decimal("2"), None], dtype=money),
            "effective_cost": pl.Series(
                [Decimal("1.5"), Decimal("-0.25"), Decimal("2"), Decimal(MAX_ABS_COST) + Decimal("0.5")], dtype=money
            ),
            "source_file": ["cur.csv", "cur.csv", "gcp.csv", "azure.csv"],
            "source_row": [1, 2, 7, 9],
        }
    )


def test_the_batch_holds_the_same_values_in_types_gx_hashes_natively():
    rows = week_rows()
    batch = for_gx(rows)
    assert str(batch["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert str(batch["billing_period_start"].dtype) == "datetime64[us, UTC]"
    assert str(batch["effective_cost"].dtype) == "double[pyarrow]"
    assert str(batch["provider"].dtype).endswith("[pyarrow]")  # text stays Arrow
    assert list(batch["charge_period_end"]) == rows["charge_period_end"].to_list()
    assert batch["billed_cost"].tolist()[:3] == [1.5, -0.25, 2.0] and batch["billed_cost"].isna().tolist()[3]


def test_the_checks_find_the_null_the_reversed_period_and_the_absurd_cost_by_row():
    failed = {
        (o.expectation, o.column): (o.unexpected_count, o.details)
        for o in validate_frame(week_rows(), billing_suite())
        if not o.success
    }
    assert set(failed) == {
        ("expect_column_values_to_not_be_null", "billed_cost"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "charge_period_end > charge_period_start"),
        ("expect_column_values_to_be_between", "effective_cost"),
    }
    assert failed[("expect_column_values_to_not_be_null", "billed_cost")][0] == 1
    assert "azure.csv" in failed[("expect_column_values_to_be_between", "effective_cost")][1]
    assert (
        '"row": 7'
        in failed[("expect_column_pair_values_a_to_be_greater_than_b", "charge_period_end > charge_period_start")][1]
    )
