"""Faults: a run killed part way leaves the warehouse as it was; two writers on one file wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from flows.warehouse import WarehouseBusy, connect, exclusive_run

# AWS Well-Architected Labs workshop CUR (Apache-2.0 / MIT-0): ~119k rows, a few seconds to load.
CUR_PARQUET = "aws/wal_Oct2018-WorkshopCUR-00001.snappy.parquet"
FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"


def aicost(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def counts(db: Path) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return (
            con.execute("SELECT count(*), sum(billed_cost) FROM billing_line_items").fetchone(),
            con.execute("SELECT count(*) FROM ingest_manifest").fetchone()[0],
        )


DIES_MID_TRANSACTION = """
import os, sys
from pathlib import Path
import flows.ingest as ingest
from flows.warehouse import connect

def die(*_args):  # every row of the delivery is written, nothing is committed yet
    os._exit(9)

ingest._replace_older_deliveries = die
con = connect(sys.argv[1])
ingest.ingest_files(con, [Path(sys.argv[2])])
"""


@pytest.mark.slow
def test_an_ingest_killed_part_way_leaves_the_warehouse_as_it_was(tmp_path, shared_data):
    db = tmp_path / "w.duckdb"
    assert aicost(db, "ingest", str(shared_data / FOCUS_SAMPLE)).wait(timeout=120) == 0
    before = counts(db)

    # The process dies at a fixed point: after the delivery's rows were copied into the warehouse,
    # before the transaction commits - like a kill -9 there, without racing a timer.
    died = subprocess.run(
        [sys.executable, "-c", DIES_MID_TRANSACTION, str(db), str(shared_data / CUR_PARQUET)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # a library call stages in the temp folder: the test's
    )
    assert died.returncode == 9, died.stderr
    assert counts(db) == before

    # the next run completes the job
    assert aicost(db, "ingest", str(shared_data / CUR_PARQUET)).wait(timeout=300) == 0
    (rows, _), files = counts(db)
    assert rows == before[0][0] + 119_307 and files == 2
    after = counts(db)

    # a kill -9 at an arbitrary moment never leaves a part: the warehouse is as before or complete
    fresh = tmp_path / "fresh.duckdb"
    assert aicost(fresh, "ingest", str(shared_data / FOCUS_SAMPLE)).wait(timeout=120) == 0
    proc = aicost(fresh, "ingest", str(shared_data / CUR_PARQUET))
    time.sleep(3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert counts(fresh) in (before, after)


@pytest.mark.slow
def test_a_second_run_waits_for_the_first_then_proceeds(tmp_path):
    db = tmp_path / "w.duckdb"
    order: list[str] = []
    with exclusive_run(db, timeout_s=30):

        def second() -> None:
            with exclusive_run(db, timeout_s=30):
                order.append("second")

        thread = threading.Thread(target=second)
        # flock locks are per open file: a second holder in this process blocks like another process
        thread.start()
        time.sleep(1.5)
        order.append("first done")
    thread.join(timeout=30)
    assert order == ["first done", "second"]


@pytest.mark.slow
def test_a_run_that_cannot_get_the_warehouse_fails_clearly(tmp_path):
    db = tmp_path / "w.duckdb"
    connect(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy, match="in use by another process"):
            connect(db, lock_timeout_s=2)
    finally:
        holder.kill()
        holder.wait()
