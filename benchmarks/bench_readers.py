"""Text reader benchmark: wall time and peak memory of ``aicost ingest`` on one large Prometheus file.

Writes a DCGM exporter scrape of N series (default 10,000,000) to ``benchmarks/scratch/``: five
metrics per GPU (utilisation, framebuffer used / free, power, SM clock, which is not read), eight
GPUs per machine, each metric's series together as exporters write them (so a GPU's five lines lie
N/5 lines apart), every sample with a timestamp. Then runs ``aicost ingest FILE`` into a fresh
warehouse in a fresh process under ``/usr/bin/time -v`` and checks the rows it loaded (one per
GPU). The text reader streams the file in batches, keeping each GPU's lines in one batch.

    python benchmarks/bench_readers.py                 # 10M series (about 1.1 GB)
    python benchmarks/bench_readers.py --series 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, WORK, markdown_table, remove, run_measured, write_results  # noqa: E402

METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_SM_CLOCK",
)
GPUS_PER_MACHINE = 8
TIMESTAMP_MS = 1763283600000  # 2025-11-16 09:00 UTC


def write_exposition(path: Path, series: int) -> int:
    """A DCGM scrape of ``series`` sample lines (plus HELP / TYPE comments); returns the GPU count."""
    gpus = -(-series // len(METRICS))
    written = 0
    with open(path, "w") as out:
        for m, metric in enumerate(METRICS):
            out.write(f"# HELP {metric} benchmark series.\n# TYPE {metric} gauge\n")
            chunk = []
            for g in range(gpus):
                if written == series:
                    break
                host, gpu = divmod(g, GPUS_PER_MACHINE)
                labels = (
                    f'gpu="{gpu}",UUID="GPU-{g:08d}",device="nvidia{gpu}",modelName="NVIDIA H100 80GB HBM3",'
                    f'Hostname="node{host:06d}"'
                )
                chunk.append(f"{metric}{{{labels}}} {(g * 7 + m) % 100} {TIMESTAMP_MS}\n")
                written += 1
                if len(chunk) == 100_000:
                    out.write("".join(chunk))
                    chunk = []
            out.write("".join(chunk))
    return gpus


def aicost_argv(db: Path, path: Path) -> list[str]:
    script = Path(PYTHON).parent / "aicost"
    base = [str(script)] if script.exists() else [PYTHON, "-m", "flows.cli"]
    return [*base, "--db", str(db), "ingest", "--json", str(path)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10_000_000], help="series (lines) per file")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    for series in args.series:
        path = WORK / f"bench-{series}.metrics"
        db = WORK / "bench-readers.duckdb"
        remove(path, db)
        try:
            gpus = write_exposition(path, series)
            size_mb = path.stat().st_size / 1e6
            measured = run_measured(aicost_argv(db, path))
            import duckdb

            with duckdb.connect(str(db), read_only=True) as con:
                [(loaded,)] = con.sql("SELECT count(*) FROM gpu_metrics").fetchall()
            rows.append(
                [
                    f"{series:,}",
                    f"{size_mb:,.0f}",
                    f"{gpus:,}",
                    f"{loaded:,}",
                    f"{measured.wall_s:.1f}",
                    f"{measured.peak_mib:,.0f}",
                    f"{measured.load_1m:.2f}",
                ]
            )
            if loaded != gpus:  # every GPU has a utilisation sample: one row each
                raise SystemExit(f"expected {gpus} gpu_metrics rows, loaded {loaded}")
        finally:
            remove(path, db)
    body = markdown_table(["series", "file MB", "GPUs", "rows loaded", "wall s", "peak RSS MiB", "load 1m"], rows)
    write_results("readers", "Text reader: aicost ingest of one Prometheus file", body)
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
