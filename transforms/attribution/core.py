"""Attribute one ISO week of billing to category, team, project and model.

Precedence, recorded in ``attribution_method``: 1) user rules (``rule``) → 2) usage logs: a GPU
machine's daily cost split among its jobs by GPU-hours, the rest idle (``usage``) → 3) built-in
service knowledge (``service``) → 4) ``other``. Team, project and model fall back to tags, then to
"unattributed". Unused commitments (status Unused, RIFee, SavingsPlanRecurringFee) stay their own
line with ``is_unused_commitment``. Every slice is cut exactly (see ``transforms.attribution.slices``), so per
week and currency the attributed effective cost equals the week's source slices exactly (to MONEY's smallest unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from transforms.attribution.gpu import MONEY_COLUMNS, split_gpu_costs
from transforms.attribution.rules import apply_rules, tag_dimension
from transforms.attribution.services import apply_service_rules
from transforms.attribution.slices import DAY_S, as_line_item_groups, billed_periods, is_spread, week_slices
from transforms.energy import add_carbon, machine_day_energy, telemetry_kwh
from transforms.fx import convert, money_text, unconverted
from transforms.schema import ATTRIBUTED_COST_COLUMNS, ATTRIBUTION_METHODS, CATEGORIES, MONEY, conform
from transforms.weeks import week_bounds

UNATTRIBUTED = "unattributed"
UNUSED_LINE_ITEM_TYPES = ("RIFee", "SavingsPlanRecurringFee")
SOURCE_ORDER = ["source_file", "source_row"]  # a billing row's place in its delivery: breaks ties between slices
GRAIN = [
    "week_start",
    "day",
    "category",
    "team",
    "project",
    "model",
    "resource_id",
    "provider",
    "billing_account_id",
    "service_name",
    "billing_currency",
    "is_idle",
    "is_unused_commitment",
    "attribution_method",
    "charge_category",
    "reporting_currency",
]


@dataclass
class AttributionConfig:
    """Everything attribution needs besides the week's data (loaded by flows/attribute.py)."""

    reporting_currency: str = "USD"
    rules: list[dict] = field(default_factory=list)
    kind_categories: dict[str, str] = field(default_factory=dict)
    fx_rates: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"currency": pl.String, "rate_to_reporting": pl.String})
    )
    instances: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"instance_type": pl.String, "gpu_count": pl.Int64, "gpu_model": pl.String}
        )
    )
    gpu_power: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"match": pl.String, "power_w": pl.Float64})
    )
    grid_carbon: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"provider": pl.String, "region": pl.String, "gco2e_per_kwh": pl.Float64}
        )
    )
    pue: float = 1.2
    default_gco2e_per_kwh: float | None = None


@dataclass
class AttributionResult:
    frame: pl.DataFrame  # exactly ATTRIBUTED_COST_COLUMNS
    anomalies: dict


# The week's GPU telemetry as attribution reads it (sql/attribution_gpu_metrics.sql aggregates the samples):
# one row per GPU machine and UTC day with samples that week. ``gpus_seen``, ``gpu_model`` and
# ``mean_utilization_pct`` describe the machine over the whole week (the same on each of its rows).
GPU_TELEMETRY_COLUMNS: dict[str, pl.DataType] = {
    "resource_id": pl.String,  # the machine as billing names it
    "day": pl.Date,  # UTC day of the samples
    "gpus_seen": pl.Int32,  # distinct gpu_index over the week (a sample without an index counts as one GPU)
    "gpu_model": pl.String,  # model named by the machine's earliest sample that names one
    "mean_utilization_pct": pl.Float64,  # mean utilization_pct of the week's samples (null if none has one)
    "power_joules": pl.Float64,  # the day's Σ power_w × interval_s (null if no sample carries both)
}


def order_rank(*keys: str | pl.Expr) -> pl.Expr:
    """Each row's 0-based place if the frame were sorted by ``keys`` (stable, nulls last), without moving rows."""
    return pl.int_range(pl.len(), dtype=pl.UInt32).sort_by(list(keys), nulls_last=True, maintain_order=True).arg_sort()


