"""Attribution benchmark: ``flows.attribute.attribute_week`` on one week of 1M / 5M line items.

Inputs are built straight into a DuckDB warehouse with vectorised SQL (no files): GPU_MACHINES
p4d.24xlarge machines billed hourly, a CPU fleet billed hourly to make up the line items, a few
monthly fees spread over the week, JOBS jobs (on GPU and CPU machines) and 8 GPUs x one sample
every SAMPLE_S seconds per GPU machine (about 20M GPU metric samples, rolled up into gpu_hourly as
ingest does; attribution reads only the rollup). Each measurement runs in a
fresh process under ``/usr/bin/time -v``; the reference is DuckDB scanning the week's billing rows
once in its own fresh process.

    python benchmarks/bench_attribution.py --rows 1000000 5000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, PYTHON, WORK, markdown_table, remove, report, run_measured, write_results  # noqa: E402

WEEK = date(2026, 11, 16)
GPU_MACHINES = 496
GPUS_PER_MACHINE = 8
SAMPLE_S = 120  # 5,040 samples per GPU and week: 496 x 8 x 5,040 = 19,998,720 samples
JOBS = 100_000
GPU_JOBS = 60_000
MONTHLY_ROWS = 100
ROLLUP_MACHINES = 62  # machines rolled up at once when building the base (~2.5M samples)

BILLING_SQL = """
INSERT INTO billing_line_items BY NAME
WITH params AS (SELECT $week::TIMESTAMPTZ AS w0),
hourly AS (
    SELECT i AS n, i // 168 AS machine, i % 168 AS hour FROM range($hourly_rows) t(i)
)
SELECT
    'AWS' AS provider, '111122223333' AS billing_account_id, 'bench' AS billing_account_name,
    '444455556666' AS sub_account_id, 'bench-ml' AS sub_account_name, 'Amazon Web Services, Inc.' AS invoice_issuer,
    date_trunc('month', w0) AS billing_period_start, date_trunc('month', w0) + INTERVAL 1 MONTH AS billing_period_end,
    w0 + hour * INTERVAL 1 HOUR AS charge_period_start, w0 + (hour + 1) * INTERVAL 1 HOUR AS charge_period_end,
    'Usage' AS charge_category, 'Usage-Based' AS charge_frequency, 'Standard' AS pricing_category,
    1 AS pricing_quantity, 'Hours' AS pricing_unit, 'Amazon Elastic Compute Cloud' AS service_name,
    'Compute' AS service_category, 'AWS' AS publisher_name,
    CASE WHEN machine < $gpu_machines THEN printf('i-0benchgpu%07d', machine)
         ELSE printf('i-0benchcpu%07d', machine - $gpu_machines) END AS resource_id,
    'us-east-1' AS region_id, 'us-east-1a' AS availability_zone, 1 AS consumed_quantity, 'Hours' AS consumed_unit,
    'USD' AS billing_currency,
    CASE WHEN machine < $gpu_machines THEN 21.96 ELSE 0.34 END::DECIMAL(38, 12) AS billed_cost,
    CASE WHEN machine < $gpu_machines THEN 21.96 ELSE 0.34 END::DECIMAL(38, 12) AS effective_cost,
    CASE WHEN machine < $gpu_machines THEN 21.96 ELSE 0.34 END::DECIMAL(38, 12) AS list_cost,
    printf('{"team": "%s", "project": "%s"}', ['platform', 'vision', 'nlp', 'research'][machine % 4 + 1],
           ['data-lake', 'vision-seg', 'llm-chat', 'speech-asr'][machine % 4 + 1]) AS tags,
    CASE WHEN machine < $gpu_machines THEN 'p4d.24xlarge' ELSE 'c6i.2xlarge' END AS x_instance_type,
    CASE WHEN machine < $gpu_machines THEN 8.0 ELSE 0.0 END AS x_gpu_count,
    'BoxUsage' AS x_usage_type, 'RunInstances' AS x_operation, 'Usage' AS x_line_item_type,
    'aws_cur2_parquet' AS source_format, 'bench-generated' AS source_file, n + 1 AS source_row,
    'bench' AS file_sha256, 'bench' AS delivery_id, 'bench' AS ingest_id
