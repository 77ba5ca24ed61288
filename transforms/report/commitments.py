"""Commitment discounts: coverage, utilisation and savings realised, per billing currency."""

from __future__ import annotations

import polars as pl

from transforms.report.formatting import ZERO, format_money, format_percent
from transforms.report.spend import money_sum


def commitments(rows: pl.DataFrame) -> list[dict]:
    """Per billing currency: coverage, utilisation and savings realised by commitment discounts."""
    if rows.height == 0:
        return []
    share = pl.when(pl.col("period_s") > 0).then(pl.col("overlap_s")).otherwise(1)
    period = pl.when(pl.col("period_s") > 0).then(pl.col("period_s")).otherwise(1)
    week = rows.with_columns(
        (pl.col("effective_cost").fill_null(ZERO) * share / period).alias("cost"),
        (pl.col("list_cost") * share / period).alias("list"),
        (pl.col("pricing_category") == "Committed").alias("committed"),
        (pl.col("commitment_discount_status").fill_null("") == "Unused").alias("unused"),
        (pl.col("commitment_discount_status").fill_null("") == "Used").alias("used"),
    )
    result = []
    for (cur,), part in week.group_by(["billing_currency"], maintain_order=True):
        eligible = part.filter(pl.col("is_compute") & (pl.col("charge_category") == "Usage") & ~pl.col("unused"))
        covered = money_sum(eligible.filter(pl.col("committed")), "cost")
        eligible_total = money_sum(eligible, "cost")
        used = money_sum(part.filter(pl.col("used")), "cost")
        unused = money_sum(part.filter(pl.col("unused")), "cost")
        committed_usage = part.filter(pl.col("committed") & ~pl.col("unused") & pl.col("list").is_not_null())
        realised = money_sum(committed_usage, "list") - money_sum(committed_usage, "cost")
        if not (covered or used or unused):
            continue
        result.append(
            {
                "currency": cur,
                "coverage": format_percent(covered / eligible_total) if eligible_total else "—",
                "utilisation": format_percent(used / (used + unused)) if (used + unused) else "—",
                "used": format_money(used, cur),
                "unused": format_money(unused, cur),
                "realised": format_money(realised, cur),
            }
        )
    return result
