"""Commitments: buy a savings plan / reservation / CUD for the steady on-demand baseline, and
report existing commitments that go unused.

New commitment. Over the lookback (``lookback_weeks``, default 4, ending with the report week) the
on-demand (pricing_category Standard, no commitment) usage of instance types is spread evenly over
the clock hours each line touches (from the hour it starts in to its end; a line without an end is a
moment in its hour) into an hourly spend series s_h per provider and billing currency (hours without
spend count as 0). The lines are added up in DuckDB (``sql/recommend_on_demand_spend.sql``: by hour,
by instance type and by machine) and each line's cost is divided by its hours here, in decimals.
A commitment of level c (on-demand-equivalent spend per hour) costs c x (1 - d) every hour and
covers min(s_h, c); like the providers' own recommenders, the detector tries every level c in
{s_h} and keeps the one maximising

    net(c)          = sum_h min(s_h, c) - H x c x (1 - d)
    monthly_savings = net(c*) / H x 730 h                    (H = hours in the lookback)

d is the commitment discount: 1 - commit_{term}_hour / ondemand_hour from config/prices.csv per
instance type (``term`` default 1yr), weighted by each type's on-demand spend; types without a
commitment rate use ``default_discount`` (0.28). No positive net: no recommendation.

Existing commitments (rows with a commitment_discount_id, added up per commitment by
``sql/recommend_commitment_use.sql``): utilisation = used / (used + unused) effective cost
(commitment_discount_status Used / Unused). Below ``min_utilisation`` (0.8):

    monthly_savings = unused effective cost over the lookback / H x 730 h

Evidence reports coverage (committed / (committed + on-demand) spend) and utilisation.
Confidence: high for unused commitments (billed facts); medium for a new commitment (the future
baseline may change), low when fewer than two weeks of data exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    frame,
    hours_per_month,
    lookup_price,
    money,
    num,
    recommendation,
    to_frame,
    to_reporting,
    week_bounds,
)

KIND = "commitments"
STRATEGY = "reserved / spot / on-demand"
INPUTS = ("on_demand_spend", "commitment_use", "prices")
MONEY_HOURLY = pl.Decimal(38, 10)


def lookback_window(config: DetectorConfig) -> tuple:
    """[start, end) of the lookback: whole weeks ending with the report week."""
    weeks = config.commitments.lookback_weeks
    _, end = week_bounds(config)
    return end - timedelta(weeks=weeks), end


def spread(spend: pl.DataFrame, grain: str, keys: list[str]) -> pl.DataFrame:
    """On-demand spend of one grain of ``sql/recommend_on_demand_spend.sql`` (``hour``, ``type`` or
    ``resource``), each line's cost divided by its hours: ``keys`` and ``cost``.

    The SQL sums the lines' undivided costs per slot count; dividing each sum by its slots here, in
    exact decimals, is the same as spreading every line over its hours and adding them up.
    """
    return (
        spend.filter(pl.col("grain") == grain)
        .group_by(keys)
        .agg((pl.col("cost") / pl.col("slots").cast(MONEY_HOURLY)).sum().alias("cost"))
        .sort(keys, nulls_last=True)
    )


def best_level(series: list[Decimal], hours: int, discount: Decimal) -> tuple[Decimal, Decimal]:
    """The commitment level (on-demand-equivalent per hour) maximising net savings, and that net."""
    values = [Decimal(0)] * (hours - len(series)) + sorted(series)
    best_c, best_net, prefix = Decimal(0), Decimal(0), Decimal(0)
    previous = None
    for k, c in enumerate(values):
        if c != previous and c > 0:
            net = prefix + Decimal(hours - k) * c - Decimal(hours) * c * (Decimal(1) - discount)
            if net > best_net:
                best_c, best_net = c, net
        prefix += c
        previous = c
    return best_c, best_net


def _discount(per_type: pl.DataFrame, prices, config, term: str, default: Decimal) -> tuple[Decimal, dict]:
    """Spend-weighted commitment discount of the instance types in the series (one row per type and region)."""
    weighted, total, used = Decimal(0), Decimal(0), {}
    for t in per_type.sort("x_instance_type", "region_id", nulls_last=True).iter_rows(named=True):
        od = lookup_price(prices, t["provider"], t["region_id"], t["x_instance_type"], "ondemand_hour", config)
        cm = lookup_price(prices, t["provider"], t["region_id"], t["x_instance_type"], f"commit_{term}_hour", config)
        d = Decimal(1) - cm.value / od.value if od is not None and cm is not None and od.value > 0 else default
        used[t["x_instance_type"]] = {
            "discount": float(d.quantize(Decimal("0.0001"))),
            **(cm.evidence("commit_price") if cm else {"commit_price_source": "default_discount"}),
            **(od.evidence("ondemand_price") if od else {}),
        }
        weighted += t["cost"] * d
        total += t["cost"]
    return (weighted / total if total else default), used


def _baseline_basis(
    per_resource: pl.DataFrame, hours: int, currency: str, config: DetectorConfig
) -> dict[str, Decimal]:
    """Per machine: its on-demand spend over the lookback as a month (the cost a commitment prices)."""
    month = hours_per_month(config)
    per_resource = (
        per_resource.with_columns(pl.col("resource_id").fill_null("on-demand:unnamed"))
        .group_by("resource_id")
        .agg(pl.col("cost").sum())
        .sort("resource_id")
    )
    return {
        r["resource_id"]: to_reporting(r["cost"] / Decimal(hours) * month, currency, config)
        for r in per_resource.iter_rows(named=True)
    }


def _data_days(*frames: pl.DataFrame | None) -> int:
    """Whole days between the first and the last charge start the lookback holds (0 without any)."""
    spans = [f.select("first_charge", "last_charge") for f in frames if f is not None and f.height]
    if not spans:
        return 0
    both = pl.concat(spans)
    return both.select((pl.col("last_charge").max() - pl.col("first_charge").min()).dt.total_days()).item() or 0


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """A commitment for the steady baseline, and commitments that go unused."""
    cfg = config.commitments
    term = cfg.term
    default = cfg.default_discount
    min_util = cfg.min_utilisation
    spend = frame(frames, "on_demand_spend")
    use = frame(frames, "commitment_use")
    if spend is None and use is None:
        return to_frame([])
    start, end = lookback_window(config)
    hours = int((end - start).total_seconds() // 3600)
    month = hours_per_month(config)
    cur = config.reporting_currency
    short = _data_days(spend, use) < 14
    out = []
    groups = ["provider", "billing_currency"]
    pairs = []
    if spend is not None:
        per_hour_all = spread(spend, "hour", [*groups, "hour"])
        per_type_all = spread(spend, "type", [*groups, "x_instance_type", "region_id"])
        per_resource_all = spread(spend, "resource", [*groups, "resource_id"])
        pairs = sorted(per_hour_all.select(groups).unique().iter_rows())
    for provider, currency in pairs:
        mine = (pl.col("provider") == provider) & (pl.col("billing_currency") == currency)
        per_hour = per_hour_all.filter(mine)["cost"].to_list()
        discount, per_type = _discount(per_type_all.filter(mine), frames.get("prices"), config, term, default)
        level, net = best_level(per_hour, hours, discount)
        monthly = to_reporting(net / Decimal(hours) * month, currency, config)
        if monthly is None or net <= 0:
            continue
        on_demand = sum(per_hour, Decimal(0))
        committed_spend = (use.filter(mine)["used"].sum() if use is not None else None) or Decimal(0)
        coverage = committed_spend / (committed_spend + on_demand) if committed_spend + on_demand else Decimal(0)
        hours_covered = sum(1 for v in per_hour if v >= level)
        out.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                resource_id=f"commitment-baseline:{provider}:{currency}",
                monthly_savings=monthly,
                config=config,
                formula=(
                    f"(sum_h min(s_h, {num(money(level))}) - {hours} h x {num(money(level))} x (1 - "
                    f"{num(discount.quantize(Decimal('0.0001')))})) = {num(money(net))} {currency} over {hours} h; "
                    f"/ {hours} h x {num(month)} h = {num(money(monthly))} {cur}"
                ),
                evidence={
                    "provider": provider,
                    "billing_currency": currency,
                    "lookback_hours": hours,
                    "commit_level_per_hour": money(level),
                    "commit_cost_per_hour": money(level * (Decimal(1) - discount)),
                    "discount": float(discount.quantize(Decimal("0.0001"))),
                    "term": term,
                    "on_demand_spend": money(on_demand),
                    "hours_at_or_above_level": hours_covered,
                    "coverage_now": float(coverage.quantize(Decimal("0.0001"))),
                    "instance_types": per_type,
                },
                evidence_text=(
                    f"on-demand {provider} compute of at least {num(money(level))} {currency}/h in {hours_covered} of "
                    f"{hours} h; {float(coverage):.0%} covered by commitments now"
                ),
                confidence="low" if short else "medium",
                confidence_reason=(
                    "less than two weeks of billing"
                    if short
                    else "steady over the lookback; the future baseline may change"
                ),
                action=(
                    f"Buy a {term} {provider} commitment worth {num(money(level * (Decimal(1) - discount)))} "
                    f"{currency}/h (covering {num(money(level))} {currency}/h of on-demand usage)."
                ),
                cost_basis=_baseline_basis(per_resource_all.filter(mine), hours, currency, config),
                overlap_group=f"commitments:{provider}:{currency}",
            )
        )
    per_commitment = use.sort("commitment_discount_id") if use is not None else pl.DataFrame()
    for c in per_commitment.iter_rows(named=True):
        used, unused = c["used"] or Decimal(0), c["unused"] or Decimal(0)
        if used + unused <= 0 or unused <= 0:
            continue
        utilisation = used / (used + unused)
        if utilisation >= min_util:
            continue
        monthly = to_reporting(unused / Decimal(hours) * month, c["billing_currency"], config)
        if monthly is None:
            continue
        out.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                resource_id=c["commitment_discount_id"],
                monthly_savings=monthly,
                config=config,
                formula=(
                    f"{num(money(unused))} {c['billing_currency']} unused over {hours} h / {hours} h x {num(month)} h"
                    f" = {num(money(monthly))} {cur}"
                ),
                evidence={
                    "commitment": c["commitment_discount_id"],
                    "type": c["type"],
                    "used": money(used),
                    "unused": money(unused),
                    "utilisation": float(utilisation.quantize(Decimal("0.0001"))),
                    "lookback_hours": hours,
                    "min_utilisation": float(min_util),
                },
                evidence_text=f"{c['type'] or 'commitment'} used {float(utilisation):.0%}: {num(money(unused))} {c['billing_currency']} unused over the lookback",
                confidence="high",
                confidence_reason="used and unused amounts are billed facts",
                action=(
                    f"Move matching workloads onto {c['name'] or c['commitment_discount_id']} or reduce / do not renew it."
                ),
                cost_basis={
                    c["commitment_discount_id"]: to_reporting(
                        (used + unused) / Decimal(hours) * month, c["billing_currency"], config
                    )
                },
                overlap_group=f"commitment:{c['commitment_discount_id']}",
            )
        )
    return to_frame(out, config)