FROM hourly, params
UNION ALL
SELECT
    'AWS', '111122223333', 'bench', '444455556666', 'bench-ml', 'Amazon Web Services, Inc.',
    date_trunc('month', w0), date_trunc('month', w0) + INTERVAL 1 MONTH,
    date_trunc('month', w0), date_trunc('month', w0) + INTERVAL 1 MONTH,
    'Purchase', 'Recurring', 'Committed', 1, 'Hours', 'Savings Plans for AWS Compute usage', 'Compute', 'AWS',
    printf('arn:aws:savingsplans::111122223333:savingsplan/bench%04d', i), 'us-east-1', NULL, 1, 'Hours', 'USD',
    1234.5678::DECIMAL(38, 12), 1234.5678::DECIMAL(38, 12), 1234.5678::DECIMAL(38, 12), NULL, NULL, NULL,
    'ComputeSP:1yrNoUpfront', NULL, 'SavingsPlanRecurringFee', 'aws_cur2_parquet', 'bench-generated',
    $hourly_rows + i + 1, 'bench', 'bench', 'bench'
FROM range($monthly_rows) t(i), params
"""

JOBS_SQL = """
INSERT INTO jobs BY NAME
WITH params AS (SELECT $week::TIMESTAMPTZ AS w0),
j AS (
    SELECT i,
           CASE WHEN i < $gpu_jobs THEN printf('i-0benchgpu%07d', i % $gpu_machines)
                ELSE printf('i-0benchcpu%07d', i % $cpu_machines) END AS resource_id,
           CASE WHEN i < $gpu_jobs THEN (i // $gpu_machines) * 5000 ELSE (i // $cpu_machines) * 40000 END AS start_s,
           CASE WHEN i < $gpu_jobs THEN 4000 + i % 900 ELSE 3600 END AS length_s
    FROM range($jobs) t(i)
)
SELECT printf('bench-job-%07d', i) AS job_id,
       CASE WHEN i < $gpu_jobs THEN ['training', 'inference', 'evaluation'][i % 3 + 1] ELSE 'preprocessing' END AS kind,
       ['platform', 'vision', 'nlp', 'research'][i % 4 + 1] AS team,
       ['data-lake', 'vision-seg', 'llm-chat', 'speech-asr'][i % 4 + 1] AS project,
       CASE WHEN i < $gpu_jobs THEN ['llama-3-8b', 'sam-vit-h', 'whisper-large'][i % 3 + 1] END AS model,
       'bench' AS user_name, resource_id,
       w0 + (start_s % 600000) * INTERVAL 1 SECOND AS start_ts,
       w0 + (start_s % 600000 + length_s) * INTERVAL 1 SECOND AS end_ts,
       CASE WHEN i < $gpu_jobs THEN 8 ELSE 0 END AS gpus, 1 AS nodes, 'COMPLETED' AS state,
       'on_demand' AS pricing_model, 'jobs_csv' AS source_format, 'bench-generated' AS source_file,
       i + 1 AS source_row, 'bench' AS file_sha256, 'bench' AS ingest_id
FROM j, params
"""

METRICS_SQL = """
INSERT INTO gpu_metrics BY NAME
WITH params AS (SELECT $week::TIMESTAMPTZ AS w0)
SELECT w0 + (i % $samples) * $sample_s * INTERVAL 1 SECOND AS ts, $sample_s::DOUBLE AS interval_s,
       printf('i-0benchgpu%07d', i // ($samples * 8)) AS resource_id, ((i // $samples) % 8)::INTEGER AS gpu_index,
       printf('GPU-bench-%07d-%d', i // ($samples * 8), (i // $samples) % 8) AS gpu_uuid,
       'NVIDIA A100-SXM4-40GB' AS gpu_model, ((i * 7919) % 101)::DOUBLE AS utilization_pct,
       ((i * 104729) % 40960)::DOUBLE AS memory_used_mib, 40960.0 AS memory_total_mib,
       (60 + (i * 31) % 340)::DOUBLE AS power_w, 'nvidia_smi_csv' AS source_format,
       'bench-generated' AS source_file, i + 1 AS source_row, 'bench' AS file_sha256, 'bench' AS ingest_id
FROM range($metric_rows) t(i), params
"""

SCAN_SQL = """
SELECT sum(effective_cost), count(*) FROM billing_line_items
WHERE charge_period_start >= $week_start AND charge_period_start < $week_end
"""


def week_params() -> dict:
    from transforms.weeks import week_params as _week_params

    return _week_params(WEEK)


def build_base(path: Path) -> dict:
    """Jobs and GPU metrics of the week (the same for every size)."""
    import duckdb

    from flows.warehouse import create_schema

    remove(path)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    create_schema(con)
    samples = 7 * 86_400 // SAMPLE_S
    week = week_params()["week_start"]
    con.execute(
        METRICS_SQL,
        {
            "week": week,
            "samples": samples,
            "sample_s": SAMPLE_S,
            "metric_rows": GPU_MACHINES * GPUS_PER_MACHINE * samples,
        },
    ).fetchall()
    counts = {"gpu_metrics": con.execute("SELECT count(*) FROM gpu_metrics").fetchall()[0][0]}
    # what ingest does with each file: the samples rolled up into gpu_hourly (flows.telemetry.roll_up),
    # here a few machines at a time; attribution reads only the rollup
    from flows.telemetry import roll_up

    started = time.perf_counter()
    for first in range(0, GPU_MACHINES, ROLLUP_MACHINES):
        bounds = {"lo": f"i-0benchgpu{first:07d}", "hi": f"i-0benchgpu{first + ROLLUP_MACHINES:07d}"}
        chunk = con.sql("SELECT * FROM gpu_metrics WHERE resource_id >= $lo AND resource_id < $hi", params=bounds).pl()
        roll_up(con, chunk.lazy())
    counts["rollup_s"] = time.perf_counter() - started
    counts["gpu_hourly"] = con.execute("SELECT count(*) FROM gpu_hourly").fetchall()[0][0]
    con.close()
    return counts


def add_billing_and_jobs(path: Path, rows: int) -> dict:
    """``rows`` billing line items of the week (hourly GPU and CPU machines plus monthly fees) and the jobs."""
    import duckdb

    hourly = rows - MONTHLY_ROWS
    cpu_machines = -(-hourly // 168) - GPU_MACHINES
    week = week_params()["week_start"]
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        BILLING_SQL, {"week": week, "hourly_rows": hourly, "gpu_machines": GPU_MACHINES, "monthly_rows": MONTHLY_ROWS}
    )
    con.execute(
        JOBS_SQL,
        {"week": week, "jobs": JOBS, "gpu_jobs": GPU_JOBS, "gpu_machines": GPU_MACHINES, "cpu_machines": cpu_machines},
    )
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("billing_line_items", "jobs")}
    con.execute("CHECKPOINT")
    con.close()
    return counts


def count_inputs(path: Path) -> dict:
    """The billing rows and jobs of a kept scratch warehouse."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("billing_line_items", "jobs")}
    con.close()
    return counts


def child_attribute(db: str) -> None:
    """Run attribute_week once in this process and report its time and output size."""
    from flows.attribute import attribute_week
    from flows.settings import get_settings
    from flows.warehouse import connect, query

    con = connect(db)
    settings = get_settings(db=Path(db))
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    summary = attribute_week(con, WEEK, settings)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process: DuckDB's and polars' too
    cpu_s = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    out = con.execute("SELECT count(*) FROM attributed_cost").fetchall()[0][0]
    started = time.perf_counter()
    telemetry = query(con, "attribution_gpu_metrics", week_params()).height  # the GPU read alone, warm
    report(
        {
            "seconds": elapsed,
            "cpu_seconds": cpu_s,
            "attributed_rows": out,
            "total": summary["total"],
            "gpu_machines": summary["anomalies"].get("gpu_machines"),
            "gpu_read_s": time.perf_counter() - started,
            "gpu_read_rows": telemetry,
        }
    )


def child_scan(db: str) -> None:
    """Scan the week's billing rows once (sum and count) and report the time."""
    from flows.warehouse import connect

    con = connect(db, read_only=True)
    times = []
    for _ in range(2):  # the first scan in a fresh process (cold), then the same scan again (warm)
        started = time.perf_counter()
        total, count = con.execute(SCAN_SQL, week_params()).fetchone()
        times.append(time.perf_counter() - started)
    report({"seconds": times[0], "warm_seconds": times[1], "rows": count, "sum": str(total)})


def main() -> None:
    parser = argparse.ArgumentParser(description="attribute_week vs one DuckDB scan of the week")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--child", choices=["attribute", "scan"])
    parser.add_argument("--db")
    parser.add_argument("--gpu-machines", type=int, default=GPU_MACHINES, help="fewer for a quick smoke run")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch warehouses, and reuse those a previous --keep run left (building them takes minutes)",
    )
    args = parser.parse_args()
    globals()["GPU_MACHINES"] = args.gpu_machines
    if args.child:
        {"attribute": child_attribute, "scan": child_scan}[args.child](args.db)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    base = WORK / f"bench-attr-base-{args.gpu_machines}.duckdb"
    started = time.perf_counter()
    if args.keep and base.exists():
        notes = [f"GPU metrics: reused the scratch warehouse {base.name} a previous --keep run built"]
    else:
        base_counts = build_base(base)
        notes = [
            f"GPU metrics: {base_counts['gpu_metrics']:,} samples built in {time.perf_counter() - started:.0f} s, "
            f"rolled up to {base_counts['gpu_hourly']:,} gpu_hourly rows in {base_counts['rollup_s']:.0f} s"
        ]
    me = str(Path(__file__).resolve())
    table, results = [], {}
    try:
        for rows in args.rows:
            db = WORK / f"bench-attr-{args.gpu_machines}-{rows}.duckdb"
            if args.keep and db.exists():
                counts = count_inputs(db)
            else:
                remove(db)
                shutil.copy(base, db)
                counts = add_billing_and_jobs(db, rows)
            notes.append(f"{rows:,} line items: {counts['billing_line_items']:,} billing rows, {counts['jobs']:,} jobs")
            scan = run_measured([PYTHON, me, "--child", "scan", "--db", str(db)])
            attr = run_measured([PYTHON, me, "--child", "attribute", "--db", str(db)], check=False)
            if attr.returncode != 0:  # e.g. stopped by a memory watchdog on a shared machine
                table.append(
                    [
                        f"{rows:,}",
                        f"failed ({attr.returncode})",
                        "",
                        f"{attr.wall_s:.1f}",
                        f"{attr.peak_mib:,.0f}",
                        "",
                        f"{scan.reported['seconds']:.3f} / {scan.reported['warm_seconds']:.3f}",
                        f"{scan.peak_mib:,.0f}",
                        "",
                        f"{attr.load_1m:.2f} / {scan.load_1m:.2f}",
                    ]
                )
                notes.append(f"{rows:,} line items: attribute_week did not finish: {attr.stderr_tail[-300:]}")
                if not args.keep:
                    remove(db)
                continue
            results[rows] = (attr, scan)
            ratio = attr.reported["seconds"] / scan.reported["seconds"]
            warm = attr.reported["seconds"] / scan.reported["warm_seconds"]
            table.append(
                [
                    f"{rows:,}",
                    f"{attr.reported['seconds']:.1f}",
                    f"{attr.reported['cpu_seconds']:.1f}",
                    f"{attr.wall_s:.1f}",
                    f"{attr.peak_mib:,.0f}",
                    f"{attr.reported['attributed_rows']:,}",
                    f"{scan.reported['seconds']:.3f} / {scan.reported['warm_seconds']:.3f}",
                    f"{scan.peak_mib:,.0f}",
                    f"{ratio:,.1f}x / {warm:,.0f}x",
                    f"{attr.load_1m:.2f} / {scan.load_1m:.2f}",
                ]
            )
            notes.append(
                f"{rows:,} line items: the GPU read (attribution_gpu_metrics.sql on gpu_hourly, warm) "
                f"{attr.reported['gpu_read_s']:.2f} s, {attr.reported['gpu_read_rows']:,} rows"
            )
            print(table[-1], flush=True)
            if not args.keep:
                remove(db)
    finally:
        if not args.keep:
            remove(base)
    if len(results) >= 2:
        (r0, (a0, _)), (r1, (a1, _)) = list(results.items())[0], list(results.items())[-1]
        notes.append(
            f"growth {r0:,} -> {r1:,} line items ({r1 / r0:.0f}x): time x{a1.reported['seconds'] / a0.reported['seconds']:.2f}, "
            f"peak memory x{a1.peak_mib / a0.peak_mib:.2f}"
        )
    header = [
        "line items",
        "attribute_week s",
        "attribute_week CPU s (user+sys)",
        "process wall s",
        "peak RSS MiB",
        "attributed rows",
        "DuckDB scan s (cold / warm)",
        "scan peak MiB",
        "attribution / scan (cold / warm)",
        "load (attr / scan)",
    ]
    body = markdown_table(header, table) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    write_results("attribution", "Attribution: attribute_week vs one DuckDB scan of the week", body)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
