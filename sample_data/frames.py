"""Small helpers to build generated frames: broadcast columns, hour timestamps, month segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from sample_data.workloads import Window

TS = pl.Datetime("us", "UTC")


def frame(n: int, **cols) -> pl.DataFrame:
    """A frame of ``n`` rows: arrays and Series as given, scalars repeated."""
    base = pl.DataFrame({"_row": np.arange(n, dtype=np.int64)})
    exprs = []
    for name, value in cols.items():
        if isinstance(value, (np.ndarray, pl.Series, list)):
            exprs.append(pl.Series(name, value))
        elif isinstance(value, int) and not isinstance(value, bool):
            exprs.append(pl.lit(value, dtype=pl.Int64).alias(name))
        else:
            exprs.append(pl.lit(value).alias(name))
    return base.with_columns(exprs).drop("_row")


def hour_times(window: Window, hours: np.ndarray, length_h: int = 1) -> tuple[pl.Series, pl.Series]:
    """Start and end timestamps (UTC) of the given window hours."""
    start_us = int(window.start.timestamp() * 1_000_000)
    starts = start_us + np.asarray(hours, dtype=np.int64) * 3_600_000_000
    s = pl.Series(starts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    e = pl.Series(starts + length_h * 3_600_000_000).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return s, e


def month_start(ts: datetime) -> datetime:
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def next_month(ts: datetime) -> datetime:
    return datetime(ts.year + (ts.month == 12), ts.month % 12 + 1, 1, tzinfo=UTC)


def month_segments(window: Window) -> list[tuple[int, int, datetime]]:
    """The window cut at month boundaries: (first hour, end hour, month start) per calendar month."""
    segments, h = [], 0
    while h < window.hours:
        ts = window.at(h)
        end_h = min(window.hours, int((next_month(ts) - window.start) / timedelta(hours=1)))
        segments.append((h, end_h, month_start(ts)))
        h = end_h
    return segments


def hours_in_month(ts: datetime) -> int:
    """Hours of the whole calendar month containing ``ts`` (not the hours left after it)."""
    first = month_start(ts)
    return int((next_month(first) - first) / timedelta(hours=1))
