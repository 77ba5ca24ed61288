"""The cost frame's sums that every spend section shares (money summed exactly as Decimal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from transforms.report.formatting import ZERO


def money_sum(frame: pl.DataFrame, column: str = "effective_cost_reporting") -> Decimal:
    """Exact sum of a money column (0 for an empty frame)."""
    if frame.height == 0:
        return ZERO
    value = frame.select(pl.col(column).sum()).item()
    return Decimal(value) if value is not None else ZERO


def converted_rows(cost: pl.DataFrame) -> pl.DataFrame:
    """Rows with an amount in the reporting currency."""
    return cost.filter(pl.col("converted"))


def weeks_with_data(cost: pl.DataFrame) -> set[date]:
    """Weeks that have any cost row, converted or not."""
    return set(cost.get_column("week_start").unique().to_list())


def week_total(cost: pl.DataFrame, week: date) -> Decimal:
    """A week's spend in the reporting currency."""
    return money_sum(converted_rows(cost).filter(pl.col("week_start") == week))
