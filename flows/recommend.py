"""Find the week's savings: read the inputs (sql/recommend_*.sql), run the 14 detectors, track
against last week, and replace the week's rows of ``recommendations`` in one transaction."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from flows.config import ConfigError, load_detector_config, load_instances, load_prices
from flows.settings import Settings
from flows.warehouse import insert_frame, query, sql_text, transaction
from transforms.config import DetectorConfig
from transforms.detectors import DETECTORS
from transforms.detectors.common import DETECTOR_COLUMNS, hours_per_month
from transforms.plan import plan_violations
from transforms.recommendations import bill_monthly_costs, finalise, rank
from transforms.schema import RECOMMENDATION_COLUMNS
from transforms.weeks import WEEK, as_monday, week_params

# the names callers know: one error type for every configuration file, one loader per file (flows/config.py)
RecommendationConfigError = ConfigError
load_config = load_detector_config


class PlanInvariantError(RuntimeError):
    """The week's savings plan claims more than the cost it acts on: a defect, never shipped as a figure."""


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> pl.DataFrame:
    """Run ``sql/<name>.sql`` binding only the parameters it names."""
    text = sql_text(name)
    return query(con, name, {k: v for k, v in params.items() if f"${k}" in text})


def read_inputs(con: duckdb.DuckDBPyConnection, week_start: date, config: DetectorConfig) -> dict[str, pl.DataFrame]:
    """Every frame a detector may ask for, read with bound parameters."""
    week = week_params(week_start)
    lookback = config.commitments.lookback_weeks
    frames = {
        name: _query(con, f"recommend_{name}", week)
        for name in (
            "machines",
            "gpu_metrics",
            "jobs",
            "inference",
            "storage",
            "network",
            "tagged_costs",
            "transfer_rates",
            "bucket_regions",
        )
    }
    frames["inference_requests"] = frames.pop("inference")
    frames["storage_inventory"] = frames.pop("storage")
    frames["network_flows"] = frames.pop("network")
    frames["attributed_cost"] = query(con, "attribution_week", {"week_start": week_start})
    frames["commitment_lookback"] = query(
        con,
        "recommend_commitment_lookback",
        {"lookback_start": week["week_end"] - timedelta(weeks=lookback), "week_end": week["week_end"]},
    )
    return frames


def detect_all(frames: dict[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """Every detector's findings in one frame."""
    found = [module.detect(frames, config) for module in DETECTORS]
    return (
        pl.concat([f for f in found if f.height], how="vertical")
        if any(f.height for f in found)
        else pl.DataFrame(schema=DETECTOR_COLUMNS)
    )


def recommend_week(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> pl.DataFrame:
    """Run every detector, track against last week, replace the week's rows in one transaction; return them."""
    week_start = as_monday(week_start)
    config = load_config(settings, week_start)
    frames = read_inputs(con, week_start, config)
    frames["prices"] = load_prices(settings.prices)
    frames["instances"] = load_instances()
    found = detect_all(frames, config)
    previous_week = week_start - WEEK
    previous = query(con, "recommendations_week", {"week_start": previous_week})
    cost_before = query(con, "attribution_week", {"week_start": previous_week})
    recs = finalise(
        found,
        previous,
        week_start,
        cost_before=cost_before,
        cost_now=frames["attributed_cost"],
        hours_per_month=hours_per_month(config),
    )
    current = recs.filter(pl.col("status") != "resolved")
    if problems := plan_violations(current, bill_monthly_costs(frames["attributed_cost"], hours_per_month(config))):
        raise PlanInvariantError(f"savings plan of week {week_start}: " + "; ".join(problems[:10]))
    with transaction(con):
        con.execute(sql_text("recommend_delete_week"), {"week_start": week_start})
        insert_frame(con, "recommendations", recs)
    return recs


def recommendations_for_week(con: duckdb.DuckDBPyConnection, week_start: date | str) -> pl.DataFrame:
    """The week's stored recommendations, ranked (open and new by monthly savings, then resolved)."""
    rows = query(con, "recommendations_week", {"week_start": as_monday(week_start)})
    if rows.height == 0:
        return pl.DataFrame(schema=RECOMMENDATION_COLUMNS)
    return rank(rows.select(list(RECOMMENDATION_COLUMNS)))
