"""Write a week's attributed cost as FOCUS files: ``aicost export --week W --format focus --out DIR``.

The week is attributed again at the source-line grain (``compute_week(..., keep_source=True)``)
and checked against the stored ``attributed_cost``: per currency the billed and effective totals
must be equal, else the stored week is stale and the export refuses (re-run the week first). The
rows are mapped by ``transforms.export_focus`` and written per FOCUS version as Parquet and CSV:
``<DIR>/focus-<version>-<ISO week>.parquet`` and ``.csv``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from flows.attribute import compute_week
from flows.settings import Settings
from flows.warehouse import query
from transforms.export_focus import VERSIONS, check_stored_week, currency_totals, to_focus
from transforms.weeks import iso_week_label, week_params


def focus_frames(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings) -> dict[str, pl.DataFrame]:
    """The week's FOCUS rows per version, checked against the stored attribution."""
    params = week_params(week_start)
    slices = compute_week(con, week_start, settings, keep_source=True).frame
    stored = query(con, "attribution_week", {"week_start": week_start})
    check_stored_week(slices, stored, week_start)
    lines = query(con, "export_focus_lines", params)
    return {version: to_focus(slices, lines, version) for version in VERSIONS}


def export_focus(con: duckdb.DuckDBPyConnection, week_start: date, settings: Settings, out_dir: Path) -> dict:
    """Write the week's FOCUS files; return the paths, rows and totals per version and currency."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict = {"week_start": week_start.isoformat(), "files": {}, "rows": 0, "totals": {}}
    for version, frame in focus_frames(con, week_start, settings).items():
        stem = f"focus-{version}-{iso_week_label(week_start)}"
        parquet, csv_path = out_dir / f"{stem}.parquet", out_dir / f"{stem}.csv"
        frame.write_parquet(parquet)
        frame.write_csv(csv_path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
        written["files"][version] = [str(parquet), str(csv_path)]
        written["rows"] = frame.height
        written["totals"] = {
            cur: {"billed": str(b), "effective": str(e)}
            for cur, (b, e) in sorted(currency_totals(frame, "BillingCurrency", "BilledCost", "EffectiveCost").items())
        }
    return written
