"""GPU telemetry rolled up to one row per GPU and hour (the ``gpu_hourly`` table).

Grain: machine (``resource_id`` as the log names it), ``gpu_index`` (may be null) and UTC ``hour``.
Every figure is kept as a sum, a count, a minimum or a maximum, never as a mean, so that two parts
of one hour (two files of the same GPU, or a file and what an earlier file stored) combine exactly
with ``merge``: means are derived when read (``util_sum / util_samples``).

Columns (``HOURLY_COLUMNS``):
- ``samples``: rows of the hour; ``first_ts`` / ``last_ts``: its earliest and latest sample;
- ``util_samples``, ``util_sum``, ``util_max``: samples with a utilisation, their sum and maximum (%);
- ``util_interval_s``, ``util_weighted_sum``: Σ interval_s and Σ utilization_pct × interval_s over
  samples with a utilisation (interval-weighted mean utilisation);
- ``memory_samples``, ``memory_used_sum``, ``memory_used_max``, ``memory_total_max`` (MiB);
- ``power_samples``, ``power_sum``, ``power_max`` (W); ``energy_j``: Σ power_w × interval_s over the
  samples that carry both (null if none does);
- ``interval_samples``, ``interval_s_sum``, ``interval_s_min``, ``interval_s_max``: the sampling
  interval seen;
- ``gpu_uuid``: of the hour's earliest sample naming one; ``gpu_model`` and ``model_ts``: the model
  named by the hour's earliest sample naming one, and that sample's time.

A sum over no value is null (not 0), as SQL's ``sum`` is, so "no power reading" stays visible.
"""

from __future__ import annotations

import polars as pl

from transforms.schema import UTC_TS

KEYS = ["resource_id", "gpu_index", "hour"]

HOURLY_COLUMNS: dict[str, pl.DataType] = {
    "resource_id": pl.String,
    "gpu_index": pl.Int32,
    "hour": UTC_TS,
    "gpu_uuid": pl.String,
    "gpu_model": pl.String,
    "model_ts": UTC_TS,
    "first_ts": UTC_TS,
    "last_ts": UTC_TS,
    "samples": pl.Int64,
    "util_samples": pl.Int64,
    "util_sum": pl.Float64,
    "util_max": pl.Float64,
    "util_interval_s": pl.Float64,
    "util_weighted_sum": pl.Float64,
    "memory_samples": pl.Int64,
    "memory_used_sum": pl.Float64,
    "memory_used_max": pl.Float64,
    "memory_total_max": pl.Float64,
    "power_samples": pl.Int64,
    "power_sum": pl.Float64,
    "power_max": pl.Float64,
    "energy_j": pl.Float64,
    "interval_samples": pl.Int64,
    "interval_s_sum": pl.Float64,
    "interval_s_min": pl.Float64,
    "interval_s_max": pl.Float64,
}

COUNTS = ("samples", "util_samples", "memory_samples", "power_samples", "interval_samples")
SUMS = (
    "util_sum",
    "util_interval_s",
    "util_weighted_sum",
    "memory_used_sum",
    "power_sum",
    "energy_j",
    "interval_s_sum",
)
MAXIMA = ("util_max", "memory_used_max", "memory_total_max", "power_max", "interval_s_max", "last_ts")
MINIMA = ("interval_s_min", "first_ts", "model_ts")


def _sum(expr: pl.Expr) -> pl.Expr:
    """Σ of the non-null values; null when there is none (SQL's sum)."""
    return pl.when(expr.is_not_null().any()).then(expr.sum())


def hourly(samples: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of ``gpu_metrics`` → their part of ``gpu_hourly`` (one row per machine, GPU and hour).

    Samples without a time are left out (no hour holds them).
    """
    util = pl.col("utilization_pct")
    has_util = util.is_not_null()
    interval = pl.col("interval_s")
    energy = pl.col("power_w") * interval
    by_time = pl.col("ts")
    rows = (
        samples.filter(by_time.is_not_null())
        .with_columns(hour=by_time.dt.truncate("1h"))
        .group_by(KEYS)
        .agg(
            gpu_uuid=pl.col("gpu_uuid").sort_by(by_time).drop_nulls().first(),
            gpu_model=pl.col("gpu_model").sort_by(by_time).drop_nulls().first(),
            model_ts=by_time.filter(pl.col("gpu_model").is_not_null()).min(),
            first_ts=by_time.min(),
            last_ts=by_time.max(),
            samples=pl.len().cast(pl.Int64),
            util_samples=util.count().cast(pl.Int64),
            util_sum=_sum(util),
            util_max=util.max(),
            util_interval_s=_sum(interval.filter(has_util)),
            util_weighted_sum=_sum((util * interval).filter(has_util)),
            memory_samples=pl.col("memory_used_mib").count().cast(pl.Int64),
            memory_used_sum=_sum(pl.col("memory_used_mib")),
            memory_used_max=pl.col("memory_used_mib").max(),
            memory_total_max=pl.col("memory_total_mib").max(),
            power_samples=pl.col("power_w").count().cast(pl.Int64),
            power_sum=_sum(pl.col("power_w")),
            power_max=pl.col("power_w").max(),
            energy_j=_sum(energy),
            interval_samples=interval.count().cast(pl.Int64),
            interval_s_sum=_sum(interval),
            interval_s_min=interval.min(),
            interval_s_max=interval.max(),
        )
    )
    return rows.select([pl.col(c).cast(t) for c, t in HOURLY_COLUMNS.items()])


def merge(parts: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of ``gpu_hourly`` (any number per key) → one row per key: counts and sums add up, minima
    and maxima stay, the uuid and model are those of the earliest sample naming one.

    ``merge(hourly(a) ++ hourly(b))`` equals ``hourly(a ++ b)`` (up to floating-point summation order).
    """
    return (
        parts.group_by(KEYS)
        .agg(
            pl.col("gpu_uuid").sort_by("first_ts").drop_nulls().first(),
            pl.col("gpu_model").sort_by("model_ts", nulls_last=True).drop_nulls().first(),
            *[pl.col(c).sum().cast(pl.Int64) for c in COUNTS],
            *[_sum(pl.col(c)).alias(c) for c in SUMS],
            *[pl.col(c).max() for c in MAXIMA],
            *[pl.col(c).min() for c in MINIMA],
        )
        .select([pl.col(c).cast(t) for c, t in HOURLY_COLUMNS.items()])
    )
