"""Long on-demand training jobs: run them on spot capacity with checkpointing.

Candidates: training jobs whose whole run (start to end, or to the week's end while running) lasts
at least ``min_job_hours`` (default 24 h), on on-demand capacity (the job's pricing_model is
on_demand, or unknown on a machine the bill prices as Standard). A job too short never fires.
Grouped per team / project / model so the id is stable from week to week.

    job_week_cost   = hours of the job inside the week x hourly_rate x job GPUs / machine GPUs
    spot_discount   = 1 - spot_price / on-demand price       (config/prices.csv, per instance type)
    monthly_savings = sum(job_week_cost x spot_discount) / 168 h x 730 h x (1 - interruption_overhead)

``interruption_overhead`` defaults to 0.1. Confidence: medium (spot prices are snapshots and
capacity varies by region).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    dec,
    frame,
    hours_in_week,
    job_week_cost,
    lookup_price,
    money,
    num,
    per_month,
    per_month_text,
    recommendation,
    run_machine_rates,
    to_frame,
    week_bounds,
)

KIND = "spot"
STRATEGY = "reserved / spot / on-demand"
INPUTS = ("jobs", "machines", "prices")


def long_on_demand_jobs(jobs: pl.DataFrame, config: DetectorConfig, min_hours: float) -> pl.DataFrame:
    """Training job rows lasting at least ``min_hours``, with their hours inside the week."""
    begin, end = week_bounds(config)
    return (
        jobs.filter((pl.col("kind") == "training") & pl.col("start_ts").is_not_null())
        .with_columns(pl.col("end_ts").fill_null(pl.lit(end)).alias("_end"))
        .with_columns(
            ((pl.col("_end") - pl.col("start_ts")).dt.total_seconds() / 3600.0).alias("job_hours"),
            hours_in_week(begin, end).alias("week_hours"),
        )
        .filter((pl.col("job_hours") >= min_hours) & (pl.col("week_hours") > 0))
        .filter(pl.col("pricing_model").is_null() | (pl.col("pricing_model") == "on_demand"))
    )


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Long on-demand training that could run on spot."""
    cfg = config.spot
    min_hours = cfg.min_job_hours
    overhead = cfg.interruption_overhead
    jobs = frame(frames, "jobs")
    if jobs is None:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    prices = frames.get("prices")
    groups: dict[tuple, dict] = {}
    for j in long_on_demand_jobs(jobs, config, min_hours).sort("job_id", "resource_id").iter_rows(named=True):
        info = rates.get(j["resource_id"])
        if info is None or (j["pricing_model"] is None and info.get("pricing_category") not in ("Standard", None)):
            continue
        od = lookup_price(
            prices, info["provider"], info.get("region_id"), info.get("instance_type"), "ondemand_hour", config
        )
        sp = lookup_price(
            prices, info["provider"], info.get("region_id"), info.get("instance_type"), "spot_hour", config
        )
        if od is None or sp is None or od.value <= 0:
            continue
        cost = job_week_cost(j, info)
        discount = Decimal(1) - sp.value / od.value
        key = (j["team"], j["project"], j["model"])
        g = groups.setdefault(
            key,
            {
                "cost": Decimal(0),
                "saving": Decimal(0),
                "jobs": set(),
                "hours": Decimal(0),
                "discounts": {},
                "longest": 0.0,
                "basis": {},
            },
        )
        g["cost"] += cost
        g["basis"][j["resource_id"]] = g["basis"].get(j["resource_id"], Decimal(0)) + per_month(cost, config)
        g["saving"] += cost * discount
        g["jobs"].add(j["job_id"])
        g["hours"] += dec(j["week_hours"], 4)
        g["longest"] = max(g["longest"], j["job_hours"])
        g["discounts"][info["instance_type"]] = {
            "spot_discount": float(discount.quantize(Decimal("0.0001"))),
            **od.evidence("ondemand_price"),
            **sp.evidence("spot_price"),
        }
    cur = config.reporting_currency
    rows = []
    for (team, project, model), g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        savings = per_month(g["saving"], config) * (Decimal(1) - overhead)
        mean_discount = g["saving"] / g["cost"] if g["cost"] else Decimal(0)
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                team=team,
                project=project,
                model=model,
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(money(g['cost']))} {cur}/week x {num(mean_discount.quantize(Decimal('0.0001')))} spot discount"
                    f" {per_month_text(config)} x (1 - {num(overhead)}) = {num(money(savings))}"
                ),
                evidence={
                    "jobs": len(g["jobs"]),
                    "job_ids": sorted(g["jobs"]),
                    "machine_hours_in_week": g["hours"],
                    "longest_job_hours": round(g["longest"], 1),
                    "week_on_demand_cost": money(g["cost"]),
                    "interruption_overhead": float(overhead),
                    "prices": g["discounts"],
                },
                evidence_text=(
                    f"{len(g['jobs'])} on-demand training job(s) of {g['longest']:.0f} h or more, "
                    f"{num(money(g['cost']))} {cur} this week"
                ),
                confidence="medium",
                confidence_reason="spot prices are snapshots and spot capacity varies",
                action=f"Run {model or team}'s long training jobs on spot instances with checkpointing and automatic restart.",
                cost_basis=g["basis"],
                overlap_group=f"training:{team}/{project}/{model}",
            )
        )
    return to_frame(rows, config)
