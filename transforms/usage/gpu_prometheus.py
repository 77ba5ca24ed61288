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
without an index. ``source_row`` is the line of the row's first sample. A file is mapped at once
(reader option ``whole_file``: a scrape's lines of a GPU are combined); a series' labels are read once
per distinct series text, not once per line.
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

SNIFF = re.compile(r"(?m)^(?:DCGM_FI_DEV_\w+|nvidia_smi_\w+)(?:\{[^\n]*\})?[ \t]+[-+]?(?:\d|\.\d|NaN|Inf)")


def label(name: str) -> pl.Expr:
    """The value of one label of the sample (escapes undone), null where the series lacks it."""
    value = pl.col("_labels").str.extract(rf'(?:^|,)\s*{name}="((?:[^"\\]|\\.)*)"', 1)
    return value.str.replace_all(r"\"", '"', literal=True).str.replace_all(r"\\", "\\", literal=True)


SERIES = r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?$"  # a line's name and labels, after split_lines


def split_lines(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Each sample line (not a comment, not blank) named (``_named``) and cut without regular expressions into its series
    (name and labels: up to the last ``}``, else up to the first space) and its value and timestamp;
    ``_extra``: anything after the timestamp (the line is then not a sample)."""
    line = pl.col("line").str.replace_all("\t", " ", literal=True).str.strip_chars()
    braced = pl.col("_line").str.split("}").list.last()
    plain = pl.col("_line").str.splitn(" ", 2).struct.field("field_1")
    tail = pl.when(pl.col("_line").str.contains("}", literal=True)).then(braced).otherwise(plain)
    return (
        raw.with_columns(_line=line)
        .filter((pl.col("_line") != "") & ~pl.col("_line").str.starts_with("#"))
        .with_columns(
            _tail=tail.fill_null(""),
            _named=pl.col("_line")
            .str.splitn("{", 2)
            .struct.field("field_0")
            .str.splitn(" ", 2)
            .struct.field("field_0"),
        )
        .with_columns(
            _series=pl.col("_line").str.head(pl.col("_line").str.len_chars() - pl.col("_tail").str.len_chars()),
            _fields=pl.col("_tail").str.strip_chars().str.replace_all(r" +", " ").str.splitn(" ", 3),
        )
        .with_columns(
            _series=pl.col("_series").str.strip_chars(),
            _value=pl.col("_fields").struct.field("field_0"),
            _ts=pl.col("_fields").struct.field("field_1"),
            _extra=pl.col("_fields").struct.field("field_2"),
        )
        .drop("_line", "_tail", "_fields")
    )


def series_labels(series: pl.DataFrame) -> pl.DataFrame:
    """Per distinct series text (``_series``): its metric and the labels read (few per file: parsed once)."""
    parts = pl.col("_series").str.extract_groups(SERIES)
    return (
        series.with_columns(
            metric=parts.struct.field("1"),
            _labels=parts.struct.field("2").fill_null(""),
        )
        .with_columns(
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
        .drop("_labels")
    )


def series_keys(labels: pl.DataFrame, stem: str | None) -> pl.DataFrame:
    """The per-series columns every sample of the series shares: machine, GPU, field, unit factor and
    MIG share; text columns as Categorical (a file has a few distinct series, repeated on every line)."""
    keyed = labels.with_columns(
        gpu_key=pl.coalesce("uuid", pl.concat_str(pl.lit("gpu "), "gpu_label")),
        resource_id=pl.coalesce("host", pl.lit(stem, dtype=pl.String)),
        field=pl.col("metric").replace_strict(
            {m: f for m, (f, _) in MEASURES.items()}, default=None, return_dtype=pl.String
        ),
        _factor=pl.col("metric").replace_strict(
            {m: k for m, (_, k) in MEASURES.items()}, default=None, return_dtype=pl.Float64
        ),
        _share=instance_share(),
        _index_label=pl.col("index_label").cast(pl.Float64, strict=False),
    )
    text_columns = [c for c, t in keyed.schema.items() if t == pl.String and c != "_series"]
    return keyed.with_columns(pl.col(text_columns).cast(pl.Categorical))


def samples(raw: pl.LazyFrame) -> pl.LazyFrame:
    """One row per line naming a read metric: metric, labels, value, timestamp, and why it is bad.

    A line is cut by ``split_lines``; its series' labels are read once per distinct series."""
    read = sorted({*MEASURES, *ATTRIBUTES})
    lines = split_lines(raw).filter(pl.col("_named").is_in(read)).collect()
    stem = lines["_file_stem"][0] if lines.height else None
    labels = series_keys(series_labels(lines.select(pl.col("_series").unique())), stem)
    ts_ok = pl.col("_ts").is_null() | pl.col("_ts").str.contains(r"^-?\d+$")
    well_formed = pl.col("metric").is_not_null() & (pl.col("_value") != "") & pl.col("_extra").is_null() & ts_ok
    frame = (
        lines.lazy()
        .join(labels.lazy(), on="_series", how="left", maintain_order="left")
        .with_columns(
            metric=pl.when(well_formed).then(pl.col("metric")),
            value_text=pl.when(well_formed).then(text(pl.col("_value"))),
            ts_ms=pl.when(well_formed).then(pl.col("_ts").cast(pl.Int64, strict=False)),
        )
        .with_columns(
            value=parse_float("value_text"),
            line=pl.when(pl.col("metric").is_null()).then("line"),  # kept for the message of a malformed line only
        )
        .drop("_series", "_value", "_ts", "_extra")
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
    return frame.with_columns(_reject_reason=reason)


def gpu_attributes(good: pl.LazyFrame) -> pl.LazyFrame:
    """Per machine and GPU: uuid, model and index, from whichever of its series carry them."""
    index_value = pl.when(pl.col("metric") == "nvidia_smi_index").then(pl.col("value"))
    return good.group_by("resource_id", "gpu_key").agg(
        gpu_uuid=pl.col("uuid").drop_nulls().first(),
        gpu_model=pl.col("model_label").drop_nulls().first(),
        _index=pl.coalesce("_index_label", index_value).drop_nulls().first(),
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
    measures = good.filter(pl.col("field").is_not_null()).with_columns(
        value=(pl.col("value") * pl.col("_factor")).round(9),
        ts=pl.coalesce(sample_time, pl.col("_file_mtime").cast(UTC_TS)),
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
    """Per line of a file too large to map whole (the reader then keeps each GPU's lines in one batch):
    ``key``, the machine and GPU as ``series_keys`` names them (null for a line that names no read metric
    or no GPU: such a line is mapped on its own); ``anchor``: a sample of a measure, so that no batch is
    mapped without one unless the file has none; ``context``: never (every line reads alone)."""
    read = sorted({*MEASURES, *ATTRIBUTES})
    cut = split_lines(lines.lazy()).filter(pl.col("_named").is_in(read)).collect()
    stem = lines["_file_stem"][0] if lines.height and "_file_stem" in lines.columns else None
    keyed = series_keys(series_labels(cut.select(pl.col("_series").unique())), stem).select(
        "_series",
        "metric",
        key=pl.concat_str(pl.col("resource_id").cast(pl.String), pl.lit("\x1f"), pl.col("gpu_key").cast(pl.String)),
    )
    keys = (
        cut.select("source_row", "_series")
        .join(keyed, on="_series", how="left")
        .select("source_row", "key", anchor=pl.col("metric").is_in(list(MEASURES)).fill_null(False))
    )
    out = lines.select("source_row").join(keys, on="source_row", how="left", maintain_order="left")
    return out.select("key", anchor=pl.col("anchor").fill_null(False), context=pl.lit(False))


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
        # a scrape's samples of a GPU are mapped together: the whole file, or GPU by GPU when large
        read_options={"whole_file": True, "group_key": gpu_series_key},
        description="GPU metrics, Prometheus text from DCGM exporter or nvidia_gpu_exporter",
    )
)
