"""GPU metrics from ``nvidia-smi --query-gpu=... --format=csv`` output (reader ``text``).

One file per machine, ``<resource_id>.csv``: the machine is the file's stem unless a leading
``host`` column names it. Header (names matched after trimming):
``timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]``
(other query columns may be present and are ignored; the wide query-gpu sections of nvidia_gpu_exporter
capture files are read too: every block that starts with such a header line). Values keep their units
(``87 %``, ``40212 MiB``, ``512.30 W``); ``[N/A]`` is null. ``interval_s`` is the gap to the next
sample of the same GPU; the last sample takes the median gap; a lone sample has none.
Rejected rows: a field count that differs from the header, a timestamp or number that does not parse.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import polars as pl

from transforms.formats import FormatError, SourceFormat, register
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


def _classified(lines: list[str]) -> Iterator[tuple[str, list[str] | None, list[str]]]:
    """Each line as ("reset" | "header" | "data" | "outside", the header in force, its fields).

    A blank or ``#`` line ends a block; a header line starts one; data lines outside a block are
    not read.
    """
    header: list[str] | None = None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            header = None
            yield "reset", None, []
            continue
        fields = [f.strip() for f in next(csv.reader(io.StringIO(line), skipinitialspace=True))]
        if fields and fields[0] in ("timestamp", "host") and "utilization.gpu [%]" in fields:
            header = fields
            yield "header", header, fields
            continue
        yield ("outside" if header is None else "data"), header, fields


def _blocks(lines: list[str], rows: list[int]) -> dict[str, list]:
    """Rows of every query-gpu block, as text columns keyed by FIELDS names."""
    out: dict[str, list] = {k: [] for k in (*FIELDS.values(), "source_row", "_reject_reason")}
    for (kind, header, fields), row in zip(_classified(lines), rows):
        if kind != "data" or header is None:
            continue
        bad = len(fields) != len(header)
        values = dict(zip(header, fields))
        for source, target in FIELDS.items():
            out[target].append(None if bad else values.get(source))
        out["source_row"].append(row)
        out["_reject_reason"].append(
            f"expected {len(header)} comma-separated fields as in the header, got {len(fields)}" if bad else None
        )
    return out


def _gpu_of(header: list[str], fields: list[str], stem: str | None) -> str | None:
    """The machine and GPU index of a data line, as ``with_intervals`` groups them (None: a bad line)."""
    if len(fields) != len(header):
        return None
    values = dict(zip(header, fields))
    index = (values.get("index") or "").strip()
    try:
        index = str(int(index))
    except ValueError:
        index = "?"  # not a number: every such line is in one (rejected) group
    return f"{values.get('host') or stem}\x1f{index}"


def gpu_line_key(lines: pl.DataFrame) -> pl.DataFrame:
    """Per line: its GPU (``key``; the reader keeps each GPU's lines in one batch), ``anchor`` (a data
    line naming a GPU) and ``context`` (a header, blank or ``#`` line: it decides how later lines read)."""
    stem = lines["_file_stem"][0] if lines.height else None
    keys: list[str | None] = []
    context: list[bool] = []
    for kind, header, fields in _classified(lines["line"].to_list()):
        keys.append(_gpu_of(header, fields, stem) if kind == "data" and header is not None else None)
        context.append(kind in ("reset", "header"))
    key = pl.Series("key", keys, dtype=pl.String)
    return pl.DataFrame({"key": key, "anchor": key.is_not_null(), "context": pl.Series(context, dtype=pl.Boolean)})


def nvidia_smi_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """nvidia-smi query-gpu CSV lines → ``gpu_metrics`` rows, interval from each GPU's next sample."""
    frame = raw.collect()
    if "line" not in frame.columns:
        raise FormatError("nvidia_smi_csv: expected a text file (column line)")
    blocks = _blocks(frame["line"].to_list(), frame["source_row"].to_list())
    if not blocks["source_row"] and frame.height:
        raise FormatError(f"nvidia_smi_csv: no header line with {', '.join(REQUIRED)} found")
    stem = frame["_file_stem"][0] if "_file_stem" in frame.columns and frame.height else None
    parsed = pl.DataFrame(blocks, schema={k: pl.String for k in blocks} | {"source_row": pl.Int64})
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
        "timestamp": "ts",
        "index": "int",
        "utilization.gpu [%]": "float",
        "memory.used [MiB]": "float",
        "memory.total [MiB]": "float",
        "power.draw [W]": "float",
    }
    values, reason = typed(raw_values, kinds, ("timestamp", "index"))
    table = (
        parsed.lazy()
        .with_columns(
            ts=values["timestamp"],
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
        read_options={"group_key": gpu_line_key},
    )
)
