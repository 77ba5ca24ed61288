"""Read each configuration file once, into the validated models of transforms/config.py.

One loader per file; every error is a ``ConfigError`` naming the file, the key (or line and column)
and what was expected, in one line.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import polars as pl
from pydantic import BaseModel, ValidationError

from flows.settings import CONFIG_DIR, Settings
from transforms.config import (
    FX_COLUMNS,
    INSTANCE_COLUMNS,
    INSTANCE_TYPES,
    PRICE_COLUMNS,
    AttributionRules,
    ConfigError,
    DetectorConfig,
    EnergySettings,
    RecommendationSettings,
    detector_config,
    settings_errors,
)
from transforms.fx import rates_frame
from transforms.schema import MONEY

__all__ = [
    "ConfigError",
    "load_attribution_rules",
    "load_detector_config",
    "load_energy",
    "load_fx_rates",
    "load_instances",
    "load_prices",
    "load_recommendation_settings",
]

INSTANCES_CSV = CONFIG_DIR / "instances.csv"
Model = TypeVar("Model", bound=BaseModel)


def _toml(path: Path, model: type[Model], what: str) -> Model:
    """A TOML file validated by ``model``."""
    try:
        document = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path}: {exc}") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{what} {path}: {settings_errors(exc, model)}") from None


def load_recommendation_settings(path: Path) -> RecommendationSettings:
    """config/recommendations.toml (detector thresholds and assumed factors)."""
    return _toml(path, RecommendationSettings, "detector configuration")


def load_energy(path: Path) -> EnergySettings:
    """config/energy.toml; the defaults where the file does not exist."""
    return _toml(path, EnergySettings, "energy configuration") if Path(path).is_file() else EnergySettings()


def load_attribution_rules(path: Path) -> AttributionRules:
    """config/attribution_rules.toml; no rules where the file does not exist."""
    return _toml(path, AttributionRules, "attribution rules") if Path(path).is_file() else AttributionRules()


def _csv(path: Path, what: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """A configuration CSV as text ('#' lines are comments) with its required columns."""
    if not Path(path).is_file():
        raise ConfigError(f"{what} {path} not found (expected columns: {', '.join(columns)})")
    raw = pl.read_csv(path, infer_schema=False, comment_prefix="#")
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ConfigError(f"{what} {path}: missing column(s) {', '.join(missing)}")
    return raw


def _check_decimals(raw: pl.DataFrame, path: Path, what: str, column: str, positive: bool = False) -> None:
    """Every value of ``column`` is a decimal number (above zero if ``positive``); else name the line."""
    for number, value in enumerate(raw[column].to_list(), start=2):
        try:
            ok = Decimal(value).is_finite() and (not positive or Decimal(value) > 0)
        except (InvalidOperation, TypeError):
            ok = False
        if not ok:
            expected = "a decimal number above zero" if positive else "a decimal number"
            raise ConfigError(f"{what} {path}, line {number}, column {column}: expected {expected}, got {value!r}")


def load_prices(path: Path) -> pl.DataFrame:
    """config/prices.csv (or the user's replacement) with exact Decimal values; bad rows are an error."""
    raw = _csv(path, "price table", PRICE_COLUMNS)
    _check_decimals(raw, path, "price table", "value")
    return raw.select(PRICE_COLUMNS).with_columns(pl.col("value").cast(MONEY))


def load_fx_rates(path: Path) -> pl.DataFrame | None:
    """config/fx_rates.csv (currency, rate_to_reporting[, as_of, source]) as text, or None if absent."""
    if not Path(path).is_file():
        return None
    raw = _csv(path, "exchange-rate table", FX_COLUMNS)
    _check_decimals(raw, path, "exchange-rate table", "rate_to_reporting", positive=True)
    return raw


def load_instances(path: Path = INSTANCES_CSV) -> pl.DataFrame:
    """config/instances.csv: vCPUs, memory and GPUs (Float64: a shared partition is a fraction) per type."""
    raw = _csv(path, "instance table", INSTANCE_COLUMNS)
    for column, dtype in INSTANCE_TYPES.items():
        parsed = raw[column].cast(dtype, strict=False)
        bad = raw.with_row_index("line", offset=2).filter(raw[column].is_not_null() & parsed.is_null())
        if bad.height:
            line, value = bad["line"][0], bad[column][0]
            raise ConfigError(f"instance table {path}, line {line}, column {column}: expected a number, got {value!r}")
    return raw.with_columns(pl.col(c).cast(t) for c, t in INSTANCE_TYPES.items())


def load_detector_config(settings: Settings, week_start: date) -> DetectorConfig:
    """config/recommendations.toml plus the run's context (week, reporting currency, exchange rates)."""
    thresholds = load_recommendation_settings(settings.recommendation_thresholds)
    fx = {}
    if (table := load_fx_rates(settings.fx_rates)) is not None:
        rates = rates_frame(table, settings.reporting_currency)
        fx = {r["currency"]: r["rate"] for r in rates.iter_rows(named=True)}
    return detector_config(thresholds, week_start, settings.reporting_currency, fx)
