"""Money as whole micro-units (int64): exact sums, exact text, and doubles that print back exactly."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

SCALE = 1_000_000


def micro(amount) -> np.ndarray | int:
    """Round an amount (or an array of amounts) to whole micro-units."""
    if np.isscalar(amount):
        return int(round(float(amount) * SCALE))
    return np.rint(np.asarray(amount, dtype=np.float64) * SCALE).astype(np.int64)


def to_decimal(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-6)


def text_expr(col: str) -> pl.Expr:
    """Micro-units as exact decimal text with six places (``-12.500000``); null stays null."""
    c = pl.col(col)
    whole = (c.abs() // SCALE).cast(pl.String)
    frac = (c.abs() % SCALE).cast(pl.String).str.zfill(6)
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.lit("."), frac])


def double_expr(col: str) -> pl.Expr:
    """Micro-units as the double nearest the exact decimal, so its shortest text is that decimal.

    Parsed from the decimal text (correctly rounded), not divided: polars may multiply by the
    reciprocal, which can land one double away (7180.8 would print as 7180.799999999999).
    """
    return text_expr(col).cast(pl.Float64).alias(col)
