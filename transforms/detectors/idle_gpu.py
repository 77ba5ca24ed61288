"""Idle GPU machines: power down or schedule off.

A machine-hour is idle when every GPU of the machine stays under ``idle_util_pct`` (default 5 %)
for the whole hour (hourly max of the GPU metrics). The detector fires when idle hours reach
``min_idle_share`` (default 50 %) of the week's 168 hours.

    monthly_savings = idle_hours / 168 h x 730 h x hourly_rate

``hourly_rate`` is the bill's own rate for the machine (effective cost / billed hours this week)
where the bill shows it, else the on-demand list price (config/prices.csv).
Confidence: high with a billed rate and metrics for at least 90 % of the week, else medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    HOURS_PER_WEEK,
    frame,
    hourly_util,
    hours_saving,
    machine_recommendation,
    rate_evidence,
    run_machine_rates,
    run_owners,
    to_frame,
)

KIND = "idle_gpu"
STRATEGY = "power-down of idle hardware"
INPUTS = ("gpu_metrics", "machines", "prices", "attributed_cost", "jobs")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Machines idle for most of the week."""
    cfg = config.idle_gpu
    threshold = cfg.idle_util_pct
    min_share = cfg.min_idle_share
    metrics = frame(frames, "gpu_metrics")
    if metrics is None:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    who = run_owners(frames)
    per_machine = (
        hourly_util(metrics)
        .group_by("resource_id")
        .agg(
            pl.len().alias("observed_hours"),
            (pl.col("util_max") < threshold).sum().alias("idle_hours"),
            pl.col("util_max").quantile(0.95).alias("p95_util"),
            pl.col("util_mean").mean().alias("mean_util"),
        )
        .sort("resource_id")
    )
    rows = []
    for m in per_machine.iter_rows(named=True):
        idle = Decimal(m["idle_hours"])
        if idle / HOURS_PER_WEEK < min_share or m["resource_id"] not in rates:
            continue
        info = rates[m["resource_id"]]
        savings, formula = hours_saving(idle, "idle h", info["rate"], config)
        high = info["rate_source"] == "bill" and m["observed_hours"] >= 0.9 * 168
        rows.append(
            machine_recommendation(
                [m["resource_id"]],
                rates,
                config,
                who.get(m["resource_id"]),
                kind=KIND,
                strategy=STRATEGY,
                monthly_savings=savings,
                formula=formula,
                evidence={
                    "idle_hours": m["idle_hours"],
                    "observed_hours": m["observed_hours"],
                    "week_hours": 168,
                    "idle_threshold_pct": threshold,
                    "p95_util_pct": round(m["p95_util"], 2),
                    "mean_util_pct": round(m["mean_util"], 2),
                    **rate_evidence(info),
                },
                evidence_text=(
                    f"every GPU under {threshold:g} % busy for {m['idle_hours']} of 168 h (p95 {m['p95_util']:.0f} %)"
                ),
                confidence="high" if high else "medium",
                confidence_reason=(
                    "billed hourly rate and GPU metrics for most of the week"
                    if high
                    else "list price or partial GPU metrics"
                ),
                action=f"Power down {m['resource_id']} or schedule it off while it sits idle.",
            )
        )
    return to_frame(rows, config)
