"""Spend forecast: the next weeks and the month's end, per category and in total, and its accuracy.

Model (statsmodels 0.15 ``ETSModel``, exponential smoothing in state-space form, additive errors):
candidates are simple (level only), additive trend, damped additive trend, and — with at least
``2 × SEASON + 4`` weeks — additive trend with a ``SEASON``-week (monthly) season; the one with the
lowest AICc is used. Intervals are the model's analytic ``LEVEL`` prediction intervals. A series with
fewer than ``MIN_HISTORY`` weeks is not forecast (the report says so).

Known future charges: recurring commitment fees (rows of charge category ``Purchase``: in the
amortised basis, a one-time purchase has no effective cost, so what remains recurs) are taken out
of the series before fitting and added back to every future week at the last week's amount.

The month end (the calendar month holding the report week's last day) = spent to date + the
forecast weeks' share of the month's remaining days (a week counts by the days it has in the
month). Its interval sums the weeks' bounds (it assumes the weeks' errors move together, so it is
wide rather than narrow).

Accuracy: each week the one-week-ahead forecast of the total is stored; the report compares it
with the spend that came, per week (error = actual − forecast, percentage error = error / actual)
and as the MAPE over the last ``ACCURACY_WEEKS`` weeks with both.
"""

from __future__ import annotations

import calendar
import math
import warnings
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from transforms.report.formatting import CATEGORY_LABELS, format_money, format_percent
from transforms.schema import CATEGORIES
from transforms.weeks import WEEK, iso_week_label, weeks_after, weeks_from

MIN_HISTORY = 8
HISTORY_WEEKS = 52
HORIZON = 4
LEVEL = 0.8
SEASON = 4
ACCURACY_WEEKS = 8
CENT = Decimal("0.01")
ZERO = Decimal(0)
TOTAL = "total"


def fit_forecast(values: list[float], horizon: int = HORIZON, level: float = LEVEL, season: int = SEASON) -> dict:
    """``{"model", "mean", "lower", "upper"}`` (lists of floats) for the next ``horizon`` points."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series([float(v) for v in values])
    candidates = [("simple", None, False, None), ("trend", "add", False, None), ("damped trend", "add", True, None)]
    if len(values) >= 2 * season + 4:
        candidates.append((f"trend + {season}-week season", "add", False, "add"))
    best = None
    if series.nunique() == 1:  # a flat series: nothing to fit, the value itself with no spread
        value = float(series.iloc[0])
        return {"model": "constant", "mean": [value] * horizon, "lower": [value] * horizon, "upper": [value] * horizon}
    for name, trend, damped, seasonal in candidates:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = ETSModel(
                    series,
                    error="add",
                    trend=trend,
                    damped_trend=damped,
                    seasonal=seasonal,
                    seasonal_periods=season if seasonal else None,
                ).fit(disp=False)
            except (ValueError, np_linalg_error()):
                continue
        score = result.aicc
        if score is None or not math.isfinite(score):
            continue
        if best is None or score < best[0]:
            best = (score, name, result)
    if best is None:
        raise ValueError(f"no forecasting model could be fitted to {len(values)} weeks")
    _, name, result = best
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = result.get_prediction(start=len(series), end=len(series) + horizon - 1).summary_frame(alpha=1 - level)
    return {
        "model": f"ETS {name} (AICc)",
        "mean": frame["mean"].tolist(),
        "lower": frame["pi_lower"].tolist(),
        "upper": frame["pi_upper"].tolist(),
    }


def np_linalg_error() -> type[Exception]:
    import numpy as np

    return np.linalg.LinAlgError


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def month_bounds(week_start: date) -> tuple[date, date]:
    """First day of the month holding the week's last day, and the first day of the next month."""
    last_day = week_start + timedelta(days=6)
    first = last_day.replace(day=1)
    return first, first + timedelta(days=calendar.monthrange(first.year, first.month)[1])


def month_weights(week_start: date, horizon: int) -> list[Decimal]:
    """Per forecast week: the share of its days that fall in the month's remaining days."""
    _, next_month = month_bounds(week_start)
    weights = []
    for begin in weeks_after(week_start, horizon):
        days = max(0, (min(begin + WEEK, next_month) - begin).days)
        weights.append(Decimal(days) / 7)
    return weights


