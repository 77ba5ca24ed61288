"""The configuration files as validated models: each default written once, here.

``config/recommendations.toml`` -> ``RecommendationSettings`` (one sub-model per detector section),
``config/energy.toml`` -> ``EnergySettings``, ``config/attribution_rules.toml`` -> ``AttributionRules``;
the CSV tables (prices, exchange rates, instances) have their columns and polars types here. An
unknown key, a misspelt section or a wrong type is an error (``settings_errors`` words it as
``[section] key: expected <type>, got <value>``); the loaders in flows/config.py read the files and
name them. The shipped files hold the same values as the defaults below and document each key.

``DetectorConfig`` is what a detector receives: the settings plus the run's context (``week_start``,
``reporting_currency``, ``fx`` = {currency: Decimal rate to the reporting currency}).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


class ConfigError(ValueError):
    """A configuration file that is missing or malformed: the message names the file, key and what was expected."""


def _exact_number(value: Any) -> Any:
    """A TOML number as an exact Decimal (0.28 stays 0.28); anything else is left for the type check."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    return value


# A number used in money arithmetic: exact, from a TOML integer or float (text is not a number).
Number = Annotated[Decimal, BeforeValidator(_exact_number)]


class Section(BaseModel):
    """A table of a configuration file: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class General(Section):
    hours_per_month: Number = Decimal(730)
    min_monthly_savings: Number = Decimal(10)
    default_region: dict[str, str] = {"aws": "us-east-1", "gcp": "us-central1", "azure": "westeurope"}


class IdleGpu(Section):
    idle_util_pct: float = 5.0
    min_idle_share: Number = Decimal("0.5")


class UnderusedGpu(Section):
    p95_below_pct: float = 40.0
    target_util_pct: Number = Decimal("80.0")
    min_observed_hours: float = 24


class Batching(Section):
    max_mean_batch_size: float = 1.5
    max_gpu_util_pct: float = 30.0
    target_util_pct: Number = Decimal("60.0")


class GpuToCpu(Section):
    max_p95_requests_per_s: float = 1.0
    small_models: list[str] = ["embed-small"]
    max_tokens_per_request: float = 512
    cpu_instance: dict[str, str] = {"aws": "c7i.2xlarge", "gcp": "n2-standard-8", "azure": "Standard_D8s_v5"}


class Compression(Section):
    top_n: int = 3
    min_monthly_spend: Number = Decimal(1000)
    assumed_compute_reduction: Number = Decimal("0.4")


class Commitments(Section):
    lookback_weeks: int = Field(4, ge=1)
    term: Literal["1yr", "3yr"] = "1yr"
    default_discount: Number = Decimal("0.28")
    min_utilisation: Number = Decimal("0.8")


class Spot(Section):
    min_job_hours: float = 24
    interruption_overhead: Number = Decimal("0.1")


class StorageTiering(Section):
    hot_classes: list[str] = ["STANDARD", "Hot"]
    infrequent_after_days: int = 30
    archive_after_days: int = 90
    infrequent_class: dict[str, str] = {"aws": "STANDARD_IA", "gcp": "NEARLINE", "azure": "Cool"}
    archive_class: dict[str, str] = {"aws": "GLACIER_IR", "gcp": "COLDLINE", "azure": "Cold"}
    reread_fraction_per_month: Number = Decimal("0.05")
    transition_fee_per_1000: Number = Decimal("0.02")
    transition_amortisation_months: Number = Decimal(12)
    early_deletion_fraction: Number = Decimal("0.05")
    count_unknown_access: bool = False


class DataCompression(Section):
    suffixes: list[str] = [".csv", ".json", ".jsonl", ".log", ".txt"]
    ratio: Number = Decimal("4.0")
    min_gb: Number = Decimal(100)


class CheckpointSprawl(Section):
    pattern: str = r"(?:^|/)checkpoints/([^/]+)/"
    keep_last: int = 3
    min_gb: Number = Decimal(10)


class Network(Section):
    min_transfers_per_week: int = 10
    min_cross_region_gb: Number = Decimal(100)


class HdfsToObject(Section):
    role_tag: str = "role"
    role_pattern: str = "^hdfs"
    cluster_tag: str = "cluster"
    replication_tags: list[str] = ["replication", "hdfs_replication", "replication_factor"]
    default_replication: Number = Decimal(3)
    object_class: dict[str, str] = {"aws": "STANDARD", "gcp": "STANDARD", "azure": "Hot"}


class DistributedEfficiency(Section):
    max_util_ratio: Number = Decimal("0.75")


class Scheduling(Section):
    working_days: list[Annotated[int, Field(ge=0, le=6)]] = [0, 1, 2, 3, 4]
    working_hours: Annotated[list[Annotated[int, Field(ge=0, le=24)]], Field(min_length=2, max_length=2)] = [8, 20]
    dev_job_kinds: list[str] = ["development"]
    dev_tags: dict[str, list[str]] = {
        "purpose": ["dev", "development", "notebook"],
        "workload": ["notebook", "development"],
    }
    low_util_pct: float = 10.0
    min_off_hours: int = 20


class RecommendationSettings(Section):
    """config/recommendations.toml: ``[general]`` and one table per detector (named by its KIND)."""

    general: General = General()
    idle_gpu: IdleGpu = IdleGpu()
    underused_gpu: UnderusedGpu = UnderusedGpu()
    batching: Batching = Batching()
    gpu_to_cpu: GpuToCpu = GpuToCpu()
    compression: Compression = Compression()
    commitments: Commitments = Commitments()
    spot: Spot = Spot()
    storage_tiering: StorageTiering = StorageTiering()
    data_compression: DataCompression = DataCompression()
    checkpoint_sprawl: CheckpointSprawl = CheckpointSprawl()
    network: Network = Network()
    hdfs_to_object: HdfsToObject = HdfsToObject()
    distributed_efficiency: DistributedEfficiency = DistributedEfficiency()
    scheduling: Scheduling = Scheduling()


class DetectorConfig(RecommendationSettings):
    """What ``detect(frames, config)`` reads: the settings and the run's context."""

    week_start: date
    reporting_currency: str = "USD"
    fx: dict[str, Number] = {}


