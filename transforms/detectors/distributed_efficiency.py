"""Multi-node training that scales poorly: use fewer nodes.

For each model, compares the per-GPU utilisation of its multi-node training jobs this week with
that of its jobs on the fewest nodes (the baseline). A job's utilisation is the mean of its
machines' GPU-hours while it ran (each GPU's mean utilisation in the hour). Fires when the
multi-node jobs reach less than ``max_util_ratio`` (default 0.75) of the baseline.

    job_week_cost   = hours of the job inside the week x hourly_rate x job GPUs / machine GPUs
    idle_share      = 1 - multi_node_util / baseline_util
    monthly_savings = sum(multi-node job_week_cost) x idle_share / 168 h x 730 h

Confidence: medium (a larger job may also have a different batch or sequence size).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    dec,
    each_gpu_hour,
    frame,
    hours_in_week,
    job_week_cost,
    machine_hours,
    money,
    num,
    per_month,
    per_month_text,
    recommendation,
    run_machine_rates,
    to_frame,
    week_bounds,
)

KIND = "distributed_efficiency"
STRATEGY = "distributed training"
INPUTS = ("jobs", "gpu_metrics", "machines", "prices")


def job_utilisation(jobs: pl.DataFrame, metrics: pl.DataFrame, config: DetectorConfig) -> pl.DataFrame:
    """Per training job row (job and machine): mean GPU utilisation while it ran, hours in the week."""
    begin, end = week_bounds(config)
    rows = (
        jobs.filter((pl.col("kind") == "training") & pl.col("start_ts").is_not_null() & pl.col("model").is_not_null())
        .with_columns(
            pl.col("end_ts").fill_null(pl.lit(end)).alias("_end"),
            pl.col("nodes").fill_null(1).alias("nodes"),
        )
        .with_columns(hours_in_week(begin, end).alias("week_hours"))
        .filter(pl.col("week_hours") > 0)
    )
    util = (
        rows.select("job_id", "resource_id", "start_ts", "_end")
        .join(machine_hours(metrics).select("resource_id", "ts", "gpu_utils"), on="resource_id", how="inner")
        .filter((pl.col("ts") >= pl.col("start_ts")) & (pl.col("ts") < pl.col("_end")))
        .group_by("job_id", "resource_id")
        .agg(each_gpu_hour("gpu_utils").mean().alias("util"))  # over the GPU-hours it ran
    )
    return rows.join(util, on=["job_id", "resource_id"], how="inner")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Models whose multi-node jobs use each GPU much less than their smaller jobs."""
    cfg = config.distributed_efficiency
    max_ratio = cfg.max_util_ratio
    jobs, metrics = frame(frames, "jobs"), frame(frames, "gpu_metrics")
    if jobs is None or metrics is None:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    per_job = job_utilisation(jobs, metrics, config)
    cur = config.reporting_currency
    rows = []
    for (model,), group in sorted(per_job.group_by("model"), key=lambda kv: str(kv[0][0])):
        fewest = group["nodes"].min()
        multi = group.filter((pl.col("nodes") > fewest) & (pl.col("nodes") > 1))
        base = group.filter(pl.col("nodes") == fewest)
        if multi.height == 0 or base.height == 0:
            continue
        base_util = dec(base["util"].mean(), 2)
        multi_util = dec(multi["util"].mean(), 2)
        if base_util <= 0 or multi_util / base_util >= max_ratio:
            continue
        cost = Decimal(0)
        basis: dict[str, Decimal] = {}
        for j in multi.iter_rows(named=True):
            info = rates.get(j["resource_id"])
            if info is None:
                continue
            job_cost = job_week_cost(j, info)
            cost += job_cost
            basis[j["resource_id"]] = basis.get(j["resource_id"], Decimal(0)) + per_month(job_cost, config)
        if cost == 0:
            continue
        idle_share = Decimal(1) - multi_util / base_util
        savings = per_month(cost * idle_share, config)
        top = multi.sort("nodes", descending=True).row(0, named=True)
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                team=top["team"],
                project=top["project"],
                model=model,
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(money(cost))} {cur}/week x (1 - {num(multi_util)} % / {num(base_util)} %) "
                    f"{per_month_text(config)} = {num(money(savings))}"
                ),
                evidence={
                    "multi_node_jobs": sorted(multi["job_id"].unique().to_list()),
                    "max_nodes": int(multi["nodes"].max()),
                    "baseline_nodes": int(fewest),
                    "multi_node_util_pct": float(multi_util),
                    "baseline_util_pct": float(base_util),
                    "week_multi_node_cost": money(cost),
                },
                evidence_text=(
                    f"{model}: {float(multi_util):.0f} % per GPU on {int(multi['nodes'].max())} nodes vs "
                    f"{float(base_util):.0f} % on {int(fewest)}"
                ),
                confidence="medium",
                confidence_reason="per-GPU utilisation compared across runs that may differ in batch size",
                action=f"Train {model} on fewer nodes (or fix its communication bottleneck) so each GPU stays busy.",
                cost_basis=basis,
                overlap_group=f"training:{top['team']}/{top['project']}/{model}",
            )
        )
    return to_frame(rows, config)
