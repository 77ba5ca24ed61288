"""The report's formatting helpers on their edge cases: no negative zero, no percentage of a tiny,
negative or sign-changing base. Pure functions, milliseconds each; the figures are worked by hand."""

from decimal import Decimal

import pytest

from transforms import report as rm

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (D("-0.004"), "USD", "$0.00"),  # rounds to zero: no sign
        (D("-0.005"), "USD", "-$0.01"),  # half up, away from zero
        (D("-0"), "EUR", "€0.00"),
        (D("-1234.5"), "USD", "-$1,235"),  # whole units from 1,000
        (D("999.994"), "NOK", "NOK 999.99"),
        (None, "USD", "—"),
    ],
)
def test_money_never_shows_a_negative_zero(amount, currency, text):
    assert rm.format_money(amount, currency) == text


def test_a_signed_change_of_zero_has_no_minus():
    assert rm.format_signed_money(D("-0.001"), "USD") == "+$0.00"
    assert rm.format_signed_money(D("-3.10"), "USD") == "-$3.10"


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (D("-0.00001"), "0.0%"),  # -0.001 % rounds to 0.0: no sign (one decimal below 10 %, as for +0.001 %)
        (D("-0.0004"), "0.0%"),  # -0.04 %
        (D("-0.05"), "-5.0%"),
        (D("0.62"), "62%"),
        (0.0, "0%"),
        (None, "—"),
    ],
)
def test_percent_never_shows_a_negative_zero(ratio, text):
    assert rm.format_percent(ratio) == text


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [(-0.001, 2, "0.00"), (-0.0, 0, "0"), (D("-0.04"), 1, "0.0"), (-12345.6, 0, "-12,346"), (1234.56, 1, "1,234.6")],
)
def test_numbers_never_show_a_negative_zero(value, places, text):
    assert rm.format_number(value, places) == text


def test_a_drop_across_zero_shows_the_money_moved_not_a_percentage():
    # 100.00 -> -7.00 (a credit larger than the spend): -107 % means nothing to a reader
    c = rm.change(D("-7"), D("100"), currency="USD")
    assert (c["text"], c["direction"], c["tone"], c["pct"]) == ("▼ -$107.00", "down", "good", None)
    # 5.00 -> -5.00: not "▼ 200%"
    assert rm.change(D("-5"), D("5"), currency="USD")["text"] == "▼ -$10.00"


def test_a_rise_from_a_negative_base_shows_the_money_moved():
    # -5.00 (net credit) -> +5.00: +10.00, not "▲ 200%"
    c = rm.change(D("5"), D("-5"), currency="EUR")
    assert (c["text"], c["direction"], c["tone"], c["pct"]) == ("▲ +€10.00", "up", "bad", None)
    # -100 -> -50, both credits: a percentage of a credit still reads wrongly; 50.00 moved
    assert rm.change(D("-50"), D("-100"), currency="USD")["text"] == "▲ +$50.00"


def test_a_tiny_base_shows_the_money_moved_beyond_ten_times_the_base():
    # 0.30 -> 500.00 is +499.70, a 166,567 % rise: beyond the threshold (1,000 %) the amount is shown
    assert rm.change(D("500"), D("0.30"), currency="USD")["text"] == "▲ +$499.70"
    # exactly 1,000 % (1.00 -> 11.00) is still a percentage; just above it is not
    assert rm.change(D("11"), D("1"), currency="USD")["text"] == "▲ 1,000%"
    assert rm.change(D("11.01"), D("1"), currency="USD")["text"] == "▲ +$10.01"
    # 4,000 -> 120,000 on whole units
    assert rm.change(D("120000"), D("4000"), currency="USD")["text"] == "▲ +$116,000"


def test_without_a_currency_the_absolute_change_is_a_plain_number():
    # energy in kWh: 0.2 -> 40.0 kWh
    assert rm.change(D("40"), D("0.2"))["text"] == "▲ +39.80"
    # a unit cost of fractions of a cent, across zero
    assert rm.change(D("-0.0002"), D("0.0003"))["text"] == "▼ -0.0005"


def test_ordinary_changes_keep_their_percentage():
    assert rm.change(D("112"), D("100"), currency="USD")["text"] == "▲ 12%"
    assert rm.change(D("97"), D("100"), currency="USD")["text"] == "▼ 3.0%"
    assert rm.change(D("0"), D("100"), currency="USD")["text"] == "▼ 100%"  # to zero: a full drop, no sign change
    assert rm.change(D("5"), D("0"), currency="USD")["text"] == "▲ new"
    assert rm.change(D("5"), None)["text"] == "no data"


def test_a_failed_data_check_names_the_rows_by_file_and_row():
    details = '{"examples": [{"file": "cur.csv", "row": 7}, {"file": null, "row": 9}], "partial": true}'
    assert rm.data_check_line("expect_column_values_to_be_between", "effective_cost", 2, details) == (
        "expect_column_values_to_be_between on effective_cost: 2 rows, e.g. cur.csv row 7, unknown file row 9"
    )
    assert rm.data_check_line("expect_column_to_exist", "billed_cost", None, None) == (
        "expect_column_to_exist on billed_cost: failed"
    )
    assert rm.data_check_line("expect_column_values_to_not_be_null", "provider", 1, "not json") == (
        "expect_column_values_to_not_be_null on provider: 1 row (not json)"
    )
