"""Cut billing rows into the day slices of one ISO week, exactly.

A row whose charge period lasts at most one day lands whole on the day its charge period starts.
A longer row (monthly fee, RI fee, tax) is spread evenly over the time it covers: the part up to
the end of day ``k`` is ``floor(cost * seconds_up_to_k / seconds_total)`` in MONEY's smallest units, and a
day's slice is the difference of two such parts. The parts telescope, so the slices of one row
add up exactly to the row over all weeks, and the last slice carries the remainder.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.schema import MONEY
from transforms.weeks import week_bounds

MONEY_COLUMNS = ("effective_cost", "billed_cost", "list_cost")
UNITS_PER_MONEY = 10**MONEY.scale  # one unit is the smallest amount MONEY holds
DAY_S = 86_400


def to_units(expr: pl.Expr) -> pl.Expr:
    """A MONEY amount as an exact Int128 count of its smallest units."""
    return (expr.cast(MONEY) * pl.lit(UNITS_PER_MONEY)).cast(pl.Int128)


def from_units(expr: pl.Expr) -> pl.Expr:
    """An Int128 count of smallest units back to MONEY, exactly."""
    return expr.cast(MONEY) / pl.lit(UNITS_PER_MONEY)


def share_up_to(units: pl.Expr, weight_so_far: pl.Expr, weight_total: pl.Expr) -> pl.Expr:
    """``floor(units * weight_so_far / weight_total)`` in exact integer arithmetic."""
    return (units * weight_so_far.cast(pl.Int128)) // weight_total.cast(pl.Int128)


def as_line_item_groups(billing: pl.LazyFrame) -> pl.LazyFrame:
    """Billing rows as groups of identical line items (sql/attribution_billing_groups.sql reads them so):
    ``line_items`` counts the line items a row stands for (its money columns are ONE line item's, every cut
    is made on one line item and multiplied by it), ``periods`` lists their distinct charge period starts.
    A frame without them (one row per line item) gets ``line_items`` 1 and its own period."""
    names = billing.collect_schema().names()
    return billing.with_columns(
        *([] if "line_items" in names else [pl.lit(1, dtype=pl.Int64).alias("line_items")]),
        *([] if "periods" in names else [pl.concat_list("charge_period_start").alias("periods")]),
    )


def billed_periods(slices: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame | pl.DataFrame:
    """One row per slice and distinct charge period of the line items it stands for (``periods``, all of
    the slice's length): what a machine's billed time is the union of."""
    length = pl.col("charge_period_end") - pl.col("charge_period_start")
    return (
        slices.with_columns(_length=length)
        .explode("periods")
        .with_columns(charge_period_start=pl.col("periods"), charge_period_end=pl.col("periods") + pl.col("_length"))
        .drop("_length")
    )


def is_spread() -> pl.Expr:
    """True for a row spread over the days it covers (a charge period longer than a day)."""
    cps, cpe = pl.col("charge_period_start"), pl.col("charge_period_end")
    return cpe.is_not_null() & ((cpe - cps).dt.total_seconds() > DAY_S)


def week_slices(billing: pl.LazyFrame, week_start: date) -> pl.LazyFrame:
    """One row per billing row and day of the week it touches, money columns cut to that day.

    Adds ``day`` (Date), ``overlap_s`` (seconds of the row's charge period inside that day) and
    keeps every input column; the input must carry a unique ``row_id``.
    """
    start, end = week_bounds(week_start)
    cps, cpe = pl.col("charge_period_start"), pl.col("charge_period_end")
    duration_s = (cpe - cps).dt.total_seconds()
    frame = billing.with_columns(
        _duration_s=duration_s,
        _spread=is_spread(),
    )
    whole = (
        frame.filter(~pl.col("_spread"))
        .with_columns(
            day=cps.dt.date(),
            overlap_s=pl.col("_duration_s").clip(0, DAY_S).fill_null(0),
        )
        .filter((pl.col("day") >= start.date()) & (pl.col("day") < end.date()))
    )
    spread = (
        frame.filter(pl.col("_spread"))
        .with_columns(_day_start=pl.datetime_ranges(cps.dt.truncate("1d"), cpe - pl.duration(microseconds=1), "1d"))
        .explode("_day_start")
        .filter((pl.col("_day_start") >= start) & (pl.col("_day_start") < end))
        .with_columns(
            _before_s=(pl.col("_day_start") - cps).dt.total_seconds().clip(0, pl.col("_duration_s")),
            _after_s=(pl.min_horizontal(cpe, pl.col("_day_start") + pl.duration(days=1)) - cps)
            .dt.total_seconds()
            .clip(0, pl.col("_duration_s")),
        )
        .with_columns(
            [
                from_units(
                    share_up_to(to_units(pl.col(c)), pl.col("_after_s"), pl.col("_duration_s"))
                    - share_up_to(to_units(pl.col(c)), pl.col("_before_s"), pl.col("_duration_s"))
                ).alias(c)
                for c in MONEY_COLUMNS
            ]
        )
        .with_columns(day=pl.col("_day_start").dt.date(), overlap_s=pl.col("_after_s") - pl.col("_before_s"))
        .drop("_day_start", "_before_s", "_after_s")
    )
    return pl.concat([whole, spread], how="diagonal_relaxed").drop("_duration_s", "_spread")
