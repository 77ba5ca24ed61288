"""transforms/weeks.py: the one home of ISO-week arithmetic (Mondays, UTC bounds, labels, parsing, the trend)."""

import inspect
from datetime import UTC, date, datetime

import pytest

from transforms import weeks
from transforms.weeks import (
    TREND_WEEKS,
    WeekParameterError,
    as_monday,
    iso_week_label,
    monday_of,
    parse_week,
    require_monday,
    trend_weeks,
    week_bounds,
    week_params,
    week_range,
    weeks_after,
    weeks_before,
    weeks_from,
)

TODAY = date(2026, 11, 25)  # a Wednesday: the last complete week starts Monday 2026-11-16


def test_monday_of_every_day_of_a_week_and_across_a_year_end():
    assert {monday_of(date(2026, 11, d)) for d in range(16, 23)} == {date(2026, 11, 16)}
    assert monday_of(date(2027, 1, 3)) == date(2026, 12, 28)  # a Sunday: its week began in December


def test_iso_labels_including_53_week_years():
    assert iso_week_label(date(2026, 11, 16)) == "2026-W47"
    assert iso_week_label(date(2026, 12, 28)) == "2026-W53"  # 2026 starts on a Thursday: 53 ISO weeks
    assert iso_week_label(date(2027, 1, 4)) == "2027-W01"
    assert iso_week_label(date(2025, 12, 29)) == "2026-W01"  # ISO year 2026 starts in December 2025


def test_week_bounds_are_utc_mondays_seven_days_apart():
    start, end = week_bounds(date(2026, 11, 16))
    assert start == datetime(2026, 11, 16, tzinfo=UTC) and end == datetime(2026, 11, 23, tzinfo=UTC)
    assert start.utcoffset().total_seconds() == 0
    assert week_params(date(2026, 12, 28)) == {
        "week_start": datetime(2026, 12, 28, tzinfo=UTC),
        "week_end": datetime(2027, 1, 4, tzinfo=UTC),
    }


def test_a_day_that_is_not_a_monday_is_refused_naming_the_parameter_and_its_monday():
    with pytest.raises(ValueError) as raised:
        require_monday(date(2026, 11, 19), "end_week")
    assert str(raised.value) == (
        "end_week must be a Monday: 2026-11-19 is a Thursday; expected the Monday that starts an ISO week "
        "(this week's is 2026-11-16)"
    )
    with pytest.raises(ValueError, match="week_start must be a Monday: 2026-11-22 is a Sunday"):
        week_bounds(date(2026, 11, 22))
    with pytest.raises(ValueError, match=r"week_start must be a date \(YYYY-MM-DD\), got datetime"):
        require_monday(datetime(2026, 11, 16, tzinfo=UTC))


def test_as_monday_takes_text_dates_and_datetimes():
    assert as_monday("2026-11-16") == date(2026, 11, 16)
    assert as_monday(datetime(2026, 11, 16, 9, 30, tzinfo=UTC)) == date(2026, 11, 16)
    with pytest.raises(ValueError, match="must be a Monday: 2026-11-17 is a Tuesday"):
        as_monday("2026-11-17")
    with pytest.raises(ValueError, match=r"week_start must be a date \(YYYY-MM-DD\), got 'W47'"):
        as_monday("W47")


def test_parse_week_takes_iso_weeks_and_any_day():
    assert parse_week("2026-W47", today=TODAY) == date(2026, 11, 16)
    assert parse_week("2026-w01", today=TODAY) == date(2025, 12, 29)
    assert parse_week("2026-11-22", today=TODAY) == date(2026, 11, 16)
    assert parse_week(None, today=TODAY) == date(2026, 11, 16)
    with pytest.raises(WeekParameterError, match="the week of 2026-11-23 has not ended yet"):
        parse_week("2026-W48", today=TODAY)
    with pytest.raises(WeekParameterError, match="start: expected a date YYYY-MM-DD"):
        parse_week("last week", "start", today=TODAY)


def test_trend_and_neighbouring_weeks():
    assert TREND_WEEKS == 8
    trend = trend_weeks(date(2026, 11, 16))
    assert trend[0] == date(2026, 9, 28) and trend[-1] == date(2026, 11, 16) and len(trend) == 8
    assert weeks_before(date(2026, 11, 16), 2) == [date(2026, 11, 9), date(2026, 11, 2)]
    assert weeks_after(date(2026, 12, 21), 2) == [date(2026, 12, 28), date(2027, 1, 4)]
    assert weeks_from(date(2026, 11, 2), date(2026, 11, 16)) == [
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
    ]
    assert weeks_from(date(2026, 11, 16), date(2026, 11, 2)) == []
    assert week_range("2026-W46", "2026-11-20", today=TODAY) == [date(2026, 11, 9), date(2026, 11, 16)]


