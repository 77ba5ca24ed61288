"""Parallel ingest on a local Dask cluster of two worker processes gives the same tables."""

from __future__ import annotations

import pytest

from flows.ingest import run_ingest
from flows.settings import get_settings
from flows.warehouse import opened

pytestmark = pytest.mark.slow

TABLE_SNAPSHOT = """
SELECT source_format, provider, billing_currency, count(*) AS n,
       sum(billed_cost) AS billed, sum(effective_cost) AS effective,
       string_agg(DISTINCT delivery_id, ',' ORDER BY delivery_id) AS deliveries
FROM billing_line_items GROUP BY ALL ORDER BY ALL
"""


def _snapshot(db):
    with opened(db) as con:
        billing = con.execute(TABLE_SNAPSHOT).fetchall()
        rejected = con.execute("SELECT source_file, source_row, reason FROM rejected_rows ORDER BY ALL").fetchall()
        manifest = con.execute(
            "SELECT file_sha256, source_format, rows_loaded, rows_rejected FROM ingest_manifest ORDER BY ALL"
        ).fetchall()
    return billing, rejected, manifest


def test_dask_ingest_gives_the_same_tables_as_sequential(tmp_path, shared_data, prefect_harness, monkeypatch):
    paths = [str(shared_data / d) for d in ("focus", "aws", "azure", "gcp")]
    sequential = get_settings(db=tmp_path / "sequential.duckdb")
    monkeypatch.setenv("AICOST_DASK_LOCAL_WORKERS", "2")  # the documented switch, as a user sets it
    parallel = get_settings(db=tmp_path / "parallel.duckdb")
    assert parallel.dask_local_workers == 2

    seq_results = [r.as_json() for r in run_ingest(paths, sequential)]
    par_results = [r.as_json() for r in run_ingest(paths, parallel)]

    assert sorted((r["path"], r["rows_loaded"], r["error"]) for r in seq_results) == sorted(
        (r["path"], r["rows_loaded"], r["error"]) for r in par_results
    )
    assert sum(r["rows_loaded"] for r in par_results) > 120_000
    assert _snapshot(sequential.db) == _snapshot(parallel.db)
    # staging parts are cleaned up
    assert not any((tmp_path / "staging").rglob("*.parquet"))
