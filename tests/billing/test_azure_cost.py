"""Azure cost details reader: the three real samples, header variants built here, bad input."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_files
from transforms.billing.azure_cost import azure_to_canonical
from transforms.formats import REGISTRY, FormatError, Sniff, detect

# Origins (MIT): microsoft/finops-toolkit src/powershell/Tests/assets/EA_ActualCost_Small.csv and
# EA_AmortizedCost_Small.csv (commit 04d370f322f6052b02893ba567c3b75195a19f99);
# finopsfoundation/focus_converters focus_converter_base/tests/provider_config_tests/azure/
# sample-anonymous-ea-export-dataset.csv (commit c799bf96dea67c8dc8569eebbcd720e7562088fa).
ACTUAL = "azure/finops-toolkit_EA_ActualCost_Small.csv"
AMORTIZED = "azure/finops-toolkit_EA_AmortizedCost_Small.csv"
CAD_EXPORT = "azure/focus_converters_sample-anonymous-ea-export-dataset.csv"
CENT = Decimal("0.01")
COMMITMENT = {"Reservation", "SavingsPlan"}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _expected_totals(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Billed and effective totals per period and currency, from the export's own columns."""
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    effective: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        cost = Decimal(row.get("CostInBillingCurrency") or row["Cost"])
        month, _day, year = row["BillingPeriodStartDate"].split("/")
        key = (f"{year}-{int(month):02d}", row.get("BillingCurrencyCode") or row["BillingCurrency"])
        commitment = row["PricingModel"] in COMMITMENT
        amortised_usage = commitment and row["ChargeType"] in ("Usage", "UnusedReservation", "UnusedSavingsPlan")
        purchase = commitment and row["ChargeType"] in ("Purchase", "Refund")
        billed[key] += Decimal(0) if amortised_usage else cost
        effective[key] += Decimal(0) if purchase else cost
    return {k: (billed[k].quantize(CENT), effective[k].quantize(CENT)) for k in billed}


def _loaded_totals(con) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    rows = con.sql(
        "SELECT strftime(billing_period_start, '%Y-%m'), billing_currency, sum(billed_cost), sum(effective_cost) "
        "FROM billing_line_items GROUP BY ALL"
    ).fetchall()
    return {(m, c): (b.quantize(CENT), e.quantize(CENT)) for m, c, b, e in rows}


@pytest.mark.parametrize("sample", [ACTUAL, AMORTIZED, CAD_EXPORT])
def test_real_sample_totals_match_the_source(shared_data, warehouse, sample):
    path = shared_data / sample
    rows = _rows(path)

    [result] = ingest_files(warehouse, [path])

    assert result.error is None, result.error
    assert result.source_format == "azure_cost_details"
    assert result.rows_loaded + result.rows_rejected == result.rows_in_file == len(rows)
    assert result.rows_rejected == 0
    assert _loaded_totals(warehouse) == _expected_totals(rows)


def _by_row(con) -> dict[int, dict]:
    return {r["source_row"]: r for r in con.sql("SELECT * FROM billing_line_items").pl().iter_rows(named=True)}


def test_actual_export_reservation_purchase_is_billed_not_effective(shared_data, warehouse):
    ingest_files(warehouse, [shared_data / ACTUAL])
    purchase = _by_row(warehouse)[1]  # the BOM-prefixed header was read: row 1 is the RI purchase

    assert purchase["charge_category"] == "Purchase"
    assert purchase["billed_cost"] == Decimal("3.25") and purchase["effective_cost"] == Decimal("0")
    assert purchase["pricing_category"] == "Committed"
    assert purchase["commitment_discount_type"] == "Reservation"
    assert purchase["billing_account_id"] == "8611537"
    assert purchase["billing_period_start"] == datetime(2023, 9, 1, tzinfo=UTC)
    assert purchase["billing_period_end"] == datetime(2023, 10, 1, tzinfo=UTC)
    assert purchase["charge_period_start"] == datetime(2023, 9, 21, tzinfo=UTC)
    assert purchase["charge_period_end"] == datetime(2023, 9, 22, tzinfo=UTC)


def test_amortised_export_commitment_usage_rows(shared_data, warehouse):
    ingest_files(warehouse, [shared_data / AMORTIZED])
    rows = _by_row(warehouse)
    reservation, savings_plan = rows[1], rows[2]

    assert reservation["billed_cost"] == Decimal("0") and reservation["effective_cost"] == Decimal("0.493152")
    assert reservation["commitment_discount_status"] == "Used"
    assert reservation["commitment_discount_category"] == "Usage"
    assert reservation["commitment_discount_id"].endswith("/reservations/f39d1c73-af74-4308-9083-fbf5efab37d1")
    assert reservation["x_instance_type"] == "Standard_DS2_v2"
    assert savings_plan["commitment_discount_type"] == "Savings Plan"
    assert savings_plan["commitment_discount_category"] == "Spend"
    assert savings_plan["billed_cost"] == Decimal("0") and savings_plan["effective_cost"] == Decimal("0.006000000468")
    assert rows[3]["service_category"] == "AI and Machine Learning"  # a disk billed to an Azure ML workspace
    assert rows[10]["x_transfer_direction"] == "inter_region"
    assert rows[10]["list_cost"] == Decimal("0.02") * Decimal("0.00594335")