def forecast_series(history: pl.DataFrame, week_start: date, horizon: int = HORIZON + 1) -> dict[str, dict]:
    """Per category and ``total``: the forecast of the weeks after ``week_start``.

    ``history``: ``week_start, category, cost, recurring`` (Decimal), weeks up to ``week_start``.
    A category needs ``MIN_HISTORY`` weeks with data; missing weeks in between count as zero.
    """
    past = history.filter(pl.col("week_start") <= week_start)
    weeks_with_data = sorted(set(past["week_start"].to_list()))
    if not weeks_with_data:
        return {}
    first = weeks_with_data[0]
    span = weeks_from(first, week_start)
    names = [c for c in CATEGORIES if c in set(past["category"].to_list())]
    names += sorted(set(past["category"].to_list()) - set(CATEGORIES))
    out = {}
    for name in names + [TOTAL]:
        part = past if name == TOTAL else past.filter(pl.col("category") == name)
        by_week = {w: (ZERO, ZERO) for w in span}
        for r in part.group_by("week_start").agg(pl.col("cost").sum(), pl.col("recurring").sum()).iter_rows(named=True):
            by_week[r["week_start"]] = (Decimal(r["cost"] or 0), Decimal(r["recurring"] or 0))
        if len(span) < MIN_HISTORY:
            out[name] = {"enough": False, "history_weeks": len(span)}
            continue
        variable = [float(by_week[w][0] - by_week[w][1]) for w in span]
        known = by_week[week_start][1]
        fit = fit_forecast(variable, horizon)
        out[name] = {
            "enough": True,
            "history_weeks": len(span),
            "model": fit["model"],
            "known_weekly": known,
            "weeks": weeks_after(week_start, horizon),
            "mean": [_money(v) + known for v in fit["mean"]],
            "lower": [_money(v) + known for v in fit["lower"]],
            "upper": [_money(v) + known for v in fit["upper"]],
        }
    return out


