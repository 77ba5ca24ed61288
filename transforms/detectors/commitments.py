"""Commitments: buy a savings plan / reservation / CUD for the steady on-demand baseline, and
report existing commitments that go unused.

New commitment. Over the lookback (``lookback_weeks``, default 4, ending with the report week) the
on-demand (pricing_category Standard, no commitment) usage of instance types is spread evenly over
the hours each row covers into an hourly spend series s_h per provider and billing currency (hours
without spend count as 0). A commitment of level c (on-demand-equivalent spend per hour) costs
c x (1 - d) every hour and covers min(s_h, c); like the providers' own recommenders, the detector
tries every level c in {s_h} and keeps the one maximising

    net(c)          = sum_h min(s_h, c) - H x c x (1 - d)
    monthly_savings = net(c*) / H x 730 h                    (H = hours in the lookback)

d is the commitment discount: 1 - commit_{term}_hour / ondemand_hour from config/prices.csv per
instance type (``term`` default 1yr), weighted by each type's on-demand spend; types without a
commitment rate use ``default_discount`` (0.28). No positive net: no recommendation.

Existing commitments (rows with a commitment_discount_id): utilisation = used / (used + unused)
effective cost (commitment_discount_status Used / Unused). Below ``min_utilisation`` (0.8):

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
INPUTS = ("commitment_lookback", "prices")
MONEY_HOURLY = pl.Decimal(38, 10)


def lookback_window(config: DetectorConfig) -> tuple:
    """[start, end) of the lookback: whole weeks ending with the report week."""
    weeks = config.commitments.lookback_weeks
    _, end = week_bounds(config)
    return end - timedelta(weeks=weeks), end


def hourly_on_demand(rows: pl.DataFrame, start, end) -> pl.DataFrame:
    """On-demand instance spend spread over its hours: one row per line and hour (provider, billing_currency,
    x_instance_type, region_id, resource_id, hour, cost); the detector only adds them up, by hour, type or
    machine.

    A line covering n hours (at least 1) puts cost / n on each of its hours inside [start, end). Most
    lines are one hour: those take their hour as it is; only the others are exploded into hours (a
    four-week lookback of a 6,000-machine fleet is 4M lines).
    """
    keys = ["provider", "billing_currency", "x_instance_type", "region_id", "resource_id"]
    spans = (
        rows.filter(
            (pl.col("charge_category") == "Usage")
            & (pl.col("pricing_category") == "Standard")
            & pl.col("x_instance_type").is_not_null()
            & pl.col("commitment_discount_id").is_null()
        )
        .select(
            *keys,
            pl.max_horizontal(pl.col("charge_period_start").dt.truncate("1h"), pl.lit(start)).alias("_from"),
            pl.min_horizontal(pl.col("charge_period_end"), pl.lit(end)).alias("_to"),
            (
                pl.col("effective_cost")
                / pl.max_horizontal(
                    ((pl.col("charge_period_end") - pl.col("charge_period_start")).dt.total_seconds() / 3600.0).ceil(),
                    pl.lit(1.0),
                )
                .cast(pl.Int64)
                .cast(MONEY_HOURLY)
            ).alias("cost"),
        )
        .filter(pl.col("_to") > pl.col("_from"))
    )
    one_hour = pl.col("_to") <= pl.col("_from").dt.offset_by("1h")
    return pl.concat(
        [
            spans.filter(one_hour).select(*keys, pl.col("_from").alias("hour"), "cost"),
            spans.filter(~one_hour)
            .with_columns(pl.datetime_ranges("_from", "_to", "1h", closed="left").alias("hour"))
            .explode("hour")
            .select(*keys, "hour", "cost"),
        ]
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


def _discount(group: pl.DataFrame, prices, config, term: str, default: Decimal) -> tuple[Decimal, dict]:
    """Spend-weighted commitment discount of the instance types in the series."""
    weighted, total, used = Decimal(0), Decimal(0), {}
    per_type = (
        group.group_by("provider", "x_instance_type", "region_id").agg(pl.col("cost").sum()).sort("x_instance_type")
    )
    for t in per_type.iter_rows(named=True):
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


def _baseline_basis(group: pl.DataFrame, hours: int, currency: str, config: DetectorConfig) -> dict[str, Decimal]:
    """Per machine: its on-demand spend over the lookback as a month (the cost a commitment prices)."""
    month = hours_per_month(config)
    per_resource = (
        group.with_columns(pl.col("resource_id").fill_null("on-demand:unnamed"))
        .group_by("resource_id")
        .agg(pl.col("cost").sum())
        .sort("resource_id")
    )
    return {
        r["resource_id"]: to_reporting(r["cost"] / Decimal(hours) * month, currency, config)
        for r in per_resource.iter_rows(named=True)
    }


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """A commitment for the steady baseline, and commitments that go unused."""
    cfg = config.commitments
    term = cfg.term
    default = cfg.default_discount
    min_util = cfg.min_utilisation
    rows_in = frame(frames, "commitment_lookback")
    if rows_in is None:
        return to_frame([])
    start, end = lookback_window(config)
    hours = int((end - start).total_seconds() // 3600)
    month = hours_per_month(config)
    cur = config.reporting_currency
    series = hourly_on_demand(rows_in, start, end)
    # in charge order: a commitment's type and name are those of its first line that has one
    committed = rows_in.filter(pl.col("commitment_discount_id").is_not_null()).sort("charge_period_start")
    covered = committed.filter(pl.col("commitment_discount_status") == "Used")
    data_days = rows_in.select(
        (pl.col("charge_period_start").max() - pl.col("charge_period_start").min()).dt.total_days()
    ).item()
    out = []
    for (provider, currency), group in sorted(series.group_by("provider", "billing_currency"), key=lambda kv: kv[0]):
        per_hour = group.group_by("hour").agg(pl.col("cost").sum())["cost"].to_list()
        discount, per_type = _discount(group, frames.get("prices"), config, term, default)
        level, net = best_level(per_hour, hours, discount)
        monthly = to_reporting(net / Decimal(hours) * month, currency, config)
        if monthly is None or net <= 0:
            continue
        on_demand = sum(per_hour, Decimal(0))
        committed_spend = covered.filter((pl.col("provider") == provider) & (pl.col("billing_currency") == currency))[
            "effective_cost"
        ].sum() or Decimal(0)
        coverage = committed_spend / (committed_spend + on_demand) if committed_spend + on_demand else Decimal(0)
        hours_covered = sum(1 for v in per_hour if v >= level)
        short = (data_days or 0) < 14
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
                cost_basis=_baseline_basis(group, hours, currency, config),
                overlap_group=f"commitments:{provider}:{currency}",
            )
        )
    per_commitment = (
        committed.group_by("commitment_discount_id", "provider", "billing_currency")
        .agg(
            pl.col("effective_cost").filter(pl.col("commitment_discount_status") == "Used").sum().alias("used"),
            pl.col("effective_cost").filter(pl.col("commitment_discount_status") == "Unused").sum().alias("unused"),
            pl.col("commitment_discount_type").drop_nulls().first().alias("type"),
            pl.col("commitment_discount_name").drop_nulls().first().alias("name")
            if "commitment_discount_name" in committed.columns
            else pl.lit(None, dtype=pl.String).alias("name"),
        )
        .sort("commitment_discount_id")
    )
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
