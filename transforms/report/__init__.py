"""The weekly report's content: query results (polars frames) in, a context of formatted figures out.

One module per section of the report (``formatting``, ``spend``, ``headline``, ``categories``, ``breakdowns``,
``anomalies``, ``recommendations``, ``commitments``, ``energy``, ``quality``, ``checks``, ``method``);
``context.build_context`` assembles them and is the one entry point. A new section is a new module
here, one line in ``build_context`` and its partial template.

Pure: no DuckDB, no files, no jinja2. Every figure the templates show is computed and formatted
here, so templates only lay out strings. Money is summed as Decimal; only statistics (means and
standard deviations used as anomaly thresholds) and chart heights are floats.

Rules (documented for the report's footer):
- Spend is effective (amortised) cost in the reporting currency; rows with no exchange rate are
  shown separately per currency, never added in.
- "vs last week" compares with the previous ISO week; "vs 4-week average" with the mean of the
  previous four weeks that have any cost rows.
- A day is anomalous when its spend exceeds mean + 3σ of the previous 28 days that have data (at
  least 7 needed) and the jump is at least the minimum amount; a service is anomalous when its week
  exceeds 1.5× its 4-week average and the minimum amount.
- Open savings are the savings plan's total: the incremental figures of the open recommendations, each
  what it adds after the plan's earlier steps on the same cost (transforms/plan.py), never more than that cost.
"""

from transforms.report.anomalies import (
    ANOMALY_MIN_AMOUNT,
    DAY_HISTORY_DAYS,
    DAY_MIN_HISTORY,
    DAY_SIGMAS,
    SERVICE_RATIO,
    anomalies,
    daily_anomalies,
    service_anomalies,
)
from transforms.report.breakdowns import TOP_N, breakdown
from transforms.report.categories import SPEND_CHART_CID, categories, chart_text, weekly_series
from transforms.report.checks import DATA_CHECK_SUBJECT, data_check_failure, data_check_line, refused_files
from transforms.report.commitments import commitments
from transforms.report.context import build_context
from transforms.report.energy import energy
from transforms.report.formatting import (
    CATEGORY_LABELS,
    CURRENCY_SYMBOLS,
    ZERO,
    change,
    exact,
    format_money,
    format_number,
    format_percent,
    format_signed_money,
    money_places,
    week_range_label,
)
from transforms.report.headline import headline
from transforms.report.method import method
from transforms.report.quality import STALE_AFTER_DAYS, TOP_REASONS, data_quality, delivery_decisions
from transforms.report.recommendations import (
    CONFIDENCE_MARKS,
    MAX_LISTED_RECOMMENDATIONS,
    recommendations,
    savings_accuracy,
)
from transforms.weeks import iso_week_label, require_monday  # the report's week labels come from transforms/weeks.py

__all__ = [
    "ANOMALY_MIN_AMOUNT",
    "CATEGORY_LABELS",
    "CONFIDENCE_MARKS",
    "CURRENCY_SYMBOLS",
    "DATA_CHECK_SUBJECT",
    "DAY_HISTORY_DAYS",
    "DAY_MIN_HISTORY",
    "DAY_SIGMAS",
    "MAX_LISTED_RECOMMENDATIONS",
    "SERVICE_RATIO",
    "SPEND_CHART_CID",
    "STALE_AFTER_DAYS",
    "TOP_N",
    "TOP_REASONS",
    "ZERO",
    "anomalies",
    "breakdown",
    "build_context",
    "categories",
    "change",
    "chart_text",
    "commitments",
    "daily_anomalies",
    "data_check_failure",
    "data_check_line",
    "data_quality",
    "delivery_decisions",
    "energy",
    "exact",
    "format_money",
    "format_number",
    "format_percent",
    "format_signed_money",
    "headline",
    "iso_week_label",
    "method",
    "money_places",
    "recommendations",
    "refused_files",
    "require_monday",
    "savings_accuracy",
    "service_anomalies",
    "week_range_label",
    "weekly_series",
]
