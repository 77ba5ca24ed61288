"""The report's figures, computed by hand from tiny frames (pure: no warehouse)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest

from tests.report.conftest import WEEK, cost_row, reference_costs, reference_recs
from transforms import report as rm
from transforms.schema import MONEY, RECOMMENDATION_COLUMNS


def cost_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows shaped like sql/report_cost.sql's result."""
    frame = pl.DataFrame(rows).with_columns(
        pl.col("effective_cost", "effective_cost_reporting").cast(MONEY),
        pl.col("model").fill_null("unattributed"),
    )
    return frame.with_columns(pl.col("effective_cost_reporting").is_not_null().alias("converted"))


def recs_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RECOMMENDATION_COLUMNS)


# ------------------------------------------------------------------------------------------------
def test_money_is_grouped_rounded_half_up_and_carries_its_currency():
    assert rm.format_money(Decimal("84210.4"), "USD") == "$84,210"
    assert rm.format_money(Decimal("84210.5"), "USD") == "$84,211"
    assert rm.format_money(Decimal("-1234.5"), "USD") == "-$1,235"
    assert rm.format_money(Decimal("12.345"), "NOK") == "NOK 12.35"
    assert rm.format_money(Decimal("0.004"), "EUR") == "€0.00"
    assert rm.format_money(Decimal("1234567.891"), "GBP", places=2) == "£1,234,567.89"
    assert rm.format_signed_money(Decimal("50"), "USD") == "+$50.00"
    assert rm.format_signed_money(Decimal("-50"), "USD") == "-$50.00"


def test_changes_carry_an_arrow_and_a_tone():
    up = rm.change(Decimal("112"), Decimal("100"))
    assert (up["text"], up["direction"], up["tone"]) == ("▲ 12%", "up", "bad")
    down = rm.change(Decimal("97"), Decimal("100"))
    assert (down["text"], down["tone"]) == ("▼ 3.0%", "good")
    assert rm.change(Decimal("5"), Decimal("0"))["text"] == "▲ new"
    assert rm.change(Decimal("5"), Decimal("5"))["text"] == "■ no change"
    assert rm.change(Decimal("5"), None)["text"] == "no data"


def test_week_labels_and_a_week_that_is_not_a_monday():
    assert rm.iso_week_label(date(2026, 11, 16)) == "2026-W47"
    assert rm.iso_week_label(date(2020, 12, 28)) == "2020-W53"
    assert rm.week_range_label(date(2026, 11, 16)) == "Nov 16–22, 2026"
    assert rm.week_range_label(date(2026, 11, 30)) == "Nov 30 – Dec 6, 2026"
    with pytest.raises(
        ValueError, match=r"2026-11-18 is a Wednesday; expected the Monday .*\(this week's is 2026-11-16\)"
    ):
        rm.require_monday(date(2026, 11, 18))


# ------------------------------------------------------------------------------------------------
def test_headline_from_the_reference_week():
    cost = cost_frame(reference_costs())
    head = rm.headline(cost, recs_frame(reference_recs()), WEEK, "USD")
    spend = Decimal("1000.50") + Decimal("200.25") + Decimal("450.00") + Decimal("300.10") + Decimal("108.00")
    assert spend == Decimal("2058.85")
    assert head["spend_exact"] == "2058.85"
    assert head["spend"] == "$2,059"
    # vs last week: (2058.85 - 1500) / 1500 = 37.26 %; vs the 4-week average (900+1000+1100+1500)/4 = 1125: 83.0 %
    assert head["vs_last_week"]["text"] == "▲ 37%"
    assert head["vs_last_week"]["pct"] == "37.3"
    assert head["four_week_average"] == "$1,125"
    assert head["vs_four_week"]["text"] == "▲ 83%"
    # open savings: the plan's incremental figures of the open ones: 9,800 + 80 + 1,500 (not r2's standalone
    # 4,000, nor the resolved 700)
    assert head["open_savings_exact"] == "11380"
    assert head["open_savings"] == "$11,380"
    assert head["open_count"] == 3
    # the NOK row has no rate: shown apart, never summed in
    assert head["unconverted"] == [{"currency": "NOK", "amount": "NOK 1,000", "amount_exact": "1000"}]


