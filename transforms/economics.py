"""The report's budgets, forecast and unit-costs sections from their frames (pure)."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.budgets import budgets_context, month_spent
from transforms.forecast import TOTAL, forecast_context, forecast_series
from transforms.unit_costs import unit_costs


def economics_context(
    economics: dict | None, *, week_start: date, currency: str, cost: pl.DataFrame, fx_rates: pl.DataFrame | None
) -> dict:
    """``{"budgets", "forecast", "unit_costs"}``; ``economics`` holds ``forecast_history``,
    ``forecast_accuracy``, ``unit_costs`` (frames) and ``budgets`` (a BudgetConfig or None)."""
    if economics is None:
        return {"available": False}
    forecasts = forecast_series(economics["forecast_history"], week_start)
    spent = {**month_spent(cost, week_start, "category"), TOTAL: month_spent(cost, week_start)["total"]}
    return {
        "available": True,
        "budgets": budgets_context(economics.get("budgets"), forecasts, cost, week_start, currency),
        "forecast": forecast_context(forecasts, spent, week_start, currency, economics["forecast_accuracy"]),
        "unit_costs": unit_costs(economics["unit_costs"], week_start, currency, fx_rates),
    }
