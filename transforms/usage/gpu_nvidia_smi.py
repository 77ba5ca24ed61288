"""GPU metrics from ``nvidia-smi --query-gpu=... --format=csv`` output (reader ``text``).

One file per machine, ``<resource_id>.csv``: the machine is the file's stem unless a leading
``host`` column names it. Header (names matched after trimming):
``timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]``
(other query columns may be present and are ignored; the wide query-gpu sections of nvidia_gpu_exporter
capture files are read too: every block that starts with such a header line). Values keep their units
(``87 %``, ``40212 MiB``, ``512.30 W``); ``[N/A]`` is null. ``interval_s`` is the gap to the next
sample of the same GPU; the last sample takes the median gap; a lone sample has none.
Rejected rows: a field count that differs from the header, a timestamp or number that does not parse.
A file is mapped at once (reader option ``whole_file``: a GPU's interval needs its next sample), or,
above the reader's whole-file bound, in batches of whole GPUs (``gpu_line_key``); vectorised: fields split on commas, each block read by the header that starts it.
"""

from __future__ import annotations

import polars as pl

from transforms.formats import FormatError, SourceFormat, register
from transforms.parsing import parse_timestamp, reject_if_missing, reject_if_unparsed
from transforms.schema import GPU_METRICS_COLUMNS, conform
from transforms.usage.common import typed

FIELDS = {
    "timestamp": "timestamp",
    "index": "gpu_index",
    "uuid": "gpu_uuid",
    "name": "gpu_model",
    "utilization.gpu [%]": "utilization_pct",
    "memory.used [MiB]": "memory_used_mib",
    "memory.total [MiB]": "memory_total_mib",
    "power.draw [W]": "power_w",
    "host": "host",
}
REQUIRED = ("timestamp", "index", "utilization.gpu [%]")


HEADER_START = ("timestamp", "host")  # the first field of a query-gpu header line


def _classified(frame: pl.DataFrame) -> pl.DataFrame:
    """Each line's fields, whether it ends a block (``_reset``: blank or ``#``), starts one (``_header``)
    and the block it is in (``_block``)."""
    stripped = pl.col("line").str.strip_chars()
    fields = pl.col("line").str.split(",").list.eval(pl.element().str.strip_chars())
    lines = frame.select(
        "line",
        "source_row",
        _reset=(stripped == "") | stripped.str.starts_with("#"),
        _fields=fields,
    ).with_columns(
        _header=~pl.col("_reset")
        & pl.col("_fields").list.first().is_in(HEADER_START)
        & pl.col("_fields").list.contains("utilization.gpu [%]")
    )
    return lines.with_columns(_block=(pl.col("_reset") | pl.col("_header")).cum_sum())


def _blocks(frame: pl.DataFrame) -> pl.DataFrame:
    """Data lines of every query-gpu block, with each FIELDS column as text (null on a bad line).

    A header line (first field ``timestamp`` or ``host``, with ``utilization.gpu [%]``) starts a block;
    a blank or ``#`` line ends one; data lines outside a block are not read. Fields are split on
    commas and trimmed (nvidia-smi never quotes them).
    """
    lines = _classified(frame)
    headers = lines.filter("_header").select(
        "_block",
        _width=pl.col("_fields").list.len(),
        **{
            f"_at_{target}": pl.when(pl.col("_fields").list.contains(source)).then(
                pl.col("_fields").list.eval(pl.element() == source).list.arg_max()
            )
            for source, target in FIELDS.items()
        },
    )
    data = lines.filter(~pl.col("_reset") & ~pl.col("_header")).join(headers, on="_block", how="inner")
    bad = pl.col("_fields").list.len() != pl.col("_width")
    return data.select(
        "source_row",
        *[
            pl.when(~bad).then(pl.col("_fields").list.get(pl.col(f"_at_{target}"), null_on_oob=True)).alias(target)
            for target in FIELDS.values()
        ],
        _reject_reason=pl.when(bad).then(
            pl.format(
                "expected {} comma-separated fields as in the header, got {}", "_width", pl.col("_fields").list.len()
            )
        ),
    )


def gpu_line_key(lines: pl.DataFrame) -> pl.DataFrame:
    """Per line of a file too large to map whole (the reader then keeps each GPU's lines in one batch):
    its GPU (``key``: machine and index as ``with_intervals`` groups them; null for a line outside a block
    or with the wrong field count), ``anchor`` (a data line naming a GPU) and ``context`` (a header,
    blank or ``#`` line: it decides how later lines read)."""
    stem = lines["_file_stem"][0] if lines.height and "_file_stem" in lines.columns else None
    index = pl.col("gpu_index").str.strip_chars().cast(pl.Int64, strict=False).cast(pl.String).fill_null("?")
    machine = pl.when(pl.col("host").is_not_null() & (pl.col("host") != "")).then("host").otherwise(pl.lit(stem))
    keys = (
        _blocks(lines)
        .filter(pl.col("_reject_reason").is_null())
        .select("source_row", key=pl.concat_str(machine, pl.lit("\x1f"), index))
    )
    classified = _classified(lines).select("source_row", context=pl.col("_reset") | pl.col("_header"))
    out = lines.select("source_row").join(classified, on="source_row", how="left", maintain_order="left")
    out = out.join(keys, on="source_row", how="left", maintain_order="left")
    return out.select("key", anchor=pl.col("key").is_not_null(), context=pl.col("context").fill_null(False))


