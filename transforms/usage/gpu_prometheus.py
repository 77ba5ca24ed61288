"""GPU metrics from Prometheus text exposition: DCGM exporter and nvidia_gpu_exporter (reader ``text``).

A scrape saved to a file (``curl node1:9400/metrics > node1.metrics``), one sample per line,
``name{label="value",...} value [timestamp_ms]``; ``#`` lines are comments. Read:

- DCGM exporter: ``DCGM_FI_DEV_GPU_UTIL`` (%), ``DCGM_FI_DEV_FB_USED`` / ``_FB_FREE`` /
  ``_FB_RESERVED`` / ``_FB_TOTAL`` (MiB; total = FB_TOTAL, else used + free + reserved),
  ``DCGM_FI_DEV_POWER_USAGE`` (W); labels ``gpu`` (index), ``UUID``, ``modelName``, ``Hostname``.
  ``DCGM_FI_PROF_GR_ENGINE_ACTIVE`` (ratio 0..1, the profiling metric, MIG-aware) is preferred over
  ``DCGM_FI_DEV_GPU_UTIL`` wherever a scrape of the GPU has it. In MIG mode it comes per GPU
  instance (labels ``GPU_I_ID``, ``GPU_I_PROFILE`` such as ``1g.10gb``, ``3g.40gb``): each instance
  counts by its size, ``Ng`` of the GPU's slices (7; 4 on an A30), so the GPU's utilisation is
  100 x sum(N / slices x active); slices no instance holds count as unused. Memory measures
  given per instance are summed over the instances; a measure given for the device as well (no
  ``GPU_I_ID``) keeps the device's value.
- nvidia_gpu_exporter: ``nvidia_smi_utilization_gpu_ratio`` (0..1, stored ×100),
  ``nvidia_smi_memory_used_bytes`` / ``_memory_total_bytes`` (stored in MiB),
  ``nvidia_smi_power_draw_watts``, ``nvidia_smi_index`` (the index) and ``nvidia_smi_gpu_info``
  (labels ``name`` → the model, ``index``); every series is keyed by its ``uuid`` label.
  Converted values are rounded to 9 decimals (0.09 × 100 is stored as 9.0).

One row per GPU per scrape: the GPU is its UUID (else its ``gpu`` label) on a machine;
``ts`` = the sample's timestamp, else the file's modification time; ``resource_id`` = the
``Hostname`` label, else the file's stem; ``interval_s`` = ``DEFAULT_INTERVAL_S`` (60, the usual
scrape interval) unless the raw frame carries ``interval_s`` (ingest with
``column_defaults={"interval_s": "15"}``). Model and index are per GPU, found on any of its
series. Other metrics are ignored; a repeated series keeps its first sample. Rejected: a sample of
a read metric whose line does not parse, whose value is not a number or that names no GPU; a GPU
without an index. ``source_row`` is the line of the row's first sample.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.formats import FormatError, Sniff, SourceFormat, register
from transforms.parsing import parse_float, text
from transforms.schema import GPU_METRICS_COLUMNS, UTC_TS, conform

FORMAT = "prometheus_gpu"
DEFAULT_INTERVAL_S = 60.0
MIB = 2**20

# metric -> (field, factor to the table's unit); fields starting with "_" are intermediate.
MEASURES: dict[str, tuple[str, float]] = {
    "DCGM_FI_DEV_GPU_UTIL": ("utilization_pct", 1.0),
    "DCGM_FI_DEV_FB_USED": ("memory_used_mib", 1.0),
    "DCGM_FI_DEV_FB_FREE": ("_free_mib", 1.0),
    "DCGM_FI_DEV_FB_RESERVED": ("_reserved_mib", 1.0),
    "DCGM_FI_DEV_FB_TOTAL": ("_total_mib", 1.0),
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1.0),
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("_engine_active_pct", 100.0),
    "nvidia_smi_utilization_gpu_ratio": ("utilization_pct", 100.0),
    "nvidia_smi_memory_used_bytes": ("memory_used_mib", 1 / MIB),
    "nvidia_smi_memory_total_bytes": ("_total_mib", 1 / MIB),
    "nvidia_smi_power_draw_watts": ("power_w", 1.0),
}
ATTRIBUTES = ("nvidia_smi_index", "nvidia_smi_gpu_info")
FIELDS = sorted({field for field, _ in MEASURES.values()})
ENGINE_FIELD = "_engine_active_pct"
MIG_SLICES = 7  # compute slices of a full GPU (A100, H100, H200, B200)
MIG_SLICES_BY_MODEL = {"A30": 4}  # model name contains -> slices

SAMPLE = r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$"
LABEL_PAIR = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
SNIFF = re.compile(r"(?m)^(?:DCGM_FI_DEV_\w+|nvidia_smi_\w+)(?:\{[^\n]*\})?[ \t]+[-+]?(?:\d|\.\d|NaN|Inf)")


def label(name: str) -> pl.Expr:
    """The value of one label of the sample (escapes undone), null where the series lacks it."""
    prefix = f'{name}="'
    pair = pl.col("_pairs").list.eval(pl.element().filter(pl.element().str.starts_with(prefix))).list.first()
    value = pair.str.slice(len(prefix)).str.strip_suffix('"')
    return value.str.replace_all(r"\"", '"', literal=True).str.replace_all(r"\\", "\\", literal=True)


def samples(raw: pl.LazyFrame) -> pl.LazyFrame:
    """One row per line naming a read metric: metric, labels, value, timestamp, and why it is bad."""
    parts = pl.col("line").str.extract_groups(SAMPLE)
    named = pl.col("line").str.extract(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", 1)
    read = sorted({*MEASURES, *ATTRIBUTES})
    frame = (
        raw.filter(~pl.col("line").str.strip_chars_start().str.starts_with("#"))
        .with_columns(_named=named, _parts=parts)
        .filter(pl.col("_named").is_in(read))
        .with_columns(
            metric=pl.col("_parts").struct.field("1"),
            _pairs=pl.col("_parts").struct.field("2").fill_null("").str.extract_all(LABEL_PAIR),
            value_text=text(pl.col("_parts").struct.field("3")),
            ts_ms=pl.col("_parts").struct.field("4").cast(pl.Int64, strict=False),
        )
        .with_columns(
            value=parse_float("value_text"),
            host=label("Hostname"),
            uuid=pl.coalesce(label("UUID"), label("uuid")),
            gpu_label=label("gpu"),
            model_label=pl.coalesce(
                label("modelName"), pl.when(pl.col("metric") == "nvidia_smi_gpu_info").then(label("name"))
            ),
            index_label=pl.coalesce(
                label("gpu"), pl.when(pl.col("metric") == "nvidia_smi_gpu_info").then(label("index"))
            ),
            instance=label("GPU_I_ID"),
            profile=label("GPU_I_PROFILE"),
        )
    )
    reason = (
        pl.when(pl.col("metric").is_null())
        .then(
            pl.format(
                "line {}: expected a Prometheus sample (name, optional labels, value, optional timestamp in ms), got '{}'",
                "source_row",
                pl.col("line").str.slice(0, 200),
            )
        )
        .when(pl.col("value_text").is_not_null() & pl.col("value").is_null())
        .then(pl.format("line {}: metric {}: expected a number, got '{}'", "source_row", "metric", "value_text"))
        .when(pl.col("uuid").is_null() & pl.col("gpu_label").is_null())
        .then(
            pl.format("line {}: metric {}: expected a UUID, uuid or gpu label naming the GPU", "source_row", "metric")
        )
    )
    return frame.with_columns(
        _reject_reason=reason,
        gpu_key=pl.coalesce("uuid", pl.concat_str(pl.lit("gpu "), "gpu_label")),
        resource_id=pl.coalesce("host", "_file_stem"),
    )


def gpu_attributes(good: pl.LazyFrame) -> pl.LazyFrame:
    """Per machine and GPU: uuid, model and index, from whichever of its series carry them."""
    index_value = pl.when(pl.col("metric") == "nvidia_smi_index").then(pl.col("value"))
    return good.group_by("resource_id", "gpu_key").agg(
        gpu_uuid=pl.col("uuid").drop_nulls().first(),
        gpu_model=pl.col("model_label").drop_nulls().first(),
        _index=pl.coalesce(pl.col("index_label").cast(pl.Float64, strict=False), index_value).drop_nulls().first(),
    )


def instance_share() -> pl.Expr:
    """The share of its GPU a MIG instance holds (``3g.40gb`` of a 7-slice GPU: 3/7); 1 outside MIG."""
    slices = pl.lit(float(MIG_SLICES))
    for name, count in MIG_SLICES_BY_MODEL.items():
        slices = pl.when(pl.col("model_label").str.contains(name, literal=True)).then(float(count)).otherwise(slices)
    size = pl.col("profile").str.extract(r"(\d+)g\.", 1).cast(pl.Float64, strict=False)
    return pl.when(pl.col("instance").is_null()).then(1.0).otherwise(size.fill_null(1.0) / slices)


def scrapes(good: pl.LazyFrame, interval_s: pl.Expr) -> pl.LazyFrame:
    """One row per machine, GPU and sample time, with every read measure in the table's unit.

    A series (metric and MIG instance) keeps its first sample; per GPU, the engine activity is the
    size-weighted sum over its instances, other measures the device's value, else the instances' sum.
    """
    sample_time = pl.from_epoch("ts_ms", time_unit="ms").dt.replace_time_zone("UTC").cast(UTC_TS)
    measures = good.filter(pl.col("metric").is_in(list(MEASURES))).with_columns(
        field=pl.col("metric").replace_strict({m: f for m, (f, _) in MEASURES.items()}, return_dtype=pl.String),
        value=(
            pl.col("value")
            * pl.col("metric").replace_strict({m: k for m, (_, k) in MEASURES.items()}, return_dtype=pl.Float64)
        ).round(9),
        ts=pl.coalesce(sample_time, pl.col("_file_mtime").cast(UTC_TS)),
        _share=instance_share(),
    )
    series = measures.group_by("resource_id", "gpu_key", "ts", "field", "instance").agg(
        pl.col("source_row").min(),
        interval_s.first().alias("_interval"),
        pl.col("value").first(),
        pl.col("_share").first(),
    )
    device = pl.col("instance").is_null()
    per_field = series.group_by("resource_id", "gpu_key", "ts", "field").agg(
        pl.col("source_row").min(),
        pl.col("_interval").first(),
        value=pl.when(pl.col("field").first() == ENGINE_FIELD)
        .then((pl.col("value") * pl.col("_share")).sum().round(9))
        .when(device.any())
        .then(pl.col("value").filter(device).first())
        .otherwise(pl.col("value").sum()),
    )
    rows = per_field.group_by("resource_id", "gpu_key", "ts").agg(
        pl.col("source_row").min(),
        pl.col("_interval").first().alias("interval_s"),
        *[pl.col("value").filter(pl.col("field") == f).first().alias(f) for f in FIELDS],
    )
    return rows.with_columns(
        utilization_pct=pl.coalesce(ENGINE_FIELD, "utilization_pct"),
        memory_total_mib=pl.coalesce(
            "_total_mib", pl.col("memory_used_mib") + pl.col("_free_mib") + pl.col("_reserved_mib").fill_null(0.0)
        ),
    )


def interval_expr(raw: pl.LazyFrame) -> pl.Expr:
    """``interval_s`` from the raw frame where given (ingest column_defaults), else the default."""
    if "interval_s" not in raw.collect_schema().names():
        return pl.lit(DEFAULT_INTERVAL_S)
    seconds = parse_float("interval_s")
    bad = raw.select(pl.col("interval_s").filter(seconds.is_null() | (seconds <= 0)).first()).collect()
    if bad.height and bad.item() is not None:
        raise FormatError(f"{FORMAT}: interval_s: expected a number of seconds above zero, got {bad.item()!r}")
    return seconds


def prometheus_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Prometheus exposition lines → ``gpu_metrics`` rows (one per GPU and scrape) and rejected lines."""
    names = raw.collect_schema().names()
    if "line" not in names:
        raise FormatError(f"{FORMAT}: expected a text file (column line)")
    interval = interval_expr(raw)
    raw = raw.with_columns(_interval=interval)
    parsed = samples(raw).collect()
    if raw.select(pl.len()).collect().item() and parsed.filter(pl.col("metric").is_in(list(MEASURES))).is_empty():
        raise FormatError(f"{FORMAT}: no GPU samples found (expected {', '.join(MEASURES)})")
    good = parsed.filter(pl.col("_reject_reason").is_null()).lazy()
    table = scrapes(good, pl.col("_interval")).join(gpu_attributes(good), on=["resource_id", "gpu_key"], how="left")
    table = table.with_columns(
        gpu_index=pl.col("_index").cast(pl.Int32, strict=False),
        _reject_reason=pl.when(pl.col("_index").is_null()).then(
            pl.format(
                "line {}: GPU {} on {}: expected its index "
                "(a gpu label, nvidia_smi_index or nvidia_smi_gpu_info index)",
                "source_row",
                "gpu_key",
                "resource_id",
            )
        ),
    )
    rejected = parsed.lazy().filter(pl.col("_reject_reason").is_not_null()).select("source_row", "_reject_reason")
    columns = {**GPU_METRICS_COLUMNS, "_reject_reason": pl.String}
    return pl.concat([conform(table, columns), conform(rejected, columns)]).sort("source_row")