def gpu_machines(slices: pl.DataFrame, instances: pl.DataFrame, telemetry: pl.DataFrame) -> pl.DataFrame:
    """``resource_id, gpus, gpu_model`` for every billed resource with GPUs (bill, instance table, telemetry).

    ``telemetry`` has GPU_TELEMETRY_COLUMNS.
    """
    lookup = instances.select(
        pl.col("instance_type").str.to_lowercase().alias("_type"),
        pl.col("gpu_count").cast(pl.Int32).alias("_table_gpus"),
        pl.col("gpu_model").alias("_table_model"),
    ).unique("_type", keep="first")
    seen = telemetry.group_by("resource_id").agg(
        _metric_gpus=pl.col("gpus_seen").first().cast(pl.Int32), _metric_model=pl.col("gpu_model").first()
    )
    return (
        slices.filter(pl.col("resource_id").is_not_null())
        .group_by("resource_id")
        .agg(
            _bill_gpus=pl.col("x_gpu_count").max(),
            _type=pl.col("x_instance_type").sort_by("slice_id").drop_nulls().str.to_lowercase().first(),
        )
        .join(lookup, on="_type", how="left")
        .join(seen, on="resource_id", how="left")
        .select(
            "resource_id",
            gpus=pl.coalesce(pl.col("_bill_gpus").cast(pl.Int32), "_table_gpus", "_metric_gpus"),
            gpu_model=pl.coalesce("_metric_model", "_table_model"),
        )
        .filter(pl.col("gpus") > 0)
    )


# Every column the rule, service and tag decisions read: they are made once per distinct combination.
DECISION_INPUTS = (
    "tags",
    "billing_account_id",
    "sub_account_id",
    "sku_id",
    "service_name",
    "charge_description",
    "resource_type",
    "x_transfer_direction",
    "x_usage_type",
    "x_operation",
    "x_storage_class",
    "x_instance_type",
    "x_gpu_count",
    "commitment_discount_status",
    "x_line_item_type",
)


# Decision inputs nothing reads once the decisions are made (dropped to keep the slices narrow).
DECIDED_ONLY = (
    "tags",
    "sub_account_id",
    "sku_id",
    "charge_description",
    "resource_type",
    "x_transfer_direction",
    "x_usage_type",
    "x_operation",
    "x_storage_class",
    "commitment_discount_status",
    "x_line_item_type",
    "service_rule",
)


def decide(frame: pl.LazyFrame, rules: list[dict]) -> pl.LazyFrame:
    """Add rule and service decisions, tag dimensions and the unused-commitment flag to each row."""
    return apply_service_rules(apply_rules(frame, rules)).with_columns(
        tag_team=tag_dimension("team"),
        tag_project=tag_dimension("project"),
        tag_model=tag_dimension("model"),
        is_unused_commitment=(
            (pl.col("commitment_discount_status").str.to_lowercase() == "unused")
            | pl.col("x_line_item_type").is_in(UNUSED_LINE_ITEM_TYPES)
        ).fill_null(False),
    )


def classify(rows: pl.LazyFrame, rules: list[dict]) -> pl.LazyFrame:
    """``decide`` each row, once per distinct combination of DECISION_INPUTS, joined back in row order.

    Billing repeats the same service, usage type and tags on many rows, so the regular expressions
    and JSON lookups run on a few thousand combinations instead of every row. The inputs nothing
    reads afterwards (DECIDED_ONLY) are dropped.
    """
    inputs = [
        *DECISION_INPUTS,
        *(["resource_id"] if any("resource_id_regex" in r.get("match", {}) for r in rules) else []),
    ]
    keyed = rows.with_columns(_decision_key=pl.struct(inputs).hash())
    combinations = keyed.select(*inputs, "_decision_key").unique().collect()
    by_key = bool(combinations["_decision_key"].is_unique().all())
    return join_decisions(keyed, decide(combinations.lazy(), rules), inputs, by_key).drop(*DECIDED_ONLY)


