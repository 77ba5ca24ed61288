"""Unbatched endpoints on idle GPUs: turn on dynamic batching.

Fires for an endpoint whose request-weighted mean batch size is at most ``max_mean_batch_size``
(default 1.5) and whose machines' mean GPU utilisation is under ``max_gpu_util_pct`` (default 30 %).

    monthly_cost    = sum over its machines of hourly_rate x 730 h
    monthly_savings = monthly_cost x (1 - achieved_util / target_util)      (target default 60 %)

Confidence: medium (the reachable utilisation depends on the traffic's latency budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    dec,
    gpu_machines,
    hours_per_month,
    machine_recommendation,
    money,
    num,
    run_machine_rates,
    to_frame,
)
from transforms.detectors.endpoints import run_endpoints

KIND = "batching"
STRATEGY = "batching"
INPUTS = ("inference_requests", "gpu_metrics", "machines", "prices")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Endpoints serving one request at a time on mostly idle GPUs."""
    cfg = config.batching
    max_batch = cfg.max_mean_batch_size
    max_util = cfg.max_gpu_util_pct
    target = cfg.target_util_pct
    endpoints = run_endpoints(frames)
    if not endpoints:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    month = hours_per_month(config)
    cur = config.reporting_currency
    rows = []
    for e in endpoints:
        if e["mean_batch"] is None or e["gpu_util"] is None:
            continue
        if e["mean_batch"] > max_batch or e["gpu_util"] >= max_util:
            continue
        known = gpu_machines(e["resource_ids"], rates)
        if not known:
            continue
        cost = sum((rates[r]["rate"] * month for r in known), Decimal(0))
        achieved = dec(e["gpu_util"], 2)
        savings = cost * (Decimal(1) - achieved / target)
        rows.append(
            machine_recommendation(
                known,
                rates,
                config,
                kind=KIND,
                strategy=STRATEGY,
                model=e["model"],
                monthly_savings=savings,
                formula=(
                    f"{num(money(cost))} {cur}/month x (1 - {num(achieved)} % / {num(target)} %) = {num(money(savings))}"
                ),
                evidence={
                    "endpoint": e["endpoint"],
                    "mean_batch_size": round(e["mean_batch"], 3),
                    "gpu_util_pct": float(achieved),
                    "target_util_pct": float(target),
                    "requests": e["requests"],
                    "p95_requests_per_s": round(e["p95_rps"] or 0.0, 4),
                    "monthly_machine_cost": money(cost),
                    "machines": known,
                    "hourly_rates": {r: float(money(rates[r]["rate"])) for r in known},
                    "hourly_rate_sources": {r: rates[r]["rate_source"] for r in known},
                },
                evidence_text=(
                    f"endpoint {e['endpoint']}: mean batch {e['mean_batch']:.2f}, GPUs {float(achieved):.0f} % busy"
                ),
                confidence="medium",
                confidence_reason="reachable utilisation depends on the endpoint's latency budget",
                action=(f"Enable dynamic batching on endpoint {e['endpoint']} and consolidate it onto fewer GPUs."),
            )
        )
    return to_frame(rows, config)