def test_four_week_average_uses_only_weeks_with_data():
    rows = [cost_row(WEEK - timedelta(weeks=2), 0, "300"), cost_row(WEEK, 0, "600")]
    head = rm.headline(cost_frame(rows), recs_frame([]), WEEK, "USD")
    assert head["vs_last_week"]["text"] == "no data"
    assert head["four_week_average"] == "$300.00"
    assert head["vs_four_week"]["text"] == "▲ 100%"


def test_categories_show_idle_gpu_cost_and_all_six_categories():
    cats = rm.categories(cost_frame(reference_costs()), WEEK, "USD")
    by_key = {row["key"]: row for row in cats["rows"]}
    assert list(by_key) == ["training", "inference", "storage", "network", "data_processing", "other"]
    # training: 1,000.50 busy + 200.25 idle = 1,200.75 of 2,058.85 = 58.3 %
    assert by_key["training"]["spend_exact"] == "1200.75"
    assert by_key["training"]["idle"] == "$200"
    assert by_key["training"]["share"] == "58%"
    assert by_key["training"]["change"]["text"] == "▲ 20%"  # 1,200.75 vs 1,000.00
    assert by_key["network"]["share"] == "5.2%"  # 108 / 2,058.85
    assert by_key["other"]["spend_exact"] == "0"  # the NOK row is not converted
    assert cats["total_exact"] == "2058.85"
    assert cats["idle_total_exact"] == "200.25"


def test_top_spenders_and_movers_by_team():
    teams = rm.breakdown(cost_frame(reference_costs()), WEEK, "USD", "team")
    assert [(r["name"], r["spend"]) for r in teams["top"]] == [
        ("vision", "$1,201"),
        ("search", "$450"),
        ("data", "$408"),
    ]
    # movers by size of change: data +408.10 (new), vision +200.75, search -50.00
    assert [(r["name"], r["delta"], r["change"]["text"]) for r in teams["movers"]] == [
        ("data", "+$408", "▲ new"),
        ("vision", "+$201", "▲ 20%"),
        ("search", "-$50", "▼ 10%"),
    ]


def test_chart_series_and_its_text_equivalent():
    series = rm.weekly_series(cost_frame(reference_costs()), WEEK)
    assert series["labels"][0] == "2026-W40" and series["labels"][-1] == "2026-W47"
    assert series["idle"]["training"][-1] == Decimal("200.25")
    assert series["busy"]["training"][-1] == Decimal("1000.50")
    text = rm.chart_text(series, "USD")
    assert text["lines"][0] == {"week": "2026-W40", "total": "no data", "parts": ""}
    assert text["lines"][-2] == {"week": "2026-W46", "total": "$1,500", "parts": "Training $1,000, Inference $500"}
    assert "of which idle GPU $200" in text["lines"][-1]["parts"]


# ------------------------------------------------------------------------------------------------
def _history(values: list[str], day_of_week: int, today: str) -> list[dict]:
    """Daily spend: ``values`` on the days before ``WEEK + day_of_week``, then ``today`` on it."""
    target = WEEK + timedelta(days=day_of_week)
    rows = []
    for k, value in enumerate(reversed(values), start=1):
        day = target - timedelta(days=k)
        monday = day - timedelta(days=day.weekday())
        rows.append(cost_row(monday, day.weekday(), value))
    rows.append(cost_row(WEEK, day_of_week, today))
    return rows


def test_a_day_above_mean_plus_three_sigma_is_an_anomaly():
    history = ["90", "110"] * 14  # mean 100, sample σ ≈ 10.18, threshold ≈ 130.5
    found = rm.daily_anomalies(cost_frame(_history(history, 2, "1000")), WEEK, "USD")
    assert len(found) == 1
    assert found[0]["subject"] == "Wed Nov 18"
    assert found[0]["jump"] == "+$900.00"
    assert found[0]["size"] == "10.0× the 28-day mean"


