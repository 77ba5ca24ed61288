"""Monthly budgets: the validated configuration and each budget's status this month (pure).

``config/budgets.toml`` (see the example there) holds monthly budgets in the reporting currency::

    [team]
    nlp = 60000          # a team's monthly budget
    [project]
    llm-chat = 25000
    [category]
    inference = 90000    # one of the report's categories
    total = 400000       # optional: the whole bill

Status of a budget for the calendar month holding the report week's last day:
- spent month to date: attributed effective cost of the scope from the 1st of the month to the end of
  the report week (by cost day);
- forecast month end: spent to date + the forecast of the month's remaining days (see
  transforms/forecast.py). A category budget uses its category's forecast; the total uses the
  total's; a team or project budget takes the total's forecast of the remaining days times the
  scope's share of the spend over the last four weeks (the scope is assumed to keep its share);
- "over budget" when spent to date exceeds the budget (by that amount), "at risk" when the forecast
  month end does (by that amount), else "on track" with the headroom left.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from transforms.forecast import month_bounds, month_end
from transforms.report.formatting import format_money, format_percent
from transforms.schema import CATEGORIES

SCOPES = ("total", "category", "team", "project")
SHARE_WEEKS = 4
ZERO = Decimal(0)


class BudgetConfigError(ValueError):
    """A budgets file that cannot be used; the message names the file, key and expected type."""


class BudgetConfig(BaseModel):
    """The budgets file: monthly amounts in the reporting currency, per team, project or category."""

    model_config = ConfigDict(extra="forbid", strict=False)

    total: Decimal | None = None
    team: dict[str, Decimal] = {}
    project: dict[str, Decimal] = {}
    category: dict[str, Decimal] = {}

    @field_validator("total")
    @classmethod
    def _positive_total(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("expected a positive amount")
        return value

    @field_validator("team", "project", "category")
    @classmethod
    def _positive_amounts(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for key, amount in value.items():
            if amount <= 0:
                raise ValueError(f"{key}: expected a positive amount, got {amount}")
        return value

    @field_validator("category")
    @classmethod
    def _known_categories(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown category {', '.join(unknown)}: expected one of {', '.join(CATEGORIES)}")
        return value

    def budgets(self) -> list[tuple[str, str, Decimal]]:
        """``(scope, name, monthly amount)`` for every budget, total first."""
        rows = [("total", "total", self.total)] if self.total is not None else []
        for scope in ("category", "team", "project"):
            rows += [(scope, name, amount) for name, amount in sorted(getattr(self, scope).items())]
        return rows


_TYPE_WORDS = {
    "extra_forbidden": "no such key: expected one of total, team, project, category",
    "decimal_parsing": "expected a number (monthly amount)",
    "decimal_type": "expected a number (monthly amount)",
    "dict_type": "expected a table of name = monthly amount",
}


def parse_budgets(document: dict[str, Any], source: str) -> BudgetConfig:
    """Validate a parsed budgets document; errors name ``source``, the key and what was expected."""
    try:
        return BudgetConfig.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            what = _TYPE_WORDS.get(error["type"], error["msg"].removeprefix("Value error, "))
            got = error.get("input")
            shown = "" if error["type"] == "extra_forbidden" or isinstance(got, dict) else f", got {got!r}"
            problems.append(f"{source}: key {key}: {what}{shown}")
        raise BudgetConfigError("; ".join(problems)) from None


def budget_status(budget: Decimal, spent: Decimal, forecast: Decimal | None) -> dict:
    """``over budget`` / ``at risk`` / ``on track`` with the amount over or the headroom."""
    if spent > budget:
        return {"status": "over budget", "key": "over", "amount": spent - budget}
    if forecast is not None and forecast > budget:
        return {"status": "at risk", "key": "at_risk", "amount": forecast - budget}
    return {"status": "on track", "key": "ok", "amount": budget - (forecast if forecast is not None else spent)}


def month_spent(cost: pl.DataFrame, week_start: date, key: str | None = None) -> dict[str, Decimal]:
    """Spend from the 1st of the month (of the week's last day) to the week's end, per ``key`` or in total.

    ``cost``: the report's cost frame (``day``, ``converted``, ``effective_cost_reporting`` and the keys).
    """
    first, _ = month_bounds(week_start)
    rows = cost.filter(
        pl.col("converted") & (pl.col("day") >= first) & (pl.col("day") < week_start + timedelta(days=7))
    )
    if key is None:
        value = rows["effective_cost_reporting"].sum() if rows.height else None
        return {"total": Decimal(value) if value is not None else ZERO}
    return {
        r[key]: Decimal(r["spent"])
        for r in rows.group_by(key).agg(spent=pl.col("effective_cost_reporting").sum()).iter_rows(named=True)
    }


def recent_share(cost: pl.DataFrame, week_start: date, key: str, name: str, weeks: int = SHARE_WEEKS) -> Decimal:
    """The scope's share of the converted spend over the last ``weeks`` weeks (0 if there was none)."""
    recent = cost.filter(pl.col("converted") & (pl.col("week_start") > week_start - timedelta(weeks=weeks)))
    total = recent["effective_cost_reporting"].sum() if recent.height else None
    if not total:
        return ZERO
    part = recent.filter(pl.col(key) == name)["effective_cost_reporting"].sum()
    return Decimal(part or 0) / Decimal(total)


def budgets_context(
    config: BudgetConfig | None, forecasts: dict[str, dict], cost: pl.DataFrame, week_start: date, currency: str
) -> dict:
    """Per budget: spent month to date, forecast month end and its status, worst first."""
    first, next_month = month_bounds(week_start)
    if config is None or not config.budgets():
        return {"configured": False, "rows": [], "month": f"{first:%B %Y}", "alerts": 0}
    total_forecast = forecasts.get("total")
    rows = []
    for scope, name, budget in config.budgets():
        key = None if scope == "total" else scope
        spent = month_spent(cost, week_start, key).get(name, ZERO) if key else month_spent(cost, week_start)["total"]
        forecast = None
        if scope in ("total", "category"):
            end = month_end(forecasts.get(name if scope == "category" else "total", {}), spent, week_start)
            forecast = end["mean"] if end else None
        elif total_forecast and total_forecast.get("enough"):
            rest = month_end(total_forecast, ZERO, week_start)["remaining"]
            forecast = spent + rest * recent_share(cost, week_start, scope, name)
        status = budget_status(budget, spent, forecast)
        rows.append(
            {
                "scope": scope,
                "name": name,
                "label": "All spend" if scope == "total" else f"{scope} {name}",
                "budget": format_money(budget, currency),
                "budget_exact": str(budget),
                "spent": format_money(spent, currency),
                "spent_exact": str(spent),
                "used": format_percent(spent / budget),
                "forecast": format_money(forecast, currency) if forecast is not None else "n/a",
                "forecast_exact": str(forecast.quantize(Decimal("0.01"))) if forecast is not None else None,
                "status": status["status"],
                "status_key": status["key"],
                "amount": format_money(status["amount"], currency),
                "amount_exact": str(status["amount"].quantize(Decimal("0.01"))),
                "note": {
                    "over": f"{format_money(status['amount'], currency)} over",
                    "at_risk": f"forecast {format_money(status['amount'], currency)} over",
                    "ok": f"{format_money(status['amount'], currency)} headroom",
                }[status["key"]],
            }
        )
    order = {"over": 0, "at_risk": 1, "ok": 2}
    rows.sort(key=lambda r: (order[r["status_key"]], SCOPES.index(r["scope"]), r["name"]))
    return {
        "configured": True,
        "rows": rows,
        "month": f"{first:%B %Y}",
        "through": f"{week_start + timedelta(days=6):%b} {(week_start + timedelta(days=6)).day}",
        "alerts": sum(r["status_key"] != "ok" for r in rows),
    }
