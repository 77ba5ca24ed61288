"""Model compression for the models with the largest inference spend (an estimate).

Takes the week's attributed inference cost per model (reporting currency), projects it to a month
and keeps the ``top_n`` models (default 3) spending at least ``min_monthly_spend`` (default 1,000).

    monthly_inference_cost = week_inference_cost / 168 h x 730 h
    monthly_savings        = monthly_inference_cost x assumed_compute_reduction   (default 0.4)

Confidence: always low: the reduction is an assumed factor, not a measurement; the evidence says so.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    frame,
    money,
    num,
    per_month,
    per_month_text,
    recommendation,
    to_frame,
)

KIND = "compression"
STRATEGY = "compression"
INPUTS = ("attributed_cost",)
UNKNOWN = ("unattributed", "")


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """The biggest inference spenders, with an assumed compression saving."""
    cfg = config.compression
    top_n = cfg.top_n
    min_spend = cfg.min_monthly_spend
    reduction = cfg.assumed_compute_reduction
    attributed = frame(frames, "attributed_cost")
    if attributed is None:
        return to_frame([])
    inference = attributed.filter(
        (pl.col("category") == "inference")
        & pl.col("model").is_not_null()
        & ~pl.col("model").is_in(UNKNOWN)
        & pl.col("effective_cost_reporting").is_not_null()
    )
    per_model = (
        inference.group_by("model")
        .agg(pl.col("effective_cost_reporting").sum().alias("week_cost"))
        .sort(["week_cost", "model"], descending=[True, False])
    )
    main_team = (
        inference.group_by("model", "team", "project")
        .agg(pl.col("effective_cost_reporting").sum().alias("_c"))
        .sort(["model", "_c", "team"], descending=[False, True, False])
        .unique("model", keep="first", maintain_order=True)
    )
    teams = {r["model"]: (r["team"], r["project"]) for r in main_team.iter_rows(named=True)}
    per_resource = (
        inference.with_columns(pl.col("resource_id").fill_null(pl.concat_str(pl.lit("model:"), pl.col("model"))))
        .group_by("model", "resource_id")
        .agg(pl.col("effective_cost_reporting").sum().alias("week_cost"))
        .filter(pl.col("week_cost") > 0)
        .sort("model", "resource_id")
    )
    cur = config.reporting_currency
    rows = []
    for rank, m in enumerate(per_model.iter_rows(named=True), start=1):
        if rank > top_n:
            break
        monthly = per_month(m["week_cost"], config)
        if monthly < min_spend:
            continue
        savings = monthly * reduction
        team, project = teams.get(m["model"], (None, None))
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                team=team,
                project=project,
                model=m["model"],
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(money(m['week_cost']))} {cur}/week {per_month_text(config)} x {num(reduction)} (assumed)"
                    f" = {num(money(savings))}"
                ),
                evidence={
                    "week_inference_cost": money(m["week_cost"]),
                    "monthly_inference_cost": money(monthly),
                    "spend_rank": rank,
                    "assumed_compute_reduction": float(reduction),
                    "estimate": True,
                },
                evidence_text=(
                    f"{m['model']} is #{rank} in inference spend ({num(money(monthly))} {cur}/month); "
                    f"saving is an estimate at {float(reduction):.0%} less compute"
                ),
                confidence="low",
                confidence_reason="estimate: the compute reduction is an assumed factor, not measured",
                action=f"Evaluate a quantised or distilled {m['model']} against its quality bar and serve it if it passes.",
                cost_basis={
                    r["resource_id"]: per_month(r["week_cost"], config)
                    for r in per_resource.filter(pl.col("model") == m["model"]).iter_rows(named=True)
                },
                overlap_group=f"model:{m['model']}",
            )
        )
    return to_frame(rows, config)
