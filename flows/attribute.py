"""Attribute one ISO week: read the week's billing and usage logs, run the transform, replace the
week's rows of ``attributed_cost`` in one transaction, and summarise."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture

from flows import on_dask
from flows.config import load_attribution_rules, load_energy, load_fx_rates, load_instances
from flows.settings import CONFIG_DIR, Settings
from flows.warehouse import insert_frame, query, transaction
from transforms.attribution import AttributionConfig, AttributionResult, attribute_costs, combine_results, summarise
from transforms.attribution.rules import validate_rules
from transforms.weeks import week_params


def _read_csv(path: Path) -> pl.DataFrame:
    """A configuration CSV as text columns ('#' lines are comments)."""
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {path} does not exist")
    return pl.read_csv(path, comment_prefix="#", infer_schema=False)


def load_config(settings: Settings) -> AttributionConfig:
    """Rules, job kinds, exchange rates, instance GPUs, GPU power, grid carbon and PUE from config files."""
    rules = load_attribution_rules(settings.attribution_rules)
    energy = load_energy(settings.energy)
    energy_dir = settings.energy.parent if settings.energy.is_file() else CONFIG_DIR
    fx_rates = load_fx_rates(settings.fx_rates)
    if fx_rates is None:
        raise FileNotFoundError(f"configuration file {settings.fx_rates} does not exist")
    return AttributionConfig(
        reporting_currency=settings.reporting_currency.upper(),
        rules=validate_rules(rules.rules),
        kind_categories=dict(rules.job_kinds),
        fx_rates=fx_rates,
        instances=load_instances(),
        gpu_power=_read_csv(energy_dir / energy.gpu_power_csv).with_columns(pl.col("power_w").cast(pl.Float64)),
        grid_carbon=_read_csv(energy_dir / energy.grid_carbon_csv).with_columns(
            pl.col("gco2e_per_kwh").cast(pl.Float64, strict=False)
        ),
        pue=energy.pue,
        default_gco2e_per_kwh=energy.default_gco2e_per_kwh,
    )


ROWS_PER_PART = 500_000  # billing rows attributed at once: bounds memory (polars needs ~1 GiB per million rows)


def compute_week(
    con: duckdb.DuckDBPyConnection,
    week_start: date,
    settings: Settings,
    rows_per_part: int = ROWS_PER_PART,
    keep_source: bool = False,
) -> AttributionResult:
    """Read the week's inputs with the sql/attribution_*.sql queries and attribute them (no writes).

    DuckDB filters the week, reads only the billing columns attribution uses, groups identical line
    items (sql/attribution_billing_groups.sql: 1M hourly line items become 41,763 rows, in one scan of
    the week) and aggregates the GPU samples per machine and day, so neither the week's line items nor
    its samples reach Python one by one. With ``keep_source`` (the FOCUS export's grain) every line
    item is read as it is. The rows are attributed in partitions of whole resources of about
    ``rows_per_part`` line items each (the groups cut in polars; the export's line items read from
    DuckDB partition by partition), each with the jobs and telemetry of its resources; everything
    attribution does is per resource, so the combined result equals one pass over the week (the last
    partition also takes the jobs and telemetry of resources the week's bill does not know, for the
    anomaly counts).
    """
    params = week_params(week_start)  # refuses a day that is not a Monday
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
    config = load_config(settings)
    if keep_source:
        line_items = query(con, "attribution_billing_rows", params)["line_items"].item()
        parts = max(1, -(-line_items // rows_per_part))

        def read_part(part: int) -> pl.DataFrame:
            return query(con, "attribution_billing", {**params, "parts": parts, "part": part})

    else:  # one scan: partitioning in DuckDB would scan the week once per partition
        groups = query(con, "attribution_billing_groups", params)
        parts = max(1, -(-groups["line_items"].sum() // rows_per_part))

        def read_part(part: int) -> pl.DataFrame:
            by_resource = pl.col("resource_id").fill_null("").hash() % parts == part
            return groups if parts == 1 else groups.filter(by_resource)

    jobs = query(con, "attribution_jobs", params)
    telemetry = query(con, "attribution_gpu_metrics", params)
    dispatch = attribute_part.submit if parts > 1 and on_dask() else attribute_part.fn
    results, earlier = [], pl.Series("resource_id", [], dtype=pl.String)
    for part in range(parts):  # DuckDB is read here, in order; the partitions are attributed by `dispatch`
        billing = read_part(part)
        resources = billing["resource_id"].drop_nulls().unique()
        if part < parts - 1:
            mine = pl.col("resource_id").is_in(resources).fill_null(False)
        else:  # the rest: this partition's resources, those no partition bills, and rows without a resource
            mine = ~pl.col("resource_id").is_in(earlier).fill_null(False)
        earlier = pl.concat([earlier, resources])
        results.append(dispatch(billing, jobs.filter(mine), telemetry.filter(mine), week_start, config, keep_source))
        del billing
    return combine_results([r.result() if isinstance(r, PrefectFuture) else r for r in results])


@task(cache_policy=NO_CACHE, task_run_name="attribute partition", retries=1)
def attribute_part(
    billing: pl.DataFrame,
    jobs: pl.DataFrame,
    telemetry: pl.DataFrame,
    week_start: date,
    config: AttributionConfig,
    keep_source: bool,
) -> AttributionResult:
    """Attribute one partition of whole resources: on a Dask worker inside a flow run on Dask
    (``compute_week`` submits it there), else called in-process. Pure: inputs in, result out."""
    return attribute_costs(billing, jobs, telemetry, week_start, config, keep_source)


def attribute_week(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> dict:
    """Replace the week's rows of attributed_cost in one transaction and return its summary."""
    result = compute_week(con, week_start, settings)
    with transaction(con):
        con.execute(_delete_sql(), {"week_start": week_start})
        insert_frame(con, "attributed_cost", result.frame)
    return summarise(result.frame, week_start, settings.reporting_currency.upper(), result.anomalies)


def _delete_sql() -> str:
    from flows.warehouse import sql_text

    return sql_text("attribution_delete_week")


def attribution_summary(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> dict:
    """The stored week's totals, with the anomaly counts recomputed from the week's inputs."""
    stored = query(con, "attribution_week", {"week_start": week_start})
    anomalies = compute_week(con, week_start, settings).anomalies
    return summarise(stored, week_start, settings.reporting_currency.upper(), anomalies)
