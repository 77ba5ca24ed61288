"""The footer: how the figures are computed."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from transforms.report.anomalies import ANOMALY_MIN_AMOUNT, DAY_HISTORY_DAYS, DAY_SIGMAS, SERVICE_RATIO
from transforms.report.formatting import format_money
from transforms.weeks import WEEK, iso_week_label


def method(week_start: date, currency: str, fx_rates: pl.DataFrame | None, generated_at: datetime) -> dict:
    """The footer: how the figures are computed."""
    week_end = week_start + WEEK
    rates = []
    if fx_rates is not None:
        for r in fx_rates.iter_rows(named=True):
            rates.append(
                f"1 {r['currency']} = {r['rate_to_reporting']} {currency}"
                + (
                    f" (as of {r['as_of']}" + (f", {r['source']}" if r.get("source") else "") + ")"
                    if r.get("as_of")
                    else ""
                )
            )
    return {
        "basis": "Effective cost (amortised): commitment purchases are spread over the hours they cover; "
        "credits, refunds and corrections are included.",
        "currency": currency,
        "rates": rates,
        "week": f"ISO week {iso_week_label(week_start)}: Monday {week_start.isoformat()} 00:00 UTC to "
        f"Monday {week_end.isoformat()} 00:00 UTC; costs belong to the week of their charge period.",
        "changes": "“vs last week” compares with the previous ISO week; “vs 4-week average” with the mean "
        "of the previous four weeks that have data.",
        "anomalies": f"A day is flagged above the mean + {DAY_SIGMAS:g}σ of its previous {DAY_HISTORY_DAYS} days; "
        f"a service when its week exceeds {SERVICE_RATIO}× its 4-week average and "
        f"{format_money(ANOMALY_MIN_AMOUNT, currency)}.",
        "savings": (
            "Monthly savings assume a 730-hour month. All recommendations form one plan, applied in "
            "order (remove, resize / reschedule, make the work cheaper, price what remains): each shows "
            "what it adds after the earlier steps on the same cost (reductions of one cost compound, "
            "never add), and what it would save alone; the open savings are the plan's total."
        ),
        "quality": "Ingest figures and expectations cover every file loaded into the warehouse so far.",
        "generated": f"{generated_at:%Y-%m-%d %H:%M} UTC",
    }
