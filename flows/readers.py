"""Reading source files into raw polars batches, with DuckDB's own CSV, Parquet and JSON readers.

A raw batch holds the file's columns as the format's reader kind gives them (see
docs/architecture.md) plus ``source_row`` (1-based), ``_file_stem`` and ``_file_mtime``.

Every reader is bounded:

- ``text`` files are streamed in batches of lines (memory does not grow with the file). A format
  whose mapping needs more than one line at a time says so in its ``read_options``:
  ``carry_line`` (a regex: the last line matching it, e.g. a header, is repeated at the top of the
  next batch) or ``group_key`` (a function giving each line's group, e.g. its GPU: every batch then
  holds whole groups, lines in file order, with the header each of its lines follows; see
  ``_grouped``). Mapping the batches one by one gives the rows
  mapping the whole file at once would give. ``whole_file`` (GPU telemetry) reads every line into
  one frame with DuckDB instead (``flows.telemetry.read_lines``) when the file expands to at most
  ``max_whole_text_bytes``; a larger one is read in batches by its ``group_key``.
- ``document`` files (one JSON document) are read whole, up to ``max_document_bytes``.
- A gzip file that expands to more than ``max_decompression_ratio`` times its compressed size is
  refused, whichever reader reads it.

Errors never quote the file's content: they name the file and what was expected, with at most a
line number, a byte offset or a count of fields.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.formats import FormatError, Sniff, SourceFormat

BATCH_ROWS = 100_000
READER_MEMORY_LIMIT = "512MB"  # the reader streams batches; it never needs the whole file in memory
HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
MIN_EXPANSION_BYTES = 1 << 20  # a tiny gzip may always expand to 1 MiB, whatever its ratio


class UnreadableFile(ValueError):
    """A file that cannot be read at all; the message names the file and what is wrong."""


def _settings():
    from flows.settings import get_settings

    return get_settings()


def file_stem(path: Path) -> str:
    """The file name without folders and without every extension (``a.csv.gz`` -> ``a``)."""
    name = path.name
    for suffix in (
        ".gz",
        ".snappy.parquet",
        ".parquet",
        ".csv",
        ".jsonl",
        ".ndjson",
        ".json",
        ".txt",
        ".metrics",
        ".log",
        ".prom",
    ):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as raw:
        return raw.read(2) == GZIP_MAGIC


def expansion_limit(path: Path) -> int:
    """How many bytes the gzip file ``path`` may decompress to (the ratio limit times its size)."""
    ratio = _settings().max_decompression_ratio
    return max(int(ratio * path.stat().st_size), MIN_EXPANSION_BYTES)


def _too_expanded(path: Path) -> UnreadableFile:
    ratio = _settings().max_decompression_ratio
    return UnreadableFile(
        f"{path}: refused: the gzip file expands to more than {ratio:g} times its compressed size of "
        f"{path.stat().st_size} bytes (limit AICOST_MAX_DECOMPRESSION_RATIO={ratio:g})"
    )


class _ExpansionLimited(io.RawIOBase):
    """A gzip stream that raises UnreadableFile once more than ``limit`` bytes come out of it."""

    def __init__(self, path: Path, limit: int):
        self._path, self._limit, self._out = path, limit, 0
        self._inner = gzip.open(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._inner.readinto(buffer)
        self._out += n
        if self._out > self._limit:
            raise _too_expanded(self._path)
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: Path):
    """The file's bytes, decompressed when it is gzip (recognised by its magic number, not its name).

    A gzip stream raises UnreadableFile as soon as it expands past the decompression ratio limit.
    """
    if is_gzip(path):
        return io.BufferedReader(_ExpansionLimited(path, expansion_limit(path)), buffer_size=1 << 20)
    return open(path, "rb")


def check_expansion(path: Path) -> int:
    """Refuse a gzip file that expands past the ratio limit, by streaming through it once; the file's
    size once expanded (a plain file's size on disk).

    For readers that decompress by themselves (DuckDB's CSV and JSON readers).
    """
    if not is_gzip(path):
        return path.stat().st_size
    size = 0
    with open_binary(path) as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
    return size


def read_head(path: Path, size: int = HEAD_BYTES) -> str:
    """The first bytes of a (possibly gzip-compressed) text file, decoded, BOM removed."""
    try:
        with open_binary(path) as fh:
            data = fh.read(size)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"{path}: cannot be read: {error_summary(exc)}") from exc
    return data.decode("utf-8-sig", errors="replace")


def read_document(path: Path) -> str:
    """A whole (possibly gzip) text document, refused when larger than ``max_document_bytes``."""
    limit = _settings().max_document_bytes
    try:
        with open_binary(path) as fh:
            data = fh.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(f"{path}: cannot be read: {error_summary(exc)}") from exc
    if len(data) > limit:
        raise UnreadableFile(
            f"{path}: refused: the document is larger than {limit} bytes (limit AICOST_MAX_DOCUMENT_BYTES)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def json_problem(exc: BaseException) -> str | None:
    """What is wrong with a JSON text, without quoting it; None if ``exc`` is not a JSON parse failure."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to read"
    if isinstance(exc, ValueError) and "digits" in str(exc):
        return f"a JSON number longer than {sys.get_int_max_str_digits()} digits"
    return None


def load_json(path: Path) -> object:
    """A whole JSON document (bounded by ``read_document``); UnreadableFile naming the file if it is not one."""
    text = read_document(path)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UnreadableFile(f"{path}: {json_problem(exc) or 'not valid JSON'}") from exc


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
            raise UnreadableFile(f"{path}: not a readable Parquet file ({type(exc).__name__})") from exc
        return Sniff(columns=names, head="", name=path.name)
    head = read_head(path)
    first_line = head.splitlines()[0] if head else ""
    columns: tuple[str, ...] = ()
    stripped = first_line.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            document = None  # e.g. a first line longer than the head: not a header we can use
        except (ValueError, RecursionError) as exc:
            raise UnreadableFile(f"{path}: line 1: {json_problem(exc)}") from exc
        columns = tuple(document) if isinstance(document, dict) else ()
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
    check_expansion(path)
    header = options.get("header", True)
    args = {
        "p": str(path),
        "delim": options.get("delim", ","),
        "header": header,
        "skip": options.get("skip", 0),
        "null_padding": bool(options.get("null_padding", False)),
    }
    names = options.get("names")
    if options.get("explicit_dialect"):
        # A recognised header read with the dialect given, never sniffed: DuckDB's dialect sniffer
        # refuses some real exports outright. Every column is text, named as the header (or
        # ``names``) says. Padding short rows needs the serial reader when fields hold line breaks.
        # (Hive text: ``quote`` "" for none, ``nullstr`` "\\N".)
        if options.get("names_from") == "aws_cur_manifest":  # headerless CUR Hive text: names in its manifest
            from flows.ingest_discover import cur_manifest_header

            names = cur_manifest_header(path)
        columns = _explicit_columns(path, args["delim"], args["skip"], header, names)
        args["columns"] = {name: "VARCHAR" for name in columns}
        args["quote"] = args["escape"] = options.get("quote", '"')
        nullstr = options.get("nullstr")
        if nullstr is not None:
            args["nullstr"] = nullstr
        sql = (
            "SELECT * FROM read_csv($p, columns = $columns, delim = $delim, header = $header, skip = $skip, "
            "quote = $quote, escape = $escape, strict_mode = true, null_padding = $null_padding, auto_detect = false"
            f"{', nullstr = $nullstr' if nullstr is not None else ''}"
            f"{', parallel = false' if args['null_padding'] else ''})"
        )
        return con.sql(sql, params=args)
    names_sql = ", names = $names" if names else ""
    if names:
        args["names"] = list(names)
    sql = (
        "SELECT * FROM read_csv($p, all_varchar = true, delim = $delim, header = $header, skip = $skip, "
        "quote = '\"', escape = '\"', strict_mode = true, null_padding = $null_padding, auto_detect = true"
        f"{names_sql})"
    )
    return con.sql(sql, params=args)


def _explicit_columns(path: Path, delim: str, skip: int, header: bool, names) -> list[str]:
    """Column names for an explicit-dialect read: ``names``, else the header line (BOM removed).

    Names repeated in the header get DuckDB's own suffixes (``a``, ``a_1``); an empty name is
    ``column<i>`` as DuckDB names it.
    """
    if names:
        return list(names)
    lines = read_head(path).splitlines()
    line = lines[skip] if len(lines) > skip else ""
    fields = next(csv.reader(io.StringIO(line), delimiter=delim), []) if header else []
    if not fields:
        raise UnreadableFile(f"{path}: no header line to read the columns from")
    seen: dict[str, int] = {}
    columns = []
    for i, raw in enumerate(fields):
        name = raw.strip() or f"column{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 0)
        columns.append(name)
    return columns


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
            check_expansion(path)
            relation = con.sql(
                "SELECT * FROM read_json($p, format = 'newline_delimited', sample_size = -1)",
                params={"p": str(path)},
            )
            yield from _stream(relation, path, batch_rows)
        elif fmt.reader == "text":
            yield from read_text_batches(path, fmt.read_options, batch_rows)
        elif fmt.reader == "document":
            yield _with_lineage(pl.DataFrame({"document": [read_document(path)]}), 0, path)
        elif fmt.reader == "s3_inventory":
            yield from _read_s3_inventory(con, path, batch_rows)
        else:
            raise FormatError(f"{fmt.name}: unknown reader kind {fmt.reader!r}")
    except (duckdb.Error, OSError, EOFError) as exc:
        raise UnreadableFile(f"{path}: cannot be read as {fmt.name}: {error_summary(exc)}") from exc
    finally:
        con.close()


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_LINE_NUMBER = re.compile(r"(?i)\b(?:on line|in line|line)\s*:?\s*(\d+)")
_BYTE_NUMBER = re.compile(r"(?i)\bbyte(?: position)?\s*:?\s*(\d+)")
_COLUMN_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def error_summary(exc: BaseException) -> str:
    """What went wrong, from a library's error, without any of the file's content it may quote.

    Kept: the error's kind (the words before the first ``:``), a line number, a byte offset, an
    expected / found column count. Everything else (DuckDB's "Original Line: ...", quoted values,
    paths) is left out.
    """
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, EOFError):  # gzip's own words, never the file's
        return "truncated: the compressed file ended before the end-of-stream marker was reached"
    problem = json_problem(exc)
    if problem:
        return problem
    first = text.strip().splitlines()[0] if text.strip() else ""
    kind = first.split(":", 1)[0].strip() if ":" in first else type(exc).__name__
    if len(kind) > 60 or _QUOTED.search(kind):
        kind = type(exc).__name__
    details = []
    if "recursion depth" in text:
        details.append("nested too deeply")
    if (line := _LINE_NUMBER.search(text)) is not None:
        details.append(f"line {line.group(1)}")
    if (offset := _BYTE_NUMBER.search(text)) is not None:
        details.append(f"byte {offset.group(1)}")
    if (counts := _COLUMN_COUNT.search(text)) is not None:
        details.append(f"expected {counts.group(1)} columns, found {counts.group(2)}")
    return kind + (f" ({', '.join(details)})" if details else "")


def failure_message(path: Path | str, exc: BaseException, trusted: tuple[type[BaseException], ...] = ()) -> str:
    """The message for a file that failed with ``exc``: names the file, never quotes its content.

    Messages of ``trusted`` types (and of UnreadableFile / FormatError) are written by this project
    and kept; any other error is summarised by ``error_summary``.
    """
    if isinstance(exc, (UnreadableFile, FormatError, *trusted)):
        message = str(exc)
        return message if str(path) in message else f"{path}: {message}"
    if isinstance(exc, MemoryError):
        return f"{path}: cannot be read: too large to hold in memory"
    return f"{path}: cannot be read: {error_summary(exc)}"


# ---------------------------------------------------------------------------------------- text kind


def _line_chunks(path: Path, batch_rows: int) -> Iterator[list[str]]:
    """The file's lines (``\\n`` or ``\\r\\n`` ended, BOM removed), ``batch_rows`` at a time."""
    first = True
    row = 0

    def decode(raw: list[bytes]) -> list[str]:
        nonlocal first
        blob = b"".join(raw)
        if first and blob.startswith(b"\xef\xbb\xbf"):
            blob = blob[3:]
        first = False
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = row + blob.count(b"\n", 0, exc.start) + 1
            raise UnreadableFile(f"{path}: line {line}: not UTF-8 text") from exc
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]

    with open_binary(path) as fh:
        pending: list[bytes] = []
        for raw_line in fh:
            pending.append(raw_line)
            if len(pending) >= batch_rows:
                yield decode(pending)
                row += len(pending)
                pending = []
        if pending:
            yield decode(pending)


