"""The data-quality section: files and rows ingested, delivery decisions, rejections, expectations, stale sources."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from transforms.report.formatting import format_number
from transforms.weeks import WEEK

STALE_AFTER_DAYS = 3
TOP_REASONS = 5

DECISION_LABELS = {"held_back": "held back", "passed_over": "passed over", "loaded": "loaded"}


def delivery_decisions(decisions: pl.DataFrame | None) -> tuple[list[dict], dict[str, str]]:
    """The billing deliveries decided in the week's runs (rows of ``report_delivery_decisions``), and counts."""
    counts = {key: "0" for key in ("loaded", "passed_over", "held_back")}
    rows = []
    if decisions is None or decisions.height == 0:
        return rows, counts
    for r in decisions.iter_rows(named=True):
        counts[r["decision"]] = format_number(r["decision_count"])
        scope = " · ".join(
            part
            for part in (
                f"{r['provider']} account {r['billing_account_id']}" if r["provider"] else "",
                f"{r['billing_period_start']:%Y-%m}" if r["billing_period_start"] else "",
            )
            if part
        )
        rows.append(
            {
                "decision": DECISION_LABELS.get(r["decision"], r["decision"]),
                "delivery": r["delivery_id"],
                "scope": scope or "provider and period not read",
                "reason": r["reason"],
                "files": f"{r['files']} file" + ("" if r["files"] == 1 else "s"),
                "first_file": r["first_file"] or "",
                "decided": f"{r['decided_at']:%Y-%m-%d %H:%M} UTC",
            }
        )
    return rows, counts


def data_quality(
    ingest: pl.DataFrame,
    rejections: pl.DataFrame,
    dq: pl.DataFrame,
    freshness: pl.DataFrame,
    week_start: date,
    stale_after_days: int = STALE_AFTER_DAYS,
    decisions: pl.DataFrame | None = None,
) -> dict:
    """Files and rows ingested, billing delivery decisions, top rejection reasons, failed expectations, stale sources."""
    week_end = week_start + WEEK
    tables = [
        {
            "table": r["target_table"],
            "files": format_number(r["files"]),
            "rows": format_number(r["rows_in_file"]),
            "loaded": format_number(r["rows_loaded"]),
            "rejected": format_number(r["rows_rejected"]),
        }
        for r in ingest.iter_rows(named=True)
    ]
    deliveries, delivery_counts = delivery_decisions(decisions)
    totals = (
        ingest.select(pl.col("files", "rows_in_file", "rows_loaded", "rows_rejected").sum()).row(0)
        if ingest.height
        else (0, 0, 0, 0)
    )
    failed = dq.filter(~pl.col("success")) if dq.height else dq
    stale = []
    for r in freshness.iter_rows(named=True):
        latest = r["latest"]
        age = (datetime.combine(week_end, datetime.min.time(), tzinfo=latest.tzinfo) - latest) if latest else None
        if latest is None or age > timedelta(days=stale_after_days):
            stale.append(
                {
                    "table": r["target_table"],
                    "source": r["source"],
                    "latest": f"{latest:%Y-%m-%d %H:%M} UTC" if latest else "never",
                    "age": f"{age.days} days before the week's end" if age else "no data",
                }
            )
    return {
        "tables": tables,
        "files": format_number(totals[0] or 0),
        "rows": format_number(totals[1] or 0),
        "loaded": format_number(totals[2] or 0),
        "rejected": format_number(totals[3] or 0),
        "reasons": [
            {
                "reason": r["reason"],
                "rows": format_number(r["rows_rejected"]),
                "files": format_number(r["files"]),
                "example": f"{r['example_file']} row {r['example_row']}",
            }
            for r in rejections.iter_rows(named=True)
        ],
        "expectations_evaluated": format_number(dq.height),
        "expectations_failed": format_number(failed.height),
        "failures": [
            {
                "table": r["target_table"],
                "expectation": r["expectation"],
                "column": r["column_name"] or "",
                "scope": r["scope"],
                "unexpected": format_number(r["unexpected_count"]) if r["unexpected_count"] is not None else "—",
            }
            for r in failed.head(10).iter_rows(named=True)
        ],
        "stale": stale,
        "stale_after_days": stale_after_days,
        "deliveries": deliveries,
        "delivery_counts": delivery_counts,
    }
