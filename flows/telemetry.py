"""GPU telemetry at fleet scale: samples rolled up into ``gpu_hourly`` as they are stored, raw
samples kept only for the configured retention (``Settings.gpu_raw_retention_weeks``).

Every insert into ``gpu_metrics`` (``flows.warehouse.insert_parquet`` / ``insert_frame``) rolls its
rows up here in the caller's transaction, so the rollup holds each file exactly once: a file the
ingest manifest already knows is never inserted again, and a rolled-back file leaves no trace.
The weekly run (attribution, detectors) reads only ``gpu_hourly``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from flows.warehouse import query, sql_text
from transforms.schema import GPU_METRICS_COLUMNS, conform

LINE_READER_MEMORY = "512MB"  # DuckDB's own share while it reads a telemetry file's lines

SAMPLES = "gpu_rollup_samples"
INCOMING = "gpu_hourly_incoming"
MERGED = "gpu_hourly_merged"


def read_lines(path: Path) -> pl.DataFrame:
    """Every line of a text file (plain or gzip) in file order, as column ``line``, read by DuckDB's CSV
    reader (``sql/telemetry_lines.sql``): a file's GPU samples are mapped together (intervals and
    scrapes need every line of a GPU) without regrouping the lines, in half the CPU of a Python line loop."""
    con = duckdb.connect(config={"memory_limit": LINE_READER_MEMORY})
    try:
        return con.sql(sql_text("telemetry_lines"), params={"path": str(path)}).pl()
    finally:
        con.close()


def roll_up(con: duckdb.DuckDBPyConnection, samples: pl.LazyFrame | pl.DataFrame | list[str]) -> int:
    """Merge the hourly rollup of ``samples`` (rows of gpu_metrics: a frame, or the Parquet parts of a
    file being stored) into gpu_hourly, in SQL; returns the rows written.

    ``sql/gpu_hourly_part.sql`` sums the samples per machine, GPU and hour; hours the table already
    holds for the same GPU (another file's part of the hour) are combined with the new part by
    ``sql/gpu_hourly_merged.sql`` (sums and counts add up), then replaced.
    """
    if isinstance(samples, list):
        con.read_parquet(samples).create_view(SAMPLES, replace=True)
    else:
        frame = samples.collect() if isinstance(samples, pl.LazyFrame) else samples
        con.register(SAMPLES, conform(frame.lazy(), GPU_METRICS_COLUMNS).collect().to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {INCOMING} AS {sql_text('gpu_hourly_part')}").fetchall()
    finally:
        if isinstance(samples, list):
            con.execute(f"DROP VIEW IF EXISTS {SAMPLES}").fetchall()
        else:
            con.unregister(SAMPLES)
    try:
        first, last = con.execute(f"SELECT min(hour), max(hour) FROM {INCOMING}").fetchall()[0]
        if first is None:
            return 0
        params = {"first_hour": first, "last_hour": last}
        con.execute(f"CREATE OR REPLACE TEMP TABLE {MERGED} AS {sql_text('gpu_hourly_merged')}", params).fetchall()
        con.execute(sql_text("gpu_hourly_delete"), params).fetchall()
        con.execute(f"INSERT INTO gpu_hourly BY NAME SELECT * FROM {MERGED}").fetchall()
        return con.execute(f"SELECT count(*) FROM {MERGED}").fetchall()[0][0]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {INCOMING}").fetchall()
        con.execute(f"DROP TABLE IF EXISTS {MERGED}").fetchall()


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
