"""Forecast on synthetic series, stored forecasts and their accuracy, budgets and their file."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from flows.forecast import load_budgets, store_forecast
from flows.warehouse import insert_frame, query
from tests.unit_costs.test_unit_costs import cost_row
from transforms.budgets import BudgetConfigError, budgets_context, parse_budgets
from transforms.forecast import accuracy, fit_forecast, forecast_context, forecast_series, month_weights
from transforms.schema import ATTRIBUTED_COST_COLUMNS

WEEK = date(2026, 11, 16)  # ends Sunday Nov 22: November has 8 days left (23–30)
# no forecast of an earlier week to score yet (the accuracy rows forecast_context reads)
NO_PAST_FORECASTS = pl.DataFrame(
    schema={
        "target_week": pl.Date,
        "made_week": pl.Date,
        "mean": pl.Float64,
        "lower": pl.Float64,
        "upper": pl.Float64,
        "actual": pl.Float64,
    }
)


def history(amounts: list[str], *, category="training", recurring="0") -> pl.DataFrame:
    weeks = [WEEK - timedelta(weeks=len(amounts) - 1 - k) for k in range(len(amounts))]
    return pl.DataFrame(
        {
            "week_start": weeks,
            "category": [category] * len(weeks),
            "cost": [Decimal(a) for a in amounts],
            "recurring": [Decimal(recurring)] * len(weeks),
        },
        schema={
            "week_start": pl.Date,
            "category": pl.String,
            "cost": pl.Decimal(38, 12),
            "recurring": pl.Decimal(38, 12),
        },
    )


@pytest.mark.slow
def test_forecast_of_trend_and_season_covers_the_truth():
    """1,000 + 20 t + 100 sin(t π / 2) with ±5 of fixed noise over 24 weeks; the next 4 weeks' truth is inside."""
    noise = [5, -5, 3, -3, 0, 4, -4, 2, -2, 1, -1, 5, -5, 3, -3, 0, 4, -4, 2, -2, 1, -1, 5, -5]
    truth = [1000 + 20 * t + 100 * math.sin(t * math.pi / 2) for t in range(28)]
    fit = fit_forecast([truth[t] + noise[t] for t in range(24)], horizon=4)
    assert "season" in fit["model"]
    for k in range(4):
        assert fit["lower"][k] <= truth[24 + k] <= fit["upper"][k]
        assert abs(fit["mean"][k] - truth[24 + k]) < 15


def test_known_recurring_charges_are_added_back():
    """1,500 a week of which 500 is a commitment fee: the 1,000 rest is flat, so every week is 1,500."""
    forecasts = forecast_series(history(["1500"] * 8, recurring="500"), WEEK)
    total = forecasts["total"]
    assert total["enough"] and total["known_weekly"] == Decimal("500")
    assert total["mean"][:4] == [Decimal("1500.00")] * 4


def test_less_than_eight_weeks_says_so():
    forecasts = forecast_series(history(["100"] * 5), WEEK)
    assert forecasts["total"] == {"enough": False, "history_weeks": 5}
    context = forecast_context(
        forecasts,
        {},
        WEEK,
        "USD",
        NO_PAST_FORECASTS,
    )
    assert context["note"] == "Not enough history to forecast: 5 weeks of spend, 8 needed."
    assert not context["enough"]


def test_month_end_counts_the_days_left_in_the_month():
    assert month_weights(WEEK, 3) == [Decimal(1), Decimal(1) / 7, Decimal(0)]  # Nov 23–29, Nov 30, none
    forecasts = forecast_series(history(["700"] * 8), WEEK)
    context = forecast_context(
        forecasts,
        {"total": Decimal("2000"), "training": Decimal("2000")},
        WEEK,
        "USD",
        NO_PAST_FORECASTS,
    )
    total = next(r for r in context["rows"] if r["key"] == "total")
    assert total["month_end_exact"] == "2800.00"  # 2,000 + 700 × (1 + 1/7)


