"""Fleet-scale GPU telemetry: ingest (with the hourly rollup) of generated nvidia-smi CSV and DCGM
Prometheus files, and the weekly run's read of a fleet's rollup.

Generator: MACHINES machines x 8 GPUs, one sample every INTERVAL seconds for HOURS hours, one file
per machine and day as the exporters write them (``node-0001.csv``: ``nvidia-smi --query-gpu=...
--format=csv -l 15``; ``node-0001.prom``: dcgm-exporter's default counters DCGM_FI_DEV_GPU_UTIL,
DCGM_FI_DEV_FB_USED, DCGM_FI_DEV_FB_FREE, DCGM_FI_DEV_POWER_USAGE with millisecond timestamps, one
line per GPU, metric and scrape). Every file is ingested by ``flows.ingest.ingest_files`` in a fresh
process under ``/usr/bin/time -v`` (wall time, peak RSS). Ingest works file by file (map to Parquet
parts, then one transaction per file: insert, roll up), so its memory depends on the largest file,
not on the fleet; its time grows with the samples: the extrapolation to 1,000 machines x 8 GPUs x
one week at 15 s (322,560,000 samples) is the measured seconds per sample times that count.

The read: ``gpu_hourly`` filled for FLEET machines x 8 GPUs x 168 hours (what 322M samples roll up
to: 1,344,000 rows), then ``sql/attribution_gpu_metrics.sql`` and ``sql/recommend_gpu_metrics.sql`` (machine-hour rows)
for the week, each timed in a fresh process.

    python benchmarks/bench_telemetry.py --machines 10 --hours 24 --interval 15
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, PYTHON, WORK, markdown_table, remove, report, run_measured, write_results  # noqa: E402

START = datetime(2026, 11, 16, tzinfo=UTC)
GPUS = 8
FLEET = 1000
WEEK_SAMPLES_AT_FLEET = FLEET * GPUS * 7 * 86_400 // 15  # 322,560,000
MODEL = "NVIDIA H100 80GB HBM3"
SMI_HEADER = (
    "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]\n"
)
DCGM_METRICS = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE")


def _samples(machine: int, day: int, hours: int, interval: int):
    """One machine-day's samples as a polars frame: ts, gpu, util, memory used, power (deterministic)."""
    import polars as pl

    per_gpu = min(hours, 24) * 3600 // interval
    first = START + timedelta(days=day)
    frame = pl.DataFrame({"n": pl.arange(0, per_gpu * GPUS, eager=True)}).with_columns(
        step=pl.col("n") // GPUS, gpu=(pl.col("n") % GPUS).cast(pl.Int32)
    )
    seed = machine * 7919 + day * 104729
    return frame.with_columns(
        ts=pl.lit(first) + pl.duration(seconds=pl.col("step") * interval),
        util=((pl.col("n") * 37 + seed) % 101),
        mem=((pl.col("n") * 104729 + seed) % 80000),
        power=(60 + (pl.col("n") * 31 + seed) % 640).cast(pl.Float64) + 0.25,
    )


