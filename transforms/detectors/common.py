"""What every detector shares: the output shape, exact money helpers, price lookups, machine rates.

A detector is ``detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame``
returning ``DETECTOR_COLUMNS``. ``config`` (transforms/config.py) holds config/recommendations.toml as
typed settings, the detector's own under its kind (``config.idle_gpu.idle_util_pct``) beside
``config.general``, and the run's context: ``week_start`` (date), ``reporting_currency`` and ``fx``
({currency: Decimal rate to the reporting currency}). Aggregation happens in polars; the few
candidate rows are valued in Python ``Decimal`` so the formula shows exactly the numbers used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import polars as pl

from transforms import weeks
from transforms.config import DetectorConfig
from transforms.plan import basis_json
from transforms.schema import RECOMMENDATION_COLUMNS

TRACKING_COLUMNS = ("week_start", "rec_id", "counted", "status", "first_seen_week", "realised_savings")
# filled by the plan (transforms/plan.py), not by a detector: a detector's ``monthly_savings`` is standalone
PLAN_FILLED = ("standalone_monthly_savings", "plan_step", "plan_order", "plan_note", "plan_effect")
DETECTOR_COLUMNS: dict[str, pl.DataType] = {
    name: dtype for name, dtype in RECOMMENDATION_COLUMNS.items() if name not in TRACKING_COLUMNS + PLAN_FILLED
}
HOURS_PER_WEEK = Decimal(168)
CENT = Decimal("0.01")


def dec(value: float | int | Decimal | None, places: int = 6) -> Decimal | None:
    """An exact Decimal from a measured float, rounded to ``places`` (None stays None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(round(float(value), places)))


def money(value: Decimal) -> Decimal:
    """Money rounded to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ceil_int(value: Decimal) -> int:
    """The smallest integer not below ``value``."""
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def num(value: Decimal | float | int) -> str:
    """A number as written in a formula: no exponent, no trailing zeros."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(d.normalize(), "f")
    return text


def hours_per_month(config: DetectorConfig) -> Decimal:
    """The month length every projection uses (730 h by default)."""
    return config.general.hours_per_month


def per_month(week_amount: Decimal, config: DetectorConfig) -> Decimal:
    """A week's amount as a month: ``x / 168 h x 730 h``."""
    return week_amount / HOURS_PER_WEEK * hours_per_month(config)


def per_month_text(config: DetectorConfig) -> str:
    """The projection as a formula writes it after a week's amount: ``/ 168 h x 730 h``."""
    return f"/ 168 h x {num(hours_per_month(config))} h"


def machine_basis(resource_ids, rates: Mapping[str, dict], config: DetectorConfig) -> dict[str, Decimal]:
    """The monthly cost a recommendation on these machines acts on: hourly rate x 730 h each."""
    month = hours_per_month(config)
    return {r: rates[r]["rate"] * month for r in resource_ids if r in rates}


def week_bounds(config: Mapping) -> tuple[datetime, datetime]:
    """Monday 00:00 UTC of the report week and the Monday after."""
    return weeks.week_bounds(config.week_start)


def hours_in_week(begin: datetime, end: datetime, until: str = "_end") -> pl.Expr:
    """Hours of each row's run (``start_ts`` to the column ``until``) inside the week ``begin``-``end``."""
    return (
        pl.min_horizontal(pl.col(until), pl.lit(end)) - pl.max_horizontal(pl.col("start_ts"), pl.lit(begin))
    ).dt.total_seconds().clip(lower_bound=0) / 3600.0


def job_week_cost(job: Mapping, info: Mapping) -> Decimal:
    """What a job row cost on its machine this week: its hours in the week x the machine's hourly rate x
    the share of the machine's GPUs it held (``job GPUs / machine GPUs``, at most the whole machine)."""
    gpus = info.get("gpu_count") or job["gpus"] or 1
    share = Decimal(min(job["gpus"] or gpus, gpus)) / Decimal(gpus)
    return dec(job["week_hours"], 4) * info["rate"] * share


def to_reporting(amount: Decimal | None, currency: str | None, config: DetectorConfig) -> Decimal | None:
    """``amount`` in the reporting currency, or None where no exchange rate is known."""
    if amount is None or currency is None:
        return None
    if currency == config.reporting_currency:
        return amount
    rate = config.fx.get(currency)
    return None if rate is None else amount * rate


