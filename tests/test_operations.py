"""Operations: the weekly run ends with a report and clear words, never a traceback.

- a file that cannot be read in the landing folder is refused by name and reason in the report;
- a data check that fails is reported at the top of the archived report, and the run ends Failed;
- a warehouse file that is not a DuckDB database is named, with what to do, and left untouched;
- a malformed mail setting names its variable and what was expected;
- staging folders left by a killed run are removed by the next run, never a live run's.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.warehouse import connect

FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"  # 1,000 rows, Aug 30 - Oct 1 2024
WEEK = "2024-09-02"  # ISO week 2024-W36: 203 of the sample's rows are charged in it


def text_part(eml: Path) -> str:
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def run_env(tmp_path, monkeypatch):
    """Reports, staging and temporary files inside the test's folder; no recipients configured."""
    monkeypatch.setenv("AICOST_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("AICOST_MAIL_TO", raising=False)
    monkeypatch.delenv("AICOST_STAGING", raising=False)
    return tmp_path


def landing_with_refused_files(tmp_path: Path, shared_data: Path) -> tuple[Path, Path, Path]:
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(shared_data / FOCUS_SAMPLE, landing / "focus-2024-09.csv")
    # a gzip export cut off part way (a transfer that did not finish)
    whole = gzip.compress((shared_data / FOCUS_SAMPLE).read_bytes())
    truncated = landing / "focus-2024-10.csv.gz"
    truncated.write_bytes(whole[:5000])
    # a file in no known format
    foreign = landing / "notes.parquet"
    foreign.write_bytes(b"not parquet at all\n")
    return landing, truncated, foreign


# --------------------------------------------------------------------------------------------
# 1. Files that cannot be read
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_refused_files_are_listed_in_the_report_and_the_run_completes(run_env, shared_data, prefect_harness):
    from flows.ingest import sha256_of
    from flows.weekly import weekly_cost_report

    landing, truncated, foreign = landing_with_refused_files(run_env, shared_data)
    db = run_env / "w.duckdb"
    state = weekly_cost_report(week_start=WEEK, send=False, db=str(db), landing=str(landing), return_state=True)
    assert state.is_completed(), state.message

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 1000
        refusals = con.execute(
            "SELECT source_file, file_sha256, reason FROM ingest_refusals ORDER BY source_file"
        ).fetchall()
    assert [(f, h) for f, h, _ in refusals] == [
        (str(truncated), sha256_of(truncated)),
        (str(foreign), sha256_of(foreign)),
    ]
    assert "the compressed file ended before the end-of-stream marker was reached" in refusals[0][2]
    assert "not a recognised billing export or usage log" in refusals[1][2]

    html = (run_env / "reports" / "2024-W36.html").read_text()
    text = text_part(run_env / "reports" / "2024-W36.eml")
    for report in (html, text):
        assert "Files refused (nothing of them was stored)" in report
        assert "focus-2024-10.csv.gz" in report and "notes.parquet" in report
        assert "the compressed file ended before the end-of-stream marker was reached" in report
    # the refusals are inside the data-quality section
    assert text.index("DATA QUALITY") < text.index("focus-2024-10.csv.gz") < text.index("HOW THESE FIGURES")


@pytest.mark.slow
def test_an_ingest_that_breaks_on_one_file_is_not_retried_and_the_run_still_reports(
    run_env, shared_data, prefect_harness
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.weekly import weekly_cost_report

    landing = run_env / "landing"
    landing.mkdir()
    shutil.copy(shared_data / FOCUS_SAMPLE, landing / "focus-2024-09.csv")
    # a manifest.json that is not an S3 Inventory manifest: today it breaks the whole ingest
    (landing / "manifest.json").write_text("[1, 2]\n")
    state = weekly_cost_report(
        week_start=WEEK, send=False, db=str(run_env / "w.duckdb"), landing=str(landing), return_state=True
    )
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    ingest_runs = [r for r in runs if r.name.startswith("ingest new files")]
    assert [r.run_count for r in ingest_runs] == [1]  # not retried: it is not an I/O error
    text = text_part(run_env / "reports" / "2024-W36.eml")
    assert "Files refused (nothing of them was stored)" in text
    assert "manifest.json" in text or str(landing) in text


# --------------------------------------------------------------------------------------------
# 2. A failed data check
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_failed_data_check_is_reported_at_the_top_and_the_run_ends_failed_without_email(
    run_env, shared_data, prefect_harness, monkeypatch
):
    from flows.ingest import ingest_files
    from flows.weekly import weekly_cost_report
    from tests.report.test_smtp import Inbox, smtp_server

    db = run_env / "w.duckdb"
    con = connect(db)
    ingest_files(con, [shared_data / FOCUS_SAMPLE])
    # one implausible cost: two billion on one line item of the week
    con.execute(
        """INSERT INTO billing_line_items
           SELECT * REPLACE (CAST(2000000000 AS DECIMAL(38, 12)) AS effective_cost,
                             'exports/implausible.csv' AS source_file, CAST(7 AS BIGINT) AS source_row)
           FROM billing_line_items WHERE charge_period_start >= TIMESTAMPTZ '2024-09-03 00:00:00+00'
             AND charge_period_end <= TIMESTAMPTZ '2024-09-09 00:00:00+00'
           ORDER BY source_row LIMIT 1"""
    )
    con.close()
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("AICOST_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AICOST_SMTP_PORT", str(port))
        monkeypatch.setenv("AICOST_SMTP_SECURITY", "none")
        monkeypatch.setenv("AICOST_MAIL_TO", '["cfo@example.org"]')
        state = weekly_cost_report(
            week_start=WEEK, send=True, db=str(db), landing=str(run_env / "empty"), return_state=True
        )
    assert state.is_failed()
    assert state.message == (
        "week 2024-W36 failed a data check: expect_column_values_to_be_between on effective_cost: 1 row, "
        "e.g. exports/implausible.csv row 7; the report is archived at "
        f"{run_env / 'reports' / '2024-W36.html'}, marked as failing, and was not emailed "
        "(set AICOST_SEND_ON_FAILED_CHECK=true to email it anyway)"
    )
    assert inbox.data_calls == 0
    html = (run_env / "reports" / "2024-W36.html").read_text()
    text = text_part(run_env / "reports" / "2024-W36.eml")
    assert text.startswith(
        "DATA CHECK FAILED: the figures below include rows that failed a data check.\n"
        "  expect_column_values_to_be_between on effective_cost: 1 row, e.g. exports/implausible.csv row 7\n"
    )
    body = html[html.index("<body") :]
    assert body.index("Data check failed") < body.index("exports/implausible.csv row 7") < body.index("AI spend")
    message = email.message_from_bytes((run_env / "reports" / "2024-W36.eml").read_bytes())
    assert message["Subject"].startswith("[DATA CHECK FAILED] AI spend 2024-W36")


# --------------------------------------------------------------------------------------------
# 3. A warehouse file that is not a DuckDB database
# --------------------------------------------------------------------------------------------
def bad_warehouses(tmp_path: Path) -> list[Path]:
    text = tmp_path / "text.duckdb"
    text.write_text("this is a text file, not a database\n")
    real = tmp_path / "real.duckdb"
    connect(real).close()
    truncated = tmp_path / "truncated.duckdb"
    truncated.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    header_only = tmp_path / "header_only.duckdb"
    header_only.write_bytes(real.read_bytes()[:4096])
    return [text, truncated, header_only]


def test_a_foreign_or_truncated_warehouse_is_named_and_left_untouched(tmp_path, shared_data, capsys):
    from flows.cli import main

    for bad in bad_warehouses(tmp_path):
        before = bad.read_bytes()
        code = main(["--db", str(bad), "ingest", str(shared_data / FOCUS_SAMPLE)])
        err = capsys.readouterr().err
        assert code == 2, (bad, err)
        assert err == (
            f"aicost: error: the warehouse {bad} is not a readable DuckDB database (damaged, truncated or another "
            "kind of file); nothing was changed: restore it from a backup, or point --db (AICOST_DB) at another "
            "file\n"
        ), err
        assert FOCUS_SAMPLE.split("/")[-1] not in err
        assert bad.read_bytes() == before
        assert not Path(f"{bad}.wal").exists()


@pytest.mark.slow
def test_the_command_line_names_a_bad_warehouse_without_a_traceback(tmp_path, shared_data):
    bad = tmp_path / "w.duckdb"
    bad.write_text("id,name\n1,not a database\n")
    before = bad.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--db", str(bad), "ingest", str(shared_data / FOCUS_SAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"aicost: error: the warehouse {bad} is not a readable DuckDB database (damaged, truncated or another "
        "kind of file); nothing was changed: restore it from a backup, or point --db (AICOST_DB) at another file"
    ]
    assert bad.read_bytes() == before


# --------------------------------------------------------------------------------------------
# 4. Malformed mail settings
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "AICOST_MAIL_TO",
            "cfo@example.com",
            'AICOST_MAIL_TO: expected a JSON list of email addresses, e.g. \'["cfo@example.com", '
            "\"ops@example.com\"]', got 'cfo@example.com'",
        ),
        (
            "AICOST_MAIL_TO",
            '["cfo@example.com", "ops.example.com"]',
            'AICOST_MAIL_TO: expected a JSON list of email addresses, e.g. \'["cfo@example.com", '
            "\"ops@example.com\"]'; 'ops.example.com' is not an email address (no @)",
        ),
        (
            "AICOST_MAIL_TO",
            '{"to": "cfo@example.com"}',
            'AICOST_MAIL_TO: expected a JSON list of email addresses, e.g. \'["cfo@example.com", '
            '"ops@example.com"]\', got \'{"to": "cfo@example.com"}\'',
        ),
        ("AICOST_MAIL_FROM", "reports", "AICOST_MAIL_FROM: expected one email address (name@domain), got 'reports'"),
    ],
)
def test_a_malformed_mail_setting_names_the_variable_and_what_was_expected(
    tmp_path, monkeypatch, capsys, variable, value, expected
):
    from flows.cli import main
    from flows.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no .env file
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as raised:
        get_settings()
    assert str(raised.value) == expected
    assert main(["--db", str(tmp_path / "w.duckdb"), "recommendations", "--week", "2026-W47"]) == 2
    assert capsys.readouterr().err == f"aicost: error: {expected}\n"