def join_decisions(keyed: pl.LazyFrame, decisions: pl.LazyFrame, inputs: list[str], by_key: bool) -> pl.LazyFrame:
    """Each row with its combination's decisions: on the 64-bit ``_decision_key`` when no two
    combinations share one (each row's key then names its own), else on the inputs themselves."""
    if by_key:
        joined = keyed.join(decisions.drop(*inputs), on="_decision_key", how="left", maintain_order="left")
    else:
        joined = keyed.join(
            decisions.drop("_decision_key"), on=inputs, how="left", nulls_equal=True, maintain_order="left"
        )
    return joined.drop("_decision_key")


def undivided(classified: pl.DataFrame, machines: pl.DataFrame) -> pl.DataFrame:
    """Slices decided by rule, service knowledge or ``other``, with machine GPU-hours on one slice per day."""
    primary = (
        classified.join(machines, on="resource_id", how="inner")
        .sort(["overlap_s", "slice_id"], descending=[True, False])
        .group_by(["resource_id", "day"], maintain_order=True)
        .agg(_primary=pl.col("slice_id").first(), _gpus=pl.col("gpus").first())
    )
    billed = (
        billed_periods(classified.join(machines.select("resource_id"), on="resource_id", how="inner"))
        .unique(["resource_id", "day", "charge_period_start", "charge_period_end"])
        .group_by(["resource_id", "day"])
        .agg(_billed_s=pl.col("overlap_s").sum().clip(0, DAY_S))
    )
    decided_by_rule = pl.col("rule_name").is_not_null()
    category = (
        pl.when(decided_by_rule)
        .then(pl.coalesce("rule_category", "service_category_guess", pl.lit("other")))
        .when(pl.col("is_unused_commitment"))
        .then(pl.lit("other"))
        .otherwise(pl.coalesce("service_category_guess", pl.lit("other")))
    )
    method = (
        pl.when(decided_by_rule)
        .then(pl.lit("rule"))
        .when(pl.col("is_unused_commitment") | pl.col("service_category_guess").is_not_null())
        .then(pl.lit("service"))
        .otherwise(pl.lit("other"))
    )
    return (
        classified.join(primary, on=["resource_id", "day"], how="left")
        .join(billed, on=["resource_id", "day"], how="left")
        .with_columns(
            category=category,
            attribution_method=method,
            team=pl.col("rule_team"),
            project=pl.col("rule_project"),
            model=pl.col("rule_model"),
            is_idle=pl.lit(False),
            gpu_hours=pl.when(pl.col("slice_id") == pl.col("_primary")).then(
                pl.col("_gpus") * pl.col("_billed_s") / 3600.0
            ),
        )
        .drop("_primary", "_gpus", "_billed_s")
    )


def with_energy(
    rows: pl.DataFrame, telemetry: pl.DataFrame, machines: pl.DataFrame, config: AttributionConfig
) -> pl.LazyFrame:
    """Share each machine-day's energy among its rows by GPU-hours; add CO2e by region (``telemetry``: GPU_TELEMETRY_COLUMNS)."""
    per_day = (
        rows.lazy()
        .filter(pl.col("gpu_hours").is_not_null())
        .group_by(["resource_id", "day"])
        .agg(gpu_hours=pl.col("gpu_hours").sum())
        .join(machines.lazy().select("resource_id", "gpu_model"), on="resource_id", how="left")
    )
    energy = machine_day_energy(per_day, telemetry_kwh(telemetry.lazy()), config.gpu_power, config.pue).collect()
    shared = (
        rows.lazy()
        .join(
            energy.lazy().select(
                "resource_id", "day", pl.col("energy_kwh").alias("_day_kwh"), pl.col("gpu_hours").alias("_day_gh")
            ),
            on=["resource_id", "day"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            energy_kwh=pl.when(pl.col("gpu_hours").is_not_null() & (pl.col("_day_gh") > 0)).then(
                pl.col("_day_kwh") * pl.col("gpu_hours") / pl.col("_day_gh")
            )
        )
    )
    return add_carbon(shared, config.grid_carbon, config.default_gco2e_per_kwh).drop("_day_kwh", "_day_gh")


def _sum_or_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_not_null().any()).then(pl.col(column).sum()).alias(column)


IDLE_WITHOUT_JOBS_MAX_UTILISATION = 10.0  # % mean GPU utilisation under which a job-less machine is idle


