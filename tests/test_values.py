"""No misread values: decimal commas, sums that overflow, implausible costs and dates.

Small files in each billing format are built here and ingested into a fresh warehouse; the
expressions behind them are tested on hand-made frames.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.cli import main as cli
from flows.ingest import ingest_files
from tests.billing.test_aws_cur import BASE as CUR_BASE
from transforms.parsing import parse_decimal, reject_if_unparsed, text
from transforms.plausibility import money_totals, reject_implausible
from transforms.schema import BILLING_COLUMNS, MONEY, QUANTITY

COMMA_EXPECTED = (
    "a decimal number with '.' as the decimal mark (',' is read as a thousands separator only where "
    "the column's values show that convention, as in 1,234.56)"
)
BOUND = "1,000,000,000,000"  # the default AICOST_MAX_ROW_COST


# ---------------------------------------------------------------------------------------------
# One small file per billing reader, in its real format.


def _strftime(moment: datetime, fmt: str) -> str:
    """``strftime`` with a four-digit year (glibc writes year 1 as ``1``)."""
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))


@dataclass(frozen=True)
class Reader:
    name: str  # the format the file must be detected as
    base: dict[str, str]  # one good row, column -> text
    costs: tuple[str, ...]  # the columns a row's cost is written to
    reason_column: str  # the column a bad cost is reported under
    dates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> columns holding it
    date_format: str = "%Y-%m-%dT%H:%M:%SZ"

    def write(self, path: Path, costs: list[str], dates: dict[int, datetime] | None = None) -> Path:
        """One row per cost; ``dates`` puts a charge date (every column of the role) on some rows."""
        rows = []
        for i, cost in enumerate(costs, start=1):
            row = {**self.base, **{c: cost for c in self.costs}}
            if dates and i in dates:
                row |= {c: _strftime(dates[i], self.date_format) for c in self.dates["charge"]}
            rows.append(row)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.base))
            writer.writeheader()
            writer.writerows(rows)
        return path


FOCUS = Reader(
    name="focus",
    base={
        "BillingAccountId": "acct-1",
        "ProviderName": "AWS",
        "BillingCurrency": "USD",
        "BillingPeriodStart": "2026-11-01T00:00:00Z",
        "BillingPeriodEnd": "2026-12-01T00:00:00Z",
        "ChargePeriodStart": "2026-11-16T00:00:00Z",
        "ChargePeriodEnd": "2026-11-16T01:00:00Z",
        "ChargeCategory": "Usage",
        "ServiceName": "Amazon EC2",
        "ResourceId": "i-0abc",
        "BilledCost": "1",
        "EffectiveCost": "1",
        "ListCost": "1",
        "ContractedCost": "1",
    },
    costs=("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"),
    reason_column="BilledCost",
    dates={"charge": ("ChargePeriodStart", "ChargePeriodEnd")},
)
CUR = Reader(
    name="aws_cur_csv",
    base={**CUR_BASE, "lineItem/UnblendedCost": "1"},  # the CUR reader tests' one-hour p5 row
    costs=("lineItem/UnblendedCost",),
    reason_column="lineItem/UnblendedCost",
    dates={"charge": ("lineItem/UsageStartDate", "lineItem/UsageEndDate")},
)
AZURE = Reader(
    name="azure_cost_details",
    base={
        "billingAccountId": "acct:1_2019",
        "billingProfileId": "BP-1",
        "subscriptionId": "sub-1",
        "date": "11/16/2026",
        "productName": "Virtual Machines NCads A100 v4",
        "meterCategory": "Virtual Machines",
        "meterName": "NC24ads A100 v4",
        "quantity": "1",
        "costInBillingCurrency": "1",
        "billingCurrencyCode": "USD",
        "billingPeriodStartDate": "11/01/2026",
        "billingPeriodEndDate": "11/30/2026",
        "chargeType": "Usage",
        "pricingModel": "OnDemand",
    },
    costs=("costInBillingCurrency",),
    reason_column="costInBillingCurrency",
    dates={"charge": ("date",)},
    date_format="%m/%d/%Y",
)
GCP = Reader(
    name="gcp_billing_csv",
    base={
        "billing_account_id": "0123-4567-89AB",
        "service.description": "Compute Engine",
        "sku.id": "S-1",
        "sku.description": "Nvidia Tesla A100 GPU running in Americas",
        "usage_start_time": "2026-11-16 00:00:00+00:00",
        "usage_end_time": "2026-11-16 01:00:00+00:00",
        "project.id": "proj-1",
        "cost": "1",
        "currency": "USD",
        "credits": "[]",
        "invoice.month": "202611",
        "cost_type": "regular",
    },
    costs=("cost",),
    reason_column="cost",
    dates={"charge": ("usage_start_time", "usage_end_time")},
    date_format="%Y-%m-%d %H:%M:%S+00:00",
)
READERS = [FOCUS, CUR, AZURE, GCP]
READER_IDS = [r.name for r in READERS]


def _ingest(warehouse, reader: Reader, path: Path):
    [result] = ingest_files(warehouse, [path])
    assert result.error is None, result.error
    assert result.source_format == reader.name
    loaded = dict(warehouse.execute("SELECT source_row, billed_cost FROM billing_line_items").fetchall())
    rejected = dict(warehouse.execute("SELECT source_row, reason FROM rejected_rows").fetchall())
    return result, loaded, rejected


# ---------------------------------------------------------------------------------------------
# 1. Decimal commas are never read as thousands separators without the file saying so.


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_a_decimal_comma_with_three_decimals_is_rejected_not_read_a_thousand_times_too_big(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["0,123", "2.5"])

    result, loaded, rejected = _ingest(warehouse, reader, path)

    assert loaded == {2: Decimal("2.5")}
    assert rejected == {1: f"column {reader.reason_column}: expected {COMMA_EXPECTED}, got '0,123'"}
    assert result.billed_cost == {"USD": Decimal("2.5")} and result.effective_cost == {"USD": Decimal("2.5")}


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_a_lone_comma_group_without_other_evidence_is_rejected(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["1,234", "7"])

    _, loaded, rejected = _ingest(warehouse, reader, path)

    assert loaded == {2: Decimal("7")}
    assert rejected == {1: f"column {reader.reason_column}: expected {COMMA_EXPECTED}, got '1,234'"}


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_a_column_whose_values_show_comma_grouping_reads_it(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["1,234", "1,234.50", "12"])

    _, loaded, rejected = _ingest(warehouse, reader, path)

    assert rejected == {}
    assert loaded == {1: Decimal("1234"), 2: Decimal("1234.50"), 3: Decimal("12")}


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_one_value_that_is_not_a_grouping_breaks_the_columns_agreement(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["1,234", "1,234.50", "0,5"])

    _, loaded, rejected = _ingest(warehouse, reader, path)

    assert loaded == {2: Decimal("1234.50")}
    assert rejected == {
        1: f"column {reader.reason_column}: expected {COMMA_EXPECTED}, got '1,234'",
        3: f"column {reader.reason_column}: expected {COMMA_EXPECTED}, got '0,5'",
    }


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_unambiguous_spreadsheet_amounts_keep_loading_exactly(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["$10,000.00 ", "-€1,234.5", "1,000,000", "$3"])

    result, loaded, rejected = _ingest(warehouse, reader, path)

    assert rejected == {}
    assert loaded == {1: Decimal("10000"), 2: Decimal("-1234.5"), 3: Decimal("1000000"), 4: Decimal("3")}
    assert result.billed_cost == {"USD": Decimal("1008768.5")}


def _decimals(*values: str | None, dtype: pl.DataType = MONEY) -> list[Decimal | None]:
    return (
        pl.DataFrame({"v": list(values)}, schema={"v": pl.String})
        .select(parse_decimal("v", dtype).alias("v"))["v"]
        .to_list()
    )


def test_parse_decimal_reads_plain_and_unambiguous_values_exactly():
    assert _decimals("1.5", "-2E-7", "0.0000004", " 12 ", "NULL", None, "$10,000.00 ", "-€1,234.5", "£0.25", "1,234,567.891") == [
        Decimal("1.5"), Decimal("-0.0000002"), Decimal("0.0000004"), Decimal("12"), None, None,
        Decimal("10000"), Decimal("-1234.5"), Decimal("0.25"), Decimal("1234567.891"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (["0,123"], [None]),
        (["0,123", "1,234.5"], [None, Decimal("1234.5")]),  # 0,123 is no grouping whatever the column says
        (["1,234"], [None]),
        (["1,234", "7"], [None, Decimal("7")]),
        (["1,234", "1.234"], [None, Decimal("1.234")]),  # 1.234 could itself be a dot grouping: no evidence
        (["1,234", "0.5"], [Decimal("1234"), Decimal("0.5")]),  # a dot decimal: the comma groups
        (["1,234", "1,234.50"], [Decimal("1234"), Decimal("1234.50")]),
        (["-$1,234", "1,000,000"], [Decimal("-1234"), Decimal("1000000")]),  # two groups: no decimal comma
        (["1,234", "1,234.50", "12,5"], [None, Decimal("1234.50"), None]),  # 12,5 disagrees
        (["0,123.5"], [None]),  # a group may not start with 0
        (["1,23"], [None]),
        (["1.234,56"], [None]),  # decimal-comma style is not guessed
    ],
)
def test_comma_grouping_is_read_only_where_the_column_shows_it(column, expected):
    assert _decimals(*column) == expected


def test_values_read_on_their_own_evidence_inside_lists():
    """GCP credits: amounts in a list per row, read each on its own (no column to look at)."""
    credits = pl.DataFrame({"l": [["1,234", "0.5"], ["1,000,000", "$3", "0,123", "-€1,234.5"], []]})
    parsed = credits.select(pl.col("l").list.eval(parse_decimal(pl.element(), column_evidence=False)))["l"].to_list()
    assert parsed == [
        [None, Decimal("0.5")],
        [Decimal("1000000"), Decimal("3"), None, Decimal("-1234.5")],
        [],
    ]


def test_quantities_follow_the_same_rule():
    assert _decimals("0,123", "1,000,000.5", dtype=QUANTITY) == [None, Decimal("1000000.5")]


def test_the_reason_for_a_comma_value_says_what_was_expected():
    frame = pl.DataFrame({"c": ["0,123", "abc", "1.5"]})
    reason = (
        frame.select(reject_if_unparsed({"BilledCost": (text("c"), parse_decimal("c"), "a decimal number")}))
        .to_series()
        .to_list()
    )
    assert reason == [
        f"column BilledCost: expected {COMMA_EXPECTED}, got '0,123'",
        "column BilledCost: expected a decimal number, got 'abc'",
        None,
    ]


# ---------------------------------------------------------------------------------------------
# 2. Sums of money never wrap; costs beyond a plausibility bound are rejected per row.

HUGE = "99999999999999999999999999"  # 26 digits: fits DECIMAL(38, 12), two of them do not


def test_polars_decimal_sums_wrap_or_fail_and_money_totals_do_not():
    """What polars 2.1 does with DECIMAL(38, 12) sums, and that our totals are exact anyway."""
    frame = pl.DataFrame(
        {"c": ["USD", "USD", "EUR"], "v": [Decimal(HUGE), Decimal(HUGE), Decimal("-0.000000000001")]},
        schema={"c": pl.String, "v": MONEY},
    )
    wrapped = frame.group_by("c").agg(pl.col("v").sum()).filter(pl.col("c") == "USD")["v"].item()
    assert wrapped < 0  # an eager group_by sum silently wraps around the 128-bit integer
    with pytest.raises(pl.exceptions.ComputeError, match="overflow"):
        frame.select(pl.col("v").sum())  # a plain sum raises

    totals = money_totals(frame, "c", ["v"])

    assert totals == {"USD": {"v": Decimal("199999999999999999999999998")}, "EUR": {"v": Decimal("-0.000000000001")}}


def test_money_totals_of_many_rows_at_the_type_limit_are_exact():
    top = Decimal("99999999999999999999999999.999999999999")  # the largest DECIMAL(38, 12)
    values = pl.Series("v", [str(top), f"-{top}"] * 499 + [str(top), str(top)]).cast(MONEY)
    frame = pl.DataFrame({"c": ["USD"] * 1000, "v": values})
    assert frame["v"].null_count() == 0
    # (written out: Python's default 28-digit context would round top * 2)
    assert money_totals(frame, "c", ["v"]) == {"USD": {"v": Decimal("199999999999999999999999999.999999999998")}}
    assert money_totals(frame.clear(), "c", ["v"]) == {}


def test_cli_ingest_json_never_prints_a_wrapped_total(tmp_path, capsys):
    path = FOCUS.write(tmp_path / "bill.csv", [HUGE, HUGE, "12.5"])

    code = cli(["--db", str(tmp_path / "w.duckdb"), "ingest", "--json", str(path)])

    assert code == 0
    [report] = json.loads(capsys.readouterr().out)
    assert (report["rows_loaded"], report["rows_rejected"]) == (1, 2)
    assert {k: Decimal(v) for k, v in report["billed_cost"].items()} == {"USD": Decimal("12.5")}
    assert {k: Decimal(v) for k, v in report["effective_cost"].items()} == {"USD": Decimal("12.5")}
    assert report["rejected_reasons"] == {
        f"column billed_cost: expected an amount within the plausibility bound of {BOUND} per row "
        f"(AICOST_MAX_ROW_COST), got '{HUGE} USD'": 2
    }


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_a_cost_beyond_the_bound_is_rejected_in_every_reader(warehouse, tmp_path, reader):
    path = reader.write(tmp_path / "bill.csv", ["1000000000000", "-1000000000000.01", "5", f"-{HUGE}"])

    result, loaded, rejected = _ingest(warehouse, reader, path)

    assert loaded == {1: Decimal("1000000000000"), 3: Decimal("5")}  # the bound itself is allowed
    assert rejected == {
        2: "column billed_cost: expected an amount within the plausibility bound of "
        f"{BOUND} per row (AICOST_MAX_ROW_COST), got '-1000000000000.01 USD'",
        4: "column billed_cost: expected an amount within the plausibility bound of "
        f"{BOUND} per row (AICOST_MAX_ROW_COST), got '-{HUGE} USD'",
    }
    assert result.billed_cost == {"USD": Decimal("1000000000005")}


def test_the_bound_is_a_setting(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("AICOST_MAX_ROW_COST", "100")
    path = FOCUS.write(tmp_path / "bill.csv", ["100", "100.01"])

    _, loaded, rejected = _ingest(warehouse, FOCUS, path)

    assert loaded == {1: Decimal("100")}
    assert rejected == {
        2: "column billed_cost: expected an amount within the plausibility bound of 100 per row "
        "(AICOST_MAX_ROW_COST), got '100.01 USD'"
    }


NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _canonical(**columns) -> pl.DataFrame:
    """Two good canonical billing rows, with the given columns overridden, and no reason yet."""
    base = {
        "source_row": [1, 2],
        "billing_currency": ["USD", "EUR"],
        "billed_cost": [Decimal("1"), Decimal("2")],
        "effective_cost": [Decimal("1"), Decimal("2")],
        "list_cost": [Decimal("1"), Decimal("2")],
        "contracted_cost": [Decimal("1"), Decimal("2")],
        "x_credit_amount": [Decimal("0"), Decimal("0")],
        "billing_period_start": [datetime(2026, 11, 1, tzinfo=UTC)] * 2,
        "billing_period_end": [datetime(2026, 12, 1, tzinfo=UTC)] * 2,
        "charge_period_start": [datetime(2026, 11, 16, tzinfo=UTC)] * 2,
        "charge_period_end": [datetime(2026, 11, 17, tzinfo=UTC)] * 2,
        "_reject_reason": [None, None],
    }
    schema = {name: BILLING_COLUMNS.get(name, pl.String) for name in base} | {"source_row": pl.Int64}
    return pl.DataFrame(base | columns, schema=schema)


@pytest.mark.parametrize("column", ["billed_cost", "effective_cost", "list_cost", "contracted_cost", "x_credit_amount"])
def test_every_money_column_is_bounded(column):
    frame = _canonical(**{column: [Decimal("-5000000000000"), Decimal("2")]})

    reasons = reject_implausible(frame.lazy(), max_row_cost=Decimal("1e12"), now=NOW).collect()["_reject_reason"]

    assert reasons.to_list() == [
        f"column {column}: expected an amount within the plausibility bound of {BOUND} per row "
        "(AICOST_MAX_ROW_COST), got '-5000000000000 USD'",
        None,
    ]


def test_a_row_keeps_the_first_reason_it_already_has():
    frame = _canonical(
        billed_cost=[Decimal(HUGE), Decimal(HUGE)], _reject_reason=["column x: expected y, got 'z'", None]
    )

    reasons = reject_implausible(frame.lazy(), max_row_cost=Decimal(10), now=NOW).collect()["_reject_reason"]

    assert reasons.to_list() == [
        "column x: expected y, got 'z'",
        "column billed_cost: expected an amount within the plausibility bound of 10 per row "
        f"(AICOST_MAX_ROW_COST), got '{HUGE} EUR'",
    ]


def test_plausible_rows_and_nulls_pass_unchanged():
    frame = _canonical(list_cost=[None, None], contracted_cost=[None, Decimal("-3")])
    checked = reject_implausible(frame.lazy(), max_row_cost=Decimal(10), now=NOW).collect()
    assert checked.equals(frame)


# ---------------------------------------------------------------------------------------------
# 3. Charge and billing periods outside a plausible window are rejected.

WINDOW = r"expected a date within the plausible window 2000-01-01 to \d{4}-\d{2}-\d{2} \(a year after the ingest\)"


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_a_charge_in_year_9999_or_0001_is_rejected_in_every_reader(warehouse, tmp_path, reader):
    dates = {1: datetime(9999, 1, 1, tzinfo=UTC), 3: datetime(1, 1, 1, tzinfo=UTC)}
    path = reader.write(tmp_path / "bill.csv", ["1", "2", "3"], dates=dates)

    _, loaded, rejected = _ingest(warehouse, reader, path)

    assert loaded == {2: Decimal("2")}
    assert set(rejected) == {1, 3}
    assert re.fullmatch(rf"column charge_period_start: {WINDOW}, got '9999-01-01T00:00:00Z'", rejected[1]), rejected[1]
    assert re.fullmatch(rf"column charge_period_start: {WINDOW}, got '0001-01-01T00:00:00Z'", rejected[3]), rejected[3]


@pytest.mark.parametrize(
    ("column", "value", "plausible"),
    [
        ("charge_period_start", datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), False),
        ("charge_period_start", datetime(2000, 1, 1, tzinfo=UTC), True),
        ("charge_period_end", datetime(2027, 12, 1, 9, 0, tzinfo=UTC), True),  # 366 days after NOW
        ("charge_period_end", datetime(2027, 12, 1, 9, 0, 1, tzinfo=UTC), False),
        ("billing_period_start", datetime(1970, 1, 1, tzinfo=UTC), False),
        ("billing_period_end", datetime(9999, 12, 31, tzinfo=UTC), False),
    ],
)
def test_every_period_column_is_checked_against_the_window(column, value, plausible):
    frame = _canonical(**{column: [value, value]})

    reasons = reject_implausible(frame.lazy(), max_row_cost=Decimal(10), now=NOW).collect()["_reject_reason"].to_list()

    if plausible:
        assert reasons == [None, None]
    else:
        shown = _strftime(value, "%Y-%m-%dT%H:%M:%SZ")
        assert (
            reasons
            == [
                f"column {column}: expected a date within the plausible window 2000-01-01 to 2027-12-01 "
                f"(a year after the ingest), got '{shown}'"
            ]
            * 2
        )
