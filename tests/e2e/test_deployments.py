"""The operator's path against a real Prefect server: deploy, run, backfill, concurrency, bad input.

Starts `prefect server start` on 127.0.0.1, creates the process work pool and the warehouse's
global concurrency limit, `prefect deploy --all` from the project root, triggers runs with
`prefect deployment run`, executes them with a `prefect worker`, and checks the warehouse, the
archived reports and the mail an SMTP server (aiosmtpd) received. Everything it starts it stops by
PID.
"""

from __future__ import annotations

import email
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from email import policy
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT
from transforms.weeks import last_complete_week

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop a process group we started: SIGTERM, then SIGKILL (a background worker ignores SIGINT)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mailbox.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A Prefect server, a work pool, the deployments, an SMTP server and generated sample data."""
    from sample_data import generate_sample

    work = tmp_path_factory.mktemp("e2e")
    week = last_complete_week()
    generate_sample(work / "landing", weeks=4, end_week=week, seed=11)
    mailbox = Mailbox()
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "AICOST_DB": str(work / "warehouse.duckdb"),
        "AICOST_LANDING": str(work / "landing"),
        "AICOST_REPORTS": str(work / "reports"),
        "AICOST_SMTP_HOST": "127.0.0.1",
        "AICOST_SMTP_PORT": str(mailbox.port),
        "AICOST_SMTP_SECURITY": "none",
        "AICOST_MAIL_TO": '["managers@example.com"]',
        "AICOST_MAIL_FROM": "ai-cost-report@example.com",
    }
    env.pop("PREFECT_API_KEY", None)
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=open(work / "server.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("prefect server did not start:\n" + (work / "server.log").read_text()[-3000:])
            time.sleep(1)

        def prefect(*args: str, check: bool = True) -> subprocess.CompletedProcess:
            done = subprocess.run(
                [PREFECT, *args],
                env=env,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            if check and done.returncode != 0:
                raise AssertionError(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
            return done

        prefect("work-pool", "create", "aicost", "--type", "process")
        prefect("gcl", "create", "aicost-warehouse", "--limit", "1")
        deployed = prefect("--no-prompt", "deploy", "--all")
        assert "weekly-cost-report/weekly" in deployed.stdout + deployed.stderr
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "aicost", "--limit", "4"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=open(work / "worker.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        yield {"env": env, "work": work, "week": week, "mailbox": mailbox, "prefect": prefect}
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
        mailbox.close()


def run_deployment(stack, name: str, *params: str) -> str:
    """`prefect deployment run NAME --param k=v ...` -> the flow run id."""
    args = ["deployment", "run", name]
    for p in params:
        args += ["--param", p]
    out = stack["prefect"](*args).stdout
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    return match.group(1)


def flow_run_state(stack, run_id: str) -> tuple[str, str]:
    out = stack["prefect"]("flow-run", "inspect", run_id, "--output", "json").stdout
    data = json.loads(out)
    state = data.get("state") or {}
    return state.get("type", ""), state.get("message") or ""


def wait_for(stack, run_ids: list[str], timeout: float = 900) -> dict[str, tuple[str, str]]:
    deadline = time.monotonic() + timeout
    states: dict[str, tuple[str, str]] = {}
    while time.monotonic() < deadline:
        states = {rid: flow_run_state(stack, rid) for rid in run_ids}
        if all(s[0] in TERMINAL for s in states.values()):
            return states
        time.sleep(3)
    log = (stack["work"] / "worker.log").read_text()[-4000:]
    raise AssertionError(f"runs did not finish: {states}\nworker log:\n{log}")


def warehouse(stack) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(stack["env"]["AICOST_DB"], read_only=True)


def test_weekly_deployment_runs_the_week_and_mails_the_report(stack):
    week = stack["week"]
    run_id = run_deployment(stack, "weekly-cost-report/weekly", f"week_start={week.isoformat()}")
    states = wait_for(stack, [run_id])
    assert states[run_id][0] == "COMPLETED", states

    label = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
    reports = stack["work"] / "reports"
    assert (reports / f"{label}.html").stat().st_size > 10_000
    assert (reports / f"{label}.eml").exists()
    with warehouse(stack) as con:
        weeks = sorted(r[0] for r in con.execute("SELECT DISTINCT week_start FROM attributed_cost").fetchall())
        # the week, and the earlier weeks of the trend that have billing data (a 4-week sample)
        assert weeks == [week - timedelta(days=7 * k) for k in (3, 2, 1, 0)]
        assert con.execute("SELECT count(*) FROM recommendations WHERE week_start = ?", [week]).fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM report_deliveries").fetchone()[0] == 1
    [message] = stack["mailbox"].messages
    assert message["To"] == "managers@example.com"
    assert label in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"


def test_backfill_deployment_runs_three_weeks_without_sending(stack):
    end = stack["week"]
    start = end - timedelta(days=14)
    before = len(stack["mailbox"].messages)
    run_id = run_deployment(
        stack, "backfill-cost-reports/backfill", f"start={start.isoformat()}", f"end={end.isoformat()}"
    )
    states = wait_for(stack, [run_id])
    assert states[run_id][0] == "COMPLETED", states
    with warehouse(stack) as con:
        weeks = sorted(r[0] for r in con.execute("SELECT DISTINCT week_start FROM attributed_cost").fetchall())
        assert weeks[-3:] == [start, start + timedelta(days=7), end]
        # the re-run week was replaced, not duplicated
        per_week = con.execute(
            "SELECT week_start, count(*) FROM recommendations GROUP BY 1 HAVING count(DISTINCT rec_id) <> count(*)"
        ).fetchall()
        assert per_week == []
    for week in (start, start + timedelta(days=7), end):
        label = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
        assert (stack["work"] / "reports" / f"{label}.html").exists()
    assert len(stack["mailbox"].messages) == before  # a backfill sends nothing unless asked


def test_two_runs_at_once_wait_for_each_other(stack):
    week = stack["week"]
    earlier = week - timedelta(days=7)
    first = run_deployment(stack, "weekly-cost-report/weekly", f"week_start={week.isoformat()}", "send=false")
    second = run_deployment(stack, "weekly-cost-report/weekly", f"week_start={earlier.isoformat()}", "send=false")
    states = wait_for(stack, [first, second])
    assert {s[0] for s in states.values()} == {"COMPLETED"}, states
    with warehouse(stack) as con:
        dupes = con.execute(
            "SELECT file_sha256, count(*) FROM ingest_manifest GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        assert dupes == []
        for w in (week, earlier):
            n = con.execute("SELECT count(*) FROM attributed_cost WHERE week_start = ?", [w]).fetchone()[0]
            assert n > 0


def test_a_bad_parameter_fails_the_run_clearly(stack):
    run_id = run_deployment(stack, "weekly-cost-report/weekly", "week_start=not-a-date")
    states = wait_for(stack, [run_id])
    state, message = states[run_id]
    assert state == "FAILED"
    log = stack["prefect"]("flow-run", "logs", run_id).stdout
    assert "week_start: expected a date YYYY-MM-DD" in log + message
    future = (date.today() + timedelta(days=30)).isoformat()
    run_id = run_deployment(stack, "backfill-cost-reports/backfill", "start=2026-01-05", f"end={future}")
    state, message = wait_for(stack, [run_id])[run_id]
    assert state == "FAILED"
    assert "has not ended yet" in stack["prefect"]("flow-run", "logs", run_id).stdout + message
