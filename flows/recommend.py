"""Find the week's savings: read the inputs (sql/recommend_*.sql), run the 14 detectors, track
against last week, and replace the week's rows of ``recommendations`` in one transaction.

The detectors whose findings for a machine (or an endpoint) read only that machine's (endpoint's)
rows run on partitions of whole machines (endpoints with their machines): as Prefect tasks on the
Dask workers when the flow runs on the Dask task runner, else the same partitions in-process. Their
findings are concatenated in the one-pass order, then finalised and planned together as before.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture

from flows import on_dask
from flows.config import ConfigError, load_detector_config, load_instances, load_prices
from flows.settings import Settings
from flows.warehouse import insert_frame, query, sql_text, transaction
from transforms.config import DetectorConfig
from transforms.detectors import DETECTORS, batching, gpu_to_cpu, idle_gpu, scheduling, underused_gpu
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
    frames |= commitment_inputs(con, week["week_end"], config.commitments.lookback_weeks)
    return frames


def commitment_inputs(con: duckdb.DuckDBPyConnection, week_end, lookback_weeks: int) -> dict[str, pl.DataFrame]:
    """The commitments detector's two inputs over the ``lookback_weeks`` weeks ending at ``week_end``:
    on-demand spend added up by hour, type and machine, and each commitment's use (aggregated in DuckDB:
    the lookback's lines are millions for a large fleet)."""
    window = {"lookback_start": week_end - timedelta(weeks=lookback_weeks), "week_end": week_end}
    return {name: query(con, f"recommend_{name}", window) for name in ("on_demand_spend", "commitment_use")}


# Detectors that judge each machine on its own rows (metrics, bill, jobs, owners): cut by machine.
PER_MACHINE = (idle_gpu, underused_gpu, scheduling)
# Detectors that judge each endpoint on its traffic and its machines' rows: cut by endpoint.
PER_ENDPOINT = (batching, gpu_to_cpu)
# The frames with a resource_id column that those detectors read; the others (prices, instances) go whole.
MACHINE_FRAMES = ("gpu_metrics", "machines", "jobs", "attributed_cost")
# Machine-hour rows (recommend_gpu_metrics.sql) per partition on Dask; in-process the week is one partition.
# 30,000 is about 180 machines of 8 GPUs a week: the 250,000 GPU-hours a partition held before.
ROWS_PER_PART = 30_000


def _inputs(modules) -> set[str]:
    return {name for module in modules for name in module.INPUTS}


