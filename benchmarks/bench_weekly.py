"""Weekly-run growth: the weekly flow for the last week with 4 vs 52 weeks in the warehouse, and the backfill.

For each history length, the sample generator writes that many weeks of the sample company's exports
and logs, which are ingested once (not measured); then, in a fresh process with Prefect's test
harness (a local ephemeral API), ``weekly_cost_report`` runs for the last week with an empty
landing folder, RUNS times (the first run pays Prefect's warm-up). Last, the whole 52-week backfill
(``backfill_cost_reports``) runs in its own fresh process on the 52-week warehouse.

    python benchmarks/bench_weekly.py --weeks 4 52

At scale (``--rows``): the sample generator writes 52 weeks with the CPU fleet grown to ``--rows``
billing rows (``generate_sample(rows=...)``: monthly CUR 2.0 Parquet files, about 1M line items a
week at 52M), ``aicost ingest`` loads them in a fresh process (timed: wall, peak RSS, load), then the
52-week backfill runs in a fresh process; each week's time is read from its flow run in Prefect's API.
Results go to results/weekly-backfill.md.

    python benchmarks/bench_weekly.py --weeks 52 --rows 52000000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, PYTHON, WORK, markdown_table, remove, report, run_measured, write_results  # noqa: E402

END_WEEK = date(2026, 11, 16)
RUNS = 3


def prepare(weeks: int) -> tuple[Path, dict]:
    """Generate ``weeks`` weeks of sample data and ingest them into a fresh warehouse (not measured)."""
    from flows.ingest import ingest_files
    from flows.warehouse import opened
    from sample_data import generate_sample

    landing = WORK / f"weekly-src-{weeks}"
    db = WORK / f"bench-weekly-{weeks}.duckdb"
    remove(landing, db)
    started = time.perf_counter()
    summary = generate_sample(landing, weeks=weeks, end_week=END_WEEK, seed=7)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    with opened(db) as con:
        results = ingest_files(con, [landing])
        billing_rows = con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0]
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"ingest of the {weeks}-week sample failed: {errors[:3]}")
    remove(landing)
    return db, {
        "generate_s": generated,
        "ingest_s": time.perf_counter() - started,
        "billing_rows": billing_rows,
        "files": len(results),
        "generator_billing_rows": summary.get("billing_rows"),
    }


def generate(weeks: int, rows: int) -> tuple[Path, dict]:
    """Write ``weeks`` weeks of the sample with ``rows`` billing rows (the fleet grown to fit); not measured."""
    from sample_data import generate_sample

    landing = WORK / f"backfill-src-{weeks}"
    remove(landing)
    started = time.perf_counter()
    summary = generate_sample(landing, weeks=weeks, end_week=END_WEEK, rows=rows, seed=7)
    return landing, {"generate_s": time.perf_counter() - started, "billing_rows": summary["billing_rows"]}


def child_ingest(db: str, landing: str) -> None:
    """``ingest_files`` of the whole landing folder into ``db``; report the time, rows and files."""
    from flows.ingest import ingest_files
    from flows.warehouse import opened

    started = time.perf_counter()
    with opened(db) as con:
        results = ingest_files(con, [Path(landing)])
        rows = con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0]
    errors = [r.error for r in results if r.error]
    if errors:
        raise RuntimeError(f"ingest failed: {errors[:3]}")
    report(
        {
            "seconds": time.perf_counter() - started,
            "billing_rows": rows,
            "files": len(results),
            "load_end": os.getloadavg()[0],
        }
    )


def week_run_times() -> list[tuple[str, float]]:
    """(week, seconds) of every weekly-cost-report flow run in the current Prefect API, in week order."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["weekly-cost-report"])), limit=200
        )
    return sorted(
        (str(r.parameters.get("week_start")), (r.end_time - r.start_time).total_seconds())
        for r in runs
        if r.start_time and r.end_time
    )


