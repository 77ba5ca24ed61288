"""Plausibility of mapped billing rows, and totals of money that cannot wrap.

A value can parse and fit its column and still be nonsense: a cost of 10^26, a charge in the year
9999. Such rows are rejected per row (kept in ``rejected_rows`` with the reason), after a source
mapping and before anything is stored or added up:

- **Costs.** ``billed_cost``, ``effective_cost``, ``list_cost``, ``contracted_cost`` and
  ``x_credit_amount`` (where the frame has it) may not exceed the bound in absolute value, in the
  row's own currency: ``AICOST_MAX_ROW_COST``, by default 1,000,000,000,000. The default is far
  above any real line item in a strong currency (a whole year's commitment bought in one row is
  well below it in USD or EUR), and still leaves room in currencies with many units to the
  dollar (10^12 IDR is about 60 million USD; a 10^9 bound would reject real rows there). It keeps
  every row eleven orders of magnitude below DECIMAL(38, 12)'s limit, so sums downstream cannot
  reach it.
- **Periods.** ``billing_period_start`` / ``_end`` and ``charge_period_start`` / ``_end`` must lie
  from 2000-01-01 00:00 UTC (before any cloud bill) to one year (366 days) after the ingest:
  exports carry the current billing period and at most a month ahead, so anything later is a
  misread date (``9999-12-31`` placeholders, ``0001-01-01`` zero dates, two-digit years).

A row's reason is the first one it has: a reason the mapping already gave is kept.

``money_totals`` adds money exactly. polars 2.1 keeps a DECIMAL(38, 12) sum in a 128-bit integer:
an eager ``group_by(...).agg(sum)`` silently wraps past it (two costs of 26 digits sum to a
negative number) and a plain ``sum`` raises. Here each value's 128-bit integer of smallest units
is split into a high and a low part below 10^18, which are summed separately (neither can wrap
before 10^18 rows) and joined in Python ``Decimal`` at a precision that cannot round.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from transforms.schema import MONEY

MONEY_COLUMNS = ("billed_cost", "effective_cost", "list_cost", "contracted_cost", "x_credit_amount")
PERIOD_COLUMNS = ("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end")
DEFAULT_MAX_ROW_COST = Decimal("1000000000000")
MAX_ROW_COST_SETTING = "AICOST_MAX_ROW_COST"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AFTER_NOW = timedelta(days=366)

# Exact decimal arithmetic for totals: 100 digits, and rounding or overflow raise instead of passing.
EXACT = decimal.Context(prec=100, traps=[decimal.Inexact, decimal.Overflow, decimal.InvalidOperation])
_SPLIT = 10**18


def _shown(expr: pl.Expr) -> pl.Expr:
    """A decimal as text without the trailing zeros of its scale: ``-5000000000000``, ``100.01``."""
    return expr.cast(pl.String).str.replace(r"\.0+$|(\.\d*?[1-9])0+$", "$1")


def reject_implausible(frame: pl.LazyFrame, max_row_cost: Decimal, now: datetime) -> pl.LazyFrame:
    """``frame`` (mapped canonical billing rows with ``_reject_reason``) with implausible rows rejected.

    Reasons read ``column billed_cost: expected an amount within the plausibility bound of
    1,000,000,000,000 per row (AICOST_MAX_ROW_COST), got '100000000000000000000000000 USD'`` and ``column
    charge_period_start: expected a date within the plausible window 2000-01-01 to 2027-12-01 (a
    year after the ingest), got '9999-01-01T00:00:00Z'``.
    """
    names = frame.collect_schema().names()
    bound = pl.lit(max_row_cost, dtype=MONEY)
    bound_text = f"{max_row_cost.normalize():,f}"
    currency = pl.col("billing_currency") if "billing_currency" in names else pl.lit(None, dtype=pl.String)
    latest = now.astimezone(UTC) + LATEST_AFTER_NOW
    window = f"{EARLIEST:%Y-%m-%d} to {latest:%Y-%m-%d}"
    checks: list[tuple[pl.Expr, pl.Expr]] = []  # (implausible?, the reason)
    for name in (c for c in MONEY_COLUMNS if c in names):
        beyond = pl.col(name).abs() > bound
        checks.append(
            (
                beyond,
                pl.format(
                    "column {}: expected an amount within the plausibility bound of {} per row ({}), got '{}'",
                    pl.lit(name),
                    pl.lit(bound_text),
                    pl.lit(MAX_ROW_COST_SETTING),
                    pl.concat_str([_shown(pl.col(name)), pl.lit(" ") + currency], ignore_nulls=True),
                ),
            )
        )
    for name in (c for c in PERIOD_COLUMNS if c in names):
        outside = (pl.col(name) < pl.lit(EARLIEST)) | (pl.col(name) > pl.lit(latest))
        checks.append(
            (
                outside,
                pl.format(
                    "column {}: expected a date within the plausible window {} (a year after the ingest), got '{}'",
                    pl.lit(name),
                    pl.lit(window),
                    pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
            )
        )
    if not checks:
        return frame
    first = pl.coalesce(pl.col("_reject_reason"), *(pl.when(bad).then(reason) for bad, reason in checks))
    # The reasons are only worked out when some row of the frame needs one (a scalar condition
    # short-circuits): formatting every row's values would cost more than the checks themselves.
    # (No subexpression of a reason may repeat, or it is computed ahead for every row.)
    anything = pl.any_horizontal(bad for bad, _ in checks).any()
    return frame.with_columns(pl.when(anything).then(first).otherwise(pl.col("_reject_reason")).alias("_reject_reason"))


def money_totals(frame: pl.DataFrame, by: str, columns: Iterable[str]) -> dict[object, dict[str, Decimal]]:
    """Exact sums of decimal ``columns`` per value of ``by``: ``{key: {column: Decimal}}``.

    Never wraps and never rounds, whatever the values (see the module docstring); nulls add nothing.
    """
    columns = list(columns)
    if frame.height == 0:
        return {}
    scales = {c: frame.schema[c].scale for c in columns}
    units = {c: pl.col(c).to_physical() for c in columns}
    parts = frame.group_by(by).agg(
        *((units[c] // _SPLIT).sum().alias(f"{c}\0hi") for c in columns),
        *((units[c] % _SPLIT).sum().alias(f"{c}\0lo") for c in columns),
    )
    totals: dict[object, dict[str, Decimal]] = {}
    for row in parts.iter_rows(named=True):
        totals[row[by]] = {
            c: EXACT.scaleb(EXACT.add(EXACT.multiply(Decimal(row[f"{c}\0hi"]), _SPLIT), row[f"{c}\0lo"]), -scales[c])
            for c in columns
        }
    return totals