def _line_frames(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    offset = 0
    for lines in _line_chunks(path, batch_rows):
        frame = _with_lineage(pl.DataFrame({"line": lines}, schema={"line": pl.String}), offset, path)
        offset += frame.height
        yield frame


def read_text_batches(path: Path, options: dict, batch_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """A text file as frames of ``line`` + lineage, ``batch_rows`` lines at a time (see the module doc)."""
    group_key = options.get("group_key")
    if options.get("whole_file"):  # one frame of every line, read by DuckDB (GPU telemetry: flows/telemetry.py)
        size = check_expansion(path)
        if group_key is None or size <= _settings().max_whole_text_bytes:
            from flows.telemetry import read_lines

            yield _with_lineage(read_lines(path), 0, path)
            return
        # larger: memory would grow with the file; read in batches of whole groups (GPUs) instead
    if group_key is None:
        for frame in _with_carried_line(_line_frames(path, batch_rows), options.get("carry_line")):
            yield frame.drop("_carried")
        return
    frames = _line_frames(path, batch_rows)
    first = next(frames, None)
    if first is None:
        return
    second = next(frames, None)
    if second is None:  # the whole file is one batch: nothing to regroup
        yield first
        return
    yield from _grouped(_chain(first, second, frames), group_key, batch_rows, path)


def _chain(first: pl.DataFrame, second: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield second
    yield from rest


def _with_carried_line(frames: Iterator[pl.DataFrame], pattern: str | None) -> Iterator[pl.DataFrame]:
    """Each frame with the last line matching ``pattern`` before it (with its own source_row) on top.

    The repeated line is marked ``_carried`` = true (false for the frame's own lines).
    """
    carried: pl.DataFrame | None = None
    for frame in frames:
        frame = frame.with_columns(_carried=pl.lit(False))
        out = frame if carried is None else pl.concat([carried, frame])
        if pattern is not None:
            matching = frame.filter(pl.col("line").str.contains(pattern))
            if matching.height:
                carried = matching.tail(1).with_columns(_carried=pl.lit(True))
        yield out


LINEAGE = ["line", "source_row", "_file_stem", "_file_mtime"]


def _grouped(
    frames: Iterator[pl.DataFrame],
    group_key: Callable[[pl.DataFrame], pl.DataFrame],
    batch_rows: int,
    path: Path,
) -> Iterator[pl.DataFrame]:
    """Frames regrouped so that each holds whole groups (e.g. every line of one GPU), in file order.

    ``group_key(frame)`` gives, per line of a frame, ``key`` (String; null for a line that stands
    alone), ``anchor`` (Boolean: a line that makes a batch worth mapping on its own) and ``context``
    (Boolean: a line that sets how the lines after it read, e.g. a header; it is carried to the top
    of the next frame given to ``group_key``). Lines are spilled to parts by a hash of their key (a
    line without one by its row), then each part is yielded with the context lines its lines follow;
    a part without an anchor line is merged into a neighbour. Memory holds about one batch; disk
    holds the file once more (Arrow IPC, in a temporary folder).
    """
    import pyarrow.ipc as ipc

    with tempfile.TemporaryDirectory(prefix="aicost-lines-") as spill:
        spill_dir = Path(spill)
        writers: dict[int, ipc.RecordBatchFileWriter] = {}
        context_writer = None
        parts = 0
        carried: pl.DataFrame | None = None
        for frame in frames:
            if not parts:
                parts = _part_count(path, frame, batch_rows)
            with_carry = frame if carried is None else pl.concat([carried, frame])
            keys = group_key(with_carry)
            marked = with_carry.with_columns(
                _key=keys["key"].cast(pl.String),
                _anchor=keys["anchor"].fill_null(False),
                _is_context=keys["context"].fill_null(False),
            ).with_columns(
                _context_row=pl.when(pl.col("_is_context")).then(pl.col("source_row")).forward_fill(),
                _part=pl.when(pl.col("_key").is_not_null())
                .then(pl.col("_key").hash(seed=7) % parts)
                .otherwise(pl.col("source_row").cast(pl.UInt64) % parts),
            )
            own = marked.slice(0 if carried is None else 1)
            last_context = own.filter(pl.col("_is_context")).tail(1)
            if last_context.height:
                carried = last_context.select(LINEAGE)
            context = own.filter(pl.col("_is_context")).select(LINEAGE)
            if context.height:
                table = context.to_arrow()
                if context_writer is None:
                    context_writer = ipc.new_file(str(spill_dir / "context.arrow"), table.schema)
                context_writer.write_table(table)
            data = own.filter(~pl.col("_is_context")).select([*LINEAGE, "_anchor", "_context_row", "_part"])
            for (part,), rows in data.partition_by("_part", as_dict=True).items():
                table = rows.drop("_part").to_arrow()
                if part not in writers:
                    writers[part] = ipc.new_file(str(spill_dir / f"part-{part:05d}.arrow"), table.schema)
                writers[part].write_table(table)
        for writer in (*writers.values(), *([context_writer] if context_writer else [])):
            writer.close()

        def part_frame(part: int) -> pl.DataFrame:
            rows = pl.read_ipc(spill_dir / f"part-{part:05d}.arrow")
            wanted = rows["_context_row"].drop_nulls().unique()
            rows = rows.drop("_context_row")
            if context_writer is None or wanted.is_empty():
                return rows
            context = (
                pl.scan_ipc(spill_dir / "context.arrow")
                .filter(pl.col("source_row").is_in(wanted.implode()))
                .collect()
                .with_columns(_anchor=pl.lit(False))
            )
            return pl.concat([rows, context.select(rows.columns)])

        ready: pl.DataFrame | None = None
        pending: list[pl.DataFrame] = []
        for part in sorted(writers):
            pending.append(part_frame(part))
            if any(p["_anchor"].any() for p in pending):
                if ready is not None:
                    yield _finish(ready)
                ready, pending = pl.concat(pending), []
        if pending:
            ready = pl.concat(pending) if ready is None else pl.concat([ready, *pending])
        if ready is not None:
            yield _finish(ready)


def _finish(rows: pl.DataFrame) -> pl.DataFrame:
    """A regrouped batch: its distinct lines in file order, the raw text columns only."""
    return (
        rows.unique("source_row", keep="first")
        .sort("source_row")
        .select("line", "source_row", "_file_stem", "_file_mtime")
    )


def _part_count(path: Path, first: pl.DataFrame, batch_rows: int) -> int:
    """How many parts to spill to so that each holds about ``batch_rows`` lines.

    Estimated from the file's (decompressed) size and the first batch's bytes per line; the size of
    a gzip file is its trailer's (modulo 4 GiB: a larger file gets larger parts, never wrong ones).
    """
    size = path.stat().st_size
    if is_gzip(path):
        with open(path, "rb") as fh:
            fh.seek(-4, io.SEEK_END)
            size = max(size, int.from_bytes(fh.read(4), "little"))
    per_line = max(1.0, first["line"].str.len_bytes().mean() or 1.0) + 1
    return max(2, min(4096, int(size / per_line / batch_rows) + 1))


# ----------------------------------------------------------------------------------- S3 Inventory


def s3_inventory_data_files(manifest_path: Path) -> list[Path]:
    """The data files an S3 Inventory manifest lists, found beside it (or in its data/ folder).

    A data file that is a link to somewhere outside the manifest's folder is refused.
    """
    manifest = load_json(manifest_path)
    if not isinstance(manifest, dict):
        raise UnreadableFile(f"{manifest_path}: expected a JSON object with fileSchema and files")
    found = []
    folder = manifest_path.parent.resolve()
    for entry in manifest.get("files", []):
        name = Path(entry["key"]).name
        for candidate in (manifest_path.parent / name, manifest_path.parent / "data" / name):
            if candidate.exists():
                if not candidate.resolve().is_relative_to(folder):
                    raise UnreadableFile(
                        f"{manifest_path}: data file {candidate} is a link to a file outside {manifest_path.parent}; "
                        "not followed"
                    )
                found.append(candidate)
                break
        else:
            raise UnreadableFile(f"{manifest_path}: data file {entry['key']} listed in the manifest is missing")
    return found


def _read_s3_inventory(con: duckdb.DuckDBPyConnection, manifest_path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    manifest = load_json(manifest_path)
    if not isinstance(manifest, dict) or "fileSchema" not in manifest:
        raise FormatError(f"{manifest_path}: expected an S3 Inventory manifest object with fileSchema")
    if str(manifest.get("fileFormat", "CSV")).upper() != "CSV":
        raise FormatError(f"{manifest_path}: only CSV S3 Inventory files are supported, not {manifest['fileFormat']}")
    fields = [f.strip() for f in str(manifest["fileSchema"]).split(",")]
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
