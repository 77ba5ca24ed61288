"""Storage tiering takes the bucket's region from the bill (sql/recommend_bucket_regions.sql) and
prices it there, on AWS (FOCUS), GCP and Azure bills; the default region only without a billed row.

One bucket, one 2,000 GiB object in the hot class unread for 40 days -> the infrequent class:

    monthly_savings = GB x (hot - target) - GB x 0.05 x retrieval - 1 x 0.02 / 1000 / 12
                      - GB x 0.05 x target x min_days / 30
(retrieval 0 and min_days 0 in the price rows below, so only the transition fee of 0.0000017 remains).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from flows.ingest import ingest_files
from flows.recommend import read_inputs
from tests.billing.test_transfer_classification import GCP_SAMPLE, write_focus
from tests.detectors.helpers import WEEK, at, config, prices, storage
from tests.detectors.test_network_rates import _write_azure
from transforms.detectors import storage_tiering

SIZE = 2000 * 1024**3
TRANSITION = Decimal(1) * Decimal("0.02") / 1000 / 12


def _price_rows(provider: str, hot: str, target: str, by_region: dict[str, tuple[str, str]]) -> list[tuple]:
    rows = []
    for region, (hot_price, target_price) in by_region.items():
        rows += [
            (provider, region, hot, "storage_gb_month", hot_price),
            (provider, region, target, "storage_gb_month", target_price),
            (provider, region, target, "retrieval_gb", "0"),
            (provider, region, target, "min_storage_days", "0"),
        ]
    return rows


def _detect(warehouse, provider: str, bucket: str, hot_class: str, price_rows: list[tuple]) -> tuple[dict, dict]:
    cfg = config()
    frames = read_inputs(warehouse, WEEK, cfg)
    frames["storage_inventory"] = storage(
        {
            "snapshot_date": date(2026, 11, 20),
            "provider": provider,
            "bucket": bucket,
            "key": "shards/000.tar",
            "size_bytes": SIZE,
            "storage_class": hot_class,
            "last_modified": at(-24 * 100),
            "last_accessed": at(-24 * 36),
        }
    )
    frames["prices"] = prices(*price_rows)
    out = storage_tiering.detect(frames, cfg)
    assert out.height == 1, out
    row = out.row(0, named=True)
    return row, json.loads(row["evidence"])


def test_aws_bucket_in_eu_central_1_from_a_focus_bill(tmp_path, warehouse):
    # FOCUS S3 storage rows name no storage class in their description: the Storage category places them
    bill = write_focus(
        tmp_path / "focus.csv",
        [
            {
                "ProviderName": "AWS",
                "ServiceName": "Amazon Simple Storage Service",
                "ServiceCategory": "Storage",
                "ChargeDescription": "$0.0245 per GB - first 50 TB / month of storage used",
                "RegionId": "eu-central-1",
                "ResourceId": "ml-data",
                "ConsumedQuantity": "2000",
                "ConsumedUnit": "GB-Mo",
                "BilledCost": "49",
                "EffectiveCost": "49",
                "ChargePeriodStart": "2026-11-01 00:00:00",
                "ChargePeriodEnd": "2026-12-01 00:00:00",
            },
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    # S3 Standard / Standard-IA list prices: us-east-1 0.023 / 0.0125, eu-central-1 0.0245 / 0.0135
    px = _price_rows(
        "aws", "STANDARD", "STANDARD_IA", {"us-east-1": ("0.023", "0.0125"), "eu-central-1": ("0.0245", "0.0135")}
    )
    row, evidence = _detect(warehouse, "aws", "ml-data", "STANDARD", px)
    assert evidence["region"] == "eu-central-1"
    # 2000 x (0.0245 - 0.0135) = 22.00 (at the default us-east-1 it would be 2000 x 0.0105 = 21.00)
    assert row["monthly_savings"] == (Decimal(2000) * Decimal("0.011") - TRANSITION).quantize(Decimal("0.01"))
    assert row["monthly_savings"] == Decimal("22.00")
    assert evidence["tiers"]["STANDARD_IA"]["hot_price_region"] == "eu-central-1"


def _write_gcp_storage(path: Path, header_from: Path) -> Path:
    with open(header_from, newline="") as fh:
        header = next(csv.reader(fh)) + ["resource.name", "resource.global_name"]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, header, restval="")
        writer.writeheader()
        writer.writerow(
            {
                "billing_account_id": "01AB-CDEF",
                "service.id": "95FF-2EF5-5EA1",
                "service.description": "Cloud Storage",
                "sku.id": "E5F0-6A5D-7BAD",
                "sku.description": "Standard Storage Netherlands",
                "usage_start_time": "2026-11-17 00:00:00+00:00",
                "usage_end_time": "2026-11-18 00:00:00+00:00",
                "project.id": "ml-prod",
                "project.name": "ml-prod",
                "project.labels": "[]",
                "labels": "[]",
                "system_labels": "[]",
                "location.location": "europe-west4",
                "location.region": "europe-west4",
                "export_time": "2026-11-18 05:00:00+00:00",
                "cost": "1.50",
                "currency": "USD",
                "currency_conversion_rate": "1.0",
                "usage.amount": "5.4e15",
                "usage.unit": "byte-seconds",
                "usage.amount_in_pricing_units": "66.6",
                "usage.pricing_unit": "gibibyte month",
                "credits": "[]",
                "invoice.month": "202611",
                "cost_type": "regular",
                "partition_date": "2026-11-17 00:00:00+00:00",
                "resource.name": "projects/_/buckets/ml-data-eu",
                "resource.global_name": "//storage.googleapis.com/projects/_/buckets/ml-data-eu",
            }
        )
    return path


def test_gcp_bucket_in_europe_west4(shared_data, tmp_path, warehouse):
    bill = _write_gcp_storage(tmp_path / "gcp.csv", shared_data / GCP_SAMPLE)
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    # a price table whose europe-west4 figures differ from the default us-central1 ones (hand-made)
    px = _price_rows(
        "gcp", "STANDARD", "NEARLINE", {"us-central1": ("0.02", "0.01"), "europe-west4": ("0.023", "0.011")}
    )
    row, evidence = _detect(warehouse, "gcp", "ml-data-eu", "STANDARD", px)
    assert evidence["region"] == "europe-west4"
    # 2000 x (0.023 - 0.011) = 24.00 (default region: 20.00)
    assert row["monthly_savings"] == Decimal("24.00")


def test_azure_storage_account_in_north_europe(shared_data, tmp_path, warehouse):
    bill = _write_azure(
        shared_data,
        tmp_path / "azure.csv",
        [
            {
                "MeterCategory": "Storage",
                "MeterSubCategory": "Tiered Block Blob",
                "MeterName": "Hot LRS Data Stored",
                "Product": "Blob Storage - Hot LRS - EU North",
                "UnitOfMeasure": "1 GB/Month",
                "Quantity": "66.6",
                "Cost": "1.35",
                "EffectivePrice": "0.02024",
                "UnitPrice": "0.02024",
                "ResourceLocation": "NorthEurope",
                "ConsumedService": "Microsoft.Storage",
                "AdditionalInfo": "",
                "ResourceId": "/subscriptions/9ec51cfd/resourceGroups/ml/providers/Microsoft.Storage/storageAccounts/mldataeu",
                "ResourceName": "mldataeu",
            }
        ],
    )
    assert [r.error for r in ingest_files(warehouse, [bill])] == [None]
    # Blob Hot / Cool LRS (shared prices, azure_pricing_radar_eu): westeurope 0.018032 / 0.01, northeurope 0.02024 / 0.01
    px = _price_rows("azure", "Hot", "Cool", {"westeurope": ("0.018032", "0.01"), "northeurope": ("0.02024", "0.01")})
    row, evidence = _detect(warehouse, "azure", "mldataeu", "Hot", px)
    assert evidence["region"] == "northeurope"
    # 2000 x (0.02024 - 0.01) = 20.48 (default westeurope: 16.06)
    assert row["monthly_savings"] == Decimal("20.48")


def test_default_region_only_without_a_billed_row(warehouse):
    px = _price_rows(
        "aws", "STANDARD", "STANDARD_IA", {"us-east-1": ("0.023", "0.0125"), "eu-central-1": ("0.0245", "0.0135")}
    )
    row, evidence = _detect(warehouse, "aws", "unbilled", "STANDARD", px)
    assert evidence["region"] is None
    assert evidence["tiers"]["STANDARD_IA"]["hot_price_region"] == "us-east-1"
    assert row["monthly_savings"] == Decimal("21.00")
