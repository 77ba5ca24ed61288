"""Under-used GPUs: fewer or smaller GPUs, or share them (MIG / time-slicing).

Fires when the 95th percentile of per-GPU utilisation over the week is under ``p95_below_pct``
(default 40 %) on a machine seen for at least ``min_observed_hours`` (default 24 h).

    gpus_needed = max(1, ceil(gpus x p95 / target_util_pct))          (target default 80 %)
    with a smaller instance of the same family holding >= gpus_needed GPUs in config/prices.csv:
        monthly_savings = 730 h x (hourly_rate - smaller_list_price x hourly_rate / list_price)
        (the smaller size keeps the discount the bill shows on the current one)
    otherwise (no smaller size, e.g. p5.48xlarge -> 3 GPUs):
        monthly_savings = (1 - gpus_needed / gpus) x 730 h x hourly_rate

Confidence: medium (utilisation peaks may need the headroom); low when the machine was seen for
less than half the week.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    ceil_int,
    dec,
    each_gpu_hour,
    frame,
    hours_per_month,
    lookup_price,
    machine_hours,
    machine_recommendation,
    money,
    num,
    rate_evidence,
    run_machine_rates,
    run_owners,
    to_frame,
)

KIND = "underused_gpu"
STRATEGY = "shared resources"
INPUTS = ("gpu_metrics", "machines", "prices", "attributed_cost", "jobs", "instances")


def _family(instance_type: str) -> str:
    """The family part of an instance type (p5 of p5.48xlarge, a3-highgpu of a3-highgpu-8g)."""
    if "." in instance_type:
        return instance_type.split(".")[0]
    return instance_type.rsplit("-", 1)[0]


def smaller_sizes(instances: pl.DataFrame | None, provider: str, instance_type: str, gpus: int) -> pl.DataFrame:
    """Instance types of the same family with fewer GPUs, smallest first."""
    if instances is None or not instance_type:
        return pl.DataFrame(schema={"instance_type": pl.String, "gpu_count": pl.Float64})
    family = _family(instance_type)
    return (
        instances.filter(
            (pl.col("provider") == provider)
            & (pl.col("instance_type") != instance_type)
            & (pl.col("gpu_count").cast(pl.Float64) >= 1)
            & (pl.col("gpu_count").cast(pl.Float64) < gpus)
        )
        .filter(pl.col("instance_type").map_elements(_family, return_dtype=pl.String) == family)
        .select("instance_type", pl.col("gpu_count").cast(pl.Float64))
        .sort("gpu_count", "instance_type")
    )


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Machines whose GPUs mostly idle below the target."""
    cfg = config.underused_gpu
    p95_limit = cfg.p95_below_pct
    target = cfg.target_util_pct
    min_hours = cfg.min_observed_hours
    metrics = frame(frames, "gpu_metrics")
    if metrics is None:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    who = run_owners(frames)
    per_machine = (  # over the week's GPU-hours: each GPU's mean utilisation in each hour
        machine_hours(metrics)
        .filter(pl.col("gpu_utils").list.len() > 0)
        .group_by("resource_id")
        .agg(
            each_gpu_hour("gpu_utils").quantile(0.95, interpolation="linear").alias("p95"),
            each_gpu_hour("gpu_utils").mean().alias("mean"),
            each_gpu_hour("gpu_indexes").n_unique().alias("gpus_seen"),
            pl.len().alias("observed_hours"),
        )
        .sort("resource_id")
    )
    month = hours_per_month(config)
    rows = []
    for m in per_machine.iter_rows(named=True):
        info = rates.get(m["resource_id"])
        if info is None or m["p95"] >= p95_limit or m["observed_hours"] < min_hours:
            continue
        gpus = int(info.get("gpu_count") or m["gpus_seen"])
        if gpus < 1:
            continue
        p95 = dec(m["p95"], 2)
        needed = max(1, ceil_int(Decimal(gpus) * p95 / target))
        if needed >= gpus:
            continue
        rate = info["rate"]
        cur = config.reporting_currency
        smaller = smaller_sizes(frames.get("instances"), info["provider"], info.get("instance_type"), gpus)
        smaller = smaller.filter(pl.col("gpu_count") >= needed)
        target_price = None
        if smaller.height:
            candidate = smaller.row(0, named=True)["instance_type"]
            target_price = lookup_price(
                frames.get("prices"), info["provider"], info.get("region_id"), candidate, "ondemand_hour", config
            )
        evidence = {
            "p95_util_pct": float(p95),
            "mean_util_pct": round(m["mean"], 2),
            "gpus": gpus,
            "gpus_needed": needed,
            "target_util_pct": float(target),
            "observed_hours": m["observed_hours"],
            **rate_evidence(info),
        }
        listed = info.get("list_rate")
        if target_price is not None and listed is not None and listed.value > 0:
            ratio = rate / listed.value
            new_rate = target_price.value * ratio
            savings = month * (rate - new_rate)
            formula = (
                f"{num(month)} h x ({num(money(rate))} - {num(target_price.value)} x {num(money(rate))} / "
                f"{num(listed.value)}) {cur}/h = {num(money(savings))}"
            )
            action = f"Move {m['resource_id']} from {info['instance_type']} to {candidate} ({needed} GPU)."
            evidence.update(
                smaller_instance=candidate,
                **target_price.evidence("smaller_list_price"),
                **listed.evidence("current_list_price"),
            )
        else:
            savings = (Decimal(1) - Decimal(needed) / Decimal(gpus)) * month * rate
            formula = (
                f"(1 - {needed} / {gpus} GPUs) x {num(month)} h x {num(money(rate))} {cur}/h = {num(money(savings))}"
            )
            action = (
                f"Run {m['resource_id']}'s work on {needed} of its {gpus} GPUs and share the rest "
                f"(MIG / time-slicing) or release them."
            )
        short = m["observed_hours"] < 84
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
                evidence=evidence,
                evidence_text=f"p95 GPU utilisation {float(p95):.0f} % on {gpus} GPUs; {needed} would do at {float(target):.0f} %",
                confidence="low" if short else "medium",
                confidence_reason=(
                    "metrics for less than half the week"
                    if short
                    else "p95 over a full week; peaks outside the week may need the headroom"
                ),
                action=action,
            )
        )
    return to_frame(rows, config)
