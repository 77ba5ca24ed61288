"""Find the week's savings: read the inputs (sql/recommend_*.sql), run the 14 detectors, track
against last week, and replace the week's rows of ``recommendations`` in one transaction."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import polars as pl

from flows.settings import CONFIG_DIR, Settings
from flows.warehouse import insert_frame, query, sql_text, transaction
from transforms.detectors import DETECTORS
from transforms.detectors.common import DETECTOR_COLUMNS, hours_per_month
from transforms.fx import rates_frame
from transforms.plan import plan_violations
from transforms.recommendations import bill_monthly_costs, finalise, rank
from transforms.schema import MONEY, RECOMMENDATION_COLUMNS
from transforms.weeks import WEEK, as_monday, week_params

PRICE_COLUMNS = ("provider", "region", "item", "price_type", "value", "unit", "currency", "source_id", "as_of", "notes")


class RecommendationConfigError(ValueError):
    """A configuration file for the detectors is missing or malformed."""


class PlanInvariantError(RuntimeError):
    """The week's savings plan claims more than the cost it acts on: a defect, never shipped as a figure."""


def load_prices(path: Path) -> pl.DataFrame:
    """config/prices.csv (or the user's replacement) with exact Decimal values; bad rows are an error."""
    if not Path(path).is_file():
        raise RecommendationConfigError(f"price table {path} not found (expected columns: {', '.join(PRICE_COLUMNS)})")
    raw = pl.read_csv(path, infer_schema=False, comment_prefix="#")
    missing = [c for c in PRICE_COLUMNS if c not in raw.columns]
    if missing:
        raise RecommendationConfigError(f"price table {path}: missing column(s) {', '.join(missing)}")
    for number, value in enumerate(raw["value"].to_list(), start=2):
        try:
            Decimal(value)
        except (InvalidOperation, TypeError):
            raise RecommendationConfigError(
                f"price table {path}, line {number}, column value: expected a decimal number, got {value!r}"
            ) from None
    return raw.select(PRICE_COLUMNS).with_columns(pl.col("value").cast(MONEY))


def load_config(settings: Settings, week_start: date) -> dict:
    """config/recommendations.toml plus the run's context (week, reporting currency, exchange rates)."""
    path = Path(settings.recommendation_thresholds)
    try:
        config = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RecommendationConfigError(f"detector configuration {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecommendationConfigError(f"detector configuration {path}: {exc}") from None
    fx = {}
    if Path(settings.fx_rates).is_file():
        rates = rates_frame(pl.read_csv(settings.fx_rates, infer_schema=False, comment_prefix="#"), settings.reporting_currency)
        fx = {r["currency"]: r["rate"] for r in rates.iter_rows(named=True)}
    config.update(week_start=week_start, reporting_currency=settings.reporting_currency.upper(), fx=fx)
    return config


def _query(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> pl.DataFrame:
    """Run ``sql/<name>.sql`` binding only the parameters it names."""
    text = sql_text(name)
    return query(con, name, {k: v for k, v in params.items() if f"${k}" in text})


def read_inputs(con: duckdb.DuckDBPyConnection, week_start: date, config: dict) -> dict[str, pl.DataFrame]:
    """Every frame a detector may ask for, read with bound parameters."""
    week = week_params(week_start)
    lookback = int(config.get("commitments", {}).get("lookback_weeks", 4))
    frames = {
        name: _query(con, f"recommend_{name}", week)
        for name in ("machines", "gpu_metrics", "jobs", "inference", "storage", "network", "tagged_costs",
                     "transfer_rates", "bucket_regions")
    }
    frames["inference_requests"] = frames.pop("inference")
    frames["storage_inventory"] = frames.pop("storage")
    frames["network_flows"] = frames.pop("network")
    frames["attributed_cost"] = query(con, "attribution_week", {"week_start": week_start})
    frames["commitment_lookback"] = query(
        con, "recommend_commitment_lookback",
        {"lookback_start": week["week_end"] - timedelta(weeks=lookback), "week_end": week["week_end"]},
    )
    return frames


def detect_all(frames: dict[str, pl.DataFrame], config: dict) -> pl.DataFrame:
    """Every detector's findings in one frame."""
    found = [module.detect(frames, config) for module in DETECTORS]
    return pl.concat([f for f in found if f.height], how="vertical") if any(f.height for f in found) else pl.DataFrame(
        schema=DETECTOR_COLUMNS
    )


def recommend_week(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> pl.DataFrame:
    """Run every detector, track against last week, replace the week's rows in one transaction; return them."""
    week_start = as_monday(week_start)
    config = load_config(settings, week_start)
    frames = read_inputs(con, week_start, config)
    frames["prices"] = load_prices(settings.prices)
    frames["instances"] = pl.read_csv(CONFIG_DIR / "instances.csv", infer_schema=False).with_columns(
        pl.col("gpu_count").cast(pl.Float64, strict=False)
    )
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
