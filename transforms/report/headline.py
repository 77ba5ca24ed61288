"""The first lines of the report: spend, its changes and the open savings."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.report.formatting import ZERO, change, exact, format_money, money_places
from transforms.report.spend import money_sum, week_total, weeks_with_data
from transforms.weeks import WEEK, weeks_before


def open_counted(recs: pl.DataFrame, currency: str) -> pl.DataFrame:
    """Recommendations whose savings count in the open total."""
    if recs.height == 0:
        return recs
    return recs.filter(
        pl.col("counted").fill_null(True)
        & (pl.col("status").fill_null("new") != "resolved")
        & (pl.col("currency").fill_null(currency) == currency)
    )


def headline(cost: pl.DataFrame, recs: pl.DataFrame, week_start: date, currency: str) -> dict:
    """The first lines of the report: spend, its changes, open savings, unconverted amounts."""
    weeks = weeks_with_data(cost)
    spend = week_total(cost, week_start)
    last_week = week_start - WEEK
    previous = week_total(cost, last_week) if last_week in weeks else None
    prior = [w for w in weeks_before(week_start, 4) if w in weeks]
    average = sum((week_total(cost, w) for w in prior), ZERO) / len(prior) if prior else None
    open_recs = open_counted(recs, currency)
    open_savings = money_sum(open_recs, "monthly_savings")
    unconverted = (
        cost.filter(~pl.col("converted") & (pl.col("week_start") == week_start))
        .group_by("billing_currency")
        .agg(pl.col("effective_cost").sum())
        .sort("billing_currency")
    )
    places = money_places([spend, previous, average])
    return {
        "spend": format_money(spend, currency, places=places),
        "spend_exact": exact(spend),
        "vs_last_week": change(spend, previous, currency=currency),
        "vs_four_week": change(spend, average, currency=currency),
        "four_week_average": format_money(average, currency, places=places) if average is not None else "—",
        "four_week_weeks": len(prior),
        "last_week_spend": format_money(previous, currency, places=places) if previous is not None else "—",
        "last_week_note": f"({format_money(previous, currency, places=places)})" if previous is not None else "",
        "four_week_note": (
            f"({format_money(average, currency, places=places)} over {len(prior)} week{'s' if len(prior) > 1 else ''})"
            if average is not None
            else ""
        ),
        "open_savings": format_money(open_savings, currency, places=money_places([open_savings])),
        "open_savings_exact": exact(open_savings),
        "open_count": open_recs.height,
        "unconverted": [
            {
                "currency": row["billing_currency"],
                "amount": format_money(row["effective_cost"], row["billing_currency"]),
                "amount_exact": exact(row["effective_cost"]),
            }
            for row in unconverted.iter_rows(named=True)
        ],
    }
