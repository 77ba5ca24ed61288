"""Ingesting many files in parallel on Dask (through prefect-dask), writing to DuckDB serially.

Reading and mapping a file is independent of the warehouse, so ``prepare`` tasks run on the
flow's task runner (a Dask cluster when configured) and leave each file's mapped rows as Parquet
parts in a staging folder; the flow's own process then loads them into DuckDB in the same delivery
transactions as a sequential ingest, so the tables come out the same. ``ingest_paths`` is the one
code path: ``aicost ingest``, ``aicost run``, the weekly flow and both deployments call it, and the
flow's task runner decides whether the mapping runs on Dask.

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
from flows.ingest import FileResult, StagedFile, ingest_files, pending_files, prepare_file
from flows.settings import Settings, get_settings
from flows.warehouse import clean_stale_staging, insert_frame, opened, run_staging, staging_root


def record_refusals(con, refusals: list[tuple[str, str | None, str]]) -> int:
    """Store the files an ingest refused whole: (file, sha256 or None, reason), for the report."""
    from datetime import UTC, datetime

    import polars as pl

    now = datetime.now(UTC)
    frame = pl.DataFrame(
        [{"source_file": f, "file_sha256": h or None, "reason": r, "refused_at": now} for f, h, r in refusals],
        schema={
            "source_file": pl.String,
            "file_sha256": pl.String,
            "reason": pl.String,
            "refused_at": pl.Datetime("us", "UTC"),
        },
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
    """The DaskTaskRunner the settings ask for, or None for an in-process run.

    ``AICOST_DASK_ADDRESS`` connects to an existing cluster (its workers must reach the staging
    folder and the files); ``AICOST_DASK_LOCAL_WORKERS=N`` starts a local cluster of N processes.
    """
    if not settings.dask_address and settings.dask_local_workers <= 0:
        return None
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": settings.dask_local_workers, "processes": True, "threads_per_worker": 1}
    )


def configured_task_runner():
    """The task runner the environment asks for (at import, for deployments), or None.

    A malformed setting gives None here: the flow then stops at its first ``get_settings`` with the
    message naming the variable.
    """
    from flows.settings import SettingsInvalid

    try:
        return dask_task_runner(get_settings())
    except SettingsInvalid:
        return None


def on_dask() -> bool:
    """Whether the current flow run submits its tasks to a Dask cluster."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.task_runner is None:
        return False
    from prefect_dask import DaskTaskRunner

    return isinstance(context.task_runner, DaskTaskRunner)


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE, task_run_name="prepare {path}")
def prepare(path: str, fmt_name: str, staging_dir: str, column_defaults: dict[str, str] | None) -> StagedFile:
    """Read and map one file into Parquet parts (runs on a Dask worker).

    Rerunning it (a Prefect retry, or Dask running it again after its worker died) writes the same
    part names again, so nothing is doubled.
    """
    return prepare_file(path, fmt_name, staging_dir, column_defaults)


def ingest_paths(
    con,
    paths: list[Path | str],
    settings: Settings,
    fmt: str = "auto",
    column_defaults: dict[str, str] | None = None,
) -> list[FileResult]:
    """Load the files under ``paths`` into the warehouse ``con`` holds: the one ingest code path.

    Inside a flow run on Dask, every pending file is first read and mapped on the workers
    (``prepare``, into the shared staging folder); the writes to DuckDB then happen here, serially,
    in the same delivery transactions as an in-process ingest (which maps each file as it stores
    it), so the tables come out the same. Refused files are recorded in ``ingest_refusals``.
    """
    paths = [Path(p) for p in paths]
    run_dir = begin_staging(settings.db, settings.staging)
    staged: dict[str, StagedFile] = {}
    staging: Path | None = None
    try:
        if on_dask():
            pending = pending_files(con, paths, fmt)
            staging = run_dir / uuid.uuid4().hex
            staging.mkdir(parents=True, exist_ok=True)
            futures = [prepare.submit(str(path), name, str(staging), column_defaults) for path, name in pending]
            staged = {s.path: s for s in (f.result() for f in futures)}
            get_run_logger().info("prepared %d files on Dask", len(staged))
        results = ingest_files(con, paths, fmt, column_defaults=column_defaults, staged=staged)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    record_refusals(con, [(r.path, r.file_sha256, r.error) for r in results if r.error])
    return results


@flow(name="ingest-files", log_prints=True, task_runner=configured_task_runner())
def ingest_flow(
    paths: list[str],
    db: str | None = None,
    fmt: str = "auto",
    column_defaults: dict[str, str] | None = None,
) -> list[FileResult]:
    """Ingest files: mapped on the flow's Dask workers when it has them, stored serially here."""
    settings = get_settings(db=Path(db) if db else None)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        return ingest_paths(con, paths, settings, fmt, column_defaults)


def run_ingest(
    paths: list[str], settings: Settings, fmt: str = "auto", column_defaults: dict[str, str] | None = None
) -> list[FileResult]:
    """``aicost ingest``: the ``ingest-files`` flow on Dask when configured, else its body in-process.

    In-process needs no Prefect API (no ~10 s ephemeral start for a command that gains nothing from it).
    """
    runner = dask_task_runner(settings)
    if runner is None:
        return ingest_flow.fn(
            paths=[str(p) for p in paths], db=str(settings.db), fmt=fmt, column_defaults=column_defaults
        )
    return ingest_flow.with_options(task_runner=runner)(
        paths=[str(p) for p in paths], db=str(settings.db), fmt=fmt, column_defaults=column_defaults
    )
