"""The registry of source formats: how each is recognised and mapped onto a warehouse table.

A format is data, not a branch: a name, the table it feeds, how its raw file is read, a test on
the file's header, and a pure mapping from the raw frame to the table's columns. Readers
(``flows/readers.py``) turn a file into a raw LazyFrame; ``to_table`` turns that into rows of the
target table plus a ``_reject_reason`` column (null for a good row, otherwise why the row cannot
be stored, naming the column and what was expected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Sniff:
    """What detection may look at: the header's column names, the first bytes, the file name."""

    columns: tuple[str, ...]
    head: str
    name: str


@dataclass(frozen=True)
class SourceFormat:
    name: str  # used by --format and stored as source_format
    table: str  # billing_line_items | gpu_metrics | jobs | inference_requests | ...
    reader: str  # csv | parquet | jsonl | text | document | s3_inventory: how flows/readers.py reads the raw file
    matches: Callable[[Sniff], bool]
    to_table: Callable[[pl.LazyFrame], pl.LazyFrame]
    description: str = ""
    # billing only: "replace" (a newer delivery of a provider/account/period replaces the older
    # one whole: CUR, Azure, FOCUS exports) or "append" (rows accumulate by file: GCP exports)
    period_policy: str = "replace"
    # reader options (e.g. {"delim": "|", "header": False, "names": [...]}, passed to the reader)
    read_options: dict = field(default_factory=dict)
    priority: int = 0  # higher wins when several formats match
    # the header names the format is recognised by, for the closest-match message of a file no
    # format accepts ("a|b" = either spelling; matched case-insensitively)
    columns: tuple[str, ...] = ()


REGISTRY: dict[str, SourceFormat] = {}


def register(fmt: SourceFormat) -> SourceFormat:
    """Add a format to the registry (modules call this at import)."""
    REGISTRY[fmt.name] = fmt
    return fmt


def load_all() -> dict[str, SourceFormat]:
    """Import every format module so that the registry is complete."""
    from transforms import billing, usage  # noqa: F401  (their __init__ import each format)

    return REGISTRY


def detect(sniff: Sniff) -> SourceFormat | None:
    """The best format whose test accepts this header, or None."""
    candidates = [f for f in load_all().values() if f.matches(sniff)]
    return max(candidates, key=lambda f: f.priority) if candidates else None


class FormatError(ValueError):
    """A file that cannot be read as its format: the message names what is missing or wrong."""


def _header_names(sniff: Sniff) -> set[str]:
    """The header's names, lower case (a Hive text header is split on its ``\\x01``)."""
    names = set()
    for column in sniff.columns:
        names.update(c.strip().lstrip("\ufeff").lower() for c in column.split("\x01"))
    return names


def closest_match(sniff: Sniff) -> tuple[SourceFormat, list[str]] | None:
    """The format whose recognised columns the header has most of, and those it lacks (its own names).

    None when no format's columns appear in the header at all. Only the format's column names are
    returned, never the file's own header values.
    """
    present = _header_names(sniff)
    best: tuple[float, SourceFormat, list[str]] | None = None
    for fmt in load_all().values():
        if not fmt.columns:
            continue
        missing = [c for c in fmt.columns if not {a.lower() for a in c.split("|")} & present]
        share = 1 - len(missing) / len(fmt.columns)
        if share > 0 and (best is None or share > best[0]):
            best = (share, fmt, [c.replace("|", " or ") for c in missing])
    return (best[1], best[2]) if best else None


def enrich_billing(frame: pl.DataFrame, instances: pl.DataFrame) -> pl.DataFrame:
    """Fill the GPU count from the instance reference table where the bill does not carry it.

    Applied by the ingest to every mapped batch of billing rows, whatever the format; ``instances``
    has ``instance_type`` and ``gpu_count`` (``config/instances.csv``).
    """
    joined = frame.join(instances, left_on="x_instance_type", right_on="instance_type", how="left")
    return joined.with_columns(pl.coalesce("x_gpu_count", "gpu_count").alias("x_gpu_count")).drop("gpu_count")
