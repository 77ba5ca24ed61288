"""Ingesting many files in parallel on Dask (through prefect-dask), writing to DuckDB serially.

Reading and mapping a file is independent of the warehouse, so ``prepare`` tasks run on the
flow's task runner (a Dask cluster when configured) and leave each file's mapped rows as Parquet
parts in a staging folder; the flow's own process then loads them into DuckDB in the same delivery
transactions as a sequential ingest, so the tables come out the same. ``flows.ingest.ingest_paths`` is the one
code path: ``aicost ingest``, ``aicost run``, the weekly flow and both deployments call it, and the
flow's task runner decides whether the mapping runs on Dask.

Configure with ``AICOST_DASK_ADDRESS=tcp://scheduler:8786`` (an existing cluster; the staging
folder, ``AICOST_STAGING`` or beside the warehouse, must then be shared storage) or
``AICOST_DASK_LOCAL_WORKERS=N`` (a local cluster of N worker processes).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

import flows  # noqa: F401  (offline Prefect defaults)
from flows.ingest import FileResult, StagedFile, ingest_into, prepare_file
from flows.settings import Settings, get_settings


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


@task(retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE, task_run_name="prepare {path}")
def prepare(path: str, fmt_name: str, staging_dir: str, column_defaults: dict[str, str] | None) -> StagedFile:
    """Read and map one file into Parquet parts (runs on a Dask worker).

    Rerunning it (a Prefect retry, or Dask running it again after its worker died) writes the same
    part names again, so nothing is doubled.
    """
    return prepare_file(path, fmt_name, staging_dir, column_defaults)


@flow(name="ingest-files", log_prints=True, task_runner=configured_task_runner())
def ingest_flow(
    paths: list[str],
    db: str | None = None,
    fmt: str = "auto",
    column_defaults: dict[str, str] | None = None,
) -> list[FileResult]:
    """Ingest files: mapped on the flow's Dask workers when it has them, stored serially here."""
    return ingest_into(get_settings(db=Path(db) if db else None), paths, fmt, column_defaults)
