"""Network: cache repeated internet egress behind a CDN; co-locate data and compute across regions.

CDN: internet egress (destination ``internet``) of the same ``content_key`` transferred at least
``min_transfers_per_week`` times (default 10) this week.

    monthly_savings = GB / 168 h x 730 h x (egress_price - cdn_price)

``egress_price`` is the bill's own internet-egress rate (effective cost / GB of the provider's
internet_out rows this week, from the source region where the bill has rows there, else from all
its regions; ``sql/recommend_transfer_rates.sql``) where the bill shows it, else the list price; ``cdn_price`` is the
provider's CDN egress list price (config/prices.csv). No CDN price: no recommendation.

Cross-region: transfers whose destination region differs from the source region, per region pair,
from ``min_cross_region_gb`` (default 100 GB) a week.

    monthly_savings = GB / 168 h x 730 h x inter_region_price

``inter_region_price`` is the bill's own rate the same way (its inter_region rows: AWS
``…-AWS-Out-Bytes`` / "data transfer to <region>", Azure Bandwidth Inter-Region meters, GCP "Inter
Region Data Transfer Out" SKUs), in the reporting currency; the list price
(``inter_region_gb`` in config/prices.csv) only where the bill has no such rows. The evidence's
``inter_region_price_source`` says which (``bill`` or the price table's source) and
``inter_region_price_region`` whose rate it is.

Sizes are decimal GB (10^9 bytes, as transfer is billed). Providers are inferred from the source
machine in the bill, else from the region name. Confidence: high with a billed rate, else medium.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    Price,
    frame,
    lookup_price,
    money,
    num,
    per_month,
    per_month_text,
    rate_confidence,
    recommendation,
    to_frame,
    to_reporting,
)

KIND = "network"
STRATEGY = "egress caching"
INPUTS = ("network_flows", "machines", "prices", "transfer_rates")
BYTES_PER_GB = Decimal(10**9)


def provider_of_region(region: str | None) -> str | None:
    """aws / gcp / azure from a region name's shape (us-east-1 / us-central1 / westeurope)."""
    if not region:
        return None
    if re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", region):
        return "aws"
    if re.fullmatch(r"[a-z]+-[a-z]+\d+", region):
        return "gcp"
    if re.fullmatch(r"[a-z]+", region):
        return "azure"
    return None


def billed_rate(
    frames: Mapping, provider: str | None, direction: str, config: DetectorConfig, region: str | None = None
) -> Price | None:
    """The bill's own per-GB rate for this transfer direction (``transfer_rates`` frame).

    Effective cost over decimal GB of the provider's rows billed from ``region`` (every currency
    converted to the reporting one; a currency without a rate is left out), else of all its regions;
    None when the bill has no such rows, and the caller takes the list price.
    """
    rates = frames.get("transfer_rates")
    if rates is None or rates.height == 0 or provider is None:
        return None
    rows = rates.filter((pl.col("provider") == provider) & (pl.col("direction") == direction) & (pl.col("gb") > 0))
    scopes = []
    if region and "region_id" in rows.columns:
        scopes.append((rows.filter(pl.col("region_id") == region), region, True))
    scopes.append((rows, "all regions", False))
    for scoped, where, exact in scopes:
        total = Decimal(0)
        quantity = Decimal(0)
        for r in scoped.iter_rows(named=True):
            cost = to_reporting(r["effective_cost"], r["billing_currency"], config)
            if cost is None:
                continue
            total += cost
            quantity += Decimal(r["gb"])
        if quantity > 0 and total > 0:
            return Price(total / quantity, "bill", str(config.week_start), where, exact)
    return None


