"""Operations at the top of the report: a failed data check, and files the ingest refused whole."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

DATA_CHECK_SUBJECT = "[DATA CHECK FAILED] "


def _plural_rows(count: int | None) -> str:
    return "" if count is None else f"{count:,} row{'' if count == 1 else 's'}"


def data_check_line(expectation: str, column: str | None, unexpected_count: int | None, details: str | None) -> str:
    """``expect_column_values_to_be_between on effective_cost: 1 row, e.g. exports/x.csv row 7``.

    ``details`` is the JSON text the quality gate stores: ``{"examples": [{"file", "row"}], ...}``
    when the failing rows are known, else whatever the expectation reported.
    """
    subject = f"{expectation} on {column}" if column else expectation
    try:
        parsed = json.loads(details) if details else None
    except ValueError:
        parsed = None
    examples = parsed.get("examples") if isinstance(parsed, dict) else None
    rows = _plural_rows(unexpected_count)
    if examples:
        listed = ", ".join(f"{e.get('file') or 'unknown file'} row {e.get('row')}" for e in examples)
        return f"{subject}: {rows or 'rows'}, e.g. {listed}"
    if rows:
        return f"{subject}: {rows}" + (f" ({details})" if details else "")
    return f"{subject}: failed" + (f" ({details})" if details else "")


def data_check_failure(dq: pl.DataFrame, week_start: date) -> dict | None:
    """The top-of-report block when an expectation failed on this week's rows, else None."""
    if dq.height == 0:
        return None
    scope = f"week {week_start.isoformat()}"
    failed = dq.filter(~pl.col("success") & pl.col("scope").str.starts_with(scope))
    if failed.height == 0:
        return None
    lines = [
        data_check_line(r["expectation"], r["column_name"], r["unexpected_count"], r["details"])
        for r in failed.iter_rows(named=True)
    ]
    return {
        "title": "Data check failed",
        "summary": "the figures below include rows that failed a data check.",
        "lines": lines,
        "action": "Check the rows named here in the source exports before acting on these figures; "
        "the data-quality section has the details.",
    }


def refused_files(refusals: pl.DataFrame | None) -> list[dict]:
    """Files the ingest refused whole (nothing of them stored), by name and reason."""
    if refusals is None or refusals.height == 0:
        return []
    return [
        {
            "file": r["source_file"],
            "reason": r["reason"],
            "when": f"{r['refused_at']:%Y-%m-%d %H:%M} UTC" if r["refused_at"] else "",
        }
        for r in refusals.sort("source_file").iter_rows(named=True)
    ]