def test_every_trend_uses_the_one_trend_length():
    """The report's chart, the unit costs, their queries and the history attribution all default to TREND_WEEKS."""
    from flows.unit_costs import load_unit_cost_frames
    from flows.weekly import attribute_history
    from transforms.report import weekly_series
    from transforms.unit_costs import unit_costs

    for function in (weekly_series, unit_costs, load_unit_cost_frames, attribute_history.fn):
        assert inspect.signature(function).parameters["weeks"].default is weeks.TREND_WEEKS, function.__name__


# --------------------------------------------------------------------------------------------
# The billing rows of a week: one definition (sql/schema/billing_week.sql) that every reader shares
# --------------------------------------------------------------------------------------------
W = date(2026, 11, 16)
EDGE_ROWS = [  # source_row, charge period start, end, effective cost
    (1, "2026-11-17 10:00", "2026-11-17 11:00", "1.00"),  # an hour inside the week
    (2, "2026-11-01 00:00", "2026-12-01 00:00", "30.00"),  # a monthly fee: touches the week, starts before
    (3, "2026-11-15 00:00", "2026-11-16 00:00", "16.00"),  # the Sunday before: ends as the week starts
    (4, "2026-11-23 00:00", "2026-11-23 01:00", "32.00"),  # the Monday after: starts as the week ends
    (5, "2026-11-16 00:00", "2026-11-16 01:00", "2.00"),  # the first hour of the week
    (6, "2026-11-15 23:00", "2026-11-16 01:00", "4.00"),  # across the week's start
    (7, "2026-11-22 23:00", "2026-11-23 00:00", "8.00"),  # the last hour of the week
]


def _load_edge_rows(con):
    for row, start, end, cost in EDGE_ROWS:
        con.execute(
            "INSERT INTO billing_line_items BY NAME SELECT 'aws' AS provider, '111' AS billing_account_id, "
            "TIMESTAMPTZ '2026-11-01 00:00+00' AS billing_period_start, "
            "CAST($start || '+00' AS TIMESTAMPTZ) AS charge_period_start, "
            "CAST($end || '+00' AS TIMESTAMPTZ) AS charge_period_end, 'Usage' AS charge_category, "
            "'USD' AS billing_currency, CAST($cost AS DECIMAL(38, 10)) AS billed_cost, "
            "CAST($cost AS DECIMAL(38, 10)) AS effective_cost, CAST($cost AS DECIMAL(38, 10)) AS list_cost, "
            "'i-0abc' AS resource_id, 'Hrs' AS consumed_unit, 'Hrs' AS pricing_unit, 'BoxUsage' AS x_usage_type, "
            "'{\"team\": \"vision\"}' AS tags, 'edge.csv' AS source_file, $row AS source_row",
            {"start": start, "end": end, "cost": cost, "row": row},
        )


def test_attribution_quality_export_and_detectors_read_the_same_billing_rows_of_the_week(warehouse):
    from decimal import Decimal

    from flows.warehouse import query

    _load_edge_rows(warehouse)
    params = week_params(W)
    touching = {1, 2, 5, 6, 7}  # rows 3 and 4 only meet the week at an instant: not charged in it

    def rows(frame):
        return set(frame["source_row"].to_list())

    assert rows(query(warehouse, "attribution_billing", {**params, "parts": 1, "part": 0})) == touching
    assert query(warehouse, "attribution_billing_rows", params)["line_items"].item() == len(touching)
    assert rows(query(warehouse, "quality_billing_week", {"week_start": W})) == touching
    assert rows(query(warehouse, "export_focus_lines", params)) == touching
    # the detectors price the week by the whole rows that start in it: 1, 5 and 7 (1 + 2 + 8)
    tagged = query(warehouse, "recommend_tagged_costs", params)
    assert tagged["effective_cost"].to_list() == [Decimal("11.0000000000")]
    starting = warehouse.execute(
        "SELECT list(source_row ORDER BY source_row) FROM billing_week($week_start, $week_end) WHERE starts_in_week",
        params,
    ).fetchone()[0]
    assert starting == [1, 5, 7]
