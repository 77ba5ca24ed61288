"""Per-endpoint facts the serving detectors share: traffic, batch size, tokens, machines, GPU use."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.detectors.common import machine_hours


def run_endpoints(frames: Mapping[str, pl.DataFrame]) -> list[dict]:
    """``endpoint_stats`` of the run's ``inference_requests`` and ``gpu_metrics``, as rows (none without
    inference logs)."""
    inference = frames.get("inference_requests")
    if inference is None or inference.height == 0:
        return []
    return list(endpoint_stats(inference, frames.get("gpu_metrics")).iter_rows(named=True))


def endpoint_stats(inference: pl.DataFrame, gpu_metrics: pl.DataFrame | None) -> pl.DataFrame:
    """One row per endpoint for the week.

    Columns: endpoint, model (most requests), resource_ids (sorted list), requests, mean_batch
    (request-weighted), tokens_per_request, p95_rps (95th percentile of hourly requests / 3600 over
    the hours with traffic), hours, gpu_util (mean GPU utilisation % of its machines' samples; null
    without metrics). ``gpu_metrics``: any grain ``machine_hours`` reads.
    """
    rows = inference.filter(pl.col("endpoint").is_not_null()).with_columns(
        pl.col("requests").fill_null(0),
        pl.col("ts").dt.truncate("1h").alias("hour"),
    )
    hourly = (
        rows.group_by("endpoint", "hour")
        .agg(pl.col("requests").sum().alias("hour_requests"))
        .group_by("endpoint")
        .agg(
            (pl.col("hour_requests").cast(pl.Float64) / 3600.0).quantile(0.95, interpolation="linear").alias("p95_rps"),
            pl.len().alias("hours"),
        )
    )
    main_model = (
        rows.group_by("endpoint", "model")
        .agg(pl.col("requests").sum().alias("_r"))
        .sort(["endpoint", "_r", "model"], descending=[False, True, False], nulls_last=True)
        .unique("endpoint", keep="first", maintain_order=True)
        .select("endpoint", "model")
    )
    totals = rows.group_by("endpoint").agg(
        pl.col("requests").sum().alias("requests"),
        (
            (pl.col("batch_size") * pl.col("requests")).sum()
            / pl.col("requests").filter(pl.col("batch_size").is_not_null()).sum()
        ).alias("mean_batch"),
        ((pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0)).sum() / pl.col("requests").sum()).alias(
            "tokens_per_request"
        ),
        pl.col("resource_id").drop_nulls().unique().sort().alias("resource_ids"),
    )
    stats = totals.join(hourly, on="endpoint", how="left").join(main_model, on="endpoint", how="left")
    if gpu_metrics is None or gpu_metrics.height == 0:
        return stats.with_columns(pl.lit(None, dtype=pl.Float64).alias("gpu_util")).sort("endpoint")
    util = (  # the sums of the machine's hours: its mean over every sample, not a mean of hourly means
        machine_hours(gpu_metrics)
        .group_by("resource_id")
        .agg((pl.col("util_sum").sum() / pl.col("util_samples").sum()).alias("_u"))
    )
    per_endpoint = (
        stats.select("endpoint", "resource_ids")
        .explode("resource_ids")
        .join(util, left_on="resource_ids", right_on="resource_id", how="inner")
        .group_by("endpoint")
        .agg(pl.col("_u").mean().alias("gpu_util"))
    )
    return stats.join(per_endpoint, on="endpoint", how="left").sort("endpoint")