def test_near_misses_are_not_day_anomalies():
    history = ["90", "110"] * 14
    assert rm.daily_anomalies(cost_frame(_history(history, 2, "125")), WEEK, "USD") == []  # under 130.5
    small = ["9", "11"] * 14  # a 4.5σ jump of only $40: under the minimum amount
    assert rm.daily_anomalies(cost_frame(_history(small, 2, "50")), WEEK, "USD") == []
    few = ["90", "110"] * 3  # six days of history are not enough to judge
    assert rm.daily_anomalies(cost_frame(_history(few, 2, "1000")), WEEK, "USD") == []


def test_a_service_week_above_one_and_a_half_times_its_average():
    rows = [cost_row(WEEK - timedelta(weeks=k), 0, "200", service="Amazon SageMaker") for k in range(1, 5)]
    flagged = rm.service_anomalies(
        cost_frame(rows + [cost_row(WEEK, 0, "301", service="Amazon SageMaker")]), WEEK, "USD"
    )
    assert [(a["subject"], a["jump"], a["size"]) for a in flagged] == [
        ("Amazon SageMaker (aws)", "+$101.00", "1.5× the 4-week average")
    ]
    at_limit = rm.service_anomalies(
        cost_frame(rows + [cost_row(WEEK, 0, "300", service="Amazon SageMaker")]), WEEK, "USD"
    )
    assert at_limit == []
    small = [cost_row(WEEK - timedelta(weeks=k), 0, "20", service="Amazon SQS") for k in range(1, 5)]
    assert rm.service_anomalies(cost_frame(small + [cost_row(WEEK, 0, "90", service="Amazon SQS")]), WEEK, "USD") == []


# ------------------------------------------------------------------------------------------------
def test_recommendations_ranked_by_incremental_savings_with_both_figures_and_realised_savings():
    recs = rm.recommendations(recs_frame(reference_recs()), "USD")
    assert [r["rec_id"] for r in recs["all"]] == ["r1", "r3", "r2", "r4"]  # resolved last
    assert [r["rec_id"] for r in recs["top"]] == ["r1", "r3", "r2"]  # r4 resolved
    by_id = {r["rec_id"]: r for r in recs["all"]}
    assert by_id["r2"]["savings"] == "$80/mo"
    assert by_id["r2"]["standalone"] == "$4,000/mo alone"
    assert by_id["r2"]["plan"] == "plan step 2: resize / reschedule"
    assert by_id["r2"]["plan_note"].startswith("after idle_gpu on i-vision")
    assert by_id["r1"]["standalone"] == "" and by_id["r1"]["plan_note"] == ""  # nothing before it: one figure
    assert by_id["r4"]["realised"] == "$650/mo"  # whole units: the largest saving is over 1,000
    assert by_id["r1"]["savings"] == "$9,800/mo"
    assert by_id["r1"]["first_seen"] == "2026-W45"
    assert rm.recommendations(recs_frame([]), "USD")["empty"] is True


def test_commitment_coverage_utilisation_and_savings_prorated_to_the_week():
    def row(pricing, status, effective, list_cost, overlap_s=3600, period_s=3600, compute=True):
        return {
            "billing_currency": "USD",
            "pricing_category": pricing,
            "commitment_discount_status": status,
            "charge_category": "Usage",
            "is_compute": compute,
            "overlap_s": overlap_s,
            "period_s": period_s,
            "effective_cost": Decimal(effective),
            "list_cost": Decimal(list_cost),
            "line_items": 1,
        }

    rows = pl.DataFrame(
        [
            # a 30-day committed row of which 7 days fall in the week: 300 × 7/30 = 70 effective, 600 × 7/30 = 140 list
            row("Committed", "Used", "300", "600", overlap_s=7 * 86400, period_s=30 * 86400),
            row("Standard", None, "30", "30"),  # on-demand compute
            row("Committed", "Unused", "10", "10"),  # commitment paid for, not used
            row("Standard", None, "500", "500", compute=False),  # storage: not eligible
        ]
    ).with_columns(pl.col("effective_cost", "list_cost").cast(MONEY))
    [usd] = rm.commitments(rows)
    assert usd["coverage"] == "70%"  # 70 / (70 + 30)
    assert usd["utilisation"] == "88%"  # 70 / (70 + 10) = 87.5 %
    assert usd["unused"] == "$10.00"
    assert usd["realised"] == "$70.00"  # 140 - 70
    assert rm.commitments(rows.filter(pl.col("pricing_category") == "Standard")) == []


