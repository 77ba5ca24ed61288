"""Fleet-sized GPU telemetry files: a file is read at once by DuckDB (``flows.telemetry.read_lines``),
so line numbers, rejected lines and the hourly rollup must hold however DuckDB splits the file."""

from __future__ import annotations

import gzip

import polars as pl
import pytest

from flows.ingest import ingest_files

GPUS = 8
START_MS = 1_794_787_200_000  # 2026-11-16 00:00 UTC
LABELS = 'gpu="{g}",UUID="GPU-n1-{g}",device="nvidia{g}",modelName="NVIDIA H100 80GB HBM3",Hostname="n1"'


def dcgm_lines(scrapes: int) -> list[str]:
    """dcgm-exporter text: every 15 s, per GPU g, utilisation g*10 %, 1000 MiB used, 79000 free, 100+g W."""
    frame = pl.DataFrame({"n": pl.arange(0, scrapes * GPUS, eager=True)}).with_columns(
        g=pl.col("n") % GPUS, ms=START_MS + (pl.col("n") // GPUS) * 15_000
    )
    metrics = {
        "DCGM_FI_DEV_GPU_UTIL": pl.col("g") * 10,
        "DCGM_FI_DEV_FB_USED": pl.lit(1000),
        "DCGM_FI_DEV_FB_FREE": pl.lit(79000),
        "DCGM_FI_DEV_POWER_USAGE": 100 + pl.col("g"),
    }
    labels = pl.format(LABELS.replace("{g}", "{}"), "g", "g", "g")
    parts = [
        frame.select(
            "n",
            k=pl.lit(i),
            line=pl.concat_str(pl.lit(name + "{"), labels, pl.lit("} "), value.cast(pl.String), pl.lit(" "), "ms"),
        )
        for i, (name, value) in enumerate(metrics.items())
    ]
    return pl.concat(parts).sort("n", "k")["line"].to_list()


@pytest.mark.slow
def test_a_large_dcgm_file_keeps_its_line_numbers_and_rolls_up_exactly(warehouse, tmp_path):
    scrapes = 9_000  # 288,000 sample lines, about 40 MB: DuckDB reads it in several buffers and threads
    lines = ["# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).", "# TYPE DCGM_FI_DEV_GPU_UTIL gauge"]
    lines += dcgm_lines(scrapes)
    bad = 2 + 4 * (scrapes * GPUS - 25) + 1  # a GPU_UTIL sample near the end, far beyond the first buffer
    assert lines[bad - 1].startswith("DCGM_FI_DEV_GPU_UTIL")
    series, _, ms = lines[bad - 1].rsplit(" ", 2)
    lines[bad - 1] = f"{series} lots {ms}"
    path = tmp_path / "n1.prom"
    path.write_text("\n".join(lines) + "\n")

    (result,) = ingest_files(warehouse, [path], column_defaults={"interval_s": "15"})

    assert result.error is None, result.error
    assert result.rows_rejected == 1
    (row, reason) = warehouse.sql("SELECT source_row, reason FROM rejected_rows").fetchall()[0]
    assert row == bad
    assert reason == f"line {bad}: metric DCGM_FI_DEV_GPU_UTIL: expected a number, got 'lots'"
    # one row per GPU and scrape; the rejected line's scrape keeps its other measures
    hourly = warehouse.sql(
        "SELECT gpu_index, count(*), sum(samples), sum(util_samples), sum(util_sum), sum(energy_j) "
        "FROM gpu_hourly GROUP BY gpu_index ORDER BY gpu_index"
    ).fetchall()
    bad_gpu = int(lines[bad - 1].split('gpu="')[1].split('"')[0])
    assert [(g, hours, samples) for g, hours, samples, *_ in hourly] == [(g, 38, scrapes) for g in range(GPUS)]
    for g, _, _, util_samples, util_sum, energy in hourly:
        util_count = scrapes - (g == bad_gpu)
        assert (util_samples, util_sum) == (util_count, 10.0 * g * util_count)
        assert energy == scrapes * (100 + g) * 15.0  # power x interval, every scrape


@pytest.mark.slow
def test_a_large_gzip_nvidia_smi_file_names_its_bad_line(warehouse, tmp_path):
    header = "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
    steps = 6_000  # 48,000 samples, 25 hours of 8 GPUs at 15 s
    frame = pl.DataFrame({"n": pl.arange(0, steps * GPUS, eager=True)}).with_columns(
        g=pl.col("n") % GPUS,
        ts=pl.datetime(2026, 11, 16) + pl.duration(seconds=(pl.col("n") // GPUS) * 15),
    )
    lines = frame.select(
        pl.format(
            "{}, {}, GPU-{}, NVIDIA H100 80GB HBM3, 50 %, 1000 MiB, 81559 MiB, {}.00 W",
            pl.col("ts").dt.strftime("%Y/%m/%d %H:%M:%S.000"),
            "g",
            "g",
            100 + pl.col("g"),
        )
    )[:, 0].to_list()
    lines[45_000] = lines[45_000].replace("50 %", "lots %")  # file line 45,002 (after the header)
    path = tmp_path / "n1.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([header, *lines]) + "\n").encode()))

    (result,) = ingest_files(warehouse, [path])

    assert result.error is None, result.error
    assert (result.rows_loaded, result.rows_rejected) == (steps * GPUS - 1, 1)
    (row, reason) = warehouse.sql("SELECT source_row, reason FROM rejected_rows").fetchall()[0]
    assert row == 45_002
    assert reason == "column utilization.gpu [%]: expected a number, got 'lots'"
    totals = warehouse.sql(
        "SELECT count(*), sum(samples), min(interval_s_min), max(interval_s_max), sum(energy_j) FROM gpu_hourly"
    ).fetchall()[0]
    # 25 hours x 8 GPUs; every gap is 15 s (the bad line keeps its time: the sample before it still stands
    # for 15 s); energy = power x interval over the samples stored
    gpu_of_bad = 45_000 % GPUS
    energy = sum((steps - (g == gpu_of_bad)) * (100 + g) * 15.0 for g in range(GPUS))
    assert totals == (25 * GPUS, steps * GPUS - 1, 15.0, 15.0, energy)
