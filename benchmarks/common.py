"""Shared benchmark helpers: run a command in a fresh process and measure it, machine facts, tables."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / "scratch"
RESULTS = BENCH_DIR / "results"
PYTHON = sys.executable
MEASURE_PREFIX = "BENCH-RESULT "


@dataclass
class Measured:
    """Wall time and peak resident memory of one child process, plus what it printed as BENCH-RESULT."""

    wall_s: float
    peak_mib: float
    load_1m: float
    returncode: int
    reported: dict
    stderr_tail: str


def load_1m() -> float:
    """The 1-minute load average (what ``uptime`` shows first)."""
    return os.getloadavg()[0]


def run_measured(argv: list[str], *, env: dict | None = None, cwd: Path = PROJECT_ROOT, check: bool = True) -> Measured:
    """Run ``argv`` in a fresh process under ``/usr/bin/time -v``: wall time and maximum RSS."""
    load = load_1m()
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *argv], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    reported: dict = {}
    for line in proc.stdout.splitlines():
        if line.startswith(MEASURE_PREFIX):
            reported.update(json.loads(line[len(MEASURE_PREFIX) :]))
    tail = "\n".join(proc.stderr.strip().splitlines()[-40:])
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{tail}")
    return Measured(wall, int(rss.group(1)) / 1024 if rss else float("nan"), load, proc.returncode, reported, tail)


def report(values: dict) -> None:
    """Print a measured value for the parent (a child process's side of ``run_measured``)."""
    print(MEASURE_PREFIX + json.dumps(values), flush=True)


def versions() -> dict[str, str]:
    """Versions of the libraries the measured code runs on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("duckdb", "polars", "pyarrow", "prefect"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> str:
    """One line: date, CPU count, RAM, load, library versions."""
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = ", ".join(f"{k} {v}" for k, v in versions().items())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, nproc {os.cpu_count()}, RAM {ram_gib:.1f} GiB, "
        f"load {load_1m():.2f} when written; {libs}"
    )


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, title: str, body: str) -> Path:
    """Print the results and write them to benchmarks/results/<name>.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = f"## {title}\n\n{machine()}\n\n{body}\n"
    print(text)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    return path


def remove(*paths: Path) -> None:
    """Delete work files (and the .wal and run .lock files beside a database)."""
    for path in paths:
        for p in (path, Path(f"{path}.wal"), Path(f"{path}.lock")):
            if p.is_dir():
                import shutil

                shutil.rmtree(p, ignore_errors=True)
            elif p.exists():
                p.unlink()