class EnergySettings(Section):
    """config/energy.toml (CSV names relative to the file)."""

    pue: float = Field(1.2, ge=1.0)
    default_gco2e_per_kwh: float | None = None
    gpu_power_csv: str = "gpu_power.csv"
    grid_carbon_csv: str = "grid_carbon.csv"


class AttributionRules(Section):
    """config/attribution_rules.toml: ``[[rules]]`` (checked by transforms.attribution.rules) and ``[job_kinds]``."""

    rules: list[dict[str, Any]] = []
    job_kinds: dict[str, str] = {}


# The CSV tables: columns in order, and the type each value column must parse as.
PRICE_COLUMNS = ("provider", "region", "item", "price_type", "value", "unit", "currency", "source_id", "as_of", "notes")
FX_COLUMNS = ("currency", "rate_to_reporting")  # as_of, source optional
INSTANCE_COLUMNS = ("provider", "instance_type", "vcpu", "memory_gib", "gpu_count", "gpu_model")
# GPUs per instance: a float, as ``x_gpu_count`` of the bill (a shared GPU partition is 1/3, 1/6 ...).
INSTANCE_TYPES: dict[str, pl.DataType] = {"vcpu": pl.Float64, "memory_gib": pl.Float64, "gpu_count": pl.Float64}

_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date",
}


def _where(loc: tuple) -> str:
    """``[section] key`` (nested keys joined by dots); a top-level key alone is ``[key]``."""
    parts = [str(p) for p in loc]
    if not parts:
        return "(file)"
    if len(parts) == 1:
        return f"[{parts[0]}]"
    return f"[{parts[0]}] {'.'.join(parts[1:])}"


def _expected(error: dict, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent: Any = model
        for part in error["loc"][:-1]:
            field = getattr(parent, "model_fields", {}).get(part) if isinstance(part, str) else None
            parent = field.annotation if field is not None else None
        known = sorted(getattr(parent, "model_fields", {}) or ())
        what = "section" if len(error["loc"]) == 1 else "key"
        return f"unknown {what}, expected one of: {', '.join(known)}" if known else f"unknown {what}"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {error['input']!r}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {error['input']!r}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"


def settings_errors(exc: ValidationError, model: type[BaseModel]) -> str:
    """One line: every problem as ``[section] key: expected <type>, got <value>``, joined by ``; ``."""
    return "; ".join(f"{_where(e['loc'])}: {_expected(e, model)}" for e in exc.errors(include_url=False))


def detector_config(
    settings: RecommendationSettings, week_start: date, reporting_currency: str = "USD", fx: dict | None = None
) -> DetectorConfig:
    """The settings with the run's context."""
    return DetectorConfig(
        **{name: getattr(settings, name) for name in RecommendationSettings.model_fields},
        week_start=week_start,
        reporting_currency=reporting_currency.upper(),
        fx=dict(fx or {}),
    )
