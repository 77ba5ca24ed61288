"""The whole context the templates get: every section, from the report's query results."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from transforms.report.anomalies import anomalies
from transforms.report.breakdowns import breakdown
from transforms.report.categories import categories, chart_text, weekly_series
from transforms.report.checks import DATA_CHECK_SUBJECT, data_check_failure, refused_files
from transforms.report.commitments import commitments
from transforms.report.energy import energy
from transforms.report.formatting import week_range_label
from transforms.report.headline import headline
from transforms.report.method import method
from transforms.report.quality import STALE_AFTER_DAYS, data_quality
from transforms.report.recommendations import recommendations, savings_accuracy
from transforms.weeks import iso_week_label, require_monday


def build_context(
    *,
    week_start: date,
    currency: str,
    cost: pl.DataFrame,
    recs: pl.DataFrame,
    accuracy: pl.DataFrame,
    commitment_rows: pl.DataFrame,
    ingest: pl.DataFrame,
    rejections: pl.DataFrame,
    dq: pl.DataFrame,
    freshness: pl.DataFrame,
    fx_rates: pl.DataFrame | None,
    generated_at: datetime,
    stale_after_days: int = STALE_AFTER_DAYS,
    deliveries: pl.DataFrame | None = None,
    refusals: pl.DataFrame | None = None,
    economics: dict | None = None,
) -> dict:
    """Everything the templates show, formatted, from the report's query results."""
    from transforms.economics import economics_context  # it imports transforms.report.formatting: no cycle at import

    require_monday(week_start)
    series = weekly_series(cost, week_start)
    head = headline(cost, recs, week_start, currency)
    label = iso_week_label(week_start)
    change_text = head["vs_last_week"]["text"]
    subject = f"AI spend {label}: {head['spend']} ({change_text} vs last week) · {head['open_savings']}/mo savings open"
    check = data_check_failure(dq, week_start)
    if check:
        subject = DATA_CHECK_SUBJECT + subject
    return {
        "data_check": check,
        "refused_files": refused_files(refusals),
        "week_label": label,
        "week_start": week_start.isoformat(),
        "week_range": week_range_label(week_start),
        "currency": currency,
        "subject": subject,
        "headline": head,
        "categories": categories(cost, week_start, currency),
        "chart": chart_text(series, currency),
        "breakdowns": [breakdown(cost, week_start, currency, key) for key in ("team", "project", "model")],
        "anomalies": anomalies(cost, week_start, currency),
        "recommendations": recommendations(recs, currency),
        "accuracy": savings_accuracy(accuracy, currency),
        "commitments": commitments(commitment_rows),
        "energy": energy(cost, week_start),
        "quality": data_quality(ingest, rejections, dq, freshness, week_start, stale_after_days, deliveries),
        "method": method(week_start, currency, fx_rates, generated_at),
        "economics": economics_context(
            economics, week_start=week_start, currency=currency, cost=cost, fx_rates=fx_rates
        ),
        "series": series,
    }
