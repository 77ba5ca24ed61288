"""Spend per category this week, and the trend chart's series and text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from transforms.report.formatting import (
    CATEGORY_LABELS,
    ZERO,
    change,
    exact,
    format_money,
    format_percent,
    money_places,
)
from transforms.report.spend import converted_rows, money_sum, weeks_with_data
from transforms.schema import CATEGORIES
from transforms.weeks import TREND_WEEKS, WEEK, iso_week_label, trend_weeks

SPEND_CHART_CID = "spend-by-category@aicost"


def categories(cost: pl.DataFrame, week_start: date, currency: str) -> dict:
    """Spend per category this week with its idle GPU part, share and change vs last week."""
    converted = converted_rows(cost)
    this_week = converted.filter(pl.col("week_start") == week_start)
    last = converted.filter(pl.col("week_start") == week_start - WEEK)
    had_last = (week_start - WEEK) in weeks_with_data(cost)
    total = money_sum(this_week)
    names = list(CATEGORIES) + sorted(set(this_week.get_column("category").to_list()) - set(CATEGORIES) - {None})
    places = money_places([total])
    rows = []
    for name in names:
        rows_now = this_week.filter(pl.col("category") == name)
        spend = money_sum(rows_now)
        idle = money_sum(rows_now.filter(pl.col("is_idle")))
        previous = money_sum(last.filter(pl.col("category") == name)) if had_last else None
        rows.append(
            {
                "name": CATEGORY_LABELS.get(name, name),
                "key": name,
                "spend": format_money(spend, currency, places=places),
                "spend_exact": exact(spend),
                "idle": format_money(idle, currency, places=places) if idle else "",
                "share": format_percent(spend / total) if total else "—",
                "change": change(spend, previous, currency=currency),
            }
        )
    idle_total = money_sum(this_week.filter(pl.col("is_idle")))
    return {
        "rows": rows,
        "total": format_money(total, currency, places=places),
        "total_exact": exact(total),
        "idle_total": format_money(idle_total, currency, places=places),
        "idle_total_exact": exact(idle_total),
        "idle_share": format_percent(idle_total / total) if total else "—",
        "empty": this_week.height == 0,
    }


def weekly_series(cost: pl.DataFrame, week_start: date, weeks: int = TREND_WEEKS) -> dict:
    """Eight weeks × category spend in the reporting currency, split busy / idle: chart data."""
    converted = converted_rows(cost)
    week_list = trend_weeks(week_start, weeks)
    names = list(CATEGORIES) + sorted(set(converted.get_column("category").to_list()) - set(CATEGORIES) - {None})
    grouped = converted.group_by(["week_start", "category", "is_idle"]).agg(pl.col("effective_cost_reporting").sum())
    amounts = {
        (r["week_start"], r["category"], r["is_idle"]): Decimal(r["effective_cost_reporting"])
        for r in grouped.iter_rows(named=True)
    }
    return {
        "weeks": week_list,
        "labels": [iso_week_label(w) for w in week_list],
        "categories": names,
        "category_labels": [CATEGORY_LABELS.get(n, n) for n in names],
        "busy": {n: [amounts.get((w, n, False), ZERO) for w in week_list] for n in names},
        "idle": {n: [amounts.get((w, n, True), ZERO) for w in week_list] for n in names},
        "has_data": weeks_with_data(cost),
    }


def chart_text(series: dict, currency: str) -> dict:
    """The chart's title, alt text and a text equivalent: one line per week."""
    lines = []
    for i, (week, label) in enumerate(zip(series["weeks"], series["labels"])):
        if week not in series["has_data"]:
            lines.append({"week": label, "total": "no data", "parts": ""})
            continue
        parts = []
        total = ZERO
        idle = ZERO
        for name, name_label in zip(series["categories"], series["category_labels"]):
            amount = series["busy"][name][i] + series["idle"][name][i]
            idle += series["idle"][name][i]
            total += amount
            if amount:
                parts.append(f"{name_label} {format_money(amount, currency, places=0)}")
        if idle:
            parts.append(f"of which idle GPU {format_money(idle, currency, places=0)}")
        lines.append({"week": label, "total": format_money(total, currency, places=0), "parts": ", ".join(parts)})
    title = f"Weekly spend by category, last {len(series['weeks'])} weeks ({currency}, idle GPU hatched)"
    alt = f"Stacked bar chart: {title}. " + "; ".join(f"{ln['week']}: {ln['total']}" for ln in lines)
    return {"cid": SPEND_CHART_CID, "title": title, "alt": alt, "lines": lines}