def child_weekly(db: str, runs: int, heartbeats: bool = True) -> None:
    """Run the weekly flow for END_WEEK ``runs`` times under one Prefect test harness; report each time.

    ``heartbeats=False`` turns Prefect's flow-run heartbeats off: their thread sleeps in steps of 1 s and
    the end of a flow run joins it, so every run's time is rounded up to about a whole second (0-1 s of
    waiting, the same with or without telemetry) - noise when two small figures are compared.
    """
    from contextlib import nullcontext

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.weekly import weekly_cost_report

    empty = WORK / "empty-landing"
    empty.mkdir(parents=True, exist_ok=True)
    times = []
    quiet = nullcontext() if heartbeats else temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    with prefect_test_harness(server_startup_timeout=120), quiet:
        for _ in range(runs):
            started = time.perf_counter()
            result = weekly_cost_report(week_start=END_WEEK.isoformat(), send=False, db=db, landing=str(empty))
            times.append(time.perf_counter() - started)
    report({"seconds": times, "total": result.get("total"), "recommendations": result.get("recommendations")})


def child_backfill(db: str, weeks: int) -> None:
    """Run the backfill flow over the last ``weeks`` weeks; report the time."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.weekly import backfill_cost_reports

    empty = WORK / "empty-landing"
    empty.mkdir(parents=True, exist_ok=True)
    first = END_WEEK - timedelta(weeks=weeks - 1)
    with prefect_test_harness(server_startup_timeout=120):
        started = time.perf_counter()
        results = backfill_cost_reports(
            start=first.isoformat(), end=END_WEEK.isoformat(), send=False, db=db, landing=str(empty)
        )
        seconds = time.perf_counter() - started
        report(
            {"seconds": seconds, "weeks": len(results), "per_week": week_run_times(), "load_end": os.getloadavg()[0]}
        )


def backfill_at_scale(weeks: int, rows: int) -> None:
    """Generate ``rows`` billing rows over ``weeks`` weeks, ingest them, backfill every week; write the results."""
    me = str(Path(__file__).resolve())
    db = WORK / f"bench-backfill-{weeks}.duckdb"
    remove(db)
    landing, info = generate(weeks, rows)
    print(f"generated {info['billing_rows']:,} billing rows in {info['generate_s']:.0f} s", flush=True)
    try:
        ing = run_measured(
            [PYTHON, me, "--child", "ingest", "--db", str(db), "--landing", str(landing)], env=child_env()
        )
        remove(landing)
        i = ing.reported
        print(f"ingested {i['billing_rows']:,} rows from {i['files']} files in {i['seconds']:.0f} s", flush=True)
        bf = run_measured([PYTHON, me, "--child", "backfill", "--db", str(db), "--weeks", str(weeks)], env=child_env())
        db_mib = db.stat().st_size / 2**20
    finally:
        remove(db, landing, WORK / "reports", WORK / "empty-landing")
    b = bf.reported
    per_week = [(w, s) for w, s in b["per_week"]]
    times = [s for _, s in per_week]
    table = [[w, f"{s:.1f}"] for w, s in per_week]
    summary = [
        f"{i['billing_rows']:,} billing rows over {weeks} weeks ({i['billing_rows'] / weeks:,.0f} a week) in "
        f"{i['files']} files, written by `generate_sample(weeks={weeks}, rows={rows})` in {info['generate_s']:.0f} s "
        f"(not part of the figures); warehouse {db_mib:,.0f} MiB",
        f"ingest (`ingest_files` of the folder, fresh process): {i['seconds']:.0f} s "
        f"({i['seconds'] / weeks:.1f} s per week of data, {i['billing_rows'] / i['seconds']:,.0f} rows/s), "
        f"peak RSS {ing.peak_mib:,.0f} MiB, load {ing.load_1m:.2f} at start, {i['load_end']:.2f} at end",
        f"backfill of {b['weeks']} weeks (`backfill_cost_reports`, fresh process, Prefect test harness): "
        f"{b['seconds']:.0f} s ({b['seconds'] / b['weeks']:.1f} s per week), peak RSS {bf.peak_mib:,.0f} MiB, "
        f"load {bf.load_1m:.2f} at start, {b['load_end']:.2f} at end",
    ]
    if times:
        summary.append(
            f"weekly flow runs: median {statistics.median(times):.1f} s, min {min(times):.1f} s, "
            f"max {max(times):.1f} s (the first pays Prefect's warm-up)"
        )
    body = (
        "\n".join(f"- {n}" for n in summary)
        + "\n\nTime of each week's run:\n\n"
        + markdown_table(["week", "seconds"], table)
    )
    write_results("weekly-backfill", f"The {weeks}-week backfill of a year of {i['billing_rows']:,} billing rows", body)


def child_env() -> dict:
    return {"AICOST_REPORTS": str(WORK / "reports"), "PREFECT_HOME": str(WORK / "prefect-home")}


def main() -> None:
    parser = argparse.ArgumentParser(description="weekly flow time with short vs long history; 52-week backfill")
    parser.add_argument("--weeks", type=int, nargs="+", default=[4, 52])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--no-backfill", action="store_true")
    parser.add_argument(
        "--rows", type=int, help="backfill at scale: billing rows of the year (results/weekly-backfill.md)"
    )
    parser.add_argument("--child", choices=["weekly", "backfill", "ingest"])
    parser.add_argument("--db")
    parser.add_argument("--landing")
    args = parser.parse_args()
    if args.child == "weekly":
        return child_weekly(args.db, args.runs)
    if args.child == "backfill":
        return child_backfill(args.db, args.weeks[0])
    if args.child == "ingest":
        return child_ingest(args.db, args.landing)
    WORK.mkdir(parents=True, exist_ok=True)
    if args.rows:
        return backfill_at_scale(max(args.weeks), args.rows)
    me = str(Path(__file__).resolve())
    table, notes, steady = [], [], {}
    dbs = {}
    try:
        for weeks in args.weeks:
            db, info = prepare(weeks)
            dbs[weeks] = db
            notes.append(
                f"{weeks} weeks: {info['files']} files, {info['billing_rows']:,} billing rows; generated in "
                f"{info['generate_s']:.0f} s, ingested in {info['ingest_s']:.0f} s (not part of the figures)"
            )
            m = run_measured(
                [PYTHON, me, "--child", "weekly", "--db", str(db), "--runs", str(args.runs)], env=child_env()
            )
            times = m.reported["seconds"]
            steady[weeks] = statistics.median(times[1:]) if len(times) > 1 else times[0]
            table.append(
                [
                    weeks,
                    f"{info['billing_rows']:,}",
                    f"{times[0]:.1f}",
                    ", ".join(f"{t:.1f}" for t in times[1:]),
                    f"{steady[weeks]:.1f}",
                    f"{m.peak_mib:,.0f}",
                    f"{m.load_1m:.2f}",
                ]
            )
            print(table[-1], flush=True)
        if len(steady) >= 2:
            w0, w1 = min(steady), max(steady)
            notes.append(
                f"weekly run, {w1} vs {w0} weeks of history (median of the runs after the first): "
                f"{steady[w1] / steady[w0]:.2f}x"
            )
        if not args.no_backfill:
            longest = max(dbs)
            m = run_measured(
                [PYTHON, me, "--child", "backfill", "--db", str(dbs[longest]), "--weeks", str(longest)], env=child_env()
            )
            notes.append(
                f"backfill of {m.reported['weeks']} weeks on the {longest}-week warehouse: "
                f"{m.reported['seconds']:.0f} s ({m.reported['seconds'] / m.reported['weeks']:.1f} s per week), "
                f"peak RSS {m.peak_mib:,.0f} MiB, load {m.load_1m:.2f} at start"
            )
    finally:
        remove(*dbs.values(), WORK / "reports", WORK / "empty-landing")
    header = [
        "weeks in warehouse",
        "billing rows",
        "first run s",
        "later runs s",
        "median later s",
        "peak RSS MiB",
        "load (1 min)",
    ]
    body = markdown_table(header, table) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    write_results("weekly", "Weekly flow: 4 vs 52 weeks of history, and the 52-week backfill", body)
    print(json.dumps(steady))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
