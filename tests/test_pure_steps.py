"""Pure steps the flows used to hold, tested on tiny frames (no warehouse, no files)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from transforms.export_focus import check_stored_week, currency_totals
from transforms.formats import enrich_billing

MONEY = pl.Decimal(38, 12)


def test_enrich_billing_fills_the_gpu_count_only_where_the_bill_has_none():
    bill = pl.DataFrame(
        {
            "x_instance_type": ["p4d.24xlarge", "p4d.24xlarge", "unknown.type", None],
            "x_gpu_count": [None, 4.0, None, None],
        },
        schema={"x_instance_type": pl.String, "x_gpu_count": pl.Float64},
    )
    instances = pl.DataFrame({"instance_type": ["p4d.24xlarge"], "gpu_count": [8.0]})
    got = enrich_billing(bill, instances)
    assert got.columns == ["x_instance_type", "x_gpu_count"]
    assert got["x_gpu_count"].to_list() == [8.0, 4.0, None, None]


def _costs(currencies, billed, effective, names=("billing_currency", "billed_cost", "effective_cost")):
    return pl.DataFrame(
        {names[0]: currencies, names[1]: [Decimal(b) for b in billed], names[2]: [Decimal(e) for e in effective]},
        schema={names[0]: pl.String, names[1]: MONEY, names[2]: MONEY},
    )


def test_currency_totals_add_up_per_currency():
    frame = _costs(["USD", "EUR", "USD"], ["1.25", "2", "3.50"], ["1", "2", "-0.5"])
    assert currency_totals(frame, "billing_currency", "billed_cost", "effective_cost") == {
        "USD": (Decimal("4.75"), Decimal("0.5")),
        "EUR": (Decimal("2"), Decimal("2")),
    }


def test_a_stale_or_missing_stored_week_is_refused_naming_the_week_and_the_fix():
    monday = date(2026, 11, 16)
    slices = _costs(["USD", "USD"], ["1.25", "3.50"], ["1", "3"])
    check_stored_week(slices, _costs(["USD"], ["4.75"], ["4"]), monday)  # equal per currency: no error
    with pytest.raises(ValueError, match=r"week of 2026-11-16 \(\{'USD': \(Decimal\('4\.750000000000'\)"):
        check_stored_week(slices, _costs(["USD"], ["4.75"], ["4.01"]), monday)
    with pytest.raises(
        ValueError, match=r"week of 2026-11-16 has no attributed cost; run `aicost run --week 2026-11-16`"
    ):
        check_stored_week(slices, _costs([], [], []), monday)