@dataclass(frozen=True)
class Price:
    """One figure of the price table, with where it came from."""

    value: Decimal  # in the reporting currency
    source_id: str
    as_of: str
    region: str
    exact_region: bool

    def evidence(self, name: str) -> dict:
        """The price as evidence fields."""
        return {
            name: float(self.value),
            f"{name}_source": self.source_id,
            f"{name}_as_of": self.as_of,
            f"{name}_region": self.region,
        }


def lookup_price(
    prices: pl.DataFrame,
    provider: str | None,
    region: str | None,
    item: str | None,
    price_type: str,
    config: DetectorConfig,
) -> Price | None:
    """A price for this provider / region / item, falling back to the provider's default region."""
    if prices is None or prices.height == 0 or provider is None or item is None:
        return None
    rows = prices.filter(
        (pl.col("provider") == provider) & (pl.col("item") == item) & (pl.col("price_type") == price_type)
    )
    if rows.height == 0:
        return None
    default_region = config.general.default_region.get(provider)
    exact = rows.filter(pl.col("region") == region) if region else rows.clear()
    exact_region = exact.height > 0
    if not exact_region:
        exact = rows.filter(pl.col("region") == default_region)
    if exact.height == 0:
        exact = rows.sort("region").head(1)
    row = exact.row(0, named=True)
    value = to_reporting(Decimal(str(row["value"])), row["currency"], config)
    if value is None:
        return None
    return Price(value, row["source_id"], str(row["as_of"]), row["region"], exact_region)


def machine_rates(machines: pl.DataFrame, prices: pl.DataFrame, config: DetectorConfig) -> dict[str, dict]:
    """Per resource: what one machine-hour costs (the bill's own rate wins over the list price).

    ``machines`` has one row per resource (``recommend_machines.sql``): provider, region_id,
    instance_type, gpu_count, billing_currency, hours, effective_cost, pricing_category, tags.
    ``hours`` are machine-hours, counted once however many SKU lines the bill splits a machine-hour
    into (GCP: vCPU, RAM and GPU lines), and ``effective_cost`` adds all those lines, so the rate is
    the machine's effective cost over its billed machine-hours.
    """
    rates: dict[str, dict] = {}
    if machines is None:
        return rates
    listed_by_type: dict[tuple, Price | None] = {}  # a fleet has thousands of machines of a few types
    for row in machines.iter_rows(named=True):
        if row["resource_id"] in rates:  # one currency per machine: the first (largest) row wins
            continue
        info = dict(row)
        key = (row["provider"], row["region_id"], row["instance_type"])
        if key not in listed_by_type:
            listed_by_type[key] = lookup_price(prices, *key, "ondemand_hour", config)
        listed = info["list_rate"] = listed_by_type[key]
        hours = row.get("hours")
        cost = to_reporting(row.get("effective_cost"), row.get("billing_currency"), config)
        if hours and hours > 0 and cost is not None and cost > 0:
            info["rate"] = cost / Decimal(hours)
            info["rate_source"] = "bill"
            info["rate_as_of"] = str(config.week_start)
        elif listed is not None:
            info["rate"] = listed.value
            info["rate_source"] = listed.source_id
            info["rate_as_of"] = listed.as_of
        else:
            continue
        rates[row["resource_id"]] = info
    return rates


