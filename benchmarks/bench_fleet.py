"""A GPU fleet's week for real: 1,000 machines x 8 GPUs sampled every 15 s (322,560,000 samples), ingested
into the sample company's warehouse, and the weekly run before and after it.

1. The sample generator writes 4 weeks of the sample company's exports and logs (to the week of
   2026-11-16), ingested once into ``base`` (not measured).
2. ``bench_telemetry``'s generator writes the fleet's week (one gzip file per machine and day, 7,000 files
   per format) with ``--jobs`` processes (not measured).
3. The weekly flow for 2026-11-16 runs ``--runs`` times on ``base`` in a fresh process (Prefect test
   harness; the first run pays Prefect's warm-up, the median of the others is compared).
4. ``base`` is copied; ``ingest_files`` of the fleet's folder into the copy runs in a fresh process under
   ``/usr/bin/time -v``: wall, CPU (user+sys, every thread), peak RSS, samples and hourly rows stored.
5. The weekly flow runs on the copy as in 3: the weekly run after a fleet's telemetry against the run without.

    python benchmarks/bench_fleet.py --machines 1000 --formats nvidia_smi_csv      # results/fleet.md
    python benchmarks/bench_fleet.py --machines 4 --days 1 --runs 2                # a smoke run
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, WORK, markdown_table, remove, report, run_measured, write_results  # noqa: E402

GPUS = 8
WEEKS = 4


def _write(fmt: str, folder: str, machine: int, day: int, interval: int) -> int:
    import bench_telemetry

    writer = {"nvidia_smi_csv": bench_telemetry.write_smi, "prometheus_gpu": bench_telemetry.write_dcgm}[fmt]
    return writer(Path(folder), machine, day, 24, interval).stat().st_size


def write_fleet(fmt: str, folder: Path, machines: int, days: int, interval: int, jobs: int) -> tuple[int, int, float]:
    """The fleet's files (one per machine and day), written by ``jobs`` processes: (files, bytes, seconds)."""
    remove(folder)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        sizes = list(
            pool.map(
                _write,
                *zip(*[(fmt, str(folder), m, d, interval) for d in range(days) for m in range(machines)], strict=True),
                chunksize=50,
            )
        )
    return len(sizes), sum(sizes), time.perf_counter() - started


def child_ingest(db: str, folder: str, interval: int) -> None:
    """Ingest the fleet's folder into ``db`` (which holds the sample company); report time, CPU and rows added."""
    import resource

    from flows.ingest import ingest_files
    from flows.warehouse import connect

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    con = connect(db)
    count = "SELECT (SELECT count(*) FROM gpu_metrics), (SELECT count(*) FROM gpu_hourly), (SELECT sum(samples) FROM gpu_hourly)"
    before = con.execute(count).fetchall()[0]
    started, cpu0 = time.perf_counter(), cpu()
    results = ingest_files(con, [Path(folder)], column_defaults={"interval_s": str(interval)})
    elapsed, used = time.perf_counter() - started, cpu() - cpu0
    errors = [r.error for r in results if r.error]
    if errors:
        raise SystemExit(f"{len(errors)} files failed: " + "; ".join(errors[:3]))
    after = con.execute(count).fetchall()[0]
    con.close()
    report(
        {
            "seconds": elapsed,
            "cpu_seconds": used,
            "files": len(results),
            "samples": after[0] - before[0],
            "hourly_rows": after[1] - before[1],
            "rolled_up_samples": int(after[2] or 0) - int(before[2] or 0),
            "load_end": os.getloadavg()[0],
        }
    )


def weekly(db: Path, runs: int, me: str) -> tuple[list[float], float, dict]:
    """``runs`` weekly runs on ``db`` in a fresh process (bench_weekly's child): times, peak MiB, result."""
    from bench_weekly import child_env

    m = run_measured([PYTHON, me, "--child", "weekly", "--db", str(db), "--runs", str(runs)], env=child_env())
    return m.reported["seconds"], m.peak_mib, m.reported