def test_well_formed_mail_settings_are_read(tmp_path, monkeypatch):
    from flows.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AICOST_MAIL_TO", '["cfo@example.com", " ops@example.com"]')
    monkeypatch.setenv("AICOST_MAIL_FROM", "reports@example.com")
    settings = get_settings()
    assert settings.mail_to == ["cfo@example.com", "ops@example.com"]
    assert settings.mail_from == "reports@example.com"
    monkeypatch.setenv("AICOST_MAIL_TO", "")
    assert get_settings().mail_to == []


# --------------------------------------------------------------------------------------------
# 5. Staging folders of killed runs
# --------------------------------------------------------------------------------------------
STAGED_THEN = """
import os, sys, time
from pathlib import Path
import flows.ingest as ingest
from flows.cli import main

def die(*_args):  # the delivery's parts are staged and copied in, nothing is committed yet
    os._exit(9)

def hold(*_args):  # a live run, part way through its ingest
    print("staged", flush=True)
    time.sleep(120)

ingest._replace_older_deliveries = die if sys.argv[1] == "die" else hold
main(["--db", sys.argv[2], "ingest", sys.argv[3]])
"""


def staged_parts(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*.parquet"))


@pytest.mark.slow
def test_the_next_run_removes_the_staging_of_a_killed_run_but_not_of_a_live_one(tmp_path, shared_data):
    db = tmp_path / "w.duckdb"
    sample = str(shared_data / FOCUS_SAMPLE)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    env.pop("AICOST_STAGING", None)
    folders = (temp, tmp_path / "staging")

    def next_run() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "--db", str(db), "ingest", sample],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr

    died = subprocess.run(
        [sys.executable, "-c", STAGED_THEN, "die", str(db), sample],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert died.returncode == 9, died.stderr
    left_by_killed = staged_parts(*folders)
    assert left_by_killed, "the killed run staged nothing"

    # a run on another warehouse in the same folder, alive and part way through its ingest
    live = subprocess.Popen(
        [sys.executable, "-c", STAGED_THEN, "hold", str(tmp_path / "other.duckdb"), sample],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert live.stdout.readline().strip() == "staged"
        held_by_live = sorted(set(staged_parts(*folders)) - set(left_by_killed))
        assert held_by_live
        next_run()
        assert staged_parts(*folders) == held_by_live
    finally:
        os.kill(live.pid, signal.SIGKILL)
        live.wait(timeout=30)
    assert staged_parts(*folders) == held_by_live  # killed now, but nothing has run since
    next_run()
    assert staged_parts(*folders) == []
    assert [p for p in (tmp_path / "staging").iterdir()] == [] if (tmp_path / "staging").exists() else True
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 1000