def run_machine_rates(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> dict[str, dict]:
    """``machine_rates`` of the run's ``machines`` and ``prices`` frames."""
    return machine_rates(frames.get("machines"), frames.get("prices"), config)


def run_owners(frames: Mapping[str, pl.DataFrame]) -> dict[str, dict]:
    """``owners`` of the run's ``attributed_cost`` and ``jobs`` frames."""
    return owners(frames.get("attributed_cost"), frames.get("jobs"))


def gpu_machines(resource_ids, rates: Mapping[str, dict]) -> list[str]:
    """Those of ``resource_ids`` with a known rate and at least one GPU, in their order."""
    return [r for r in resource_ids if r in rates and (rates[r].get("gpu_count") or 0) > 0]


def hours_saving(hours: Decimal, what: str, rate: Decimal, config: DetectorConfig) -> tuple[Decimal, str]:
    """The monthly saving of switching a machine off for ``hours`` of the week, and its formula:
    ``hours / 168 h x 730 h x hourly_rate`` (``what`` names the hours in the formula, e.g. ``idle h``)."""
    savings = per_month(hours, config) * rate
    formula = (
        f"{num(hours)} {what} {per_month_text(config)} x {num(money(rate))} {config.reporting_currency}/h"
        f" = {num(money(savings))}"
    )
    return savings, formula


def rate_confidence(billed: bool, billed_reason: str, list_reason: str) -> dict:
    """``confidence`` and its reason for a saving priced at a rate: high where the bill shows the rate,
    medium where it comes from the list prices."""
    return {"confidence": "high" if billed else "medium", "confidence_reason": billed_reason if billed else list_reason}


def rate_evidence(info: dict) -> dict:
    """The machine rate as evidence fields."""
    return {
        "hourly_rate": float(info["rate"].quantize(Decimal("0.000001"))),
        "hourly_rate_source": info["rate_source"],
        "hourly_rate_as_of": info["rate_as_of"],
        "instance_type": info.get("instance_type"),
    }


def owners(attributed: pl.DataFrame | None, jobs: pl.DataFrame | None = None) -> dict[str, dict]:
    """Per resource: the team / project / model carrying most of its cost (or most job hours)."""
    result: dict[str, dict] = {}
    if jobs is not None and jobs.height:
        ranked = (
            jobs.filter(pl.col("resource_id").is_not_null())
            .with_columns(
                ((pl.col("end_ts").fill_null(pl.col("start_ts")) - pl.col("start_ts")).dt.total_seconds()).alias("_s")
            )
            .group_by("resource_id", "team", "project", "model")
            .agg(pl.col("_s").sum())
            .sort(["resource_id", "_s", "team"], descending=[False, True, False], nulls_last=True)
            .unique("resource_id", keep="first", maintain_order=True)
        )
        for row in ranked.iter_rows(named=True):
            result[row["resource_id"]] = {k: row[k] for k in ("team", "project", "model")}
    if attributed is not None and attributed.height:
        ranked = (
            attributed.filter(pl.col("resource_id").is_not_null())
            .group_by("resource_id", "team", "project", "model")
            .agg(pl.col("effective_cost_reporting").sum().alias("_c"))
            .sort(["resource_id", "_c", "team"], descending=[False, True, False], nulls_last=True)
            .unique("resource_id", keep="first", maintain_order=True)
        )
        for row in ranked.iter_rows(named=True):
            result[row["resource_id"]] = {k: row[k] for k in ("team", "project", "model")}
    return result


def machine_hours(gpu_metrics: pl.DataFrame) -> pl.DataFrame:
    """GPU telemetry at one row per machine and hour, the grain of sql/recommend_gpu_metrics.sql.

    Columns: ``resource_id``, ``ts`` (the hour), ``util_sum`` / ``util_samples`` / ``util_max`` over the
    samples of all the machine's GPUs in the hour, and per GPU with a utilisation sample in the hour its
    index (``gpu_indexes``, a missing index being one GPU) and its mean over the hour (``gpu_utils``).
    Rows at that grain are returned as they are; GPU samples (``ts``, ``gpu_index``, ``utilization_pct``)
    are rolled up to it as the rollup and the SQL do: each GPU's hour, then the machine's.
    """
    if "gpu_utils" in gpu_metrics.columns:
        return gpu_metrics
    sampled = pl.col("util_samples") > 0
    return (
        gpu_metrics.with_columns(
            pl.col("ts").dt.truncate("1h"),
            util_sum=pl.col("utilization_pct"),
            util_samples=pl.col("utilization_pct").is_not_null().cast(pl.Int64),
            util_max=pl.col("utilization_pct"),
        )
        .group_by("resource_id", "ts", "gpu_index")
        .agg(pl.col("util_sum").sum(), pl.col("util_samples").sum(), pl.col("util_max").max())
        .sort("resource_id", "ts", "gpu_index", nulls_last=True)
        .group_by("resource_id", "ts", maintain_order=True)
        .agg(
            pl.col("util_sum").sum(),
            pl.col("util_samples").sum(),
            pl.col("util_max").max(),
            pl.col("gpu_index").filter(sampled).alias("gpu_indexes"),
            (pl.col("util_sum") / pl.col("util_samples")).filter(sampled).alias("gpu_utils"),
        )
    )


def each_gpu_hour(column: str) -> pl.Expr:
    """In an aggregation of ``machine_hours`` rows: the elements of their list ``column`` (``gpu_utils`` or
    ``gpu_indexes``), one per GPU-hour."""
    return pl.col(column).list.explode(keep_nulls=False, empty_as_null=False)


def hourly_util(gpu_metrics: pl.DataFrame) -> pl.DataFrame:
    """Per resource and hour with a utilisation sample: mean and max GPU utilisation (%) over the hour's
    samples of all its GPUs, and the GPUs seen. ``gpu_metrics``: any grain ``machine_hours`` reads."""
    return (
        machine_hours(gpu_metrics)
        .filter(pl.col("util_samples") > 0)
        .select(
            "resource_id",
            pl.col("ts").alias("hour"),
            (pl.col("util_sum") / pl.col("util_samples")).alias("util_mean"),
            "util_max",
            pl.col("gpu_indexes").list.len().alias("gpus_seen"),
        )
    )


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"evidence value of type {type(value).__name__} is not a number or text")


