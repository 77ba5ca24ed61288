"""Cross-region transfer priced at the bill's own rate, per provider and source region, on every reader.

Each test loads a bill (native export or FOCUS) built here, reads the week's inputs with the real
queries (sql/recommend_*.sql) and runs the network detector on a week of flows:

    monthly_savings = GB moved / 168 h x 730 h x inter_region_price

``inter_region_price`` = the bill's effective cost / GB of inter-region transfer from the flows'
source region, in the reporting currency (config/fx_rates.csv); the list price only without such rows.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from flows.ingest import ingest_files
from flows.recommend import load_config, load_prices, read_inputs
from flows.settings import CONFIG_DIR, Settings
from tests.billing.test_aws_cur import BASE as CUR_BASE
from tests.billing.test_transfer_classification import GCP_SAMPLE, write_focus, write_gcp
from tests.detectors.helpers import WEEK, flows, hourly_flows
from transforms.detectors import network

C = Decimal("0.01")
# Origin (MIT): microsoft/finops-toolkit src/powershell/Tests/assets/EA_AmortizedCost_Small.csv
# (commit 04d370f322f6052b02893ba567c3b75195a19f99): its header and Bandwidth row are the template.
AZURE_TEMPLATE = "azure/finops-toolkit_EA_AmortizedCost_Small.csv"


def _transfers(source: str, destination: str, gb_per_hour: int, hours: int) -> list[dict]:
    return hourly_flows(
        hours,
        gb_per_hour,
        source_resource_id=None,
        source_region=source,
        destination=f"vm-{destination}",
        destination_region=destination,
    )


def _detect(warehouse, moved: list[dict]) -> tuple[dict, dict]:
    """The week's frames from the warehouse, the given flows, the shipped prices and FX table."""
    config = load_config(Settings(), WEEK)
    frames = read_inputs(warehouse, WEEK, config)
    frames["network_flows"] = flows(*moved)
    frames["prices"] = load_prices(CONFIG_DIR / "prices.csv")
    out = network.detect(frames, config)
    cross = out.filter(out["resource_id"].str.contains("->"))
    assert cross.height == 1, out
    row = cross.row(0, named=True)
    return row, json.loads(row["evidence"])