def test_cad_export_spot_peering_and_tags(shared_data, warehouse):
    ingest_files(warehouse, [shared_data / CAD_EXPORT])
    rows = _by_row(warehouse)

    assert {r["billing_currency"] for r in rows.values()} == {"CAD"}
    assert rows[1]["x_transfer_direction"] == "in"  # VNet peering intra-region ingress
    assert rows[7]["x_transfer_direction"] == "intra_region"  # VNet peering intra-region egress
    assert rows[3]["pricing_category"] == "Dynamic" and rows[3]["x_instance_type"] == "Standard_DS4_v2"
    assert rows[2]["billed_cost"] == Decimal("0.0000564902")  # 5.64902E-05 in the file
    assert rows[11]["x_storage_class"] == "Hot"
    assert rows[1]["tags"] == '{"tagA": "valueA","tagB": "valueB","tagC": "valueC"}'


MCA_HEADER = (
    "\ufeffbillingAccountId,billingProfileId,billingProfileName,subscriptionId,date,productName,meterCategory,"
    "meterSubCategory,meterName,quantity,costInBillingCurrency,billingCurrencyCode,billingPeriodStartDate,"
    "billingPeriodEndDate,chargeType,pricingModel,frequency,payGPrice,unitPrice,benefitId,benefitName,tags"
)
UNUSED_RI = (
    "acct:1_2019,BP-1,Research,sub-1,2026-11-17,Reserved VM,Virtual Machines,NCads A100 v4,NC24ads A100 v4,"
    "24,88.1234567891,EUR,2026-11-01,2026-11-30,UnusedReservation,Reservation,UsageBased,4.10,3.67,"
    "/providers/Microsoft.Capacity/reservationOrders/o1/reservations/r1,gpu-ri,"
)


def test_mca_camel_case_headers_with_bom_and_unused_reservation(tmp_path, warehouse):
    path = tmp_path / "mca_amortized.csv"
    path.write_text(f"{MCA_HEADER}\n{UNUSED_RI}\n", encoding="utf-8")

    [result] = ingest_files(warehouse, [path])

    assert result.error is None, result.error
    assert result.source_format == "azure_cost_details" and result.rows_loaded == 1
    row = _by_row(warehouse)[1]
    assert row["billing_account_id"] == "BP-1"  # MCA: the billing profile
    assert row["charge_category"] == "Usage" and row["commitment_discount_status"] == "Unused"
    assert row["billed_cost"] == Decimal("0") and row["effective_cost"] == Decimal("88.1234567891")
    assert row["list_cost"] == Decimal("98.40") and row["contracted_cost"] == Decimal("88.08")
    assert row["x_instance_type"] == "Standard_NC24ads_A100_v4"
    assert row["x_gpu_count"] == 1  # from the instance reference table at ingest
    assert row["billing_period_end"] == datetime(2026, 12, 1, tzinfo=UTC)
    assert row["tags"] is None


def _raw(header: str, lines: list[str]) -> pl.LazyFrame:
    reader = csv.reader([header.lstrip("\ufeff"), *lines])
    names = next(reader)
    data = [dict(zip(names, r, strict=True)) for r in reader]
    frame = pl.DataFrame(data, schema={c: pl.String for c in names})
    return frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64)).lazy()


def test_bad_rows_are_rejected_naming_the_column():
    fields = UNUSED_RI.split(",")

    def variant(index: int, value: str) -> str:
        return ",".join(value if i == index else f for i, f in enumerate(fields))

    raw = _raw(MCA_HEADER, [UNUSED_RI, variant(4, "2026-02-30"), variant(11, "EURO"), variant(10, "")])
    reasons = azure_to_canonical(raw).collect()["_reject_reason"].to_list()

    assert reasons[0] is None
    assert reasons[1] == "column date: expected a date as MM/DD/YYYY or YYYY-MM-DD, got '2026-02-30'"
    assert reasons[2] == "column billingCurrencyCode: expected an ISO 4217 currency code, got 'EURO'"
    assert reasons[3] == "column costInBillingCurrency: required value is missing"


def test_bad_cost_text_is_rejected():
    raw = _raw(MCA_HEADER, [UNUSED_RI.replace(",88.1234567891,", ",n/a,")])
    [reason] = azure_to_canonical(raw).collect()["_reject_reason"].to_list()
    assert reason == "column costInBillingCurrency: expected a decimal number, got 'n/a'"


def test_missing_cost_column_raises_naming_it():
    header = MCA_HEADER.replace("costInBillingCurrency,", "")
    line = UNUSED_RI.replace("88.1234567891,", "")
    with pytest.raises(FormatError, match="missing required column.*costinbillingcurrency or cost or pretaxcost"):
        azure_to_canonical(_raw(header, [line]))


def test_detection_tells_azure_from_focus_cur_and_gcp():
    ea = Sniff(columns=tuple(MCA_HEADER.split(",")), head=MCA_HEADER, name="x.csv")
    focus = Sniff(
        columns=("BilledCost", "BillingCurrency", "ChargePeriodStart", "x_MeterCategory", "SubAccountId", "Date"),
        head="",
        name="f.csv",
    )
    cur = Sniff(
        columns=("lineItem/UnblendedCost", "lineItem/UsageStartDate", "product/productFamily"), head="", name="c.csv"
    )
    gcp = Sniff(
        columns=("billing_account_id", "service.description", "usage_start_time", "cost", "invoice.month"),
        head="",
        name="g.csv",
    )

    assert detect(ea).name == "azure_cost_details"
    for sniff in (focus, cur, gcp):
        assert not REGISTRY["azure_cost_details"].matches(sniff)
