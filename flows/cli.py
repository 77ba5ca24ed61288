"""``aicost``: the command line beside Prefect.

Every command works on one DuckDB warehouse (``--db``, or ``AICOST_DB``, default
``data/warehouse.duckdb``). Heavy modules are imported inside each command so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import flows  # noqa: F401  (applies the offline Prefect defaults before Prefect is imported)
from transforms.weeks import last_complete_week


def parse_week(text: str) -> date:
    """argparse type: a date or ISO week -> its Monday, with the validation the flows use."""
    from transforms.weeks import WeekParameterError
    from transforms.weeks import parse_week as parse

    try:
        return parse(text)
    except WeekParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _settings(args: argparse.Namespace):
    from flows.settings import get_settings

    return get_settings(db=getattr(args, "db", None))


_STARTED = time.monotonic()
_QUIET = False  # set by --json


def _progress(message: str, *, always: bool = False) -> None:
    """One line on stderr with the seconds since the command started: progress when stderr is a terminal
    and ``--json`` was not given; ``always`` for a notice the user must see (still on stderr)."""
    if always or (not _QUIET and sys.stderr.isatty()):
        print(f"aicost [{time.monotonic() - _STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def _warm_start(modules: list[str]) -> None:
    """Start Prefect's temporary API server while the step modules import, instead of one after the other.

    Without ``PREFECT_API_URL`` Prefect starts a temporary server on the first API call: a subprocess
    that imports the whole server and migrates its database (~10-20 s). Started here, on a thread, it
    boots on the other core while this process imports the flow's modules (Prefect, polars, DuckDB,
    great-expectations, matplotlib: several seconds); the flow then finds it running (Prefect keeps one
    temporary server per process). With ``PREFECT_API_URL`` set nothing is started.
    """
    import importlib
    import threading

    _progress("loading Prefect")
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    server = None
    if not PREFECT_API_URL.value() and PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        _progress("starting Prefect's temporary API server (set PREFECT_API_URL to use a running one)")
        from prefect.server.api.server import SubprocessASGIServer

        server = threading.Thread(target=SubprocessASGIServer().start, name="prefect-temporary-server", daemon=True)
        server.start()
    for name in modules:
        importlib.import_module(name)
    _progress("flow modules loaded")
    if server is not None:
        server.join()
        _progress("Prefect API ready")


def _print(data, as_json: bool, human: str) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else human)


def cmd_sample_data(args: argparse.Namespace) -> int:
    from sample_data import generate_sample

    summary = generate_sample(Path(args.out), weeks=args.weeks, rows=args.rows, seed=args.seed, end_week=args.end_week)
    _print(
        summary, args.json, f"sample data written to {args.out}: " + json.dumps(summary.get("files", {}), default=str)
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from flows.ingest import run_ingest  # no Prefect import unless Dask is configured

    settings = _settings(args)
    defaults = dict(item.split("=", 1) for item in args.set or [])
    _progress(f"ingesting {', '.join(args.paths)} into {settings.db} ...")
    began = time.monotonic()
    results = run_ingest(args.paths, settings, args.format, column_defaults=defaults)
    seconds = time.monotonic() - began
    rows = sum(r.rows_loaded for r in results)
    _progress(
        f"{len(results):,} files, {rows:,} rows loaded in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)"
    )
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    else:
        for r in results:
            if r.error:
                print(f"ERROR {r.error}")
            elif r.skipped:
                print(f"skip  {r.path}: {r.message}")
            else:
                totals = ", ".join(f"{cur} {amount:,.2f}" for cur, amount in sorted(r.effective_cost.items()))
                print(
                    f"ok    {r.path}: {r.source_format}, {r.rows_loaded:,} rows loaded, "
                    f"{r.rows_rejected:,} rejected{f' (effective {totals})' if totals else ''}"
                )
                for reason, count in r.rejected_reasons.items():
                    print(f"      {count:,} rejected: {reason}")
    return 1 if any(r.error for r in results) else 0


class WeekNotAttributed(ValueError):
    """A read command was asked for a week whose figures do not exist yet; the message names the fix."""


def _week_state(con, week: date) -> str:
    """``attributed``, ``unattributed`` (billing rows, never attributed) or ``empty`` (no billing rows)."""
    from flows.warehouse import query

    has_billing, attributed = query(con, "week_status", {"week_start": week}).row(0)
    return "attributed" if attributed else "unattributed" if has_billing else "empty"


def _require_attributed(con, week: date, db: Path) -> None:
    """Refuse a week with no figures, naming the command that makes them (never a report of zeros)."""
    from transforms.weeks import iso_week_label

    label = iso_week_label(week)
    state = _week_state(con, week)
    if state == "unattributed":
        raise WeekNotAttributed(
            f"week {label} has billing rows but was never attributed, so it has no figures yet: run "
            f"`aicost run --week {label}` (ingests new files, attributes the week, finds savings, renders the report)"
        )
    if state == "empty":
        raise WeekNotAttributed(
            f"week {label} has no billing rows in {db}: load the week's exports with `aicost ingest PATH...` "
            f"(or `aicost run --week {label} --landing DIR`)"
        )


def _money(value) -> str:
    """``1,234.50``: a Decimal with two decimals, never ``-0.00``."""
    from transforms.report.formatting import format_number

    return format_number(Decimal(value), 2)


def cmd_attribution(args: argparse.Namespace) -> int:
    from flows.attribute import attribute_week, attribution_summary
    from flows.warehouse import opened
    from transforms.weeks import iso_week_label

    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        if _week_state(con, args.week) == "unattributed":  # the weekly flow's own step, run on demand
            _progress(
                f"week {iso_week_label(args.week)} has billing rows but was never attributed: "
                "attributing it now (as the weekly flow does)",
                always=True,
            )
            summary = attribute_week(con, args.week, settings)
        else:
            _require_attributed(con, args.week, settings.db)
            summary = attribution_summary(con, args.week, settings)
    lines = [f"Attributed cost, week of {args.week} ({summary['reporting_currency']}): {_money(summary['total'])}"]
    lines += [f"  {cat:<16} {_money(amount):>16}" for cat, amount in summary["by_category"].items()]
    lines.append(f"  idle GPU (included above): {_money(summary['idle_gpu_cost'])}")
    lines.append("Coverage: " + ", ".join(f"{k} {v:.1%}" for k, v in summary["coverage"].items()))
    if summary.get("unconverted"):
        lines.append(
            "Unconverted (no exchange rate): " + ", ".join(f"{c} {a}" for c, a in summary["unconverted"].items())
        )
    _print(summary, args.json, "\n".join(lines))
    return 0


def cmd_recommendations(args: argparse.Namespace) -> int:
    from flows.recommend import recommendations_for_week
    from flows.warehouse import opened

    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        _require_attributed(con, args.week, settings.db)
        recs = recommendations_for_week(con, args.week)
    rows = recs.to_dicts()

    def alone(r: dict) -> str:
        standalone = r.get("standalone_monthly_savings")
        return "" if standalone in (None, r["monthly_savings"]) else f" (alone {_money(standalone)})"

    lines = [
        f"{i:>2}. {r['currency']} {_money(r['monthly_savings']):>12}/mo{alone(r)}  {r['confidence']:<6} {r['status']:<8} "
        f"{r['action']}"
        for i, r in enumerate(rows, 1)
    ]
    if rows:
        total = sum((r["monthly_savings"] for r in rows if r["status"] != "resolved"), Decimal(0))
        lines.append(f"Plan total (incremental savings of the open recommendations): {_money(total)}/mo")
    human = "\n".join(lines) or f"No recommendations stored for the week of {args.week}."
    _print(rows, args.json, human)
    return 0


def cmd_unit_costs(args: argparse.Namespace) -> int:
    from flows.unit_costs import unit_costs_command, unit_costs_text

    result = unit_costs_command(args.week, _settings(args))
    _print(result, args.json, unit_costs_text(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flows.warehouse import opened

    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        _require_attributed(con, args.week, settings.db)
    from flows.deliver import report_command  # after the check: it imports matplotlib (seconds)

    result = report_command(args.week, send=args.send, resend=args.resend, as_json=args.json, settings=settings)
    _print(result, args.json, "\n".join(result.get("summary") or [f"{k}: {v}" for k, v in result.items()]))
    return 0


# imported while Prefect's temporary server starts (the steps import them lazily otherwise)
RUN_MODULES = [
    "flows.weekly",
    "flows.ingest",
    "flows.quality",
    "great_expectations",
    "flows.attribute",
    "flows.recommend",
    "flows.report",
]


def cmd_run(args: argparse.Namespace) -> int:
    if args.json:  # the result on stdout; on the terminal only warnings and errors (the API still gets every log)
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "WARNING"
    _progress(f"weekly flow for {args.week}: each step is logged below as it ends")
    _warm_start(RUN_MODULES)
    from flows.ingest_flow import dask_task_runner
    from flows.weekly import weekly_cost_report

    settings = _settings(args)
    runner = dask_task_runner(settings)  # the ingest step maps files on Dask when configured
    weekly = weekly_cost_report.with_options(task_runner=runner) if runner else weekly_cost_report
    state = weekly(
        week_start=args.week.isoformat(),
        send=args.send,
        resend=args.resend,
        db=str(settings.db),
        landing=args.landing,
        return_state=True,
    )
    if state.is_failed():  # e.g. a failed data check: the report is archived, the message says where
        print(f"aicost: error: {state.message}", file=sys.stderr)
        return 1
    result = state.result()
    _progress("done")
    _print(result, args.json, "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from flows.export import export_focus
    from flows.warehouse import opened

    if args.format != "focus":
        raise ValueError(f"export: format {args.format!r} is not written; the only format is focus")
    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        result = export_focus(con, args.week, settings, Path(args.out))
    totals = ", ".join(f"{cur} {Decimal(t['effective']):,.2f}" for cur, t in result["totals"].items())
    human = [f"FOCUS {version}: {', '.join(paths)}" for version, paths in result["files"].items()]
    human.append(f"{result['rows']:,} rows a file; effective cost {totals or 'none'}")
    _print(result, args.json, "\n".join(human))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flows.weekly import weekly_cost_report
    from sample_data import generate_sample

    settings = _settings(args)
    week = last_complete_week()
    landing = Path(args.landing)
    print(f"Generating the sample company's exports and logs for the 8 weeks to {week} in {landing} ...")
    generate_sample(landing, weeks=8, end_week=week, seed=args.seed)
    print(f"Running the weekly cost report flow (Prefect) on {settings.db} ...")
    state = weekly_cost_report(
        week_start=week.isoformat(), send=args.send, db=str(settings.db), landing=str(landing), return_state=True
    )
    if state.is_failed():
        print(f"aicost: error: {state.message}", file=sys.stderr)
        return 1
    result = state.result()
    html = Path(result["html_path"]).resolve()
    print()
    print(
        f"AI spend {result['week']}: {result['reporting_currency']} {Decimal(result['total']):,.2f}; "
        f"{result['recommendations']} open recommendations, "
        f"{result['reporting_currency']} {Decimal(result['open_monthly_savings']):,.0f} per month of savings open"
    )
    print(f"Report: {html}")
    print(f"Email:  {Path(result['eml_path']).resolve()}")
    print(f"Open it in a browser (file://{html}), or explore: aicost recommendations --week {week}")
    return 0


def add_week_option(p: argparse.ArgumentParser) -> None:
    """``--week``: the week a sub-command works on (default: the last complete week)."""
    p.add_argument(
        "--week",
        type=parse_week,
        default=last_complete_week(),
        help="any day of the week, or an ISO week (2026-W47); default: the last complete week",
    )


def add_send_options(p: argparse.ArgumentParser) -> None:
    """``--send`` and ``--resend``: email the week's report, once unless resent."""
    p.add_argument(
        "--send", action="store_true", help="email the report to the configured recipients ($AICOST_MAIL_TO)"
    )
    p.add_argument("--resend", action="store_true", help="with --send: send even if this week's report was sent before")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aicost",
        description="Weekly AI cost report: billing exports and usage logs in, attributed spend and ranked savings out.",
    )
    parser.add_argument("--db", type=Path, help="DuckDB warehouse file (default: $AICOST_DB or data/warehouse.duckdb)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample-data", help="write a deterministic sample of a fictional AI company's exports and logs")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--weeks", type=int, default=8, help="weeks of data (default 8)")
    p.add_argument("--rows", type=int, help="scale the billing exports to about this many line items")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7): same seed, same files")
    p.add_argument("--end-week", type=parse_week, help="last week covered (default: the last complete ISO week)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_sample_data)

    p = sub.add_parser("ingest", help="load billing exports and usage logs (files or folders), each exactly once")
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument("--format", default="auto", help="the format of every file (default: detected from each header)")
    p.add_argument(
        "--set",
        action="append",
        metavar="COLUMN=VALUE",
        help="fill a column the files lack (e.g. --set BillingCurrency=USD); never overrides the file",
    )
    p.add_argument(
        "--json", action="store_true", help="per file: format, rows loaded/rejected, cost totals per currency"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("attribution", help="attributed cost of a week by category, and how it was attributed")
    add_week_option(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON (figures as exact decimals)")
    p.set_defaults(func=cmd_attribution)

    p = sub.add_parser("recommendations", help="the week's savings recommendations, ranked by monthly savings")
    add_week_option(p)
    p.add_argument("--json", action="store_true", help="print every recommendation with all its fields as JSON")
    p.set_defaults(func=cmd_recommendations)

    p = sub.add_parser("unit-costs", help="cost per 1M tokens, 1,000 requests, GPU-hour and training run, with trends")
    add_week_option(p)
    p.add_argument("--json", action="store_true", help="each figure with its numerator, denominator and 8-week trend")
    p.set_defaults(func=cmd_unit_costs)

    p = sub.add_parser("report", help="render (and optionally email) the week's report")
    add_week_option(p)
    add_send_options(p)
    p.add_argument("--json", action="store_true", help="print the headline, top actions and delivery as JSON")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("run", help="run the whole weekly flow once for a week (ingest, attribute, recommend, report)")
    add_week_option(p)
    p.add_argument("--landing", help="folder of new files to ingest (default: $AICOST_LANDING or data/landing)")
    add_send_options(p)
    p.add_argument("--json", action="store_true", help="print the run's result as JSON, and no progress lines")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("export", help="write the week's attributed cost as FOCUS 1.2 and 1.3 (Parquet and CSV)")
    add_week_option(p)
    p.add_argument("--format", default="focus", help="output format (focus)")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--json", action="store_true", help="print the files written, row count and totals as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "demo", help="generate the sample, run the weekly flow for the last complete week, show the report"
    )
    p.add_argument(
        "--landing", default="data/demo-landing", help="where the sample is written (default data/demo-landing)"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed of the sample (default 7)")
    p.add_argument("--send", action="store_true", help="also email it (needs AICOST_SMTP_HOST and AICOST_MAIL_TO)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    global _QUIET
    args = build_parser().parse_args(argv)
    _QUIET = bool(getattr(args, "json", False))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI's last line of defence: one clear line, not a traceback
        from flows.ingest import IngestError
        from flows.warehouse import WarehouseBusy, WarehouseUnreadable

        if isinstance(exc, IngestError | WarehouseBusy | WarehouseUnreadable | ValueError | FileNotFoundError):
            print(f"aicost: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