def mark_idle_without_jobs(rows: pl.DataFrame, telemetry: pl.DataFrame, split_resources: set[str]) -> pl.DataFrame:
    """A GPU machine whose telemetry shows it nearly unused all week, and that ran no job, is idle.

    Its usage charges stay under their service category (the machine's kind of use) but are
    flagged ``is_idle`` and attributed by usage logs, so the report shows them as idle GPU cost
    rather than as training. A job-less machine whose GPUs were busy is left as it is: something
    ran on it that the job logs do not know. ``telemetry`` has GPU_TELEMETRY_COLUMNS.
    """
    quiet = (
        telemetry.filter(pl.col("mean_utilization_pct") < IDLE_WITHOUT_JOBS_MAX_UTILISATION)["resource_id"]
        .unique()
        .to_list()
    )
    idle = sorted(set(quiet) - set(split_resources))
    flagged = (
        pl.col("resource_id").is_in(idle)
        & (pl.col("attribution_method") == "service")
        & ~pl.col("is_unused_commitment")
        & (pl.col("charge_category") == "Usage")
    )
    return rows.with_columns(
        is_idle=pl.when(flagged).then(True).otherwise(pl.col("is_idle")),
        attribution_method=pl.when(flagged).then(pl.lit("usage")).otherwise(pl.col("attribution_method")),
    )


def attribute_costs(
    billing: pl.DataFrame,
    jobs: pl.DataFrame,
    telemetry: pl.DataFrame,
    week_start: date,
    config: AttributionConfig,
    keep_source: bool = False,
) -> AttributionResult:
    """The week's attributed cost rows (ATTRIBUTED_COST_COLUMNS) and the anomaly counts.

    ``billing``: the week's billing rows (at least the columns sql/attribution_billing.sql reads, in
    any order: they are put in source order here so ties break the same way every run), one per line
    item, or groups of identical line items as sql/attribution_billing_groups.sql reads them
    (``line_items``, ``periods``: see ``slices.as_line_item_groups``); both give the same result.
    ``telemetry``: GPU_TELEMETRY_COLUMNS, one row per GPU machine and day of the week.
    ``keep_source``: also group by the billing row (``source_file``, ``source_row``, kept in the frame):
    one row per source line, week slice and attribution part (the FOCUS export's grain).
    """
    start, end = week_bounds(week_start)
    source = SOURCE_ORDER if keep_source else []
    rows = (
        classify(as_line_item_groups(billing.lazy()), config.rules)
        .with_columns(row_id=order_rank(*SOURCE_ORDER))
        .drop(*(c for c in SOURCE_ORDER if c not in source))
    )
    del billing  # the caller need not keep the week's billing alive: only its classified slices are used from here
    # slices numbered as if the rows were in source order, whole rows before spread ones (no wide sort)
    classified = week_slices(rows, week_start).with_columns(slice_id=order_rank(is_spread(), "row_id", "day")).collect()
    week_metrics = telemetry.filter((pl.col("day") >= start.date()) & (pl.col("day") < end.date()))
    machines = gpu_machines(classified, config.instances, week_metrics)
    billed_resources = set(classified["resource_id"].drop_nulls().unique().to_list())
    eligible = classified.filter(
        pl.col("rule_name").is_null()
        & ~pl.col("is_unused_commitment")
        & pl.col("resource_id").is_in(machines["resource_id"])
    )
    split = split_gpu_costs(eligible, machines, jobs, week_start, config.kind_categories)
    split_ids = eligible.filter(pl.col("resource_id").is_in(sorted(split.split_resources)))["slice_id"]
    del eligible
    context = classified.drop(*MONEY_COLUMNS, "periods")
    by_usage = split.parts.join(context, on="slice_id", how="left").with_columns(attribution_method=pl.lit("usage"))
    del context
    others = undivided(classified.filter(~pl.col("slice_id").is_in(split_ids)), machines)
    del classified
    others = mark_idle_without_jobs(others, week_metrics, split.split_resources)
    rows = pl.concat([others, by_usage], how="diagonal_relaxed").with_columns(
        team=pl.coalesce("team", "tag_team", pl.lit(UNATTRIBUTED)),
        project=pl.coalesce("project", "tag_project", pl.lit(UNATTRIBUTED)),
        model=pl.coalesce("model", "tag_model", pl.lit(UNATTRIBUTED)),
        week_start=pl.lit(week_start, dtype=pl.Date),
    )
    del others, by_usage
    converted = convert(
        with_energy(rows, week_metrics, machines, config), config.fx_rates, config.reporting_currency
    ).with_columns(  # one line item's money, cut and converted, times the identical line items the row stands for
        (pl.col(c) * pl.col("line_items")).cast(MONEY) for c in (*MONEY_COLUMNS, "effective_cost_reporting")
    )
    grouped = converted.group_by(GRAIN + source).agg(
        *[pl.col(c).sum() for c in ("effective_cost", "billed_cost")],
        _sum_or_null("list_cost"),
        _sum_or_null("effective_cost_reporting"),
        _sum_or_null("gpu_hours"),
        _sum_or_null("energy_kwh"),
        _sum_or_null("co2e_kg"),
    )
    columns = {**ATTRIBUTED_COST_COLUMNS, **({"source_file": pl.String, "source_row": pl.Int64} if keep_source else {})}
    frame = conform(grouped, columns).collect().sort(GRAIN + source, nulls_last=True)  # unique keys: one order
    unknown_metrics = sorted(set(week_metrics["resource_id"].drop_nulls().unique().to_list()) - billed_resources)
    anomalies = {
        **split.anomalies,
        "metrics_for_unknown_resources": len(unknown_metrics),
        "unknown_metric_resources": unknown_metrics[:20],
        "gpu_machines": machines.height,
        "gpu_machines_with_jobs": len(split.split_resources),
    }
    return AttributionResult(frame=frame, anomalies=anomalies)