def test_stored_forecasts_and_their_accuracy(warehouse):
    """Eight weeks of 1,000 → the forecast made in W is 1,000; W+1 came at 1,100: error +100, 9.1 %."""
    rows = [cost_row(WEEK - timedelta(weeks=k), WEEK - timedelta(weeks=k), "r1", "1000.00", 0.0) for k in range(8)]
    insert_frame(warehouse, "attributed_cost", pl.DataFrame(rows, schema=ATTRIBUTED_COST_COLUMNS))
    assert store_forecast(warehouse, WEEK) == 10  # training and total, 5 weeks each
    assert store_forecast(warehouse, WEEK) == 10  # replaced, not duplicated
    assert warehouse.execute("SELECT count(*) FROM cost_forecasts").fetchall() == [(10,)]
    following = WEEK + timedelta(weeks=1)
    insert_frame(
        warehouse,
        "attributed_cost",
        pl.DataFrame([cost_row(following, following, "r1", "1100.00", 0.0)], schema=ATTRIBUTED_COST_COLUMNS),
    )
    stored = query(
        warehouse, "forecast_accuracy", {"first_week": following - timedelta(weeks=8), "week_start": following}
    )
    result = accuracy(stored, "USD")
    assert [(r["week"], r["forecast"], r["actual"], r["error"], r["pct_error"]) for r in result["rows"]] == [
        ("2026-W48", "$1,000", "$1,100", "+$100.00", "9.1%")
    ]
    assert result["mape"] == "9.1%" and result["weeks_measured"] == 1


def budget_cost() -> pl.DataFrame:
    """Team a (training) spent 3,000 in November to the 22nd, team b (inference) 1,000: shares 75 % / 25 %."""
    rows = [
        cost_row(WEEK - timedelta(weeks=2), date(2026, 11, 2), "r1", "3000.00", 0.0, team="a", category="training"),
        cost_row(WEEK, date(2026, 11, 20), "r2", "1000.00", 0.0, team="b"),
    ]
    return (
        pl.DataFrame(rows, schema=ATTRIBUTED_COST_COLUMNS)
        .with_columns(converted=pl.lit(True))
        .select("week_start", "day", "category", "team", "project", "converted", "effective_cost_reporting")
    )


def test_budgets_over_at_risk_and_on_track():
    """Remaining November (Nov 23–30) forecast: 700 + 700 / 7 = 800 in total.

    total: 4,000 + 800 = 4,800 vs 5,000 → on track, 200 headroom; team a: 3,000 spent vs 2,500 → over by
    500; team b: 1,000 + 800 × 25 % = 1,200 vs 1,100 → at risk by 100; category inference (no category
    forecast) 1,000 vs 2,000 → on track.
    """
    total = {
        "enough": True,
        "history_weeks": 8,
        "model": "m",
        "known_weekly": Decimal(0),
        "weeks": [WEEK + timedelta(weeks=k) for k in range(1, 6)],
        "mean": [Decimal(700)] * 5,
        "lower": [Decimal(600)] * 5,
        "upper": [Decimal(800)] * 5,
    }
    config = parse_budgets({"total": 5000, "team": {"a": 2500, "b": "1100"}, "category": {"inference": 2000}}, "b.toml")
    result = budgets_context(config, {"total": total}, budget_cost(), WEEK, "USD")
    rows = {(r["scope"], r["name"]): r for r in result["rows"]}
    assert (rows[("team", "a")]["status"], rows[("team", "a")]["amount_exact"]) == ("over budget", "500.00")
    assert (rows[("team", "b")]["status"], rows[("team", "b")]["forecast_exact"]) == ("at risk", "1200.00")
    assert rows[("team", "b")]["amount_exact"] == "100.00"
    assert (rows[("total", "total")]["status"], rows[("total", "total")]["amount_exact"]) == ("on track", "200.00")
    assert rows[("category", "inference")]["forecast"] == "n/a"
    assert rows[("category", "inference")]["status"] == "on track"
    assert [r["status_key"] for r in result["rows"]][:2] == ["over", "at_risk"]  # worst first
    assert result["alerts"] == 2


def test_budget_file_errors_name_file_key_and_type(tmp_path):
    path = tmp_path / "budgets.toml"
    assert load_budgets(path) is None  # no file: no budgets
    path.write_text('[team]\nnlp = "lots"\n')
    with pytest.raises(
        BudgetConfigError, match=r"budgets.toml: key team.nlp: expected a number \(monthly amount\), got 'lots'"
    ):
        load_budgets(path)
    path.write_text("[teams]\nnlp = 100\n")
    with pytest.raises(
        BudgetConfigError, match=r"budgets.toml: key teams: no such key: expected one of total, team, project, category"
    ):
        load_budgets(path)
    path.write_text("[category]\ngpu = 100\n")
    with pytest.raises(BudgetConfigError, match=r"key category: unknown category gpu"):
        load_budgets(path)


def test_the_shipped_example_is_valid():
    from flows import PROJECT_ROOT

    config = load_budgets(PROJECT_ROOT / "config" / "budgets.toml")
    assert config.total == Decimal("530000") and config.team["nlp"] == Decimal("190000")
