"""The ``aicost`` command line: help for every option, and a week that has billing rows but was never
attributed is attributed on demand (``attribution``) or refused with the command that will
(``recommendations``, ``report``), never shown as zeros."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal

import pytest

from flows.cli import build_parser, main
from flows.warehouse import connect, insert_frame
from tests.attribution.frames import GPU_AND_STORAGE_ROWS, billing

WEEK = date(2026, 11, 16)  # 2026-W47


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_command_has_help_text():
    parser = build_parser()
    missing = [
        f"aicost {name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in [("", parser), *_subcommands(parser).items()]
        for action in command._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction) and not (action.help or "").strip()
    ]
    assert missing == []


def test_run_help_lists_week_send_and_resend_with_their_meaning(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--week WEEK any day of the week, or an ISO week (2026-W47)" in text
    assert "--send email the report to the configured recipients" in text
    assert "--resend with --send: send even if this week's report was sent before" in text


@pytest.fixture
def unattributed_db(tmp_path):
    """A warehouse with two billing rows in 2026-W47 (96.00 GPU compute, 12.50 storage) and no attribution."""
    db = tmp_path / "w.duckdb"
    con = connect(db)
    insert_frame(
        con,
        "billing_line_items",
        billing(*GPU_AND_STORAGE_ROWS),
    )
    con.close()
    return db


def test_attribution_of_a_never_attributed_week_attributes_it_on_demand(unattributed_db, capsys):
    assert main(["--db", str(unattributed_db), "attribution", "--week", "2026-W47"]) == 0
    out, err = capsys.readouterr()
    assert "2026-W47 has billing rows but was never attributed: attributing it now" in err
    lines = out.splitlines()
    assert lines[0] == "Attributed cost, week of 2026-11-16 (USD): 108.50"  # 96.00 + 12.50
    # no job log, no telemetry: the GPU machine is training by service knowledge, the bucket storage
    assert lines[1:4] == [
        "  training                    96.00",
        "  inference                    0.00",
        "  storage                     12.50",
    ]
    assert lines[-1] == "Coverage: rule 0.0%, usage 0.0%, service 100.0%, other 0.0%"
    con = connect(unattributed_db, read_only=True)
    try:  # stored, as the weekly flow's step stores it: asked again, the same figures, no note
        stored = con.sql(
            "SELECT sum(effective_cost) FROM attributed_cost WHERE week_start = $w", params={"w": WEEK}
        ).fetchall()
    finally:
        con.close()
    assert stored == [(Decimal("108.5"),)]
    assert main(["--db", str(unattributed_db), "attribution", "--week", "2026-11-18"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == lines[0] and "never attributed" not in err


@pytest.mark.parametrize("command", ["recommendations", "report"])
def test_recommendations_and_report_of_a_never_attributed_week_are_refused_with_the_command_that_will(
    unattributed_db, capsys, command
):
    assert main(["--db", str(unattributed_db), command, "--week", "2026-11-18"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        "aicost: error: week 2026-W47 has billing rows but was never attributed, so it has no figures yet: "
        "run `aicost run --week 2026-W47` (ingests new files, attributes the week, finds savings, renders the report)"
    )


def test_a_week_without_any_billing_rows_says_so_instead_of_zeros(tmp_path, capsys):
    db = tmp_path / "empty.duckdb"
    connect(db).close()
    assert main(["--db", str(db), "attribution", "--week", "2026-W47"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"aicost: error: week 2026-W47 has no billing rows in {db}: load the week's exports with "
        "`aicost ingest PATH...` (or `aicost run --week 2026-W47 --landing DIR`)"
    )


# Week parsing: a pure function every command and flow parameter goes through (milliseconds).
@pytest.mark.parametrize(
    ("text", "monday"),
    [
        ("2026-11-16", date(2026, 11, 16)),  # the Monday itself
        ("2026-11-22", date(2026, 11, 16)),  # Sunday: the same week
        ("2026-W47", date(2026, 11, 16)),
        (" 2026-w47 ", date(2026, 11, 16)),  # case and spaces
        ("2026-W01", date(2025, 12, 29)),  # ISO week 1 starts in the previous year
        ("2027-01-03", date(2026, 12, 28)),  # a Sunday in January belongs to 2026-W53
    ],
)
def test_a_week_is_any_day_of_it_or_its_iso_name(text, monday):
    from transforms.weeks import parse_week

    assert parse_week(text, today=date(2027, 6, 1)) == monday


def test_a_week_that_has_not_ended_or_is_not_a_date_is_refused_by_name():
    from transforms.weeks import WeekParameterError, parse_week

    with pytest.raises(WeekParameterError) as raised:
        parse_week("2026-11-18", today=date(2026, 11, 22))  # Sunday of that week: not ended
    assert str(raised.value) == (
        "week_start: the week of 2026-11-16 has not ended yet; the latest complete week starts 2026-11-09"
    )
    assert parse_week(None, today=date(2026, 11, 23)) == date(2026, 11, 16)  # Monday: last week is complete
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a date YYYY-MM-DD .* got '2026-13-01'"):
        from flows.cli import parse_week as cli_week

        cli_week("2026-13-01")
