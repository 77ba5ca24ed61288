"""Helpers shared by the usage-log formats: typed parsing with a reason for every bad value."""

from __future__ import annotations

import polars as pl

from transforms.formats import FormatError
from transforms.parsing import parse_float, parse_int, parse_timestamp, reject_if_missing, reject_if_unparsed, text


def present(frame: pl.LazyFrame) -> set[str]:
    """The raw frame's column names."""
    return set(frame.collect_schema().names())


def require(frame: pl.LazyFrame, required: tuple[str, ...], fmt: str) -> None:
    """Raise FormatError naming every required column the raw frame lacks."""
    missing = [c for c in required if c not in present(frame)]
    if missing:
        raise FormatError(f"{fmt}: missing required column(s) {', '.join(missing)}")


def col_or_null(frame: pl.LazyFrame, name: str) -> pl.Expr:
    """A raw column as text, or a typed null where the file has no such column."""
    return text(name) if name in present(frame) else pl.lit(None, dtype=pl.String)


def typed_columns(
    raw: pl.LazyFrame, columns: tuple[str, ...], kinds: dict[str, str], required: tuple[str, ...]
) -> tuple[dict[str, pl.Expr], dict[str, pl.Expr], pl.Expr]:
    """The raw text of ``columns`` (null where the file lacks one), their values parsed by ``kinds``
    (text where not named; see ``typed``) and the reject reason (``required`` must be filled)."""
    texts = {c: col_or_null(raw, c) for c in columns}
    values, reason = typed(texts, {c: "str" for c in columns} | kinds, required)
    return texts, values, reason


def typed(
    raw: dict[str, pl.Expr], kinds: dict[str, str], required: tuple[str, ...]
) -> tuple[dict[str, pl.Expr], pl.Expr]:
    """Parse raw text expressions by kind (ts | int | float | str); return values and the reject reason.

    ``raw`` maps a source column name to its text expression; ``kinds`` gives each one's kind.
    """
    parsers = {"ts": parse_timestamp, "int": parse_int, "float": parse_float, "str": lambda e: e}
    expected = {"ts": "an ISO 8601 timestamp", "int": "a whole number", "float": "a number", "str": "text"}
    values = {name: parsers[kinds[name]](expr) for name, expr in raw.items()}
    unparsed = reject_if_unparsed(
        {name: (raw[name], values[name], expected[kinds[name]]) for name in raw if kinds[name] != "str"}
    )
    missing = reject_if_missing({name: raw[name] for name in required})
    return values, pl.coalesce(missing, unparsed)
