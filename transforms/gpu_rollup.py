"""GPU telemetry rolled up to one row per GPU and hour (the ``gpu_hourly`` table): its columns.

The rollup itself is SQL, run where the samples are stored (``flows/telemetry.py``):
``sql/gpu_hourly_part.sql`` (a file's samples -> its part of each hour) and
``sql/gpu_hourly_merged.sql`` (that part combined with what the table holds of the same hours).

Grain: machine (``resource_id`` as the log names it), ``gpu_index`` (may be null) and UTC ``hour``.
Every figure is kept as a sum, a count, a minimum or a maximum, never as a mean, so that two parts
of one hour (two files of the same GPU, or a file and what an earlier file stored) combine exactly
with ``sql/gpu_hourly_merged.sql``: means are derived when read (``util_sum / util_samples``).

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
