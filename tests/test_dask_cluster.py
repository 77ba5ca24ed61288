"""Ingest against an existing Dask cluster, started the way a platform team starts one.

``dask scheduler`` and two ``dask worker`` processes (the venv's console scripts) on 127.0.0.1, a
shared staging folder (``AICOST_STAGING``), and ``aicost ingest`` connecting by address
(``AICOST_DASK_ADDRESS``): the tables equal an in-process ingest of the same files (every shared
billing sample and the usage logs), also when a worker dies in the middle of mapping a file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prefect import flow

from flows.cli import main as cli
from flows.ingest import run_ingest
from flows.settings import get_settings
from flows.warehouse import opened

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DASK = str(Path(sys.executable).parent / "dask")
BILLING = ("focus", "aws", "azure", "gcp")
USAGE = ("gpu", "slurm", "llm", "k8s")
START_TIMEOUT_S = 90

# A worker preload (test-only, never in the project's code): the worker exits hard while it is
# executing its N-th file mapping (`prepare` task), as soon as that task starts.
EXIT_PRELOAD = """
import os
from distributed import WorkerPlugin

class ExitMidTask(WorkerPlugin):
    name = "exit-mid-task"

    def setup(self, worker):
        self.worker, self.started = worker, 0

    def transition(self, key, start, finish, **kwargs):
        # the N-th file mapping this worker starts: exit while it runs (deterministic: no timer)
        if finish != "executing" or not str(key).startswith("prepare"):
            return
        self.started += 1
        if self.started >= int(os.environ["AICOST_TEST_EXIT_ON_TASK"]):
            with open(os.environ["AICOST_TEST_EXIT_MARKER"], "w") as fh:
                fh.write(str(key))
            os._exit(17)

