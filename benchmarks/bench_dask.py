"""Dask ingest benchmark: files/s of ``aicost ingest`` in-process against a local Dask cluster of 2 workers.

Writes ``--files`` FOCUS 1.0 CSV files of ``--rows`` AWS line items each (``make_billing``: the
ingest benchmark's rows; each file gets its own ``BillingAccountId`` so no file restates another),
then runs, each in a fresh process under ``/usr/bin/time -v`` with a fresh warehouse:
``aicost ingest FOLDER`` (in-process) and the same with ``AICOST_DASK_LOCAL_WORKERS=2`` (which
includes starting Prefect's ephemeral API and the local cluster).

    python benchmarks/bench_dask.py --files 12 --rows 20000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import WORK, markdown_table, remove, run_measured, write_results  # noqa: E402


def write_inputs(folder: Path, files: int, rows: int) -> int:
    import polars as pl
    from make_billing import aws_items, focus_frame, write_csv_chunks

    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(files):
        frames = (
            focus_frame(chunk).with_columns(pl.lit(f"bench-{i:03d}").alias("BillingAccountId"))
            for chunk in aws_items(rows)
        )
        total += write_csv_chunks(frames, folder / f"focus-bench-{i:03d}.csv")
    return total


def main() -> None:
    from bench_ingest import aicost_argv

    parser = argparse.ArgumentParser(description="aicost ingest in-process vs on a local Dask cluster of 2 workers")
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--rows", type=int, default=20_000, help="line items per file")
    args = parser.parse_args()
    folder, db = WORK / "dask-inputs", WORK / "bench-dask.duckdb"
    remove(folder)
    rows = write_inputs(folder, args.files, args.rows)
    table, walls = [], {}
    try:
        for label, extra in (("in-process", {}), ("Dask, 2 local workers", {"AICOST_DASK_LOCAL_WORKERS": "2"})):
            remove(db, WORK / "staging")
            for key in [k for k in os.environ if k.startswith("AICOST_DASK_")]:
                del os.environ[key]  # only this row's setting counts
            m = run_measured(aicost_argv(db, folder), env=extra)
            walls[label] = m.wall_s
            table.append(
                [
                    label,
                    args.files,
                    f"{rows:,}",
                    f"{m.wall_s:.1f}",
                    f"{args.files / m.wall_s:.2f}",
                    f"{rows / m.wall_s:,.0f}",
                    f"{m.peak_mib:,.0f}",
                    f"{m.load_1m:.2f}",
                ]
            )
            print(table[-1], flush=True)
    finally:
        remove(folder, db, WORK / "staging")
    speedup = walls["in-process"] / walls["Dask, 2 local workers"]
    header = ["ingest", "files", "rows", "wall s", "files/s", "rows/s", "peak RSS MiB (flow process)", "load (1 min)"]
    body = (
        markdown_table(header, table) + f"\n\n- speed-up on 2 workers against in-process: {speedup:.2f}x"
        "\n- the Dask wall time includes starting Prefect's ephemeral API and the local cluster"
    )
    write_results("dask", "Ingest on Dask: in-process vs a local cluster of 2 workers", body)


if __name__ == "__main__":
    main()
