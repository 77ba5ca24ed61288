"""GPU telemetry at fleet scale: samples rolled up into ``gpu_hourly`` as they are stored, raw
samples kept only for the configured retention (``Settings.gpu_raw_retention_weeks``).

Every insert into ``gpu_metrics`` (``flows.warehouse.insert_parquet`` / ``insert_frame``) rolls its
rows up here in the caller's transaction, so the rollup holds each file exactly once: a file the
ingest manifest already knows is never inserted again, and a rolled-back file leaves no trace.
The weekly run (attribution, detectors) reads only ``gpu_hourly``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from flows.warehouse import query, sql_text
from transforms.gpu_rollup import HOURLY_COLUMNS, hourly, merge
from transforms.schema import GPU_METRICS_COLUMNS, conform

INCOMING = "gpu_hourly_incoming"


def roll_up(con: duckdb.DuckDBPyConnection, samples: pl.LazyFrame) -> int:
    """Merge the hourly rollup of ``samples`` (rows of gpu_metrics) into gpu_hourly; returns the rows written.

    Hours the table already holds for the same GPU (another file's part of the hour) are combined
    with the new part by ``transforms.gpu_rollup.merge`` (sums and counts add up), then replaced.
    """
    incoming = hourly(conform(samples, GPU_METRICS_COLUMNS)).collect(engine="streaming")
    if incoming.height == 0:
        return 0
    params = {"first_hour": incoming["hour"].min(), "last_hour": incoming["hour"].max()}
    con.register(INCOMING, incoming.to_arrow())
    try:
        stored = query(con, "gpu_hourly_existing", params)
        merged = (
            merge(pl.concat([stored.cast(HOURLY_COLUMNS), incoming]).lazy()).collect() if stored.height else incoming
        )
        if stored.height:
            con.execute(sql_text("gpu_hourly_delete"), params).fetchall()
    finally:
        con.unregister(INCOMING)
    con.register(INCOMING, merged.to_arrow())
    try:
        con.execute(f"INSERT INTO gpu_hourly BY NAME SELECT * FROM {INCOMING}").fetchall()
    finally:
        con.unregister(INCOMING)
    return merged.height


def prune_raw_samples(con: duckdb.DuckDBPyConnection, weeks: int, now: datetime | None = None) -> None:
    """Delete the raw samples of files ingested more than ``weeks`` weeks ago (their hours stay rolled up)."""
    con.execute(sql_text("gpu_metrics_prune"), {"weeks": weeks, "now": now or datetime.now(UTC)}).fetchall()


def backfill(con: duckdb.DuckDBPyConnection) -> int:
    """A warehouse from before the rollup (samples stored, ``gpu_hourly`` empty): roll its samples up
    once, an hour at a time (bounded memory), in one transaction; returns the hours rolled up."""
    from flows.warehouse import transaction

    if not query(con, "gpu_rollup_backlog").item():
        return 0
    hours = query(con, "gpu_metrics_hours")["hour"].to_list()
    with transaction(con):
        for hour in hours:
            roll_up(con, query(con, "gpu_metrics_between", {"start": hour, "end": hour + timedelta(hours=1)}).lazy())
    return len(hours)
