"""Extra CPU fleet line items for benchmark-sized samples (``rows=``), generated in vectorised chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from sample_data import company as co
from sample_data.aws import REGION_NAME, finish
from sample_data.frames import hour_times
from sample_data.money import micro
from sample_data.workloads import Job, Window

FLEET_TYPES = (("c6i.2xlarge", 0.34), ("m6i.2xlarge", 0.384), ("c6i.4xlarge", 0.68), ("r6i.2xlarge", 0.504))
FLEET_TEAMS = (("platform", "data-lake"), ("vision", "vision-seg"), ("nlp", "llm-chat"), ("research", "speech-asr"))
CHUNK_ROWS = 400_000
MAX_FLEET_JOBS = 20_000


def fleet_id(i: int | np.ndarray):
    return f"i-0f1ee7{i:010d}" if isinstance(i, int) else np.char.add("i-0f1ee7", np.char.zfill(i.astype(str), 10))


def fleet_size(extra_rows: int, hours: int) -> int:
    return 0 if extra_rows <= 0 or hours <= 0 else -(-extra_rows // hours)


def fleet_chunks(window: Window, h0: int, h1: int, n_instances: int, n_rows: int, tag: str) -> Iterator[pl.DataFrame]:
    """``n_rows`` hourly on-demand rows of ``n_instances`` CPU machines over window hours [h0, h1)."""
    hours = h1 - h0
    per_chunk = max(1, CHUNK_ROWS // max(hours, 1))
    done = 0
    for first in range(0, n_instances, per_chunk):
        inst = np.arange(first, min(first + per_chunk, n_instances))
        idx_inst = np.repeat(inst, hours)
        idx_hour = np.tile(np.arange(h0, h1), len(inst))
        take = min(len(idx_inst), n_rows - done)
        if take <= 0:
            break
        idx_inst, idx_hour = idx_inst[:take], idx_hour[:take]
        done += take
        kind = idx_inst % len(FLEET_TYPES)
        team = idx_inst % len(FLEET_TEAMS)
        types = np.array([t for t, _ in FLEET_TYPES])[kind]
        rates = np.array([r for _, r in FLEET_TYPES])[kind]
        cost = micro(rates)
        start, end = hour_times(window, idx_hour)
        teams = np.array([t for t, _ in FLEET_TEAMS])[team]
        items = pl.DataFrame(
            {
                "usage_start": start,
                "usage_end": end,
                "resource_id": fleet_id(idx_inst),
                "instance_type": types,
                "unblended_cost": cost,
                "effective_cost": cost,
                "public_on_demand_cost": cost,
                "unblended_rate": np.char.mod("%.6f", rates),
                "usage_account_id": np.array(list(co.AWS_ACCOUNTS.values()))[team],
                "tag_team": teams,
                "tag_project": np.array([p for _, p in FLEET_TEAMS])[team],
            }
        ).with_columns(
            pl.lit("Usage").alias("line_item_type"),
            pl.lit("AmazonEC2").alias("product_code"),
            pl.concat_str([pl.lit("BoxUsage:"), pl.col("instance_type")]).alias("usage_type"),
            pl.lit("RunInstances").alias("operation"),
            pl.lit("us-east-1a").alias("availability_zone"),
            pl.lit(1.0).alias("usage_amount"),
            pl.lit("USD").alias("currency"),
            pl.lit(REGION_NAME["us-east-1"]).alias("region"),
            pl.lit("us-east-1").alias("region_code"),
            pl.lit("Compute Instance").alias("product_family"),
            pl.lit("AmazonEC2").alias("servicecode"),
            pl.lit("Hrs").alias("pricing_unit"),
            pl.col("unblended_rate").alias("public_on_demand_rate"),
            pl.lit("OnDemand").alias("term"),
            pl.lit("data-processing").alias("tag_role"),
            pl.concat_str(
                [
                    pl.lit("$"),
                    pl.col("unblended_rate"),
                    pl.lit(" per On Demand Linux "),
                    pl.col("instance_type"),
                    pl.lit(" Instance Hour"),
                ]
            ).alias("description"),
        )
        yield finish(items, id_prefix=f"nwfleet{tag}c{first:07d}")


def fleet_jobs(window: Window, n_instances: int) -> list[Job]:
    """One preprocessing job per fleet machine and week, at most MAX_FLEET_JOBS."""
    jobs = []
    for i in range(n_instances):
        team, project = FLEET_TEAMS[i % len(FLEET_TEAMS)]
        for w in range(window.weeks):
            if len(jobs) >= MAX_FLEET_JOBS:
                return jobs
            jobs.append(
                Job(
                    f"fleet-etl-{i:07d}-w{w + 1}",
                    "preprocessing",
                    team,
                    project,
                    "",
                    "svc-etl",
                    (fleet_id(i),),
                    w * 168 + 1,
                    w * 168 + 23,
                    0,
                    "on_demand",
                )
            )
    return jobs