def _write_cur(path: Path, rows: list[dict]) -> Path:
    records = [{**CUR_BASE, "lineItem/ProductCode": "AWSDataTransfer", "pricing/unit": "GB", **r} for r in rows]
    header = list(dict.fromkeys(k for r in records for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(records)
    return path


def test_aws_cur_rate_of_the_source_region(tmp_path, warehouse):
    def out_row(usage_type: str, region: str, gb: str, cost: str) -> dict:
        return {
            "lineItem/UsageType": usage_type,
            "product/region": region,
            "lineItem/UsageAmount": gb,
            "lineItem/UnblendedCost": cost,
            "product/transferType": "InterRegion Outbound",
        }

    bill = _write_cur(
        tmp_path / "cur.csv",
        [
            out_row("USE1-USW2-AWS-Out-Bytes", "us-east-1", "600", "9.00"),
            out_row("USE1-EU-AWS-Out-Bytes", "us-east-1", "400", "6.00"),
            out_row("APN1-USE1-AWS-Out-Bytes", "ap-northeast-1", "1000", "90.00"),
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    row, evidence = _detect(warehouse, _transfers("us-east-1", "us-west-2", 100, 5))
    # us-east-1's rate: (9 + 6) / (600 + 400) = 0.015 USD/GB (list 0.02; all regions would be 0.0525)
    # 500 GB / 168 x 730 x 0.015 = 32.589... -> 32.59
    assert row["monthly_savings"] == (Decimal(500) / 168 * 730 * Decimal("0.015")).quantize(C) == Decimal("32.59")
    assert evidence["inter_region_price"] == 0.015
    assert evidence["inter_region_price_source"] == "bill"
    assert evidence["inter_region_price_region"] == "us-east-1"
    assert row["confidence"] == "high"


def test_aws_focus_rate_from_data_transfer_to_rows(tmp_path, warehouse):
    bill = write_focus(
        tmp_path / "focus.csv",
        [
            {
                "ProviderName": "AWS",
                "RegionId": "us-west-2",
                "ServiceName": "Amazon Simple Storage Service",
                "ServiceCategory": "Storage",
                "ChargeDescription": "$0.02 per GB - US West (Oregon) data transfer to US East (Northern Virginia)",
                "ConsumedQuantity": "2000",
                "BilledCost": "40",
                "EffectiveCost": "24",
            },
            {
                "ProviderName": "AWS",
                "RegionId": "us-west-2",
                "ServiceCategory": "Compute",
                "ChargeDescription": "USD 0.02 per GB for USW2-EUN1-AWS-Out-Bytes in EU (Stockholm)",
                "ConsumedQuantity": "500",
                "BilledCost": "10",
                "EffectiveCost": "6",
            },
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    row, evidence = _detect(warehouse, _transfers("us-west-2", "us-east-1", 50, 4))
    # (24 + 6) / (2000 + 500) = 0.012 USD/GB; 200 GB / 168 x 730 x 0.012 = 10.428... -> 10.43
    assert row["monthly_savings"] == (Decimal(200) / 168 * 730 * Decimal("0.012")).quantize(C) == Decimal("10.43")
    assert (evidence["inter_region_price"], evidence["inter_region_price_source"]) == (0.012, "bill")


def test_gcp_rate_from_bytes_billed(shared_data, tmp_path, warehouse):
    # two SKU rows of us-central1, 500e9 bytes each (usage.unit "bytes"), 4.00 and 6.00 USD
    path = tmp_path / "gcp.csv"
    write_gcp(
        path,
        shared_data / GCP_SAMPLE,
        [("Network Inter Region Data Transfer Out from Americas to EMEA", "us-central1")] * 2,
        cost="5.00",
        amount="500000000000",
    )
    assert [r.error for r in ingest_files(warehouse, [path])] == [None]
    row, evidence = _detect(warehouse, _transfers("us-central1", "europe-west1", 100, 6))
    # 10.00 USD / 1000 GB = 0.01 USD/GB (the price table has no GCP inter-region price at all)
    # 600 GB / 168 x 730 x 0.01 = 26.071... -> 26.07
    assert row["monthly_savings"] == (Decimal(600) / 168 * 730 * Decimal("0.01")).quantize(C) == Decimal("26.07")
    assert (evidence["inter_region_price"], evidence["inter_region_price_source"]) == (0.01, "bill")


def _write_azure(shared_data: Path, path: Path, rows: list[dict]) -> Path:
    with open(shared_data / AZURE_TEMPLATE, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        template = next(r for r in reader if r["MeterCategory"] == "Bandwidth")
        header = reader.fieldnames
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    **template,
                    "BillingPeriodStartDate": "11/01/2026",
                    "BillingPeriodEndDate": "11/30/2026",
                    "Date": "11/17/2026",
                    **r,
                }
            )
    return path


def test_azure_rate_in_eur_converted_with_the_fx_table(shared_data, tmp_path, warehouse):
    bill = _write_azure(
        shared_data,
        tmp_path / "azure.csv",
        [
            {
                "BillingCurrency": "EUR",
                "ResourceLocation": "WestEurope",
                "Quantity": "500",
                "Cost": "7.50",
                "EffectivePrice": "0.015",
                "UnitPrice": "0.015",
            },
            {
                "BillingCurrency": "EUR",
                "ResourceLocation": "WestEurope",
                "Quantity": "300",
                "Cost": "4.50",
                "EffectivePrice": "0.015",
                "UnitPrice": "0.015",
            },
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    row, evidence = _detect(warehouse, _transfers("westeurope", "northeurope", 125, 8))
    # 12.00 EUR / 800 GB = 0.015 EUR/GB x 1.08 (config/fx_rates.csv) = 0.0162 USD/GB (list: 0.02)
    # 1000 GB / 168 x 730 x 0.0162 = 70.392... -> 70.39
    assert row["monthly_savings"] == (Decimal(1000) / 168 * 730 * Decimal("0.0162")).quantize(C) == Decimal("70.39")
    assert (evidence["inter_region_price"], evidence["inter_region_price_source"]) == (0.0162, "bill")
    assert evidence["inter_region_price_region"] == "westeurope"


def test_list_price_only_without_billed_inter_region_rows(tmp_path, warehouse):
    bill = _write_cur(
        tmp_path / "cur.csv",
        [
            {
                "lineItem/UsageType": "USE1-DataTransfer-Out-Bytes",
                "product/region": "us-east-1",
                "lineItem/UsageAmount": "100",
                "lineItem/UnblendedCost": "9.00",
                "product/transferType": "AWS Outbound",
            },
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    row, evidence = _detect(warehouse, _transfers("us-east-1", "us-west-2", 100, 5))
    # 500 GB / 168 x 730 x 0.02 (config/prices.csv, aws_data_transfer_transcribed) = 43.45
    assert row["monthly_savings"] == Decimal("43.45")
    assert evidence["inter_region_price_source"] == "aws_data_transfer_transcribed"
    assert row["confidence"] == "medium"


def test_another_regions_rate_when_the_source_region_has_none(tmp_path, warehouse):
    """The bill's rate of the provider's other regions still wins over the list price, and says so."""
    bill = _write_cur(
        tmp_path / "cur.csv",
        [
            {
                "lineItem/UsageType": "USW2-USE1-AWS-Out-Bytes",
                "product/region": "us-west-2",
                "lineItem/UsageAmount": "1000",
                "lineItem/UnblendedCost": "10.00",
                "product/transferType": "InterRegion Outbound",
            },
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    row, evidence = _detect(warehouse, _transfers("us-east-1", "us-west-2", 100, 5))
    # 0.01 USD/GB; 500 GB / 168 x 730 x 0.01 = 21.726... -> 21.73
    assert row["monthly_savings"] == Decimal("21.73")
    assert (evidence["inter_region_price_source"], evidence["inter_region_price_region"]) == ("bill", "all regions")