def _slices(keys: list, parts: int) -> list[list]:
    """``keys`` (sorted) in ``parts`` contiguous slices of nearly equal length (none empty)."""
    parts = max(1, min(parts, len(keys)))
    size, extra = divmod(len(keys), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(keys[start:end])
        start = end
    return out


def machine_partitions(frames: dict[str, pl.DataFrame], parts: int) -> list[dict[str, pl.DataFrame]]:
    """The inputs of the per-machine detectors cut into ``parts`` partitions of whole machines.

    Every row of a machine frame goes to exactly one partition (its machine's); rows without a machine
    go to the last one. Frames without a machine (prices, instances) go whole to every partition.
    """
    names = _inputs(PER_MACHINE)
    if parts <= 1:  # one partition: every row, as the frames are
        return [{n: frames.get(n) for n in names}]
    keys = sorted(
        set().union(
            *(
                frames[n]["resource_id"].drop_nulls().unique().to_list()
                for n in MACHINE_FRAMES
                if n in names and frames.get(n) is not None
            )
        )
    )
    slices = _slices(keys, parts)
    out = []
    for i, mine in enumerate(slices):
        part: dict[str, pl.DataFrame] = {}
        for n in names:
            f = frames.get(n)
            if f is None or n not in MACHINE_FRAMES:
                part[n] = f
                continue
            take = pl.col("resource_id").is_in(mine)
            part[n] = f.filter(take | pl.col("resource_id").is_null() if i == len(slices) - 1 else take)
        out.append(part)
    return out


def endpoint_partitions(frames: dict[str, pl.DataFrame], parts: int) -> list[dict[str, pl.DataFrame]]:
    """The inputs of the per-endpoint detectors cut into ``parts`` partitions of whole endpoints, each
    with the metrics and bill rows of the machines its endpoints run on (a machine serving two
    endpoints of different partitions is in both: the detectors only read it)."""
    names = _inputs(PER_ENDPOINT)
    inference = frames.get("inference_requests")
    if parts <= 1 or inference is None or inference.height == 0:  # one partition: the frames as they are
        return [{n: frames.get(n) for n in names}]
    inference = inference.filter(pl.col("endpoint").is_not_null())  # what endpoint_stats reads
    out = []
    for mine in _slices(sorted(inference["endpoint"].unique().to_list()), parts):
        rows = inference.filter(pl.col("endpoint").is_in(mine))
        machines = rows["resource_id"].drop_nulls().unique()
        part = {n: frames.get(n) for n in names}
        part["inference_requests"] = rows
        for n in MACHINE_FRAMES:
            if n in names and part[n] is not None:
                part[n] = part[n].filter(pl.col("resource_id").is_in(machines))
        out.append(part)
    return out


@task(cache_policy=NO_CACHE, task_run_name="detect partition {part} of {kinds}", retries=1)
def detect_part(kinds: tuple[str, ...], part: int, frames: dict, config: DetectorConfig) -> dict[str, pl.DataFrame]:
    """Run the detectors ``kinds`` on one partition's inputs: on a Dask worker inside a flow run on
    Dask (``detect_all`` submits it there), else called in-process. Pure: inputs in, findings out."""
    by_kind = {module.KIND: module for module in DETECTORS}
    return {kind: by_kind[kind].detect(frames, config) for kind in kinds}


def detect_all(
    frames: dict[str, pl.DataFrame], config: DetectorConfig, rows_per_part: int = ROWS_PER_PART
) -> pl.DataFrame:
    """Every detector's findings in one frame, in detector order.

    Inside a flow run on Dask the per-machine and per-endpoint detectors run on the workers, on
    partitions of about ``rows_per_part`` machine-hour rows; otherwise the week is one partition, run
    here. Either way each detector's findings are the one-pass findings, in the same order.
    """
    if rows_per_part < 1:
        raise ValueError(f"rows_per_part must be at least 1, got {rows_per_part}")
    dask = on_dask()
    metrics = frames.get("gpu_metrics")
    parts = max(1, -(-(metrics.height if metrics is not None else 0) // rows_per_part)) if dask else 1
    dispatch = detect_part.submit if dask else detect_part.fn
    pending = []
    for modules, cut in ((PER_MACHINE, machine_partitions), (PER_ENDPOINT, endpoint_partitions)):
        kinds = tuple(module.KIND for module in modules)
        pending += [dispatch(kinds, i, part, config) for i, part in enumerate(cut(frames, parts))]
    found: dict[str, list[pl.DataFrame]] = {}
    for result in pending:  # partitions in order: each detector's rows come in its one-pass order
        for kind, rows in (result.result() if isinstance(result, PrefectFuture) else result).items():
            found.setdefault(kind, []).append(rows)
    parted = {module.KIND for module in (*PER_MACHINE, *PER_ENDPOINT)}
    ordered = []
    for module in DETECTORS:
        if module.KIND in parted:
            ordered += found.get(module.KIND, [])
        else:
            ordered.append(module.detect(frames, config))
    return (
        pl.concat([f for f in ordered if f.height], how="vertical")
        if any(f.height for f in ordered)
        else pl.DataFrame(schema=DETECTOR_COLUMNS)
    )


def recommend_week(
    con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings, rows_per_part: int = ROWS_PER_PART
) -> pl.DataFrame:
    """Run every detector, track against last week, replace the week's rows in one transaction; return them.

    On Dask the per-machine and per-endpoint detectors run on the workers (``detect_all``)."""
    week_start = as_monday(week_start)
    config = load_config(settings, week_start)
    frames = read_inputs(con, week_start, config)
    frames["prices"] = load_prices(settings.prices)
    frames["instances"] = load_instances()
    found = detect_all(frames, config, rows_per_part)
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
