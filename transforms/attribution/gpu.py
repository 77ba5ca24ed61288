"""Split a GPU machine's daily cost among the jobs that ran on it, by GPU-hours; the rest is idle.

Per machine and day: capacity = GPUs × billed hours (the union of its billing rows' charge periods
that day). Each job's GPU-seconds that day are its GPUs × its time on the machine that day (a job
with no end runs to the end of the week). Jobs that together exceed capacity are scaled down to it:
within 15 minutes per GPU this is clock skew between the scheduler and the bill, beyond it an
overcommit anomaly. Capacity no job used is idle: ``is_idle``, under the category of the machine's
main use that week (most GPU-hours) and the team of its main user. Each billing slice is cut into
the parts with integer weights (GPU-seconds) so the parts add up to the slice exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from transforms.attribution.slices import DAY_S, billed_periods, from_units, share_up_to, to_units
from transforms.weeks import week_bounds

KIND_CATEGORIES = {
    "training": "training",
    "evaluation": "training",
    "development": "training",
    "preprocessing": "data_processing",
    "inference": "inference",
}
SKEW_TOLERANCE_S_PER_GPU = 900  # 15 minutes of disagreement between scheduler and bill per GPU and day
MONEY_COLUMNS = ("effective_cost", "billed_cost", "list_cost")
KEYS = ["resource_id", "day"]


@dataclass
class GpuSplit:
    """The parts of the split slices, and what was odd about the usage logs."""

    parts: pl.DataFrame  # slice_id, category, team, project, model, is_idle, gpu_hours + money columns
    split_resources: set[str]
    anomalies: dict = field(default_factory=dict)


def job_days(jobs: pl.LazyFrame, week_start: date, kind_categories: dict[str, str]) -> pl.LazyFrame:
    """One row per job, machine and day of the week: seconds on the machine and its category."""
    start, end = week_bounds(week_start)
    clipped = jobs.with_columns(
        _open=pl.col("end_ts").is_null(),
        _s=pl.col("start_ts").clip(lower_bound=start),
        _e=pl.coalesce(pl.col("end_ts"), pl.lit(end)).clip(upper_bound=end),
    ).filter(pl.col("_s") < pl.col("_e"))
    return (
        clipped.with_columns(
            _day=pl.datetime_ranges(pl.col("_s").dt.truncate("1d"), pl.col("_e") - pl.duration(microseconds=1), "1d")
        )
        .explode("_day")
        .with_columns(
            day=pl.col("_day").dt.date(),
            job_s=(pl.min_horizontal("_e", pl.col("_day") + pl.duration(days=1)) - pl.max_horizontal("_s", "_day"))
            .dt.total_seconds()
            .cast(pl.Int64),
            category=pl.col("kind")
            .str.to_lowercase()
            .replace_strict(kind_categories, default="training", return_dtype=pl.String),
        )
        .drop("_s", "_e", "_day")
    )


def machine_days(slices: pl.LazyFrame, machines: pl.DataFrame) -> pl.LazyFrame:
    """``resource_id, day, billed_s, gpus, cap_s`` for every GPU machine billed that day."""
    return (
        billed_periods(slices.join(machines.lazy(), on="resource_id", how="inner"))
        .unique(["resource_id", "day", "charge_period_start", "charge_period_end"])
        .group_by(KEYS)
        .agg(billed_s=pl.col("overlap_s").sum().clip(0, DAY_S), gpus=pl.col("gpus").first())
        .with_columns(cap_s=pl.col("billed_s") * pl.col("gpus"))
    )


def main_use(jobs_on_machines: pl.LazyFrame) -> pl.LazyFrame:
    """Per machine: the category and the team with the most GPU-seconds that week."""

    def top(column: str, alias: str) -> pl.LazyFrame:
        return (
            jobs_on_machines.group_by("resource_id", column)
            .agg(_w=pl.col("gpu_s").sum())
            .sort(["resource_id", "_w", column], descending=[False, True, False], nulls_last=True)
            .group_by("resource_id", maintain_order=True)
            .agg(pl.col(column).first().alias(alias))
        )

    return top("category", "idle_category").join(top("team", "idle_team"), on="resource_id", how="left")


def split_gpu_costs(
    slices: pl.DataFrame,
    machines: pl.DataFrame,
    jobs: pl.DataFrame,
    week_start: date,
    kind_categories: dict[str, str] | None = None,
) -> GpuSplit:
    """Split the slices of GPU machines that had jobs this week among those jobs and idle time.

    ``slices``: slice_id, resource_id, day, overlap_s, charge_period_start/end and money columns.
    ``machines``: resource_id, gpus (GPUs per machine, > 0). ``jobs``: rows of the jobs table.
    """
    kinds = {**KIND_CATEGORIES, **(kind_categories or {})}
    week_jobs = job_days(jobs.lazy(), week_start, kinds).collect()
    billed = machine_days(slices.lazy(), machines).collect()
    known = set(slices["resource_id"].drop_nulls().unique().to_list())
    anomalies = {
        "jobs_without_end": week_jobs.filter(pl.col("_open"))
        .select(pl.struct("job_id", "resource_id").n_unique())
        .item(),
        "jobs_on_unknown_resources": week_jobs.filter(~pl.col("resource_id").is_in(sorted(known)))
        .select(pl.struct("job_id", "resource_id").n_unique())
        .item(),
        "unknown_job_resources": sorted(
            week_jobs.filter(~pl.col("resource_id").is_in(sorted(known)))["resource_id"].drop_nulls().unique().to_list()
        )[:20],
    }
    on_machines = week_jobs.join(machines.rename({"gpus": "machine_gpus"}), on="resource_id", how="inner").with_columns(
        gpu_s=pl.col("job_s") * pl.coalesce(pl.col("gpus"), pl.col("machine_gpus")).cast(pl.Int64)
    )
    split_resources = set(on_machines["resource_id"].unique().to_list())
    anomalies["job_days_without_billing"] = (
        on_machines.join(billed, on=KEYS, how="anti")
        .select(pl.struct("job_id", "resource_id", "day").n_unique())
        .item()
    )

    usage = (
        on_machines.join(billed.select(KEYS + ["cap_s"]), on=KEYS, how="inner")
        .with_columns(_used=pl.col("gpu_s").sum().over(KEYS))
        .with_columns(
            _scale=pl.when(pl.col("_used") > pl.col("cap_s")).then(pl.col("cap_s") / pl.col("_used")).otherwise(1.0)
        )
    )
    over = usage.unique(KEYS).with_columns(_excess=pl.col("_used") - pl.col("cap_s"))
    tolerance = pl.col("machine_gpus") * SKEW_TOLERANCE_S_PER_GPU
    anomalies["gpu_overcommit_days"] = over.filter(pl.col("_excess") > tolerance).height
    anomalies["clock_skew_adjusted_days"] = over.filter(
        (pl.col("_excess") > 0) & (pl.col("_excess") <= tolerance)
    ).height
    anomalies["overcommit_resources"] = sorted(
        over.filter(pl.col("_excess") > tolerance)["resource_id"].unique().to_list()
    )[:20]

    job_parts = (
        usage.group_by(KEYS + ["category", "team", "project", "model"])
        .agg(weight=(pl.col("gpu_s") * pl.col("_scale")).sum().floor().cast(pl.Int64))
        .with_columns(is_idle=pl.lit(False))
    )
    idle_owner = main_use(on_machines.lazy()).collect()
    split_days = billed.filter(pl.col("resource_id").is_in(sorted(split_resources)))
    idle_parts = (
        split_days.join(job_parts.group_by(KEYS).agg(_used=pl.col("weight").sum()), on=KEYS, how="left")
        .join(idle_owner, on="resource_id", how="left")
        .select(
            *KEYS,
            category=pl.col("idle_category"),
            team=pl.col("idle_team"),
            project=pl.lit(None, dtype=pl.String),
            model=pl.lit(None, dtype=pl.String),
            weight=pl.when(pl.col("cap_s") > 0)
            .then(pl.col("cap_s") - pl.col("_used").fill_null(0))
            .otherwise(1)
            .cast(pl.Int64),
            is_idle=pl.lit(True),
        )
    )
    parts = pl.concat([job_parts.select(idle_parts.columns), idle_parts]).filter(pl.col("weight") > 0)
    parts = parts.sort(KEYS + ["is_idle", "category", "team", "project", "model"], nulls_last=True)

    machine_slices = slices.filter(pl.col("resource_id").is_in(sorted(split_resources)))
    primary = (
        machine_slices.sort(["overlap_s", "slice_id"], descending=[True, False])
        .group_by(KEYS, maintain_order=True)
        .agg(_primary=pl.col("slice_id").first())
    )
    cut = (
        machine_slices.join(parts, on=KEYS, how="inner", maintain_order="left_right")  # a slice's parts in parts' order
        .join(primary, on=KEYS, how="left", maintain_order="left")
        .with_columns(_cum=pl.col("weight").cum_sum().over("slice_id", order_by=pl.int_range(pl.len())))
        .with_columns(_total=pl.col("weight").sum().over("slice_id"))
        .with_columns(
            [
                from_units(
                    share_up_to(to_units(pl.col(c)), pl.col("_cum"), pl.col("_total"))
                    - share_up_to(to_units(pl.col(c)), pl.col("_cum") - pl.col("weight"), pl.col("_total"))
                ).alias(c)
                for c in MONEY_COLUMNS
            ]
        )
        .with_columns(
            gpu_hours=pl.when(pl.col("slice_id") == pl.col("_primary")).then(pl.col("weight") / 3600.0),
        )
        .select("slice_id", "category", "team", "project", "model", "is_idle", "gpu_hours", *MONEY_COLUMNS)
    )
    return GpuSplit(parts=cut, split_resources=split_resources, anomalies=anomalies)
