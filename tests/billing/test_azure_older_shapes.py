"""Azure exports in older and odd shapes: the pay-as-you-go usage details (v1) schema in both
casings, and an MCA cost details file in camelCase with MM/DD/YYYY dates and an empty billing period.

Column lists:
- usage details v1: Microsoft's "Understand usage details fields" (learn.microsoft.com, Cost
  Management, the legacy pay-as-you-go usage details / Consumption API fields): SubscriptionGuid,
  ResourceGroup, ResourceLocation, UsageDateTime, MeterCategory, MeterSubcategory, MeterId,
  MeterName, MeterRegion, UsageQuantity, ResourceRate, PreTaxCost, ConsumedService, ResourceType,
  InstanceId, Tags, OfferId, AdditionalInfo, ServiceInfo1, ServiceInfo2, ServiceName, ServiceTier,
  Currency, UnitOfMeasure; the Consumption API writes the same names in camelCase.
- MCA cost details: the same page's Microsoft Customer Agreement columns, in the camelCase the
  MCA export writes (invoiceId ... costAllocationRuleName, benefitId, benefitName, provider).
None of the shared samples has either shape (they are EA / MCA exports with a billing period).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from flows.ingest import ingest_files
from tests.billing.shapes import check_load, check_restated, write_csv

USAGE_V1_PASCAL = (
    "SubscriptionGuid,ResourceGroup,ResourceLocation,UsageDateTime,MeterCategory,MeterSubcategory,MeterId,"
    "MeterName,MeterRegion,UsageQuantity,ResourceRate,PreTaxCost,ConsumedService,ResourceType,InstanceId,Tags,"
    "OfferId,AdditionalInfo,ServiceInfo1,ServiceInfo2,ServiceName,ServiceTier,Currency,UnitOfMeasure"
).split(",")
USAGE_V1_CAMEL = [c[0].lower() + c[1:] for c in USAGE_V1_PASCAL]
EXTRA = "SomeColumnAddedLater"  # unknown columns never block a load

SUB = "4f6d2a9e-1111-4a4a-9c9c-0123456789ab"
VM = f"/subscriptions/{SUB}/resourceGroups/ml/providers/Microsoft.Compute/virtualMachines/gpu-1"
V1_ROWS = [
    {
        "UsageDateTime": "2026-10-31T00:00:00.0000000Z",
        "MeterCategory": "Virtual Machines",
        "MeterSubcategory": "NCads A100 v4",
        "MeterName": "NC24ads A100 v4",
        "UsageQuantity": "24",
        "ResourceRate": "3.673",
        "PreTaxCost": "88.152",
        "ConsumedService": "Microsoft.Compute",
        "InstanceId": VM,
        "Tags": '{"team": "ml"}',
        "ResourceLocation": "eastus",
        "Currency": "USD",
        "UnitOfMeasure": "1 Hour",
    },
    {
        "UsageDateTime": "2026-11-01T00:00:00.0000000Z",
        "MeterCategory": "Storage",
        "MeterSubcategory": "Blob Storage",
        "MeterName": "Hot LRS Data Stored",
        "UsageQuantity": "100.5",
        "ResourceRate": "0.0184",
        "PreTaxCost": "1.8492",
        "ConsumedService": "Microsoft.Storage",
        "Currency": "USD",
        "UnitOfMeasure": "1 GB/Month",
    },
    {
        "UsageDateTime": "2026-11-02",
        "MeterCategory": "Bandwidth",
        "MeterName": "Standard Data Transfer Out",
        "UsageQuantity": "1.0",
        "ResourceRate": "0.087",
        "PreTaxCost": "0.087",
        "Currency": "USD",
    },
    {
        "UsageDateTime": "2026-11-03",
        "MeterCategory": "Bandwidth",
        "MeterName": "Standard Data Transfer Out",
        "UsageQuantity": "1.0",
        "PreTaxCost": "n/a",
        "Currency": "USD",
    },  # rejected: the cost is no number
]


def _v1_rows(header: list[str], rows: list[dict[str, str]]) -> list[dict[str, str]]:
    by_lower = {h.lower(): h for h in header}
    out = []
    for row in rows:
        own = {by_lower[k.lower()]: v for k, v in row.items()}
        own[by_lower["subscriptionguid"]] = SUB
        own[EXTRA] = "whatever"
        out.append(own)
    return out


def _expected(path: Path, cost: str, date: str, currency: str, month) -> dict:
    """Billed and effective totals per (period, currency) from the file's own columns."""
    totals: dict = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                value = Decimal(row[cost])
            except InvalidOperation:
                continue  # the row the reader rejects
            totals[(month(row[date]), row[currency])] += value
    return {k: (v, v) for k, v in totals.items()}


