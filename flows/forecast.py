"""Forecast, budgets and unit costs from the warehouse: the report's queries and the weekly forecast step."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl

from flows.settings import Settings, get_settings
from flows.unit_costs import load_unit_cost_frames
from flows.warehouse import insert_frame, query, sql_text, transaction
from transforms.budgets import BudgetConfig, BudgetConfigError, parse_budgets
from transforms.forecast import ACCURACY_WEEKS, HISTORY_WEEKS, forecast_series, stored_rows


def load_budgets(path: Path) -> BudgetConfig | None:
    """The budgets file, validated; None when there is no file (no budgets)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BudgetConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_budgets(document, str(path))


def forecast_history(con: duckdb.DuckDBPyConnection, week_start: date) -> pl.DataFrame:
    """Weekly spend and recurring fees per category, up to ``HISTORY_WEEKS`` weeks to ``week_start``."""
    return query(
        con,
        "forecast_history",
        {"first_week": week_start - timedelta(weeks=HISTORY_WEEKS - 1), "week_start": week_start},
    )


def load_economics(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings | None = None) -> dict:
    """Every query the budgets, forecast and unit-costs sections need, and the budgets file."""
    settings = settings or get_settings()
    return {
        "forecast_history": forecast_history(con, week_start),
        "forecast_accuracy": query(
            con,
            "forecast_accuracy",
            {"first_week": week_start - timedelta(weeks=ACCURACY_WEEKS), "week_start": week_start},
        ),
        "unit_costs": load_unit_cost_frames(con, week_start),
        "budgets": load_budgets(settings.budgets),
    }


def store_forecast(con: duckdb.DuckDBPyConnection, week_start: date) -> int:
    """Store (replace) the forecast made from the data up to ``week_start``; returns the rows written."""
    rows = stored_rows(
        forecast_series(forecast_history(con, week_start), week_start), week_start, datetime.now(timezone.utc)
    )
    with transaction(con):
        con.execute(sql_text("forecast_delete_week"), {"made_week": week_start}).fetchall()
        return insert_frame(con, "cost_forecasts", rows)