def stored_rows(forecasts: dict[str, dict], made_week: date, created_at) -> pl.DataFrame:
    """The rows of ``cost_forecasts`` for the forecast made from data up to ``made_week``."""
    rows = []
    for name, f in forecasts.items():
        if not f.get("enough"):
            continue
        for target, mean, lower, upper in zip(f["weeks"], f["mean"], f["lower"], f["upper"]):
            rows.append(
                {
                    "made_week": made_week,
                    "target_week": target,
                    "category": name,
                    "model": f["model"],
                    "mean": mean,
                    "lower": lower,
                    "upper": upper,
                    "level": LEVEL,
                    "history_weeks": f["history_weeks"],
                    "known_weekly": f["known_weekly"],
                    "created_at": created_at,
                }
            )
    money = pl.Decimal(38, 12)
    return pl.DataFrame(
        rows,
        schema={
            "made_week": pl.Date,
            "target_week": pl.Date,
            "category": pl.String,
            "model": pl.String,
            "mean": money,
            "lower": money,
            "upper": money,
            "level": pl.Float64,
            "history_weeks": pl.Int32,
            "known_weekly": money,
            "created_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


def month_end(forecast: dict, spent: Decimal, week_start: date) -> dict | None:
    """Spent to date + the forecast of the month's remaining days, with the interval."""
    if not forecast or not forecast.get("enough"):
        return None
    weights = month_weights(week_start, len(forecast["weeks"]))
    rest = [sum((w * v for w, v in zip(weights, forecast[key])), ZERO) for key in ("mean", "lower", "upper")]
    rest = [value.quantize(CENT, rounding=ROUND_HALF_UP) for value in rest]
    return {"mean": spent + rest[0], "lower": spent + rest[1], "upper": spent + rest[2], "remaining": rest[0]}


def accuracy(stored: pl.DataFrame, currency: str, weeks: int = ACCURACY_WEEKS) -> dict:
    """Past one-week-ahead forecasts of the total against the spend that came.

    ``stored``: ``target_week, made_week, mean, lower, upper, actual`` (actual null if not known yet).
    """
    rows = []
    errors = []
    for r in stored.sort("target_week").tail(weeks).iter_rows(named=True):
        actual = Decimal(r["actual"]) if r["actual"] is not None else None
        mean = Decimal(r["mean"])
        error = actual - mean if actual is not None else None
        pct = abs(error) / abs(actual) if error is not None and actual else None
        if pct is not None:
            errors.append(pct)
        rows.append(
            {
                "week": iso_week_label(r["target_week"]),
                "made": iso_week_label(r["made_week"]),
                "forecast": format_money(mean, currency),
                "range": f"{format_money(Decimal(r['lower']), currency)} – "
                f"{format_money(Decimal(r['upper']), currency)}",
                "actual": format_money(actual, currency) if actual is not None else "not yet known",
                "error": (("+" if error >= 0 else "") + format_money(error, currency)) if error is not None else "—",
                "error_exact": str(error) if error is not None else None,
                "pct_error": format_percent(pct) if pct is not None else "—",
                "inside": (Decimal(r["lower"]) <= actual <= Decimal(r["upper"])) if actual is not None else None,
            }
        )
    mape = sum(errors, ZERO) / len(errors) if errors else None
    return {
        "rows": rows,
        "mape": format_percent(mape) if mape is not None else "n/a",
        "mape_exact": str(mape.quantize(Decimal("0.0001"))) if mape is not None else None,
        "weeks_measured": len(errors),
        "empty": not rows,
    }


def forecast_context(
    forecasts: dict[str, dict], month_spent: dict[str, Decimal], week_start: date, currency: str, stored: pl.DataFrame
) -> dict:
    """The forecast section: per category and total the next ``HORIZON`` weeks and the month's end."""
    first, next_month = month_bounds(week_start)
    total = forecasts.get(TOTAL)
    rows = []
    for name, f in forecasts.items():
        label = "Total" if name == TOTAL else CATEGORY_LABELS.get(name, name)
        if not f.get("enough"):
            rows.append(
                {
                    "name": label,
                    "key": name,
                    "enough": False,
                    "weeks": [],
                    "month_end": "n/a",
                    "month_range": "",
                    "model": "",
                }
            )
            continue
        end = month_end(f, month_spent.get(name, ZERO), week_start)
        rows.append(
            {
                "name": label,
                "key": name,
                "enough": True,
                "model": f["model"],
                "weeks": [
                    {
                        "week": iso_week_label(w),
                        "mean": format_money(m, currency),
                        "mean_exact": str(m),
                        "range": f"{format_money(lo, currency)} – {format_money(hi, currency)}",
                        "lower_exact": str(lo),
                        "upper_exact": str(hi),
                    }
                    for w, m, lo, hi in list(zip(f["weeks"], f["mean"], f["lower"], f["upper"]))[:HORIZON]
                ],
                "known_weekly": format_money(f["known_weekly"], currency) if f["known_weekly"] else "",
                "month_end": format_money(end["mean"], currency),
                "month_end_exact": str(end["mean"]),
                "month_range": f"{format_money(end['lower'], currency)} – {format_money(end['upper'], currency)}",
                "spent": format_money(month_spent.get(name, ZERO), currency),
            }
        )
    history_weeks = total["history_weeks"] if total else 0
    return {
        "rows": rows,
        "enough": bool(total and total.get("enough")),
        "history_weeks": history_weeks,
        "min_history": MIN_HISTORY,
        "note": ""
        if total and total.get("enough")
        else f"Not enough history to forecast: {history_weeks} week{'s' if history_weeks != 1 else ''} of spend, "
        f"{MIN_HISTORY} needed.",
        "weeks": [iso_week_label(w) for w in weeks_after(week_start, HORIZON)],
        "month": f"{first:%B %Y}",
        "month_days_left": (next_month - (week_start + WEEK)).days,
        "level": f"{LEVEL:.0%}",
        "accuracy": accuracy(stored, currency),
        "method": (
            f"Exponential smoothing (statsmodels ETS, the model with the lowest AICc among level, trend, "
            f"damped trend and a {SEASON}-week season), fitted to the weekly spend without recurring "
            f"commitment fees, which are added back as known; {LEVEL:.0%} prediction intervals."
        ),
    }