def _providers(frames: Mapping) -> dict[str, str]:
    machines = frames.get("machines")
    if machines is None:
        return {}
    return {r["resource_id"]: r["provider"] for r in machines.iter_rows(named=True)}


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Repeated downloads to cache, and transfers to co-locate."""
    cfg = config.network
    min_transfers = cfg.min_transfers_per_week
    min_cross_gb = cfg.min_cross_region_gb
    flows = frame(frames, "network_flows")
    if flows is None:
        return to_frame([])
    owners = _providers(frames)
    prices = frames.get("prices")
    cur = config.reporting_currency
    rows = []
    repeated = (
        flows.filter((pl.col("destination") == "internet") & pl.col("content_key").is_not_null())
        .group_by("content_key")
        .agg(
            pl.len().alias("transfers"),
            pl.col("bytes").sum().alias("bytes"),
            pl.col("source_region").drop_nulls().mode().sort().first().alias("region"),
            pl.col("source_resource_id").drop_nulls().sort().first().alias("source"),
        )
        .filter(pl.col("transfers") >= min_transfers)
        .sort("content_key")
    )
    for r in repeated.iter_rows(named=True):
        provider = owners.get(r["source"]) or provider_of_region(r["region"])
        egress = billed_rate(frames, provider, "internet_out", config, r["region"]) or lookup_price(
            prices, provider, r["region"], "internet", "egress_gb", config
        )
        cdn = lookup_price(
            prices, provider, r["region"], "cloudfront" if provider == "aws" else "cdn", "cdn_egress_gb", config
        )
        if egress is None or cdn is None or egress.value <= cdn.value:
            continue
        size = Decimal(r["bytes"]) / BYTES_PER_GB
        savings = per_month(size, config) * (egress.value - cdn.value)
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                resource_id=r["content_key"],
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(size.quantize(Decimal('0.01')))} GB {per_month_text(config)} x "
                    f"({num(egress.value.quantize(Decimal('0.000001')))} - {num(cdn.value)}) {cur}/GB = {num(money(savings))}"
                ),
                evidence={
                    "content_key": r["content_key"],
                    "transfers": r["transfers"],
                    "gb_week": size.quantize(Decimal("0.001")),
                    "source_region": r["region"],
                    **egress.evidence("egress_price"),
                    **cdn.evidence("cdn_price"),
                },
                evidence_text=f"{r['content_key']} sent to the internet {r['transfers']} times ({num(size.quantize(Decimal('0.1')))} GB) this week",
                **rate_confidence(egress.source_id == "bill", "billed egress rate", "list egress price"),
                action=f"Serve {r['content_key']} through a CDN / cache instead of repeated direct internet egress.",
                cost_basis={f"egress:{r['content_key']}": per_month(size, config) * egress.value},
                overlap_group=f"egress:{r['content_key']}",
            )
        )
    cross = (
        flows.filter(
            pl.col("destination_region").is_not_null()
            & pl.col("source_region").is_not_null()
            & (pl.col("destination_region") != pl.col("source_region"))
        )
        .group_by("source_region", "destination_region")
        .agg(
            pl.len().alias("transfers"),
            pl.col("bytes").sum().alias("bytes"),
            pl.col("source_resource_id").drop_nulls().sort().first().alias("source"),
        )
        .sort("source_region", "destination_region")
    )
    for r in cross.iter_rows(named=True):
        size = Decimal(r["bytes"]) / BYTES_PER_GB
        if size < min_cross_gb:
            continue
        provider = owners.get(r["source"]) or provider_of_region(r["source_region"])
        price = billed_rate(frames, provider, "inter_region", config, r["source_region"]) or lookup_price(
            prices, provider, r["source_region"], "inter_region", "inter_region_gb", config
        )
        if price is None:
            continue
        savings = per_month(size, config) * price.value
        pair = f"{r['source_region']}->{r['destination_region']}"
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                resource_id=pair,
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(size.quantize(Decimal('0.01')))} GB {per_month_text(config)} x "
                    f"{num(price.value.quantize(Decimal('0.000001')))} {cur}/GB = {num(money(savings))}"
                ),
                evidence={
                    "source_region": r["source_region"],
                    "destination_region": r["destination_region"],
                    "transfers": r["transfers"],
                    "gb_week": size.quantize(Decimal("0.001")),
                    **price.evidence("inter_region_price"),
                },
                evidence_text=f"{num(size.quantize(Decimal('0.1')))} GB moved {pair} this week",
                **rate_confidence(price.source_id == "bill", "billed transfer rate", "list transfer price"),
                action=f"Co-locate the data and the compute of {pair} in one region (or replicate the data once).",
                cost_basis={f"transfer:{pair}": savings},
                overlap_group=f"transfer:{pair}",
            )
        )
    return to_frame(rows, config)
