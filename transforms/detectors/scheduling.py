"""Development / notebook GPU machines running nights and weekends: put them on a schedule.

A machine is a development machine when a job of a ``dev_job_kinds`` kind (default development)
ran on it this week, or its billing tags match ``dev_tags`` (e.g. purpose=notebook). Its off-hours
are the hours outside ``working_days`` x ``working_hours`` (default Mon-Fri 08:00-20:00 UTC); an
off-hour counts when the machine reported GPU metrics (it was running) with mean utilisation under
``low_util_pct`` (default 10 %). Fires from ``min_off_hours`` (default 20) such hours.

    monthly_savings = off_hours_low_use / 168 h x 730 h x hourly_rate

Confidence: high with a billed rate, else medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig, Scheduling
from transforms.detectors.common import (
    frame,
    hourly_util,
    hours_saving,
    machine_recommendation,
    rate_confidence,
    rate_evidence,
    run_machine_rates,
    run_owners,
    to_frame,
)
from transforms.tags import parse_tags

KIND = "scheduling"
STRATEGY = "dynamic scheduling"
INPUTS = ("gpu_metrics", "jobs", "machines", "prices", "attributed_cost")


def _tagged_dev(tags: str | None, dev_tags: Mapping[str, list[str]]) -> bool:
    """True when the billing tags mark a development machine."""
    lowered = {k.lower(): v.lower() for k, v in parse_tags(tags).items()}
    return any(lowered.get(k.lower()) in {v.lower() for v in values} for k, values in dev_tags.items())


def dev_machines(jobs: pl.DataFrame | None, machines: pl.DataFrame | None, cfg: Scheduling) -> list[str]:
    """Machines used for development this week (by job kind or by tag)."""
    found: set[str] = set()
    if jobs is not None and jobs.height:
        kinds = list(cfg.dev_job_kinds)
        found |= set(jobs.filter(pl.col("kind").is_in(kinds))["resource_id"].drop_nulls().to_list())
    if machines is not None and machines.height:
        dev_tags = cfg.dev_tags
        found |= {r["resource_id"] for r in machines.iter_rows(named=True) if _tagged_dev(r["tags"], dev_tags)}
    return sorted(found)


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Development machines left running and unused outside working hours."""
    cfg = config.scheduling
    days = [int(d) for d in cfg.working_days]
    start_h, end_h = (int(h) for h in cfg.working_hours)
    low = cfg.low_util_pct
    min_off = cfg.min_off_hours
    metrics = frame(frames, "gpu_metrics")
    candidates = dev_machines(frames.get("jobs"), frames.get("machines"), cfg)
    if metrics is None or not candidates:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    who = run_owners(frames)
    weekday = pl.col("hour").dt.weekday() - 1  # polars: Monday = 1
    working = weekday.is_in(days) & (pl.col("hour").dt.hour() >= start_h) & (pl.col("hour").dt.hour() < end_h)
    per_machine = (
        hourly_util(metrics.filter(pl.col("resource_id").is_in(candidates)))
        .with_columns(working.alias("working"))
        .group_by("resource_id")
        .agg(
            (~pl.col("working") & (pl.col("util_mean") < low)).sum().alias("off_low"),
            (~pl.col("working")).sum().alias("off_running"),
            pl.col("util_mean").filter(~pl.col("working")).mean().alias("off_util"),
            pl.len().alias("running_hours"),
        )
        .sort("resource_id")
    )
    rows = []
    for m in per_machine.iter_rows(named=True):
        info = rates.get(m["resource_id"])
        if info is None or m["off_low"] < min_off:
            continue
        savings, formula = hours_saving(Decimal(m["off_low"]), "off-hours", info["rate"], config)
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
                    "off_hours_low_use": m["off_low"],
                    "off_hours_running": m["off_running"],
                    "running_hours": m["running_hours"],
                    "off_hours_mean_util_pct": round(m["off_util"] or 0.0, 2),
                    "working_days": days,
                    "working_hours_utc": [start_h, end_h],
                    **rate_evidence(info),
                },
                evidence_text=(
                    f"development machine running {m['off_low']} h outside working hours under {low:g} % GPU use"
                ),
                **rate_confidence(info["rate_source"] == "bill", "billed hourly rate", "list price, no billed rate"),
                action=(
                    f"Stop {m['resource_id']} outside working hours "
                    f"(Mon-Fri {start_h:02d}:00-{end_h:02d}:00 UTC) with an automatic schedule."
                ),
            )
        )
    return to_frame(rows, config)