def gpu_series_key(lines: pl.DataFrame) -> pl.DataFrame:
    """Per line, the GPU its sample belongs to (the reader keeps each GPU's lines in one batch).

    ``key``: machine and GPU as the mapping groups them (null for a line that names no read metric
    or no GPU: such a line is mapped on its own); ``anchor``: a sample of a measure, so that no batch
    is mapped without one unless the file has none; ``context``: never (every line reads alone).
    """
    read = sorted({*MEASURES, *ATTRIBUTES})
    parts = pl.col("line").str.extract_groups(SAMPLE)
    parsed = lines.select(
        _metric=parts.struct.field("1"),
        _named=pl.col("line").str.extract(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", 1),
        _pairs=parts.struct.field("2").fill_null("").str.extract_all(LABEL_PAIR),
        _file_stem=pl.col("_file_stem"),
    )
    gpu = pl.coalesce(label("UUID"), label("uuid"), pl.concat_str(pl.lit("gpu "), label("gpu")))
    machine = pl.coalesce(label("Hostname"), "_file_stem")
    return parsed.select(
        key=pl.when(pl.col("_named").is_in(read)).then(pl.concat_str(machine, pl.lit("\x1f"), gpu)),
        anchor=pl.col("_metric").is_in(list(MEASURES)).fill_null(False),
        context=pl.lit(False),
    )


def is_gpu_exposition(sniff: Sniff) -> bool:
    """Prometheus text with a DCGM_FI_DEV_* or nvidia_smi_* sample line."""
    return bool(SNIFF.search(sniff.head))


register(
    SourceFormat(
        name=FORMAT,
        table="gpu_metrics",
        reader="text",
        matches=is_gpu_exposition,
        to_table=prometheus_to_table,
        priority=6,
        read_options={"group_key": gpu_series_key},
        description="GPU metrics, Prometheus text from DCGM exporter or nvidia_gpu_exporter",
    )
)
