"""Reading source files into raw polars batches, with DuckDB's own CSV, Parquet and JSON readers.

A raw batch holds the file's columns as the format's reader kind gives them (see
docs/architecture.md) plus ``source_row`` (1-based), ``_file_stem`` and ``_file_mtime``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.formats import FormatError, SourceFormat, Sniff

BATCH_ROWS = 100_000
READER_MEMORY_LIMIT = "512MB"  # the reader streams batches; it never needs the whole file in memory
HEAD_BYTES = 64 * 1024


class UnreadableFile(ValueError):
    """A file that cannot be read at all; the message names the file and what is wrong."""


def file_stem(path: Path) -> str:
    """The file name without folders and without every extension (``a.csv.gz`` -> ``a``)."""
    name = path.name
    for suffix in (".gz", ".snappy.parquet", ".parquet", ".csv", ".jsonl", ".ndjson", ".json", ".txt",
                   ".metrics", ".log", ".prom"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def open_binary(path: Path):
    """The file's bytes, decompressed when it is gzip (recognised by its magic number, not its name)."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_head(path: Path, size: int = HEAD_BYTES) -> str:
    """The first bytes of a (possibly gzip-compressed) text file, decoded, BOM removed."""
    try:
        with open_binary(path) as fh:
            data = fh.read(size)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc})") from exc
    return data.decode("utf-8-sig", errors="replace")


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def sniff(path: Path) -> Sniff:
    """What format detection looks at: the header's column names, the first bytes, the name."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            names = tuple(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for a damaged footer
            raise UnreadableFile(f"{path}: not a readable Parquet file ({exc})") from exc
        return Sniff(columns=names, head="", name=path.name)
    head = read_head(path)
    first_line = head.splitlines()[0] if head else ""
    columns: tuple[str, ...] = ()
    stripped = first_line.lstrip()
    if stripped.startswith("{"):
        try:
            columns = tuple(json.loads(stripped).keys())
        except json.JSONDecodeError:
            columns = ()
    elif first_line:
        columns = tuple(c.strip() for c in next(csv.reader(io.StringIO(first_line))))
    return Sniff(columns=columns, head=head, name=path.name)


def _with_lineage(frame: pl.DataFrame, offset: int, path: Path) -> pl.DataFrame:
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return frame.with_columns(
        pl.int_range(offset + 1, offset + frame.height + 1, dtype=pl.Int64).alias("source_row"),
        pl.lit(file_stem(path)).alias("_file_stem"),
        pl.lit(mtime, dtype=pl.Datetime("us", "UTC")).alias("_file_mtime"),
    )


def _stream(relation: duckdb.DuckDBPyRelation, path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The relation in frames of about ``batch_rows`` rows (DuckDB hands out much smaller chunks)."""
    import pyarrow as pa

    offset = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush() -> pl.DataFrame:
        frame = pl.from_arrow(pa.Table.from_batches(pending))
        assert isinstance(frame, pl.DataFrame)
        return _with_lineage(frame, offset, path)

    for batch in relation.to_arrow_reader(batch_rows):
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= batch_rows:
            yield flush()
            offset += pending_rows
            pending, pending_rows = [], 0
    if pending:
        yield flush()


def _csv_relation(con: duckdb.DuckDBPyConnection, path: Path, options: dict) -> duckdb.DuckDBPyRelation:
    header = options.get("header", True)
    args = {
        "p": str(path),
        "delim": options.get("delim", ","),
        "header": header,
        "skip": options.get("skip", 0),
        "null_padding": bool(options.get("null_padding", False)),
    }
    names = options.get("names")
    names_sql = ", names = $names" if names else ""
    if names:
        args["names"] = list(names)
    sql = (
        "SELECT * FROM read_csv($p, all_varchar = true, delim = $delim, header = $header, skip = $skip, "
        "quote = '\"', escape = '\"', strict_mode = true, null_padding = $null_padding, auto_detect = true"
        f"{names_sql})"
    )
    return con.sql(sql, params=args)


def read_raw(path: Path, fmt: SourceFormat, batch_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Raw batches of ``path`` as ``fmt``'s reader kind gives them; UnreadableFile if it cannot be read."""
    con = duckdb.connect(config={"memory_limit": READER_MEMORY_LIMIT})
    con.execute("SET TimeZone = 'UTC'")
    try:
        if fmt.reader == "csv":
            yield from _stream(_csv_relation(con, path, fmt.read_options), path, batch_rows)
        elif fmt.reader == "parquet":
            yield from _stream(con.sql("SELECT * FROM read_parquet($p)", params={"p": str(path)}), path, batch_rows)
        elif fmt.reader == "jsonl":
            relation = con.sql(
                "SELECT * FROM read_json($p, format = 'newline_delimited', sample_size = -1)",
                params={"p": str(path)},
            )
            yield from _stream(relation, path, batch_rows)
        elif fmt.reader == "text":
            lines = _read_text(path).splitlines()
            yield _with_lineage(pl.DataFrame({"line": lines}, schema={"line": pl.String}), 0, path)
        elif fmt.reader == "document":
            yield _with_lineage(pl.DataFrame({"document": [_read_text(path)]}), 0, path)
        elif fmt.reader == "s3_inventory":
            yield from _read_s3_inventory(con, path, batch_rows)
        else:
            raise FormatError(f"{fmt.name}: unknown reader kind {fmt.reader!r}")
    except (duckdb.Error, OSError, EOFError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"{path}: cannot be read as {fmt.name}: {_first_line(exc)}") from exc
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:3]) if lines else type(exc).__name__


def _read_text(path: Path) -> str:
    with open_binary(path) as fh:
        return fh.read().decode("utf-8-sig")


def s3_inventory_data_files(manifest_path: Path) -> list[Path]:
    """The data files an S3 Inventory manifest lists, found beside it (or in its data/ folder)."""
    manifest = json.loads(_read_text(manifest_path))
    found = []
    for entry in manifest.get("files", []):
        name = Path(entry["key"]).name
        for candidate in (manifest_path.parent / name, manifest_path.parent / "data" / name):
            if candidate.exists():
                found.append(candidate)
                break
        else:
            raise UnreadableFile(f"{manifest_path}: data file {entry['key']} listed in the manifest is missing")
    return found


def _read_s3_inventory(con: duckdb.DuckDBPyConnection, manifest_path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    manifest = json.loads(_read_text(manifest_path))
    if manifest.get("fileFormat", "CSV").upper() != "CSV":
        raise FormatError(f"{manifest_path}: only CSV S3 Inventory files are supported, not {manifest['fileFormat']}")
    fields = [f.strip() for f in manifest["fileSchema"].split(",")]
    snapshot = str(manifest.get("creationTimestamp", ""))
    offset = 0
    for data_file in s3_inventory_data_files(manifest_path):
        relation = _csv_relation(con, data_file, {"header": False, "names": fields})
        for batch in relation.to_arrow_reader(batch_rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = _with_lineage(frame, offset, manifest_path).with_columns(pl.lit(snapshot).alias("_snapshot_ms"))
            offset += frame.height
            yield frame
