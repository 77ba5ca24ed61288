"""Currency conversion to the reporting currency with a user-supplied rate table.

Rates (``currency, rate_to_reporting``) are Decimals; a currency without a rate is never converted
at 1: its reporting amount stays null and it is listed as unconverted.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from transforms.schema import MONEY

RATE = pl.Decimal(38, 10)
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY.scale)  # the smallest amount MONEY holds (12 places)


def rates_frame(rates: pl.DataFrame, reporting_currency: str) -> pl.DataFrame:
    """``currency, rate`` with the reporting currency itself at exactly 1 (it needs no rate)."""
    table = rates.select(
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("rate_to_reporting").cast(pl.String).str.strip_chars().cast(RATE).alias("rate"),
    ).filter(pl.col("currency") != reporting_currency.upper())
    identity = pl.DataFrame({"currency": [reporting_currency.upper()], "rate": ["1"]}).with_columns(
        pl.col("rate").cast(RATE)
    )
    return pl.concat([table, identity])


def convert(frame: pl.LazyFrame, rates: pl.DataFrame, reporting_currency: str) -> pl.LazyFrame:
    """Add ``reporting_currency`` and ``effective_cost_reporting`` (null where no rate is known)."""
    table = rates_frame(rates, reporting_currency).lazy()
    return (
        frame.join(table, left_on=pl.col("billing_currency").str.to_uppercase(), right_on="currency", how="left")
        .with_columns(
            reporting_currency=pl.lit(reporting_currency.upper()),
            effective_cost_reporting=(pl.col("effective_cost") * pl.col("rate")).cast(MONEY),
        )
        .drop("rate", *(["currency"] if "currency" in frame.collect_schema().names() else []), strict=False)
    )


def unconverted(frame: pl.DataFrame) -> dict[str, str]:
    """``{currency: total effective cost}`` of the rows no rate converted."""
    missing = (
        frame.filter(pl.col("effective_cost_reporting").is_null())
        .group_by("billing_currency")
        .agg(pl.col("effective_cost").sum())
        .sort("billing_currency")
    )
    return {row["billing_currency"]: money_text(row["effective_cost"]) for row in missing.iter_rows(named=True)}


def money_text(value: Decimal | None) -> str:
    """A money amount as a decimal string with the warehouse's twelve places (MONEY's scale; 0 for none)."""
    return str(Decimal(value if value is not None else 0).quantize(MONEY_QUANTUM))