@pytest.mark.parametrize("header", [USAGE_V1_PASCAL, USAGE_V1_CAMEL], ids=["PascalCase", "camelCase"])
def test_usage_details_v1_loads_with_derived_period_currency_and_account(tmp_path, warehouse, header):
    casing = {h.lower(): h for h in header}
    path = write_csv(tmp_path / "usage.csv", [*header, EXTRA], _v1_rows(header, V1_ROWS))
    expected = _expected(path, casing["pretaxcost"], casing["usagedatetime"], casing["currency"], lambda d: d[:7])
    assert expected == {
        ("2026-10", "USD"): (Decimal("88.152"), Decimal("88.152")),
        ("2026-11", "USD"): (Decimal("1.9362"), Decimal("1.9362")),
    }

    result = check_load(warehouse, path, "azure_cost_details", expected, records=4, rejected=1)

    date, currency, sub = casing["usagedatetime"], casing["currency"], casing["subscriptionguid"]
    assert result.rejected_reasons == {f"column {casing['pretaxcost']}: expected a decimal number, got 'n/a'": 1}
    derived = (
        f"billing period taken as the calendar month of {date} (the file has no billing period column); "
        f"billing currency from the {currency} column; "
        f"billing account = {sub} (no billing account column: pay-as-you-go)"
    )
    assert result.notes == {derived: 3}
    assert result.message == f"3 rows loaded, 1 rejected as azure_cost_details; derived: {derived} (3 rows)"
    reasons = warehouse.execute("SELECT DISTINCT reason FROM delivery_decisions WHERE decision = 'loaded'").fetchall()
    assert [r for (r,) in reasons if f"derived: {derived} (3 rows)" in r] == [r for (r,) in reasons]
    assert len(reasons) == 1

    rows = {r["source_row"]: r for r in warehouse.sql("SELECT * FROM billing_line_items").pl().iter_rows(named=True)}
    vm = rows[1]
    assert vm["billing_account_id"] == SUB and vm["sub_account_id"] == SUB
    assert vm["billing_period_start"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert vm["billing_period_end"] == datetime(2026, 11, 1, tzinfo=UTC)
    assert vm["charge_period_start"] == datetime(2026, 10, 31, tzinfo=UTC)
    assert vm["charge_category"] == "Usage"
    assert vm["resource_id"] == VM and vm["x_instance_type"] == "Standard_NC24ads_A100_v4"
    assert vm["consumed_quantity"] == Decimal(24) and vm["contracted_cost"] == Decimal("88.152")
    assert vm["region_id"] == "eastus" and vm["tags"] == '{"team": "ml"}'
    assert rows[2]["x_storage_class"] == "Hot"

    def restate(p: Path) -> None:  # the October day re-rated
        restated = [dict(r) for r in V1_ROWS]
        restated[0]["PreTaxCost"] = "80.000"
        write_csv(p, [*header, EXTRA], _v1_rows(header, restated))

    check_restated(
        warehouse,
        path,
        restate,
        {
            ("2026-10", "USD"): (Decimal("80.000"), Decimal("80.000")),
            ("2026-11", "USD"): (Decimal("1.9362"), Decimal("1.9362")),
        },
    )


MCA_HEADER = (
    "invoiceId,previousInvoiceId,billingAccountId,billingAccountName,billingProfileId,billingProfileName,"
    "invoiceSectionId,invoiceSectionName,partnerName,resellerName,resellerMpnId,costCenter,billingPeriodEndDate,"
    "billingPeriodStartDate,servicePeriodEndDate,servicePeriodStartDate,date,serviceFamily,productOrderId,"
    "productOrderName,consumedService,meterId,meterName,meterCategory,meterSubCategory,meterRegion,ProductId,"
    "ProductName,SubscriptionId,subscriptionName,publisherType,publisherId,publisherName,resourceGroupName,"
    "ResourceId,resourceLocation,location,effectivePrice,quantity,unitOfMeasure,chargeType,billingCurrency,"
    "pricingCurrency,costInBillingCurrency,costInUsd,exchangeRatePricingToBilling,exchangeRateDate,"
    "costInPricingCurrency,paygCostInBillingCurrency,paygCostInUsd,exchangeRate,isAzureCreditEligible,"
    "serviceInfo1,serviceInfo2,additionalInfo,tags,PayGPrice,frequency,term,reservationId,reservationName,"
    "pricingModel,unitPrice,costAllocationRuleName,benefitId,benefitName,provider"
).split(",")


def _mca_row(date: str, cost: str, currency: str = "EUR", **more: str) -> dict[str, str]:
    return {
        "billingAccountId": "ba-1",
        "billingProfileId": "BP-7",
        "billingProfileName": "Research",
        "SubscriptionId": "sub-9",
        "date": date,
        "meterCategory": "Virtual Machines",
        "meterName": "NC24ads A100 v4",
        "quantity": "24",
        "chargeType": "Usage",
        "pricingModel": "OnDemand",
        "billingCurrency": currency,
        "costInBillingCurrency": cost,
        "frequency": "UsageBased",
        "additionalInfo": '{"ServiceType": "Standard_NC24ads_A100_v4", "VCPUs": 24}',
        **more,
    }


def test_mca_camel_case_mm_dd_yyyy_with_empty_billing_period_loads(tmp_path, warehouse):
    rows = [
        _mca_row("10/31/2026", "88.1234567891"),
        _mca_row("11/01/2026", "90.5", tags='{"team": "ml"}'),
        _mca_row("11/02/2026", "-1.25", chargeType="Refund", pricingModel="OnDemand"),
        _mca_row("11/02/2026", "7.5", billingPeriodStartDate="11/01/2026", billingPeriodEndDate="11/30/2026"),
    ]
    for row in rows:
        row[EXTRA] = "x"
    # the rows leave their trailing empty fields out, as some tools write them: DuckDB's dialect
    # sniffer gives up on such a file ("not possible to automatically detect the CSV parsing dialect")
    path = write_csv(tmp_path / "mca.csv", [EXTRA, *MCA_HEADER], rows, trim_trailing_empty=True)

    def month(row: dict) -> str:
        m, _, y = (row["billingPeriodStartDate"] or row["date"]).split("/")
        return f"{y}-{m}"

    with open(path, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    expected: dict = defaultdict(Decimal)
    for row in raw:
        expected[(month(row), row["billingCurrency"])] += Decimal(row["costInBillingCurrency"])
    expected = {k: (v, v) for k, v in expected.items()}
    assert expected == {
        ("2026-10", "EUR"): (Decimal("88.1234567891"),) * 2,
        ("2026-11", "EUR"): (Decimal("96.75"),) * 2,
    }

    result = check_load(warehouse, path, "azure_cost_details", expected, records=4)

    note = "billing period taken as the calendar month of date where billingPeriodStartDate is empty"
    assert result.notes == {note: 3}
    got = warehouse.execute(
        "SELECT source_row, billing_account_id, billing_period_start, billing_period_end, charge_class "
        "FROM billing_line_items ORDER BY source_row"
    ).fetchall()
    oct_1, nov_1, dec_1 = (datetime(2026, m, 1, tzinfo=UTC) for m in (10, 11, 12))
    assert got == [
        (1, "BP-7", oct_1, nov_1, None),
        (2, "BP-7", nov_1, dec_1, None),
        (3, "BP-7", nov_1, dec_1, "Correction"),
        (4, "BP-7", nov_1, dec_1, None),
    ]

    def restate(p: Path) -> None:
        rows[1]["costInBillingCurrency"] = "95.5"
        write_csv(p, [EXTRA, *MCA_HEADER], rows, trim_trailing_empty=True)

    check_restated(
        warehouse,
        path,
        restate,
        {("2026-10", "EUR"): (Decimal("88.1234567891"),) * 2, ("2026-11", "EUR"): (Decimal("101.75"),) * 2},
    )


def test_mca_file_with_an_unparsable_billing_period_rejects_the_row_not_the_file(tmp_path, warehouse):
    rows = [_mca_row("11/01/2026", "1.5"), _mca_row("11/02/2026", "2.5", billingPeriodStartDate="2026-13-01")]
    path = write_csv(tmp_path / "mca.csv", MCA_HEADER, rows)
    [result] = ingest_files(warehouse, [path])
    assert result.rows_loaded == 1 and result.rows_rejected == 1
    assert result.rejected_reasons == {
        "column billingPeriodStartDate: expected a date as MM/DD/YYYY or YYYY-MM-DD, got '2026-13-01'": 1
    }