def test_stale_sources_and_rejection_reasons():
    week_end = datetime(2026, 11, 23, tzinfo=timezone.utc)
    freshness = pl.DataFrame(
        {
            "target_table": ["gpu_metrics", "billing_line_items"],
            "source": ["nvidia_smi_csv", "aws · aws_cur_csv"],
            "latest": [week_end - timedelta(days=5), week_end - timedelta(hours=1)],
        }
    )
    empty_ingest = pl.DataFrame(
        schema={
            "target_table": pl.String,
            "files": pl.Int64,
            "rows_in_file": pl.Int64,
            "rows_loaded": pl.Int64,
            "rows_rejected": pl.Int64,
        }
    )
    rejections = pl.DataFrame(
        {
            "reason": ["column BilledCost: expected a decimal number"],
            "rows_rejected": [3],
            "files": [1],
            "example_file": ["cur.csv"],
            "example_row": [7],
        }
    )
    dq = pl.DataFrame(
        {
            "scope": ["cur.csv"],
            "target_table": ["billing_line_items"],
            "expectation": ["not_null"],
            "column_name": ["provider"],
            "success": [False],
            "unexpected_count": [2],
        }
    )
    quality = rm.data_quality(empty_ingest, rejections, dq, freshness, WEEK, stale_after_days=3)
    assert quality["stale"] == [
        {
            "table": "gpu_metrics",
            "source": "nvidia_smi_csv",
            "latest": "2026-11-18 00:00 UTC",
            "age": "5 days before the week's end",
        }
    ]
    assert quality["reasons"][0]["example"] == "cur.csv row 7"
    assert (quality["expectations_failed"], quality["expectations_evaluated"]) == ("1", "1")
    assert quality["files"] == "0"


def test_the_html_lists_the_largest_recommendations_and_says_how_many_more():
    from tests.report.conftest import rec_row

    rows = [rec_row(f"r{i:02d}", str(1000 - i), f"action {i}") for i in range(rm.MAX_LISTED_RECOMMENDATIONS + 5)]
    model = rm.recommendations(recs_frame(rows), "USD")
    assert len(model["all"]) == rm.MAX_LISTED_RECOMMENDATIONS + 5  # the plain-text part keeps them all
    assert [r["action"] for r in model["listed"]] == [f"action {i}" for i in range(rm.MAX_LISTED_RECOMMENDATIONS)]
    assert model["more"] == 5


def test_a_change_that_rounds_to_zero_reads_as_no_change_and_is_no_mover():
    assert rm.change(Decimal("10000.40"), Decimal("10000"))["text"] == "■ no change"
    assert rm.change(Decimal("10010"), Decimal("10000"))["text"] == "▲ 0.1%"
    rows = [
        cost_row(WEEK, 0, "1000.40", team="a"),
        cost_row(WEEK - timedelta(weeks=1), 0, "1000", team="a"),
        cost_row(WEEK, 0, "500", team="b"),
        cost_row(WEEK - timedelta(weeks=1), 0, "400", team="b"),
    ]
    movers = rm.breakdown(cost_frame(rows), WEEK, "USD", "team")["movers"]
    assert [m["name"] for m in movers] == ["b"]
