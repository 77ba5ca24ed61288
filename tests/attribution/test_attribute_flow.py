"""flows/attribute.py against a fresh warehouse: the week replaced in one go, conservation, summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from flows.attribute import attribute_week, attribution_summary
from flows.settings import Settings
from flows.warehouse import insert_frame
from tests.attribution.frames import GPU_AND_STORAGE_ROWS, billing, jobs

WEEK = date(2026, 11, 16)


def seed(con) -> pl.DataFrame:
    rows = billing(
        *GPU_AND_STORAGE_ROWS,
        # a monthly fee over 30 days: 7 of them are in the week (Nov 16-22)
        {
            "service_name": "Support",
            "charge_category": "Purchase",
            "charge_period_start": "2026-11-01T00:00",
            "charge_period_end": "2026-12-01T00:00",
            "effective_cost": "300",
        },
        # EUR has an example rate; JPY has none and must stay unconverted
        {
            "service_name": "Azure OpenAI",
            "billing_currency": "EUR",
            "provider": "azure",
            "charge_period_start": "2026-11-18T00:00",
            "charge_period_end": "2026-11-18T01:00",
            "effective_cost": "10",
        },
        {
            "service_name": "Credit",
            "billing_currency": "JPY",
            "charge_category": "Credit",
            "charge_period_start": "2026-11-19T00:00",
            "charge_period_end": "2026-11-19T01:00",
            "effective_cost": "-500",
        },
        {
            "service_name": "Savings Plan",
            "x_line_item_type": "SavingsPlanRecurringFee",
            "charge_category": "Purchase",
            "charge_period_start": "2026-11-20T00:00",
            "charge_period_end": "2026-11-20T01:00",
            "effective_cost": "4",
        },
    )
    insert_frame(con, "billing_line_items", rows)
    insert_frame(
        con,
        "jobs",
        jobs(
            {
                "job_id": "j1",
                "kind": "training",
                "team": "vision",
                "resource_id": "i-gpu",
                "start_ts": "2026-11-16T00:00",
                "end_ts": "2026-11-16T12:00",
                "gpus": 8,
            }
        ),
    )
    return rows


def test_attribute_week_writes_the_week_once_and_conserves_each_currency(warehouse):
    seed(warehouse)
    settings = Settings()
    first = attribute_week(warehouse, WEEK, settings)
    again = attribute_week(warehouse, WEEK, settings)
    assert first == again
    stored = warehouse.sql("SELECT * FROM attributed_cost").pl()
    assert set(stored["week_start"]) == {WEEK}
    totals = dict(stored.group_by("billing_currency").agg(pl.col("effective_cost").sum()).iter_rows())
    # USD: 96 + 12.5 + 7/30 of 300 + 4; EUR 10; JPY -500
    assert totals == {
        "USD": Decimal("96") + Decimal("12.5") + Decimal("70") + Decimal("4"),
        "EUR": Decimal("10"),
        "JPY": Decimal("-500"),
    }
    assert {k: Decimal(v) for k, v in first["unconverted"].items()} == {"JPY": Decimal("-500")}
    assert Decimal(first["idle_gpu_cost"]) == Decimal("48")
    assert Decimal(first["unused_commitment_cost"]) == Decimal("4")
    eur_in_usd = Decimal("10") * Decimal("1.08")
    assert Decimal(first["total"]) == Decimal("182.5") + eur_in_usd
    assert Decimal(first["by_category"]["storage"]) == Decimal("12.5")
    assert Decimal(first["by_category"]["inference"]) == eur_in_usd
    assert abs(sum(first["coverage"].values()) - 1.0) < 1e-9


def test_summary_reads_the_stored_week(warehouse):
    seed(warehouse)
    settings = Settings()
    written = attribute_week(warehouse, WEEK, settings)
    assert attribution_summary(warehouse, WEEK, settings) == written