def write_gzip(path: Path, text: str) -> Path:
    """``text`` gzip-compressed (level 1: the exporters' logs are rotated and gzipped; the readers read .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(text.encode())
    return path


def write_smi(folder: Path, machine: int, day: int, hours: int, interval: int) -> Path:
    """``node-NNNN.csv``: nvidia-smi query-gpu CSV, every GPU at every step, units as nvidia-smi prints them."""
    import polars as pl

    host = f"node-{machine:04d}"
    frame = _samples(machine, day, hours, interval).select(
        line=pl.format(
            "{}, {}, GPU-{}-{}, {}, {} %, {} MiB, 81559 MiB, {} W",
            pl.col("ts").dt.strftime("%Y/%m/%d %H:%M:%S.000"),
            "gpu",
            pl.lit(host),
            "gpu",
            pl.lit(MODEL),
            "util",
            "mem",
            pl.col("power").round(2),
        )
    )
    path = folder / f"day{day}" / f"{host}.csv.gz"
    return write_gzip(path, SMI_HEADER + frame.write_csv(include_header=False, quote_style="never"))


def write_dcgm(folder: Path, machine: int, day: int, hours: int, interval: int) -> Path:
    """``node-NNNN.prom``: dcgm-exporter scrapes (default counters), one line per GPU, metric and scrape."""
    import polars as pl

    host = f"node-{machine:04d}"
    samples = _samples(machine, day, hours, interval).with_columns(ms=pl.col("ts").dt.epoch("ms"))
    labels = pl.format(
        'gpu="{}",UUID="GPU-{}-{}",device="nvidia{}",modelName="{}",Hostname="{}"',
        "gpu",
        pl.lit(host),
        "gpu",
        "gpu",
        pl.lit(MODEL),
        pl.lit(host),
    )
    values = {
        "DCGM_FI_DEV_GPU_UTIL": pl.col("util"),
        "DCGM_FI_DEV_FB_USED": pl.col("mem"),
        "DCGM_FI_DEV_FB_FREE": 81559 - pl.col("mem"),
        "DCGM_FI_DEV_POWER_USAGE": pl.col("power"),
    }
    lines = pl.concat(
        [
            samples.select(
                "n",
                k=pl.lit(i),
                line=pl.concat_str(
                    pl.lit(metric + "{"),
                    labels,
                    pl.lit("} "),
                    value.cast(pl.String),
                    pl.lit(" "),
                    pl.col("ms").cast(pl.String),
                ),
            )
            for i, (metric, value) in enumerate(values.items())
        ]
    ).sort("n", "k")
    path = folder / f"day{day}" / f"{host}.prom.gz"
    head = "".join(f"# TYPE {m} gauge\n" for m in DCGM_METRICS)
    return write_gzip(path, head + lines.select("line").write_csv(include_header=False, quote_style="never"))


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process (DuckDB's and polars' threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_ingest(db: str, folder: str, interval: int) -> None:
    """Ingest every file of ``folder`` once in this process; report time, rows and rollup rows."""
    from flows.ingest import ingest_files
    from flows.warehouse import connect

    con = connect(db)
    started, cpu = time.perf_counter(), _cpu_seconds()
    results = ingest_files(con, [Path(folder)], column_defaults={"interval_s": str(interval)})
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    errors = [r.error for r in results if r.error]
    if errors:
        raise SystemExit("; ".join(errors[:3]))
    samples = con.execute("SELECT count(*) FROM gpu_metrics").fetchall()[0][0]
    hourly = con.execute("SELECT count(*), sum(samples) FROM gpu_hourly").fetchall()[0]
    report(
        {
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "files": len(results),
            "samples": samples,
            "hourly_rows": hourly[0],
            "rolled_up_samples": int(hourly[1] or 0),
        }
    )


FLEET_ROLLUP_SQL = """
INSERT INTO gpu_hourly BY NAME
WITH params AS (SELECT $week::TIMESTAMPTZ AS w0)
SELECT printf('node-%04d', i // (8 * 168)) AS resource_id, ((i // 168) % 8)::INTEGER AS gpu_index,
       w0 + (i % 168) * INTERVAL 1 HOUR AS hour, printf('GPU-%d', i // 168) AS gpu_uuid, $model AS gpu_model,
       w0 + (i % 168) * INTERVAL 1 HOUR AS model_ts, w0 + (i % 168) * INTERVAL 1 HOUR AS first_ts,
       w0 + (i % 168) * INTERVAL 1 HOUR + INTERVAL 3585 SECOND AS last_ts,
       240 AS samples, 240 AS util_samples, (i * 37 % 101) * 240.0 AS util_sum, 100.0 AS util_max,
       3600.0 AS util_interval_s, (i * 37 % 101) * 3600.0 AS util_weighted_sum,
       240 AS memory_samples, 240 * 40000.0 AS memory_used_sum, 80000.0 AS memory_used_max, 81559.0 AS memory_total_max,
       240 AS power_samples, 240 * 400.0 AS power_sum, 700.0 AS power_max, 400.0 * 3600 AS energy_j,
       240 AS interval_samples, 3600.0 AS interval_s_sum, 15.0 AS interval_s_min, 15.0 AS interval_s_max
FROM range($rows) t(i), params
"""


def build_fleet(path: Path) -> int:
    """gpu_hourly of FLEET machines x 8 GPUs x the week's 168 hours."""
    import duckdb

    from flows.warehouse import create_schema

    remove(path)
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute(FLEET_ROLLUP_SQL, {"week": START, "rows": FLEET * GPUS * 168, "model": MODEL}).fetchall()
    con.execute("CHECKPOINT").fetchall()
    count = con.execute("SELECT count(*) FROM gpu_hourly").fetchall()[0][0]
    con.close()
    return count


def child_read(db: str) -> None:
    """The weekly run's two reads of GPU telemetry, on the fleet's rollup."""
    from flows.warehouse import connect, query
    from transforms.weeks import week_params

    con = connect(db, read_only=True)
    params = week_params(START.date())
    out = {}
    for name in ("attribution_gpu_metrics", "recommend_gpu_metrics"):
        started = time.perf_counter()
        rows = query(con, name, params).height
        out[name] = {"seconds": time.perf_counter() - started, "rows": rows}
    report(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="GPU telemetry ingest and rollup at fleet scale")
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--hours", type=int, default=24, help="hours per machine (one file per machine and day)")
    parser.add_argument("--interval", type=int, default=15, help="seconds between samples")
    parser.add_argument("--formats", nargs="+", default=["nvidia_smi_csv", "prometheus_gpu"])
    parser.add_argument("--reuse", action="store_true", help="ingest the files a --write-only run left")
    parser.add_argument("--write-only", action="store_true", help="write the files, print their sizes, stop")
    parser.add_argument("--child", choices=["ingest", "read"])
    parser.add_argument("--db")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child == "ingest":
        child_ingest(args.db, args.folder, args.interval)
        return
    if args.child == "read":
        child_read(args.db)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    me = str(Path(__file__).resolve())
    days = -(-args.hours // 24)
    writers = {"nvidia_smi_csv": write_smi, "prometheus_gpu": write_dcgm}
    table, notes = [], []
    for fmt in args.formats:
        run = f"telemetry-{fmt}-{args.machines}x{args.hours}h"
        folder, db = WORK / run, WORK / f"{run}.duckdb"
        remove(db)
        started = time.perf_counter()
        if args.reuse and folder.exists():  # the files a --write-only run left
            paths = sorted(folder.rglob("*.gz"))
        else:
            remove(folder)
            paths = [
                writers[fmt](folder, m, d, min(24, args.hours - 24 * d), args.interval)
                for m in range(args.machines)
                for d in range(days)
            ]
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        written = len(paths) * GPUS * min(24, args.hours) * 3600 // args.interval
        notes.append(
            f"{fmt}: {len(paths)} files, {size_mb:,.0f} MB gzip written in {time.perf_counter() - started:.0f} s;"
            f" at this size per sample the fleet's week is {size_mb / written * WEEK_SAMPLES_AT_FLEET / 1e3:,.1f} GB"
        )
        if args.write_only:
            continue
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
        per_sample, cpu_per_sample = r["seconds"] / r["samples"], r["cpu_seconds"] / r["samples"]
        table.append(
            [
                fmt,
                f"{args.machines} x {GPUS} x {args.hours} h at {args.interval} s",
                f"{r['samples']:,}",
                f"{size_mb:,.0f}",
                f"{r['seconds']:.1f}",
                f"{r['cpu_seconds']:.1f}",
                f"{r['samples'] / r['seconds']:,.0f}",
                f"{r['samples'] / r['cpu_seconds']:,.0f}",
                f"{got.peak_mib:,.0f}",
                f"{r['hourly_rows']:,}",
                f"{per_sample * WEEK_SAMPLES_AT_FLEET / 60:,.0f} min wall / {cpu_per_sample * WEEK_SAMPLES_AT_FLEET / 60:,.0f} min CPU",
                f"{got.load_1m:.2f}",
            ]
        )
        print(table[-1], flush=True)
        assert r["rolled_up_samples"] == r["samples"], r
        remove(folder, db)
    if args.write_only:
        print("\n".join(notes))
        return
    fleet_db = WORK / "telemetry-fleet.duckdb"
    rows = build_fleet(fleet_db)
    read = run_measured([PYTHON, me, "--child", "read", "--db", str(fleet_db)])
    remove(fleet_db)
    header = [
        "format",
        "fleet measured",
        "samples",
        "files MB (gzip)",
        "ingest wall s",
        "CPU s (user+sys)",
        "samples / wall s",
        "samples / CPU s",
        "peak RSS MiB",
        "gpu_hourly rows",
        "extrapolated: 322.56M samples (1,000 x 8 GPUs x 1 week at 15 s), one process",
        "load 1m",
    ]
    read_rows = [
        [name, f"{v['rows']:,}", f"{v['seconds']:.2f}", f"{read.peak_mib:,.0f}", f"{read.load_1m:.2f}"]
        for name, v in read.reported.items()
    ]
    body = (
        markdown_table(header, table)
        + "\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n- Extrapolated figures are the measured wall (and CPU) seconds per sample times 322,560,000 samples: clearly an"
        " extrapolation, on this shared 2-core machine, for one ingest process; files are independent, so"
        " several processes (or Dask workers) divide it. Peak memory does not grow with the fleet: a file is"
        " mapped at once and rolled up on its own (one machine and day per file here), so it grows with the"
        " largest file.\n\n"
        f"The weekly run's reads of a fleet's week from `gpu_hourly` ({rows:,} rows = {FLEET:,} machines x {GPUS} GPUs"
        " x 168 h, what 322.56M samples roll up to), fresh process each:\n\n"
        + markdown_table(["query", "rows out", "seconds", "process peak RSS MiB", "load 1m"], read_rows)
    )
    write_results("telemetry", "GPU telemetry at fleet scale: ingest with the hourly rollup, and the week's read", body)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