def nvidia_smi_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """nvidia-smi query-gpu CSV lines → ``gpu_metrics`` rows, interval from each GPU's next sample."""
    frame = raw.collect()
    if "line" not in frame.columns:
        raise FormatError("nvidia_smi_csv: expected a text file (column line)")
    parsed = _blocks(frame)
    if parsed.is_empty() and frame.height:
        raise FormatError(f"nvidia_smi_csv: no header line with {', '.join(REQUIRED)} found")
    stem = frame["_file_stem"][0] if "_file_stem" in frame.columns and frame.height else None
    number = lambda c: pl.col(c).str.replace(r"\s*(%|MiB|W|\[N/A\]|N/A)$", "")  # noqa: E731
    raw_values = {
        "timestamp": pl.col("timestamp"),
        "index": pl.col("gpu_index"),
        "utilization.gpu [%]": number("utilization_pct"),
        "memory.used [MiB]": number("memory_used_mib"),
        "memory.total [MiB]": number("memory_total_mib"),
        "power.draw [W]": number("power_w"),
    }
    raw_values = {k: pl.when(v.str.strip_chars() != "").then(v.str.strip_chars()) for k, v in raw_values.items()}
    kinds = {
        "timestamp": "str",  # parsed below: nvidia-smi's own format first, the others only where it fails
        "index": "int",
        "utilization.gpu [%]": "float",
        "memory.used [MiB]": "float",
        "memory.total [MiB]": "float",
        "power.draw [W]": "float",
    }
    parsed = with_timestamps(parsed, raw_values["timestamp"])
    values, reason = typed(raw_values, kinds, ("timestamp", "index"))
    unparsed_ts = reject_if_unparsed({"timestamp": (raw_values["timestamp"], pl.col("_ts"), "an ISO 8601 timestamp")})
    reason = pl.coalesce(reject_if_missing({"timestamp": raw_values["timestamp"]}), unparsed_ts, reason)
    table = (
        parsed.lazy()
        .with_columns(
            ts=pl.col("_ts"),
            gpu_index=values["index"].cast(pl.Int32),
            utilization_pct=values["utilization.gpu [%]"],
            memory_used_mib=values["memory.used [MiB]"],
            memory_total_mib=values["memory.total [MiB]"],
            power_w=values["power.draw [W]"],
            resource_id=pl.coalesce(pl.col("host"), pl.lit(stem, dtype=pl.String)),
            _reject_reason=pl.coalesce(pl.col("_reject_reason"), reason),
        )
        .with_columns(gpu_uuid=pl.col("gpu_uuid"), gpu_model=pl.col("gpu_model"))
    )
    return conform(with_intervals(table), {**GPU_METRICS_COLUMNS, "_reject_reason": pl.String})


SMI_TS_FORMATS = ("%Y/%m/%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S")  # as nvidia-smi prints them


def with_timestamps(parsed: pl.DataFrame, raw_ts: pl.Expr) -> pl.DataFrame:
    """``_ts``: the sample time, parsed as nvidia-smi prints it, else by every format
    ``transforms.parsing.parse_timestamp`` reads (tried only on the rows the first did not read)."""
    parsed = parsed.with_columns(_ts=parse_timestamp(raw_ts, SMI_TS_FORMATS), _raw_ts=raw_ts)
    other = parsed.filter(pl.col("_ts").is_null() & pl.col("_raw_ts").is_not_null())
    if other.height:
        other = other.with_columns(_ts=parse_timestamp("_raw_ts"))
        parsed = pl.concat([parsed.filter(pl.col("_ts").is_not_null() | pl.col("_raw_ts").is_null()), other])
    return parsed.drop("_raw_ts")


def with_intervals(table: pl.LazyFrame) -> pl.LazyFrame:
    """``interval_s``: seconds to the same GPU's next sample; the last one takes that GPU's median gap."""
    gpu = ["resource_id", "gpu_index"]
    ordered = table.sort([*gpu, "ts"], nulls_last=True).with_columns(
        _gap=(pl.col("ts").shift(-1).over(gpu) - pl.col("ts")).dt.total_seconds(fractional=True)
    )
    return ordered.with_columns(interval_s=pl.coalesce(pl.col("_gap"), pl.col("_gap").median().over(gpu))).sort(
        "source_row"
    )


def _is_nvidia_smi(sniff) -> bool:
    header = "utilization.gpu [%]" in sniff.head and "timestamp" in sniff.head
    capture = "nvidia_gpu_exporter GPU capture" in sniff.head  # query-gpu sections lie beyond the sniffed head
    return (header or capture) and sniff.name.lower().endswith((".csv", ".txt", ".csv.gz"))


register(
    SourceFormat(
        name="nvidia_smi_csv",
        table="gpu_metrics",
        reader="text",
        matches=_is_nvidia_smi,
        to_table=nvidia_smi_to_table,
        description="GPU metrics, nvidia-smi --query-gpu CSV",
        priority=5,
        # a GPU's interval needs its next sample: the file is mapped at once, or GPU by GPU when large
        read_options={"whole_file": True, "group_key": gpu_line_key},
    )
)
