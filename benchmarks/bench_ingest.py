"""Ingest benchmark: rows/s and peak memory of ``aicost ingest`` against DuckDB's raw load and focus-converter.

For each size, writes billing files of exactly that many AWS line items (``make_billing``), then per
file, each in a fresh process under ``/usr/bin/time -v`` and with a fresh warehouse:
``aicost ingest FILE``; DuckDB's own load of the raw file (``CREATE TABLE t AS SELECT * FROM
read_csv/read_parquet``, the floor); and, on the Athena-style CUR Parquet file, focus-converter 1.0.0
from its own virtual environment (``benchmarks/scratch/fc-venv``, see README).

    python benchmarks/bench_ingest.py --rows 1000000 5000000
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_ROOT, PYTHON, WORK, Measured, markdown_table, remove, run_measured, write_results  # noqa: E402

FORMATS = ("aws_cur_csv", "aws_cur_parquet", "aws_cur2_parquet", "focus")
FC_BIN = WORK / "fc-venv" / "bin" / "focus-converter"
FC_TIMEOUT_S = 3600
RAW_LOAD = """
import duckdb, sys, time
reader = "read_parquet" if sys.argv[2].endswith(".parquet") else "read_csv"
con = duckdb.connect(sys.argv[1])
started = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}($p)", {"p": sys.argv[2]})
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
print('BENCH-RESULT {"rows": %d, "load_s": %.3f}' % (n, time.perf_counter() - started))
"""
TYPED_SQL = Path(__file__).resolve().parent / "typed_load_focus.sql"
TYPED_LOAD = """
import sys, time
from pathlib import Path
from flows.warehouse import connect
con = connect(sys.argv[1])
started = time.perf_counter()
con.execute(Path(sys.argv[3]).read_text(), {"path": sys.argv[2]})
n = con.execute("SELECT count(*) FROM billing_line_items").fetchone()[0]
con.close()
print('BENCH-RESULT {"rows": %d, "load_s": %.3f}' % (n, time.perf_counter() - started))
"""


def cpu_s(m: Measured) -> float:
    """User + system CPU seconds of the measured process and its threads (from ``/usr/bin/time -v``).

    The machine is shared: wall times are disturbed by the others' load, CPU time much less.
    """
    found = {k: float(v) for k, v in re.findall(r"(User|System) time \(seconds\): ([\d.]+)", m.stderr_tail)}
    return found.get("User", float("nan")) + found.get("System", float("nan"))


def aicost_argv(db: Path, path: Path) -> list[str]:
    """The ``aicost ingest`` command of this environment."""
    script = Path(PYTHON).parent / "aicost"
    base = [str(script)] if script.exists() else [PYTHON, "-m", "flows.cli"]
    return [*base, "--db", str(db), "ingest", str(path)]


def measure_aicost(path: Path) -> Measured:
    db = WORK / "bench-ingest.duckdb"
    remove(db)
    try:
        return run_measured(aicost_argv(db, path))
    finally:
        remove(db)


def measure_duckdb(path: Path) -> Measured:
    db = WORK / "bench-raw.duckdb"
    remove(db)
    try:
        return run_measured([PYTHON, "-c", RAW_LOAD, str(db), str(path)])
    finally:
        remove(db)


def measure_typed(path: Path) -> Measured:
    """DuckDB's load of a FOCUS CSV into the warehouse's own table, casts only (``typed_load_focus.sql``)."""
    db = WORK / "bench-typed.duckdb"
    remove(db)
    try:
        return run_measured([PYTHON, "-c", TYPED_LOAD, str(db), str(path), str(TYPED_SQL)], cwd=PROJECT_ROOT)
    finally:
        remove(db)


def measure_focus_converter(path: Path) -> Measured | None:
    if not FC_BIN.exists():
        print(f"focus-converter not installed at {FC_BIN}: skipped (see benchmarks/README.md)", file=sys.stderr)
        return None
    out = WORK / "fc-out"
    remove(out)
    out.mkdir(parents=True)
    try:
        # focus-converter 1.0.0 can hang after an error: the timeout bounds it; a failure is reported, not timed.
        return run_measured(
            [
                "timeout",
                str(FC_TIMEOUT_S),
                str(FC_BIN),
                "convert",
                "--provider",
                "aws",
                "--data-path",
                str(path),
                "--data-format",
                "parquet",
                "--parquet-data-format",
                "file",
                "--export-path",
                str(out),
            ],
            check=False,
        )
    finally:
        remove(out)


def row(rows: int, fmt: str, path: Path, tool: str, m: Measured, floor: Measured | None) -> list:
    ok = m.returncode == 0
    rate = f"{rows / m.wall_s:,.0f}" if ok else "failed"
    vs = f"{m.wall_s / floor.wall_s:.2f}x" if ok and floor else ""
    vs_cpu = f"{cpu_s(m) / cpu_s(floor):.2f}x" if ok and floor else ""
    size = f"{path.stat().st_size / 2**20:,.0f}"
    return [
        f"{rows:,}",
        fmt,
        size,
        tool,
        f"{m.wall_s:.1f}" if ok else f"failed ({m.returncode})",
        f"{cpu_s(m):.1f}",
        rate,
        f"{m.peak_mib:,.0f}",
        vs,
        vs_cpu,
        f"{m.load_1m:.2f}",
    ]


def fixed_costs(formats: tuple[str, ...]) -> list[list]:
    """``aicost ingest`` of a one-row file per format: start-up, imports and warehouse set-up."""
    from make_billing import write_all

    folder = WORK / "ingest-1"
    table = []
    try:
        for fmt, path in write_all(1, folder, formats).items():
            table.append(row(1, fmt, Path(path), "aicost ingest, 1 row (fixed cost)", measure_aicost(Path(path)), None))
            print(table[-1], flush=True)
    finally:
        remove(folder)
    return table


def bench_size(
    rows: int, formats: tuple[str, ...], notes: list[str], fc_max_rows: int, keep: bool = False
) -> list[list]:
    from make_billing import write_all

    folder = WORK / f"ingest-{rows}"
    started = time.perf_counter()
    kinds = set(formats)
    if keep and folder.is_dir():  # inputs kept by an earlier --keep run: reused as they are
        names = {
            "aws_cur_csv": f"bench-cur-legacy-{rows}.csv",
            "aws_cur_parquet": f"bench-cur-athena-{rows}.snappy.parquet",
            "aws_cur2_parquet": f"bench-cur2-{rows}.snappy.parquet",
            "focus": f"bench-focus-{rows}.csv",
        }
        paths = {k: folder / names[k] for k in formats if (folder / names[k]).exists()}
        kinds -= set(paths)
    else:
        paths = {}
    if kinds:
        paths |= {k: Path(v) for k, v in write_all(rows, folder, tuple(sorted(kinds))).items()}
        notes.append(f"{rows:,} rows: inputs written in {time.perf_counter() - started:.0f} s")
    paths = {k: paths[k] for k in formats}
    table = []
    try:
        for fmt, path in paths.items():
            floor = measure_duckdb(path)
            ours = measure_aicost(path)
            table.append(row(rows, fmt, path, "DuckDB raw load (floor)", floor, None))
            table.append(row(rows, fmt, path, "aicost ingest", ours, floor))
            if fmt == "focus":
                typed = measure_typed(path)
                table.append(row(rows, fmt, path, "DuckDB typed load, casts only (typed floor)", typed, floor))
            if fmt == "aws_cur_parquet" and rows > fc_max_rows:
                notes.append(
                    f"{rows:,} rows: focus-converter not run (above --fc-max-rows {fc_max_rows:,}: at 5M rows "
                    "it passed 14 GiB on this 24 GiB machine and was stopped)"
                )
            elif fmt == "aws_cur_parquet":
                fc = measure_focus_converter(path)
                if fc is not None:
                    table.append(row(rows, fmt, path, "focus-converter 1.0.0", fc, floor))
                    if fc.returncode == 0:
                        notes.append(
                            f"{rows:,} rows: focus-converter {fc.wall_s:.1f} s, aicost ingest {ours.wall_s:.1f} s "
                            f"on the same file: aicost / focus-converter = {ours.wall_s / fc.wall_s:.2f}"
                        )
                    else:
                        notes.append(
                            f"{rows:,} rows: focus-converter did not finish (exit {fc.returncode} after "
                            f"{fc.wall_s:.0f} s, peak {fc.peak_mib:,.0f} MiB)"
                        )
            print(table[-1], flush=True)
    finally:
        if not keep:
            remove(folder)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description="aicost ingest vs DuckDB raw load vs focus-converter")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument(
        "--fc-max-rows",
        type=int,
        default=1_000_000,
        help="run focus-converter only up to this many rows (it needs > 14 GiB at 5M)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the inputs under benchmarks/scratch and reuse them")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    rows = fixed_costs(tuple(args.formats))
    rows += [r for n in args.rows for r in bench_size(n, tuple(args.formats), notes, args.fc_max_rows, args.keep)]
    header = [
        "rows",
        "format",
        "file MiB",
        "tool",
        "wall s",
        "CPU s (user+sys)",
        "rows/s",
        "peak RSS MiB",
        "vs DuckDB load (wall)",
        "vs DuckDB load (CPU)",
        "load (1 min)",
    ]
    body = markdown_table(header, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    write_results("ingest", "Ingest: aicost ingest vs DuckDB raw load vs focus-converter", body)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