def main() -> None:
    parser = argparse.ArgumentParser(description="a GPU fleet's week ingested, and the weekly run before and after")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--interval", type=int, default=15)
    parser.add_argument("--formats", nargs="+", default=["nvidia_smi_csv"])
    parser.add_argument("--jobs", type=int, default=2, help="processes writing the files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["ingest", "weekly"])
    parser.add_argument("--db")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child == "ingest":
        return child_ingest(args.db, args.folder, args.interval)
    if args.child == "weekly":
        from bench_weekly import child_weekly

        return child_weekly(args.db, args.runs)
    me = str(Path(__file__).resolve())
    WORK.mkdir(parents=True, exist_ok=True)
    from bench_weekly import prepare

    base, info = prepare(WEEKS)
    notes = [
        f"the sample company: {WEEKS} weeks, {info['files']} files, {info['billing_rows']:,} billing rows "
        f"(generated and ingested in {info['generate_s'] + info['ingest_s']:.0f} s, not measured)"
    ]
    print(notes[-1], flush=True)
    times, peak, result = weekly(base, args.runs, me)
    steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
    rows = [
        ["none", "", "", "", "", "", "", f"{peak:,.0f}", ", ".join(f"{t:.1f}" for t in times), f"{steady:.1f}", "1.00x"]
    ]
    print(rows[-1], flush=True)
    for fmt in args.formats:
        folder, db = WORK / f"fleet-{fmt}", WORK / f"fleet-{fmt}.duckdb"
        files, size, seconds = write_fleet(fmt, folder, args.machines, args.days, args.interval, args.jobs)
        notes.append(
            f"{fmt}: {files:,} files, {size / 1e9:,.2f} GB gzip, written in {seconds:.0f} s by {args.jobs} processes"
        )
        print(notes[-1], flush=True)
        remove(db)
        shutil.copyfile(base, db)
        try:
            got = run_measured(
                [
                    PYTHON,
                    me,
                    "--child",
                    "ingest",
                    "--db",
                    str(db),
                    "--folder",
                    str(folder),
                    "--interval",
                    str(args.interval),
                ]
            )
            r = got.reported
            assert r["rolled_up_samples"] == r["samples"], r
            notes.append(
                f"{fmt}: ingest load {got.load_1m:.2f} at start, {r['load_end']:.2f} at end; warehouse "
                f"{db.stat().st_size / 2**30:.2f} GiB after it"
            )
            times, wpeak, _ = weekly(db, args.runs, me)
        finally:
            remove(folder, db)
        median = statistics.median(times[1:]) if len(times) > 1 else times[0]
        rows.append(
            [
                f"{fmt}: {args.machines:,} x {GPUS} GPUs x {args.days} d at {args.interval} s",
                f"{r['samples']:,}",
                f"{r['seconds']:.0f}",
                f"{r['cpu_seconds']:.0f}",
                f"{r['samples'] / r['cpu_seconds']:,.0f}",
                f"{got.peak_mib:,.0f}",
                f"{r['hourly_rows']:,}",
                f"{wpeak:,.0f}",
                ", ".join(f"{t:.1f}" for t in times),
                f"{median:.1f}",
                f"{median / steady:.2f}x",
            ]
        )
        print(rows[-1], flush=True)
    header = [
        "telemetry ingested",
        "samples",
        "ingest wall s",
        "ingest CPU s",
        "samples / CPU s",
        "ingest peak RSS MiB",
        "gpu_hourly rows",
        "weekly peak RSS MiB",
        "weekly runs s",
        "weekly median (runs 2+) s",
        "vs no telemetry",
    ]
    body = markdown_table(header, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    write_results("fleet", "A GPU fleet's week ingested, and the weekly run before and after it", body)
    remove(base)


if __name__ == "__main__":
    from common import PROJECT_ROOT

    sys.path.insert(0, str(PROJECT_ROOT))
    main()