def combine_results(results: list[AttributionResult]) -> AttributionResult:
    """One week's result from the results of partitions of whole resources (``resource_id`` is in the
    grain, so their rows never share a grain): rows concatenated in the grain's order (each row's own:
    the same order for any partitioning), counts added, resource lists merged."""
    if not results:
        raise ValueError("combine_results needs at least one partition's result")
    frame = pl.concat([r.frame for r in results])
    frame = frame.sort(GRAIN + [c for c in SOURCE_ORDER if c in frame.columns], nulls_last=True)
    anomalies: dict = {}
    for key, value in results[0].anomalies.items():
        values = [r.anomalies[key] for r in results]
        anomalies[key] = sorted(set().union(*values))[:20] if isinstance(value, list) else sum(values)
    return AttributionResult(frame=frame, anomalies=anomalies)


def summarise(frame: pl.DataFrame, week_start: date, reporting_currency: str, anomalies: dict) -> dict:
    """Totals in the reporting currency: by category, idle, unused commitments, unconverted, coverage."""
    converted = frame.filter(pl.col("effective_cost_reporting").is_not_null())
    amount = pl.col("effective_cost_reporting")
    by_category = dict(converted.group_by("category").agg(amount.sum()).iter_rows())
    weight = frame.with_columns(
        _w=pl.coalesce(pl.col("effective_cost_reporting"), pl.col("effective_cost")).abs().cast(pl.Float64)
    )
    total_weight = weight["_w"].sum() or 0.0
    by_method = dict(weight.group_by("attribution_method").agg(pl.col("_w").sum()).iter_rows())
    return {
        "week_start": week_start.isoformat(),
        "reporting_currency": reporting_currency,
        "total": money_text(converted["effective_cost_reporting"].sum()),
        "by_category": {c: money_text(by_category.get(c)) for c in CATEGORIES},
        "idle_gpu_cost": money_text(converted.filter(pl.col("is_idle"))["effective_cost_reporting"].sum()),
        "unused_commitment_cost": money_text(
            converted.filter(pl.col("is_unused_commitment"))["effective_cost_reporting"].sum()
        ),
        "unconverted": unconverted(frame) if frame.height else {},
        "coverage": {m: (by_method.get(m, 0.0) / total_weight if total_weight else 0.0) for m in ATTRIBUTION_METHODS},
        "anomalies": anomalies,
    }
