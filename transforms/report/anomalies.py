"""Days and services whose spend jumped (the rules are in the package docstring)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from transforms.report.formatting import ZERO, format_money, format_signed_money
from transforms.report.spend import converted_rows, weeks_with_data
from transforms.weeks import weeks_before

DAY_SIGMAS = 3.0
DAY_HISTORY_DAYS = 28
DAY_MIN_HISTORY = 7
SERVICE_RATIO = Decimal("1.5")
ANOMALY_MIN_AMOUNT = Decimal("100")


def _anomaly(
    kind: str, subject: str, spend: Decimal, baseline: Decimal, currency: str, *, size: str, rule: str
) -> dict:
    """One anomaly as the report lists it: the spend, its baseline and the jump between them (``sort``: the
    jump, for ranking), with how large it is and the rule it broke."""
    jump = spend - baseline
    return {
        "kind": kind,
        "subject": subject,
        "spend": format_money(spend, currency),
        "baseline": format_money(baseline, currency),
        "jump": format_signed_money(jump, currency),
        "size": size,
        "rule": rule,
        "sort": jump,
    }


def daily_anomalies(
    cost: pl.DataFrame,
    week_start: date,
    currency: str,
    sigmas: float = DAY_SIGMAS,
    min_amount: Decimal = ANOMALY_MIN_AMOUNT,
) -> list[dict]:
    """Days of the week whose spend is above mean + ``sigmas``·σ of the previous 28 days with data."""
    daily = converted_rows(cost).group_by("day").agg(pl.col("effective_cost_reporting").sum().alias("spend"))
    by_day = {r["day"]: Decimal(r["spend"]) for r in daily.iter_rows(named=True)}
    found = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        if day not in by_day:
            continue
        history = [by_day[d] for d in (day - timedelta(days=k) for k in range(1, DAY_HISTORY_DAYS + 1)) if d in by_day]
        if len(history) < DAY_MIN_HISTORY:
            continue
        mean = statistics.fmean(float(v) for v in history)
        sigma = statistics.stdev(float(v) for v in history)
        threshold = mean + sigmas * sigma
        value = by_day[day]
        jump = value - Decimal(str(mean))
        if float(value) > threshold and jump >= min_amount:
            found.append(
                _anomaly(
                    "day",
                    f"{day:%a %b} {day.day}",
                    value,
                    Decimal(str(mean)),
                    currency,
                    size=f"{float(value) / mean:.1f}× the 28-day mean" if mean > 0 else "from nothing",
                    rule=f"above mean + {sigmas:g}σ ({format_money(Decimal(str(threshold)), currency)})",
                )
            )
    return found


def service_anomalies(
    cost: pl.DataFrame,
    week_start: date,
    currency: str,
    ratio: Decimal = SERVICE_RATIO,
    min_amount: Decimal = ANOMALY_MIN_AMOUNT,
) -> list[dict]:
    """Services whose week exceeds ``ratio``× their 4-week average and ``min_amount``."""
    weeks = weeks_with_data(cost)
    prior = [w for w in weeks_before(week_start, 4) if w in weeks]
    if not prior:
        return []
    grouped = (
        converted_rows(cost)
        .group_by(["provider", "service_name", "week_start"])
        .agg(pl.col("effective_cost_reporting").sum().alias("spend"))
    )
    amounts: dict[tuple[str, str], dict[date, Decimal]] = {}
    for r in grouped.iter_rows(named=True):
        amounts.setdefault((r["provider"], r["service_name"]), {})[r["week_start"]] = Decimal(r["spend"])
    found = []
    for (provider, service), by_week in sorted(amounts.items()):
        spend = by_week.get(week_start, ZERO)
        average = sum((by_week.get(w, ZERO) for w in prior), ZERO) / len(prior)
        if spend <= min_amount or spend <= average * ratio:
            continue
        found.append(
            _anomaly(
                "service",
                f"{service} ({provider})",
                spend,
                average,
                currency,
                size=f"{spend / average:.1f}× the {len(prior)}-week average" if average > 0 else "new this week",
                rule=f"above {ratio}× the average and {format_money(min_amount, currency)}",
            )
        )
    return found


def anomalies(cost: pl.DataFrame, week_start: date, currency: str) -> list[dict]:
    """Day and service anomalies, largest jump first."""
    found = daily_anomalies(cost, week_start, currency) + service_anomalies(cost, week_start, currency)
    found.sort(key=lambda a: a["sort"], reverse=True)
    return [{k: v for k, v in a.items() if k != "sort"} for a in found]
