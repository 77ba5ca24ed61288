"""A GPU fleet's week for real: 1,000 machines x 8 GPUs sampled every 15 s (322,560,000 samples), ingested
into the sample company's warehouse, and the weekly run before and after it.

1. The sample generator writes 4 weeks of the sample company's exports and logs (to the week of
   2026-11-16), ingested once into ``base`` (not measured).
2. ``bench_telemetry``'s generator writes the fleet's week (one gzip file per machine and day, 7,000 files
   per format) with ``--jobs`` processes (not measured).
3. ``base`` is copied; ``ingest_files`` of the fleet's folder into the copy runs in a fresh process under
   ``/usr/bin/time -v``: wall, CPU (user+sys, every thread), peak RSS, samples and hourly rows stored
   (``--retention`` sets ``AICOST_GPU_RAW_RETENTION_WEEKS``: 0 keeps no raw sample).
4. The weekly flow for 2026-11-16 runs without (``base``) and with the fleet's telemetry (the copy), in
   alternate fresh processes (``--pairs`` each, Prefect test harness, ``--runs`` runs per process: the
   first pays Prefect's warm-up, the median of the others counts), so the machine's load falls on both;
   Prefect's flow-run heartbeats are off there (``bench_weekly.child_weekly``: they round each run up to
   about a whole second).

    python benchmarks/bench_fleet.py --machines 1000 --formats nvidia_smi_csv      # results/fleet.md
    python benchmarks/bench_fleet.py --machines 4 --days 1 --runs 2                # a smoke run
    python benchmarks/bench_fleet.py --machines 1000 --replicate 100 --pairs 3     # results/fleet-weekly.md

``--replicate K`` writes and ingests only ``machines / K`` machines' files, then copies their
``gpu_hourly`` rows K times under new machine names (``node-NNNN``), so the weekly run reads a whole
fleet's rollup (all it reads) in minutes instead of the ~75 min of the full ingest; the ingest figures of
such a run are those of the machines written, not of the fleet.
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
            "raw_after": after[0],
            "hourly_rows": after[1] - before[1],
            "rolled_up_samples": int(after[2] or 0) - int(before[2] or 0),
            "load_end": os.getloadavg()[0],
        }
    )


def replicate_fleet(db: Path, written: int, times: int) -> int:
    """Copy the ``gpu_hourly`` rows of the ``written`` machines (node-0000 ...) ``times`` times in all, as
    node-NNNN for the other machines; returns the fleet's ``gpu_hourly`` rows after it."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        columns = [r[0] for r in con.execute("DESCRIBE gpu_hourly").fetchall()]
        name = f"'node-' || lpad((k * {written} + CAST(substr(resource_id, 6) AS INTEGER))::VARCHAR, 4, '0')"
        select = ", ".join(name if c == "resource_id" else c for c in columns)
        con.execute(
            f"INSERT INTO gpu_hourly SELECT {select} FROM gpu_hourly, range(1, {times}) AS t(k) "
            "WHERE resource_id LIKE 'node-%'"
        )
        return con.execute("SELECT count(*) FROM gpu_hourly WHERE resource_id LIKE 'node-%'").fetchone()[0]
    finally:
        con.close()


def weekly(db: Path, runs: int, me: str) -> tuple[list[float], float, dict]:
    """``runs`` weekly runs on ``db`` in a fresh process (bench_weekly's child): times, peak MiB, result."""
    from bench_weekly import child_env

    m = run_measured([PYTHON, me, "--child", "weekly", "--db", str(db), "--runs", str(runs)], env=child_env())
    return m.reported["seconds"], m.peak_mib, m.reported


def steady(times: list[float]) -> float:
    """The median of a process's weekly runs after the first (which pays Prefect's warm-up)."""
    return statistics.median(times[1:]) if len(times) > 1 else times[0]


