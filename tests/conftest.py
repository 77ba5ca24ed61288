"""Shared test fixtures: where the real samples are, and a fresh warehouse per test."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows  # noqa: F401  (offline Prefect defaults before anything imports Prefect)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public samples, read in place (never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared samples are expected beside the project at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def warehouse(tmp_path):
    """A fresh DuckDB warehouse with the whole schema, closed after the test."""
    from flows.warehouse import connect

    con = connect(tmp_path / "warehouse.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="session")
def prefect_harness():
    """A throwaway Prefect API for tests that run flows in-process."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
