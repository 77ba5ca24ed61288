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
    reader: str  # csv | parquet | jsonl | text: how flows/readers.py reads the raw file
    matches: Callable[[Sniff], bool]
    to_table: Callable[[pl.LazyFrame], pl.LazyFrame]
    description: str = ""
    # billing only: "replace" (a newer delivery of a provider/account/period replaces the older
    # one whole: CUR, Azure, FOCUS exports) or "append" (rows accumulate by file: GCP exports)
    period_policy: str = "replace"
    # reader options (e.g. {"delim": "|", "header": False, "names": [...]}, passed to the reader)
    read_options: dict = field(default_factory=dict)
    priority: int = 0  # higher wins when several formats match


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
