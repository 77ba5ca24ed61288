"""Shared checks for the export-shape tests: every reader must keep these promises.

- loaded + rejected = records (rows of the file);
- billed and effective totals per billing period and currency equal the totals the test works
  out from the file's own columns;
- the same file given again is never loaded twice;
- a restated delivery (the export written again in place) replaces the old one whole;
- an unknown extra column never blocks a load (each test's file carries one).
"""

from __future__ import annotations

import csv
import os
from decimal import Decimal
from pathlib import Path

from flows.ingest import ingest_files

Totals = dict[tuple[str, str], tuple[Decimal, Decimal]]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[dict[str, str]],
    delimiter: str = ",",
    write_header: bool = True,
    trim_trailing_empty: bool = False,
) -> Path:
    """Rows as CSV in the header's order (missing keys empty); optionally without trailing empty fields."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        if write_header:
            writer.writerow(header)
        for row in rows:
            values = [row.get(h, "") for h in header]
            while trim_trailing_empty and values and values[-1] == "":
                values.pop()
            writer.writerow(values)
    return path


def loaded_totals(con) -> Totals:
    rows = con.execute(
        "SELECT strftime(billing_period_start, '%Y-%m'), billing_currency, sum(billed_cost), sum(effective_cost) "
        "FROM billing_line_items GROUP BY ALL"
    ).fetchall()
    return {(period, currency): (billed, effective) for period, currency, billed, effective in rows}


def check_load(con, path: Path, fmt: str, expected: Totals, records: int, rejected: int = 0):
    """Ingest ``path`` and check the promises; returns the file's result."""
    [result] = ingest_files(con, [path])
    assert result.error is None, result.error
    assert result.source_format == fmt
    assert result.rows_in_file == records
    assert result.rows_loaded + result.rows_rejected == records
    assert result.rows_rejected == rejected
    assert loaded_totals(con) == expected
    [again] = ingest_files(con, [path])
    assert again.skipped and again.rows_loaded == 0
    assert loaded_totals(con) == expected
    return result


def check_restated(con, path: Path, write_restated, expected_after: Totals) -> None:
    """Write the export again in place (``write_restated(path)``), ingest it: it replaces the old one."""
    before = path.stat().st_mtime
    write_restated(path)
    os.utime(path, (before + 60, before + 60))  # written later than the first delivery
    [result] = ingest_files(con, [path])
    assert result.error is None, result.error
    assert not result.skipped
    assert loaded_totals(con) == expected_after
    holders = con.execute("SELECT count(DISTINCT delivery_id) FROM billing_line_items").fetchone()[0]
    assert holders == 1
