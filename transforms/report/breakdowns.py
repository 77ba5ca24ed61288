"""Top spenders and top movers by team, project and model."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.report.formatting import MIN_MOVE, ZERO, change, format_money, format_signed_money, money_places
from transforms.report.spend import converted_rows, weeks_with_data
from transforms.weeks import WEEK

TOP_N = 5


def breakdown(cost: pl.DataFrame, week_start: date, currency: str, key: str, top_n: int = TOP_N) -> dict:
    """Top spenders and top movers (largest change vs last week) by ``key`` (team/project/model)."""
    converted = converted_rows(cost)
    now = (
        converted.filter(pl.col("week_start") == week_start)
        .group_by(key)
        .agg(pl.col("effective_cost_reporting").sum().alias("spend"))
    )
    before = (
        converted.filter(pl.col("week_start") == week_start - WEEK)
        .group_by(key)
        .agg(pl.col("effective_cost_reporting").sum().alias("previous"))
    )
    joined = (
        now.join(before, on=key, how="full", coalesce=True)
        .with_columns(pl.col("spend").fill_null(ZERO), pl.col("previous").fill_null(ZERO))
        .with_columns((pl.col("spend") - pl.col("previous")).alias("delta"))
    )
    had_last = (week_start - WEEK) in weeks_with_data(cost)
    places = money_places(joined.get_column("spend").to_list() + joined.get_column("previous").to_list())

    def row(r: dict) -> dict:
        return {
            "name": r[key],
            "spend": format_money(r["spend"], currency, places=places),
            "previous": format_money(r["previous"], currency, places=places) if had_last else "—",
            "delta": format_signed_money(r["delta"], currency, places=places) if had_last else "—",
            "change": change(r["spend"], r["previous"] if had_last else None, currency=currency),
        }

    top = joined.filter(pl.col("spend") != 0).sort(["spend", key], descending=[True, False]).head(top_n)
    movers = (
        joined.filter(pl.col("delta").abs() >= MIN_MOVE)
        .with_columns(pl.col("delta").abs().alias("size"))
        .sort(["size", key], descending=[True, False])
        .head(top_n)
        if had_last
        else joined.clear()
    )
    return {
        "key": key,
        "title": key.capitalize(),
        "top": [row(r) for r in top.iter_rows(named=True)],
        "movers": [row(r) for r in movers.iter_rows(named=True)],
        "has_last_week": had_last,
    }