def compare_weekly(base: Path, fleet: Path, pairs: int, runs: int, me: str) -> dict:
    """Weekly runs without and with the fleet's telemetry, alternated (``pairs`` processes each, so the
    machine's load falls on both alike): every process's steady median, the medians of those, peaks."""
    out = {"base": [], "fleet": [], "base_peak": 0.0, "fleet_peak": 0.0, "loads": []}
    for _ in range(pairs):
        for name, db in (("base", base), ("fleet", fleet)):
            started_load = os.getloadavg()[0]
            times, peak, _ = weekly(db, runs, me)
            out[name].append(steady(times))
            out[f"{name}_peak"] = max(out[f"{name}_peak"], peak)
            out["loads"].append(started_load)
            print(name, [f"{t:.1f}" for t in times], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="a GPU fleet's week ingested, and the weekly run before and after")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--interval", type=int, default=15)
    parser.add_argument("--formats", nargs="+", default=["nvidia_smi_csv"])
    parser.add_argument("--jobs", type=int, default=2, help="processes writing the files")
    parser.add_argument("--runs", type=int, default=3, help="weekly runs per process")
    parser.add_argument("--pairs", type=int, default=2, help="weekly processes without / with telemetry, alternated")
    parser.add_argument(
        "--replicate", type=int, default=1, help="ingest machines/K machines, copy their rollup K times"
    )
    parser.add_argument("--retention", type=int, help="AICOST_GPU_RAW_RETENTION_WEEKS for the ingest (default: 8)")
    parser.add_argument("--reuse", action="store_true", help="ingest the files an earlier run left (--keep)")
    parser.add_argument("--keep", action="store_true", help="keep the files and warehouses")
    parser.add_argument("--child", choices=["ingest", "weekly"])
    parser.add_argument("--db")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child == "ingest":
        return child_ingest(args.db, args.folder, args.interval)
    if args.child == "weekly":
        from bench_weekly import child_weekly

        return child_weekly(args.db, args.runs, heartbeats=False)  # the ratio, without the 1 s rounding
    me = str(Path(__file__).resolve())
    WORK.mkdir(parents=True, exist_ok=True)
    from bench_weekly import prepare

    base, info = prepare(WEEKS)
    notes = [
        f"the sample company: {WEEKS} weeks, {info['files']} files, {info['billing_rows']:,} billing rows "
        f"(generated and ingested in {info['generate_s'] + info['ingest_s']:.0f} s, not measured)"
    ]
    print(notes[-1], flush=True)
    rows = []
    env = {} if args.retention is None else {"AICOST_GPU_RAW_RETENTION_WEEKS": str(args.retention)}
    retention = 8 if args.retention is None else args.retention
    for fmt in args.formats:
        folder, db = WORK / f"fleet-{fmt}", WORK / f"fleet-{fmt}-r{retention}.duckdb"
        written = args.machines // args.replicate
        if written * args.replicate != args.machines:
            raise SystemExit(f"--machines {args.machines} is not a multiple of --replicate {args.replicate}")
        expected = written * args.days
        if args.reuse and folder.exists() and len(list(folder.rglob("*.gz"))) == expected:
            files, size = expected, sum(p.stat().st_size for p in folder.rglob("*.gz"))
            notes.append(f"{fmt}: {files:,} files, {size / 1e9:,.2f} GB gzip, written by an earlier run")
        else:
            files, size, seconds = write_fleet(fmt, folder, written, args.days, args.interval, args.jobs)
            notes.append(
                f"{fmt}: {files:,} files, {size / 1e9:,.2f} GB gzip, written in {seconds:.0f} s by {args.jobs} processes"
            )
        print(notes[-1], flush=True)
        remove(db)
        shutil.copyfile(base, db)
        try:
            ingest = [PYTHON, me, "--child", "ingest", "--db", str(db), "--folder", str(folder)]
            got = run_measured([*ingest, "--interval", str(args.interval)], env=env)
            r = got.reported
            assert r["rolled_up_samples"] == r["samples"] or retention == 0, r
            samples = r["rolled_up_samples"]
            notes.append(
                f"{fmt}, retention {retention}: ingest load {got.load_1m:.2f} at start, {r['load_end']:.2f} at end;"
                f" {r['raw_after']:,} raw samples in gpu_metrics after it; warehouse {db.stat().st_size / 2**30:.2f} GiB after it"
            )
            print(notes[-1], flush=True)
            if args.replicate > 1:
                fleet_rows = replicate_fleet(db, written, args.replicate)
                notes.append(
                    f"{fmt}: the {written:,} machines' {r['hourly_rows']:,} gpu_hourly rows copied to {args.machines:,}"
                    f" machines: {fleet_rows:,} rows (the ingest columns are the {written:,} machines')"
                )
                print(notes[-1], flush=True)
            w = compare_weekly(base, db, args.pairs, args.runs, me)
        finally:
            if not args.keep:
                remove(folder, db)
        without, with_ = statistics.median(w["base"]), statistics.median(w["fleet"])
        notes.append(
            f"{fmt}: weekly steady medians per process without telemetry {', '.join(f'{t:.1f}' for t in w['base'])} s,"
            f" with {', '.join(f'{t:.1f}' for t in w['fleet'])} s; load at each start"
            f" {', '.join(f'{x:.1f}' for x in w['loads'])}"
        )
        rows.append(
            [
                f"{fmt}: {args.machines:,} x {GPUS} GPUs x {args.days} d at {args.interval} s"
                + (f" (rollup of {written:,} copied {args.replicate}x)" if args.replicate > 1 else ""),
                str(retention),
                f"{samples:,}",
                f"{r['seconds']:.0f}",
                f"{r['cpu_seconds']:.0f}",
                f"{samples / r['cpu_seconds']:,.0f}",
                f"{got.peak_mib:,.0f}",
                f"{r['hourly_rows']:,}",
                f"{without:.1f} / {with_:.1f}",
                f"{w['base_peak']:,.0f} / {w['fleet_peak']:,.0f}",
                f"{with_ / without:.2f}x",
            ]
        )
        print(rows[-1], flush=True)
    header = [
        "telemetry ingested",
        "raw retention (weeks)",
        "samples",
        "ingest wall s",
        "ingest CPU s",
        "samples / CPU s",
        "ingest peak RSS MiB",
        "gpu_hourly rows",
        "weekly run s without / with (median)",
        "weekly peak RSS MiB without / with",
        "with / without",
    ]
    body = markdown_table(header, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    if args.replicate > 1:  # the full run's results (results/fleet.md) stay
        write_results("fleet-weekly", "The weekly run before and after a GPU fleet's week (rollup copied)", body)
    else:
        write_results("fleet", "A GPU fleet's week ingested, and the weekly run before and after it", body)
    if not args.keep:
        remove(base)


if __name__ == "__main__":
    from common import PROJECT_ROOT

    sys.path.insert(0, str(PROJECT_ROOT))
    main()