def recommendation(
    *,
    kind: str,
    strategy: str,
    monthly_savings: Decimal,
    config: DetectorConfig,
    formula: str,
    evidence: dict,
    evidence_text: str,
    confidence: str,
    confidence_reason: str,
    action: str,
    resource_id: str | None = None,
    team: str | None = None,
    project: str | None = None,
    model: str | None = None,
    cost_basis: Mapping[str, Decimal],
    overlap_group: str | None = None,
) -> dict:
    """One recommendation row (DETECTOR_COLUMNS) with its evidence as a JSON object.

    ``cost_basis`` names the cost it acts on: ``{cost key: monthly cost}`` in the reporting
    currency, the key a billing resource id (a machine, a bucket, a commitment) or a named slice
    of cost (``egress:<content>``, ``transfer:<route>``). Recommendations naming the same key act on
    the same money; the plan (transforms/plan.py) makes their savings add up.
    """
    if confidence not in ("high", "medium", "low"):
        raise ValueError(f"confidence must be high, medium or low, got {confidence!r}")
    return {
        "kind": kind,
        "strategy": strategy,
        "resource_id": resource_id,
        "team": team,
        "project": project,
        "model": model,
        "monthly_savings": money(monthly_savings),
        "currency": config.reporting_currency,
        "formula": formula,
        "evidence": json.dumps(evidence, default=_json_default, sort_keys=True),
        "evidence_text": evidence_text,
        "confidence": confidence,
        "confidence_reason": confidence_reason,
        "action": action,
        "overlap_group": overlap_group,
        "cost_basis": basis_json({k: v for k, v in cost_basis.items() if v is not None and v > 0}),
    }


def machine_recommendation(
    machines: list[str],
    rates: Mapping[str, dict],
    config: DetectorConfig,
    owner: Mapping[str, str | None] | None = None,
    **fields,
) -> dict:
    """A ``recommendation`` acting on these machines: resource id ``a;b``, the owner's team / project /
    model, the machines' monthly cost as its basis and ``machine:<resource id>`` as its overlap group."""
    resource = ";".join(machines)
    return recommendation(
        resource_id=resource,
        **(owner or {}),
        config=config,
        cost_basis=machine_basis(machines, rates, config),
        overlap_group=f"machine:{resource}",
        **fields,
    )


def to_frame(rows: list[dict], config: DetectorConfig | None = None) -> pl.DataFrame:
    """The detector's rows as a frame, dropping those under the configured minimum saving."""
    minimum = config.general.min_monthly_savings if config is not None else Decimal(0)
    kept = [row for row in rows if row["monthly_savings"] > 0 and row["monthly_savings"] >= minimum]
    if not kept:
        return pl.DataFrame(schema=DETECTOR_COLUMNS)
    return pl.DataFrame(kept, schema=DETECTOR_COLUMNS)


def frame(frames: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame | None:
    """An input frame, or None where the run has none (the detector then finds nothing)."""
    value = frames.get(name)
    return value if value is not None and value.height > 0 else None
