"""Ingesting many files in parallel on Dask (through prefect-dask), writing to DuckDB serially.

Reading and mapping a file is independent of the warehouse, so ``prepare`` tasks run on the
flow's task runner (a Dask cluster when configured) and leave each file's mapped rows as Parquet
parts in a staging folder; one ``store`` task then loads them into DuckDB in the same delivery
transactions as a sequential ingest, so the tables come out the same.

Configure with ``AICOST_DASK_ADDRESS=tcp://scheduler:8786`` (an existing cluster; the staging
folder, ``AICOST_STAGING`` or beside the warehouse, must then be shared storage) or
``AICOST_DASK_LOCAL_WORKERS=N`` (a local cluster of N worker processes).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

import flows  # noqa: F401  (offline Prefect defaults)
from flows.ingest import StagedFile, ingest_files, pending_files, prepare_file
from flows.settings import Settings, get_settings
from flows.warehouse import clean_stale_staging, insert_frame, opened, run_staging, staging_root


def record_refusals(con, refusals: list[tuple[str, str | None, str]]) -> int:
    """Store the files an ingest refused whole: (file, sha256 or None, reason), for the report."""
    from datetime import UTC, datetime

    import polars as pl

    now = datetime.now(UTC)
    frame = pl.DataFrame(
        [{"source_file": f, "file_sha256": h or None, "reason": r, "refused_at": now} for f, h, r in refusals],
        schema={"source_file": pl.String, "file_sha256": pl.String, "reason": pl.String,
                "refused_at": pl.Datetime("us", "UTC")},
    )
    return insert_frame(con, "ingest_refusals", frame)


def begin_staging(db: Path | str, configured: Path | str | None = None) -> Path:
    """Call at the start of an ingest: remove staging left by runs no longer alive, make this run's.

    A run killed hard (kill -9, power loss) cannot remove its staged Parquet parts; the next run on
    the same staging root does. Returns this run's staging folder.
    """
    import logging

    root = staging_root(db, configured)
    for folder in clean_stale_staging(root):
        logging.getLogger(__name__).warning("removed staging folder %s left by a run that is no longer alive", folder)
    return run_staging(root)


def dask_task_runner(settings: Settings):
    """The DaskTaskRunner the settings ask for, or None for a sequential ingest."""
    if not settings.dask_address and settings.dask_local_workers <= 0:
        return None
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": settings.dask_local_workers, "processes": True, "threads_per_worker": 1}
    )


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE, task_run_name="prepare {path}")
def prepare(path: str, fmt_name: str, staging_dir: str, column_defaults: dict[str, str] | None) -> StagedFile:
    """Read and map one file into Parquet parts (runs on a Dask worker)."""
    return prepare_file(path, fmt_name, staging_dir, column_defaults)


@task(cache_policy=NO_CACHE, task_run_name="store prepared files")
def store(db: str, paths: list[str], fmt: str, staged: dict[str, StagedFile], column_defaults) -> list[dict]:
    """Load the prepared files into the warehouse, delivery by delivery (serial writes)."""
    with opened(db) as con:
        results = ingest_files(con, [Path(p) for p in paths], fmt, column_defaults=column_defaults, staged=staged)
    return [r.as_json() for r in results]


@flow(name="ingest-files", log_prints=True)
def ingest_flow(
    paths: list[str],
    db: str | None = None,
    fmt: str = "auto",
    column_defaults: dict[str, str] | None = None,
) -> list[dict]:
    """Ingest files, preparing them in parallel on the flow's task runner."""
    settings = get_settings(db=Path(db) if db else None)
    logger = get_run_logger()
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        pending = pending_files(con, [Path(p) for p in paths], fmt)
    staging = begin_staging(settings.db, settings.staging) / uuid.uuid4().hex
    staging.mkdir(parents=True, exist_ok=True)
    try:
        futures = [prepare.submit(str(path), name, str(staging), column_defaults) for path, name in pending]
        staged = {s.path: s for s in (f.result() for f in futures)}
        logger.info("prepared %d files in parallel", len(staged))
        return store(str(settings.db), [str(p) for p in paths], fmt, staged, column_defaults)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_ingest(paths: list[str], settings: Settings, fmt: str = "auto") -> list[dict]:
    """Ingest on Dask when configured, else in-process (the same tables either way)."""
    runner = dask_task_runner(settings)
    if runner is None:
        begin_staging(settings.db, settings.staging)
        with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
            return [r.as_json() for r in ingest_files(con, [Path(p) for p in paths], fmt)]
    return ingest_flow.with_options(task_runner=runner)(paths=paths, db=str(settings.db), fmt=fmt)
