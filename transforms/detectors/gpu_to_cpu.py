"""Low-traffic small models on GPUs: serve them from CPU instances.

Fires for an endpoint on GPU machines whose 95th-percentile hourly request rate is under
``max_p95_requests_per_s`` (default 1 request/s) and whose model is small: listed in
``small_models`` or averaging at most ``max_tokens_per_request`` (default 512) tokens per request.

    monthly_savings = sum over its GPU machines of (hourly_rate - cpu_price) x 730 h
    cpu_price       = on-demand price of the provider's ``cpu_instance`` (config/prices.csv)

Caveat, stated in the action: CPU inference is slower; check the latency budget first.
Confidence: medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    gpu_machines,
    hours_per_month,
    lookup_price,
    machine_recommendation,
    money,
    num,
    run_machine_rates,
    to_frame,
)
from transforms.detectors.endpoints import run_endpoints

KIND = "gpu_to_cpu"
STRATEGY = "GPU versus CPU"
INPUTS = ("inference_requests", "gpu_metrics", "machines", "prices")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Small, quiet endpoints that do not need a GPU."""
    cfg = config.gpu_to_cpu
    max_rps = cfg.max_p95_requests_per_s
    small = set(cfg.small_models)
    max_tokens = cfg.max_tokens_per_request
    cpu_types = cfg.cpu_instance
    endpoints = run_endpoints(frames)
    if not endpoints:
        return to_frame([])
    rates = run_machine_rates(frames, config)
    month = hours_per_month(config)
    cur = config.reporting_currency
    rows = []
    for e in endpoints:
        if e["p95_rps"] is None or e["p95_rps"] >= max_rps:
            continue
        tokens = e["tokens_per_request"]
        is_small = e["model"] in small or (tokens is not None and tokens <= max_tokens)
        if not is_small:
            continue
        on_gpu = gpu_machines(e["resource_ids"], rates)
        if not on_gpu:
            continue
        provider = rates[on_gpu[0]]["provider"]
        cpu_type = cpu_types.get(provider)
        cpu = lookup_price(
            frames.get("prices"), provider, rates[on_gpu[0]].get("region_id"), cpu_type, "ondemand_hour", config
        )
        if cpu is None:
            continue
        gpu_rate = sum((rates[r]["rate"] for r in on_gpu), Decimal(0))
        cpu_rate = cpu.value * len(on_gpu)
        savings = (gpu_rate - cpu_rate) * month
        rows.append(
            machine_recommendation(
                on_gpu,
                rates,
                config,
                kind=KIND,
                strategy=STRATEGY,
                model=e["model"],
                monthly_savings=savings,
                formula=(
                    f"({num(money(gpu_rate))} - {len(on_gpu)} x {num(cpu.value)}) {cur}/h x {num(month)} h"
                    f" = {num(money(savings))}"
                ),
                evidence={
                    "endpoint": e["endpoint"],
                    "p95_requests_per_s": round(e["p95_rps"], 4),
                    "tokens_per_request": round(tokens, 1) if tokens is not None else None,
                    "requests": e["requests"],
                    "gpu_hourly_rate": money(gpu_rate),
                    "gpu_hourly_rate_sources": {r: rates[r]["rate_source"] for r in on_gpu},
                    "cpu_instance": cpu_type,
                    **cpu.evidence("cpu_price"),
                },
                evidence_text=(
                    f"endpoint {e['endpoint']} ({e['model']}): p95 {e['p95_rps']:.2f} requests/s on "
                    f"{len(on_gpu)} GPU machine(s)"
                ),
                confidence="medium",
                confidence_reason="traffic is low and the model small, but CPU latency is not measured",
                action=(
                    f"Serve {e['model']} from a {cpu_type} CPU instance after checking that the slower CPU "
                    f"latency fits the endpoint's budget."
                ),
            )
        )
    return to_frame(rows, config)