async def dask_setup(worker):
    await worker.plugin_add(ExitMidTask())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in [*self.workers.values(), self.scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def start_cluster(folder: Path, worker_env: dict[str, dict[str, str]] | None = None) -> Cluster:
    """A scheduler and workers ``a`` and ``b`` (1 thread each) on 127.0.0.1, waited for (bounded)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = lambda name: open(folder / f"{name}.log", "w")  # noqa: E731
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log("scheduler"),
        stderr=subprocess.STDOUT,
    )
    cluster = Cluster(address=f"tcp://127.0.0.1:{port}", scheduler=scheduler)
    try:
        for name in ("a", "b"):
            extra = (worker_env or {}).get(name, {})
            argv = [
                DASK,
                "worker",
                cluster.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--host",
                "127.0.0.1",
                "--dashboard-address",
                ":0",
                "--no-nanny",
            ]
            if "preload" in extra:
                argv += ["--preload", extra["preload"]]
            cluster.workers[name] = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env={**env, **{k: v for k, v in extra.items() if k != "preload"}},
                stdout=log(f"worker-{name}"),
                stderr=subprocess.STDOUT,
            )
        from distributed import Client

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # bounded: the scheduler answers, then both workers have registered
            try:
                with Client(cluster.address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the Dask cluster at {cluster.address} did not start in {START_TIMEOUT_S} s; logs in {folder}"
                    ) from None
                time.sleep(1)
        return cluster
    except BaseException:
        cluster.stop()
        raise


def snapshot(db: Path) -> dict[str, list]:
    """Every loaded table, as sorted rows (lineage ids that differ per run left out)."""
    queries = {
        "billing": """SELECT source_format, provider, billing_account_id, billing_currency, delivery_id,
                             count(*), sum(billed_cost), sum(effective_cost), sum(list_cost)
                      FROM billing_line_items GROUP BY ALL ORDER BY ALL""",
        "billing_rows": "SELECT source_file, source_row, billed_cost, effective_cost FROM billing_line_items ORDER BY ALL",
        "rejected": "SELECT source_file, source_row, reason FROM rejected_rows ORDER BY ALL",
        "manifest": """SELECT source_file, file_sha256, source_format, rows_loaded, rows_rejected
                       FROM ingest_manifest ORDER BY ALL""",
        "refusals": "SELECT source_file, file_sha256, reason FROM ingest_refusals ORDER BY ALL",
        "decisions": "SELECT delivery_id, decision, reason FROM delivery_decisions ORDER BY ALL",
        "gpu_metrics": "SELECT source_file, count(*), sum(utilization_pct), sum(power_w) FROM gpu_metrics GROUP BY ALL ORDER BY ALL",
        "jobs": "SELECT source_file, job_id, team, resource_id, start_ts, end_ts FROM jobs ORDER BY ALL",
        "inference": "SELECT source_file, count(*), sum(requests), sum(tokens_in), sum(tokens_out) FROM inference_requests GROUP BY ALL ORDER BY ALL",
    }
    with opened(db) as con:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}


@pytest.fixture(scope="module")
def inputs(shared_data):
    return [str(shared_data / d) for d in (*BILLING, *USAGE)]


@pytest.fixture(scope="module")
def sequential(inputs, tmp_path_factory):
    """The in-process ingest of the same files: what the cluster must reproduce."""
    db = tmp_path_factory.mktemp("sequential") / "sequential.duckdb"
    results = run_ingest(inputs, get_settings(db=db))
    return db, results


def ingest_on(cluster: Cluster, db: Path, staging: Path, inputs: list[str], monkeypatch, capsys) -> list[dict]:
    """``aicost ingest --json`` with the cluster's address and a shared staging folder, as a user runs it."""
    monkeypatch.setenv("AICOST_DASK_ADDRESS", cluster.address)
    monkeypatch.setenv("AICOST_STAGING", str(staging))
    capsys.readouterr()
    code = cli(["--db", str(db), "ingest", "--json", *inputs])
    out = capsys.readouterr().out
    results = json.loads(out[out.index("[\n") :])
    assert code == (1 if any(r["error"] for r in results) else 0)
    return results


def _files(results) -> list[tuple]:
    return sorted(
        (Path(r["path"]).name, r["source_format"], r["rows_loaded"], r["rows_rejected"], bool(r["error"]), r["skipped"])
        for r in results
    )


def test_existing_cluster_gives_the_tables_of_an_in_process_ingest(
    tmp_path, inputs, sequential, prefect_harness, monkeypatch, capsys
):
    seq_db, seq_results = sequential
    cluster = start_cluster(tmp_path / "cluster")
    try:
        results = ingest_on(
            cluster, tmp_path / "cluster.duckdb", tmp_path / "shared-staging", inputs, monkeypatch, capsys
        )
    finally:
        cluster.stop()
    assert _files(results) == _files([r.as_json() for r in seq_results])
    loaded = [r for r in results if r["rows_loaded"]]
    assert len(loaded) >= 12 and sum(r["rows_loaded"] for r in results) > 120_000
    expected = snapshot(seq_db)
    assert all(expected[t] for t in ("billing", "gpu_metrics", "jobs", "inference"))  # every table has rows
    assert snapshot(tmp_path / "cluster.duckdb") == expected
    # the files were mapped on the workers (their task runs' log lines say so), and staging is cleaned
    logs = "".join((tmp_path / "cluster" / f"worker-{w}.log").read_text() for w in "ab")
    assert "prepare " in logs
    assert not any((tmp_path / "shared-staging").rglob("*.parquet"))


def test_a_worker_killed_mid_ingest_loses_and_doubles_nothing(
    tmp_path, inputs, sequential, prefect_harness, monkeypatch, capsys
):
    seq_db, seq_results = sequential
    marker = tmp_path / "killed-task"
    preload = tmp_path / "exit_mid_task.py"
    preload.write_text(EXIT_PRELOAD)
    cluster = start_cluster(
        tmp_path / "cluster",
        {
            "b": {
                "preload": str(preload),
                "AICOST_TEST_EXIT_ON_TASK": "2",
                "AICOST_TEST_EXIT_MARKER": str(marker),
            }
        },
    )
    try:
        results = ingest_on(
            cluster, tmp_path / "killed.duckdb", tmp_path / "shared-staging", inputs, monkeypatch, capsys
        )
        worker_b = cluster.workers["b"]
        assert worker_b.wait(timeout=30) == 17  # b died in the middle of a task ...
        assert cluster.workers["a"].poll() is None  # ... and a carried on
    finally:
        cluster.stop()
    killed = marker.read_text()
    assert killed.startswith("prepare")  # the task b was running was a file's mapping: rerun on a
    assert _files(results) == _files([r.as_json() for r in seq_results])
    assert snapshot(tmp_path / "killed.duckdb") == snapshot(seq_db)  # nothing lost, nothing doubled


@flow(name="attribute-on-dask")
def attribute_in_parts(db: str, week_start: str, rows_per_part: int):
    """compute_week inside a flow run (module level: the flow is sent to the workers by reference)."""
    from datetime import date

    from flows.attribute import compute_week
    from flows.settings import Settings

    with opened(db) as con:
        return compute_week(con, date.fromisoformat(week_start), Settings(), rows_per_part=rows_per_part)


def test_attribution_partitions_run_on_the_workers_with_the_one_pass_result(tmp_path, prefect_harness):
    from datetime import date

    from prefect_dask import DaskTaskRunner

    from flows.attribute import compute_week
    from flows.ingest import ingest_files
    from flows.settings import Settings
    from sample_data import generate_sample

    week, db = date(2026, 11, 16), tmp_path / "w.duckdb"
    generate_sample(tmp_path / "landing", weeks=1, end_week=week, seed=5)
    with opened(db) as con:
        assert [r.error for r in ingest_files(con, [tmp_path / "landing"]) if r.error] == []
        line_items = con.execute("SELECT count(*) FROM billing_line_items").fetchall()[0][0]
        whole = compute_week(con, week, Settings(), rows_per_part=line_items + 1)  # one pass, in-process

    cluster = start_cluster(tmp_path / "cluster")
    try:
        result = attribute_in_parts.with_options(task_runner=DaskTaskRunner(address=cluster.address))(
            db=str(db), week_start=week.isoformat(), rows_per_part=max(1, line_items // 4)
        )
    finally:
        cluster.stop()
    assert whole.frame.height > 0
    # the same rows (combine_results sorts on a prefix of the grain, so rows tied on it may come in
    # either order from one process to another: compared in one full order)
    assert result.frame.sort(result.frame.columns, nulls_last=True).equals(
        whole.frame.sort(whole.frame.columns, nulls_last=True)
    )
    assert result.anomalies == whole.anomalies
    logs = "".join((tmp_path / "cluster" / f"worker-{w}.log").read_text() for w in "ab")
    assert logs.count("attribute partition") >= 4  # the 4+ partitions ran on the workers


@flow(name="recommend-on-dask")
def recommend_in_parts(db: str, week_start: str, rows_per_part: int):
    """recommend_week inside a flow run (module level: the flow is sent to the workers by reference)."""
    from datetime import date

    from flows.recommend import recommend_week

    with opened(db) as con:
        return recommend_week(con, date.fromisoformat(week_start), get_settings(db=db), rows_per_part=rows_per_part)


def test_per_resource_detectors_run_on_the_workers_with_the_in_process_recommendations(tmp_path, prefect_harness):
    import shutil
    from datetime import date

    from prefect_dask import DaskTaskRunner

    from flows.attribute import attribute_week
    from flows.ingest import ingest_files
    from flows.recommend import PER_ENDPOINT, PER_MACHINE, recommend_week
    from flows.warehouse import query
    from sample_data import generate_sample
    from transforms.weeks import week_params

    week, db = date(2026, 11, 16), tmp_path / "w.duckdb"
    generate_sample(tmp_path / "landing", weeks=2, end_week=week, seed=5)
    with opened(db) as con:
        assert [r.error for r in ingest_files(con, [tmp_path / "landing"]) if r.error] == []
        for monday in (date(2026, 11, 9), week):
            attribute_week(con, monday, get_settings(db=db))
        recommend_week(con, date(2026, 11, 9), get_settings(db=db))  # last week's, to track against
        gpu_hours = query(con, "recommend_gpu_metrics", week_params(week)).height  # the detectors' machine-hour rows
    shutil.copy(db, tmp_path / "cluster.duckdb")
    with opened(db) as con:  # the in-process run: one partition
        whole = recommend_week(con, week, get_settings(db=db))

    cluster = start_cluster(tmp_path / "cluster")
    try:
        result = recommend_in_parts.with_options(task_runner=DaskTaskRunner(address=cluster.address))(
            db=str(tmp_path / "cluster.duckdb"), week_start=week.isoformat(), rows_per_part=max(1, gpu_hours // 4)
        )
    finally:
        cluster.stop()
    kinds = {m.KIND for m in (*PER_MACHINE, *PER_ENDPOINT)}
    assert kinds <= set(whole["kind"])  # every partitioned detector has findings this week
    # the same rows, the same figures (ids, savings, plan, status): compared in one full order
    assert whole.height > 0 and result.columns == whole.columns
    assert result.sort(whole.columns, nulls_last=True).equals(whole.sort(whole.columns, nulls_last=True))
    logs = "".join((tmp_path / "cluster" / f"worker-{w}.log").read_text() for w in "ab")
    assert logs.count("detect partition") >= 8  # 4+ partitions of machines and of endpoints ran on the workers
