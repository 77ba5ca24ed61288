"""``aicost``: the command line beside Prefect.

Every command works on one DuckDB warehouse (``--db``, or ``AICOST_DB``, default
``data/warehouse.duckdb``). Heavy modules are imported inside each command so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
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


def _print(data, as_json: bool, human: str) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else human)


def cmd_sample_data(args: argparse.Namespace) -> int:
    from flows.sample_data import generate_sample

    summary = generate_sample(
        Path(args.out), weeks=args.weeks, rows=args.rows, seed=args.seed, end_week=args.end_week
    )
    _print(summary, args.json, f"sample data written to {args.out}: " + json.dumps(summary.get("files", {}), default=str))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from flows.ingest_flow import run_ingest

    settings = _settings(args)
    defaults = dict(item.split("=", 1) for item in args.set or [])
    results = run_ingest(args.paths, settings, args.format, column_defaults=defaults)
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


def cmd_attribution(args: argparse.Namespace) -> int:
    from flows.attribute import attribution_summary
    from flows.warehouse import opened

    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        summary = attribution_summary(con, args.week, settings)
    lines = [f"Attributed cost, week of {args.week} ({summary['reporting_currency']}): {Decimal(summary['total']):,.2f}"]
    lines += [f"  {cat:<16} {Decimal(amount):>16,.2f}" for cat, amount in summary["by_category"].items()]
    lines.append(f"  idle GPU (included above): {Decimal(summary['idle_gpu_cost']):,.2f}")
    lines.append("Coverage: " + ", ".join(f"{k} {v:.1%}" for k, v in summary["coverage"].items()))
    if summary.get("unconverted"):
        lines.append("Unconverted (no exchange rate): " + ", ".join(f"{c} {a}" for c, a in summary["unconverted"].items()))
    _print(summary, args.json, "\n".join(lines))
    return 0


def cmd_recommendations(args: argparse.Namespace) -> int:
    from flows.recommend import recommendations_for_week
    from flows.warehouse import opened

    settings = _settings(args)
    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        recs = recommendations_for_week(con, args.week)
    rows = recs.to_dicts()
    def alone(r: dict) -> str:
        standalone = r.get("standalone_monthly_savings")
        return "" if standalone in (None, r["monthly_savings"]) else f" (alone {standalone:,.2f})"

    lines = [
        f"{i:>2}. {r['currency']} {r['monthly_savings']:>12,.2f}/mo{alone(r)}  {r['confidence']:<6} {r['status']:<8} "
        f"{r['action']}"
        for i, r in enumerate(rows, 1)
    ]
    if rows:
        total = sum((r["monthly_savings"] for r in rows if r["status"] != "resolved"), Decimal(0))
        lines.append(f"Plan total (incremental savings of the open recommendations): {total:,.2f}/mo")
    human = "\n".join(lines) or f"No recommendations stored for the week of {args.week}."
    _print(rows, args.json, human)
    return 0


def cmd_unit_costs(args: argparse.Namespace) -> int:
    from flows.unit_costs import unit_costs_command, unit_costs_text

    result = unit_costs_command(args.week, _settings(args))
    _print(result, args.json, unit_costs_text(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from flows.report import report_command

    settings = _settings(args)
    result = report_command(args.week, send=args.send, resend=args.resend, as_json=args.json, settings=settings)
    _print(result, args.json, "\n".join(result.get("summary") or [f"{k}: {v}" for k, v in result.items()]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from flows.ingest_flow import dask_task_runner
    from flows.weekly import weekly_cost_report

    settings = _settings(args)
    runner = dask_task_runner(settings)  # the ingest step maps files on Dask when configured
    weekly = weekly_cost_report.with_options(task_runner=runner) if runner else weekly_cost_report
    state = weekly(
        week_start=args.week.isoformat(), send=args.send, resend=args.resend, db=str(settings.db),
        landing=args.landing, return_state=True,
    )
    if state.is_failed():  # e.g. a failed data check: the report is archived, the message says where
        print(f"aicost: error: {state.message}", file=sys.stderr)
        return 1
    result = state.result()
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
    from flows.sample_data import generate_sample
    from flows.weekly import weekly_cost_report

    settings = _settings(args)
    week = last_complete_week()
    landing = Path(args.landing)
    print(f"Generating the sample company's exports and logs for the 8 weeks to {week} in {landing} ...")
    generate_sample(landing, weeks=8, end_week=week, seed=args.seed)
    print(f"Running the weekly cost report flow (Prefect) on {settings.db} ...")
    state = weekly_cost_report(week_start=week.isoformat(), send=args.send, db=str(settings.db), landing=str(landing),
                               return_state=True)
    if state.is_failed():
        print(f"aicost: error: {state.message}", file=sys.stderr)
        return 1
    result = state.result()
    html = Path(result["html_path"]).resolve()
    print()
    print(f"AI spend {result['week']}: {result['reporting_currency']} {Decimal(result['total']):,.2f}; "
          f"{result['recommendations']} recommendations, "
          f"{result['reporting_currency']} {Decimal(result['open_monthly_savings']):,.0f} per month of savings open")
    print(f"Report: {html}")
    print(f"Email:  {Path(result['eml_path']).resolve()}")
    print(f"Open it in a browser (file://{html}), or explore: aicost recommendations --week {week}")
    return 0


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
        "--set", action="append", metavar="COLUMN=VALUE",
        help="fill a column the files lack (e.g. --set BillingCurrency=USD); never overrides the file",
    )
    p.add_argument("--json", action="store_true", help="per file: format, rows loaded/rejected, cost totals per currency")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("attribution", help="attributed cost of a week by category, and how it was attributed")
    p.add_argument("--week", type=parse_week, default=last_complete_week(), help="any day of the week, or 2026-W47")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_attribution)

    p = sub.add_parser("recommendations", help="the week's savings recommendations, ranked by monthly savings")
    p.add_argument("--week", type=parse_week, default=last_complete_week())
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recommendations)

    p = sub.add_parser("unit-costs", help="cost per 1M tokens, 1,000 requests, GPU-hour and training run, with trends")
    p.add_argument("--week", type=parse_week, default=last_complete_week())
    p.add_argument("--json", action="store_true", help="each figure with its numerator, denominator and 8-week trend")
    p.set_defaults(func=cmd_unit_costs)

    p = sub.add_parser("report", help="render (and optionally email) the week's report")
    p.add_argument("--week", type=parse_week, default=last_complete_week())
    p.add_argument("--send", action="store_true", help="send it to the configured recipients")
    p.add_argument("--resend", action="store_true", help="send even if this week was sent before")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("run", help="run the whole weekly flow once for a week (ingest, attribute, recommend, report)")
    p.add_argument("--week", type=parse_week, default=last_complete_week())
    p.add_argument("--landing", help="folder of new files to ingest (default: $AICOST_LANDING or data/landing)")
    p.add_argument("--send", action="store_true")
    p.add_argument("--resend", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("export", help="write the week's attributed cost as FOCUS 1.2 and 1.3 (Parquet and CSV)")
    p.add_argument("--week", type=parse_week, default=last_complete_week(), help="any day of the week, or 2026-W47")
    p.add_argument("--format", default="focus", help="output format (focus)")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="generate the sample, run the weekly flow for the last complete week, show the report")
    p.add_argument("--landing", default="data/demo-landing", help="where the sample is written (default data/demo-landing)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--send", action="store_true", help="also email it (needs AICOST_SMTP_HOST and AICOST_MAIL_TO)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
