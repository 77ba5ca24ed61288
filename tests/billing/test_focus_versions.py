"""FOCUS 1.0-1.4 and each cloud's native FOCUS export: every row counted once, nothing dropped.

Rows are the real FOCUS 1.0 sample (FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data, CC-BY-4.0)
laid out in each version's and each provider's columns; every expected total is computed here from
the written file's own columns.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_files
from transforms.billing.focus import detect_version, version_from_metadata

FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"

# FOCUS 1.2 columns of AWS Data Exports "FOCUS 1.2 with AWS columns" (table FOCUS_1_2_AWS), from
# AWS's column dictionary (cur/latest/userguide/table-dictionary-focus-1-2-aws-columns): 57 FOCUS
# columns plus the AWS columns x_Discounts, x_Operation and x_ServiceCode.
FOCUS_1_2 = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
]
AWS_1_2 = [*FOCUS_1_2, "x_Discounts", "x_Operation", "x_ServiceCode"]
# FOCUS 1.3 (spec CHANGELOG / version_migration_guidance.md): ServiceProviderName, HostProviderName,
# the five Allocated* split cost allocation columns and ContractApplied.
FOCUS_1_3 = [
    *FOCUS_1_2,
    "ServiceProviderName",
    "HostProviderName",
    "AllocatedMethodId",
    "AllocatedMethodDetails",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "ContractApplied",
]
# FOCUS 1.4: ProviderName and PublisherName removed; InvoiceDetailId, CommitmentProgramEligibilityDetails added.
FOCUS_1_4 = [
    *(c for c in FOCUS_1_3 if c not in ("ProviderName", "PublisherName")),
    "InvoiceDetailId",
    "CommitmentProgramEligibilityDetails",
]
# Google Cloud FOCUS BigQuery export (billing/docs/how-to/export-data-bigquery-tables/focus-export):
# the FOCUS columns it fills plus its x_ columns (x_Credits and x_Project nested).
GCP_EXTENSIONS = ["x_CostType", "x_CurrencyConversionRate", "x_ExportTime", "x_Location", "x_ServiceId"]
# OCI FOCUS cost reports: FOCUS 1.0-preview names (Provider, Publisher, InvoiceIssuer, Region,
# UsageQuantity, UsageUnit, ChargeSubcategory) and OCI's oci_ columns, as OCI documents its FOCUS report.
OCI = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ChargeSubcategory",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountType",
    "EffectiveCost",
    "InvoiceIssuer",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "Provider",
    "Publisher",
    "Region",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "UsageQuantity",
    "UsageUnit",
    "oci_ReferenceNumber",
    "oci_CompartmentId",
    "oci_CompartmentName",
    "oci_OverageFlag",
    "oci_UnitPriceOverage",
    "oci_BilledQuantityOverage",
    "oci_CostOverage",
    "oci_AttributedUsage",
    "oci_AttributedCost",
    "oci_BackReferenceNumber",
]


def sample_rows(shared_data: Path, n: int = 60) -> list[dict]:
    with open(shared_data / FOCUS_SAMPLE, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))[:n]


def laid_out(rows: list[dict], columns: list[str], **extra) -> list[dict]:
    """Each sample row in these columns: 1.0 values where the column is 1.0's, else ``extra`` or empty."""
    out = []
    for i, r in enumerate(rows):
        preview = {
            "Provider": r["ProviderName"],
            "Publisher": r["PublisherName"],
            "InvoiceIssuer": r["InvoiceIssuerName"],
            "Region": r["RegionId"],
            "UsageQuantity": r["ConsumedQuantity"],
            "UsageUnit": r["ConsumedUnit"],
            "ServiceProviderName": r["ProviderName"],
            "HostProviderName": r["ProviderName"],
        }
        values = {**r, **preview}
        out.append({c: (extra[c](i, r) if c in extra else values.get(c, "")) for c in columns})
    return out


def write_csv(path: Path, columns: list[str], rows: list[dict], opener=open) -> Path:
    with opener(path, "wt", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def totals(rows: list[dict]) -> tuple[dict, dict]:
    """Billed and effective cost per billing period and currency, from the file's own columns."""
    billed, effective = defaultdict(Decimal), defaultdict(Decimal)
    for r in rows:
        key = (r["BillingPeriodStart"][:7], r["BillingCurrency"])
        billed[key] += Decimal(r["BilledCost"])
        effective[key] += Decimal(r["EffectiveCost"])
    return dict(billed), dict(effective)


def stored_totals(con, source: Path) -> tuple[dict, dict]:
    rows = con.execute(
        "SELECT strftime(billing_period_start, '%Y-%m'), billing_currency, sum(billed_cost), sum(effective_cost) "
        "FROM billing_line_items WHERE source_file = ? GROUP BY ALL",
        [str(source)],
    ).fetchall()
    return {(p, c): b for p, c, b, _ in rows}, {(p, c): e for p, c, _, e in rows}


def check_load(con, path: Path, rows: list[dict], fmt: str, version: str, rejected: int = 0):
    [result] = ingest_files(con, [path])
    assert result.error is None and result.source_format == fmt
    assert (result.rows_loaded, result.rows_rejected) == (len(rows) - rejected, rejected)
    versions = con.execute(
        "SELECT DISTINCT x_focus_version FROM billing_line_items WHERE source_file = ?", [str(path)]
    ).fetchall()
    assert versions == [(version,)]
    return result


def test_versions_are_detected_from_the_columns_and_the_metadata(shared_data):
    assert detect_version(list(sample_rows(shared_data, 1)[0])) == "1.0"
    assert detect_version(AWS_1_2) == "1.2"
    assert detect_version(FOCUS_1_3) == "1.3"
    assert detect_version(FOCUS_1_4) == "1.4"
    assert detect_version(OCI) == "1.0-preview"
    for name, version in [("1.0", "1.0"), ("1.2-preview", "1.2")]:
        meta = json.loads((shared_data / "focus" / f"finops-toolkit_FocusCost_{name}_metadata.json").read_text())
        assert version_from_metadata(meta) == version
        assert detect_version([c["ColumnName"] for c in meta["Columns"]]) == version


@pytest.mark.parametrize("as_parquet", [False, True])
def test_aws_focus_1_2_with_aws_columns(warehouse, shared_data, tmp_path, as_parquet):
    rows = laid_out(
        sample_rows(shared_data),
        AWS_1_2,
        InvoiceId=lambda i, r: f"EUINGB24-{i // 20}",
        BillingAccountType=lambda i, r: "Billing Account",
        SubAccountType=lambda i, r: "Account",
        PricingCurrency=lambda i, r: r["BillingCurrency"],
        PricingCurrencyEffectiveCost=lambda i, r: r["EffectiveCost"],
        x_ServiceCode=lambda i, r: "AmazonEC2",
        x_Operation=lambda i, r: "RunInstances",
        x_Discounts=lambda i, r: '{"bundled_discount":-0.5}' if i == 3 else "",
        SkuPriceDetails=lambda i, r: '{"GpuCount": 1, "CoreCount": 16}' if i == 5 else "",
    )
    path = write_csv(tmp_path / "focus-1-2-aws-00001.csv.gz", AWS_1_2, rows, opener=gzip.open)
    if as_parquet:
        parquet = tmp_path / "focus-1-2-aws-00001.snappy.parquet"
        pl.read_csv(path, infer_schema=False).write_parquet(parquet)
        path = parquet
    check_load(warehouse, path, rows, "focus_parquet" if as_parquet else "focus", "1.2")
    assert stored_totals(warehouse, path) == totals(rows)
    invoice, ext, gpus, operation = warehouse.execute(
        "SELECT invoice_id, x_extensions, x_gpu_count, x_operation FROM billing_line_items "
        "WHERE source_file = ? AND source_row = 6",
        [str(path)],
    ).fetchone()
    assert (invoice, gpus, operation) == ("EUINGB24-0", 1.0, "RunInstances")  # x_Operation has a canonical column
    assert json.loads(ext) == {"x_ServiceCode": "AmazonEC2"}
    discounted = warehouse.execute(
        "SELECT x_extensions FROM billing_line_items WHERE source_file = ? AND source_row = 4", [str(path)]
    ).fetchone()[0]
    assert json.loads(discounted)["x_Discounts"] == '{"bundled_discount":-0.5}'


# Column lists: microsoft/finops-toolkit open data (MIT), FocusCost 1.0 and 1.2-preview metadata.
@pytest.mark.parametrize("name,version", [("1.0", "1.0"), ("1.2-preview", "1.2")])
def test_azure_focus_cost_exports_csv_and_parquet(warehouse, shared_data, tmp_path, name, version):
    meta = json.loads((shared_data / "focus" / f"finops-toolkit_FocusCost_{name}_metadata.json").read_text())
    columns = [c["ColumnName"] for c in meta["Columns"]]
    x_columns = [c for c in columns if c.startswith("x_")]
    rows = laid_out(sample_rows(shared_data), columns, x_SkuMeterCategory=lambda i, r: "Virtual Machines")
    csv_path = write_csv(tmp_path / f"FocusCost_{name}.csv", columns, rows)
    check_load(warehouse, csv_path, rows, "focus", version)
    assert stored_totals(warehouse, csv_path) == totals(rows)
    parquet = tmp_path / "part_0_0001.parquet"
    pl.read_csv(csv_path, infer_schema=False).write_parquet(parquet)
    check_load(warehouse, parquet, rows, "focus_parquet", version)
    assert stored_totals(warehouse, parquet) == totals(rows)
    assert x_columns  # Microsoft's own columns are there, and none of them blocked the load


def test_gcp_focus_export_keeps_nested_extension_columns(warehouse, shared_data, tmp_path):
    columns = [c for c in FOCUS_1_2 if c not in ("SkuPriceDetails",)]
    rows = laid_out(sample_rows(shared_data), columns)
    frame = pl.DataFrame(rows, schema={c: pl.String for c in columns}).with_columns(
        x_CostType=pl.lit("regular"),
        x_CurrencyConversionRate=pl.lit(1.0),
        x_ExportTime=pl.lit("2024-09-02T04:00:00Z"),
        x_Location=pl.lit("us-central1"),
        x_ServiceId=pl.lit("6F81-5844-456A"),
        x_Credits=pl.lit([{"Name": "FreeTrial", "Amount": "-0.10", "Type": "FREE_TIER"}]),
        x_Project=pl.struct(Id=pl.lit("ml-prod"), Number=pl.lit("4242")),
    )
    path = tmp_path / "gcp_billing_export_focus_010101.parquet"
    frame.write_parquet(path)
    check_load(warehouse, path, rows, "focus_parquet", "1.2")
    assert stored_totals(warehouse, path) == totals(rows)
    ext = json.loads(
        warehouse.execute(
            "SELECT x_extensions FROM billing_line_items WHERE source_file = ? AND source_row = 1", [str(path)]
        ).fetchone()[0]
    )
    assert set(ext) == {*GCP_EXTENSIONS, "x_Credits", "x_Project"}
    assert json.loads(ext["x_Project"]) == {"Id": "ml-prod", "Number": "4242"}


def test_oci_focus_report_with_preview_names_and_oci_columns(warehouse, shared_data, tmp_path):
    rows = laid_out(
        sample_rows(shared_data),
        OCI,
        oci_CompartmentName=lambda i, r: "ml-training",
        oci_ReferenceNumber=lambda i, r: str(1000 + i),
    )
    path = write_csv(tmp_path / "reports_cost-csv_0001000000123456.csv.gz", OCI, rows, opener=gzip.open)
    check_load(warehouse, path, rows, "focus", "1.0-preview")
    assert stored_totals(warehouse, path) == totals(rows)
    provider, region, quantity, ext = warehouse.execute(
        "SELECT provider, region_id, consumed_quantity, x_extensions FROM billing_line_items "
        "WHERE source_file = ? AND source_row = 1",
        [str(path)],
    ).fetchone()
    assert (provider, region) == ("aws", rows[0]["Region"] or None)
    assert json.loads(ext) == {"oci_ReferenceNumber": "1000", "oci_CompartmentName": "ml-training"}


def test_focus_1_3_allocated_rows_replace_their_origin_and_are_counted_once(warehouse, shared_data, tmp_path):
    base = laid_out(sample_rows(shared_data, 10), FOCUS_1_3)
    origin = {**base[0], "BilledCost": "12.00", "EffectiveCost": "9.00", "ResourceId": "i-gpu-1"}
    split = [
        {
            **origin,
            "BilledCost": "8.00",
            "EffectiveCost": "6.00",
            "AllocatedMethodId": "gpu-hours",
            "AllocatedResourceId": "pod/train-a",
            "AllocatedTags": '{"team":"research"}',
        },
        {
            **origin,
            "BilledCost": "4.00",
            "EffectiveCost": "3.00",
            "AllocatedMethodId": "gpu-hours",
            "AllocatedResourceId": "pod/serve-b",
            "AllocatedTags": '{"team":"serving"}',
        },
    ]
    # a file that (against the spec) also carries the origin charge: it must not count twice
    rows = [*base[1:], origin, *split]
    path = write_csv(tmp_path / "focus-1-3.csv", FOCUS_1_3, rows)
    result = check_load(warehouse, path, rows, "focus", "1.3", rejected=1)
    expected = totals([r for r in rows if r is not origin])
    assert stored_totals(warehouse, path) == expected
    assert result.rows_loaded + result.rows_rejected == len(rows)
    [(reason,)] = warehouse.execute("SELECT reason FROM rejected_rows").fetchall()
    assert reason.startswith("column AllocatedMethodId: origin charge of 2 allocated charge(s) (method 'gpu-hours')")
    stored = warehouse.execute(
        "SELECT allocated_resource_id, allocated_tags, effective_cost FROM billing_line_items "
        "WHERE allocated_method_id IS NOT NULL ORDER BY source_row"
    ).fetchall()
    assert stored == [
        ("pod/train-a", '{"team":"research"}', Decimal("6")),
        ("pod/serve-b", '{"team":"serving"}', Decimal("3")),
    ]


def test_focus_1_4_without_provider_name(warehouse, shared_data, tmp_path):
    rows = laid_out(
        sample_rows(shared_data),
        FOCUS_1_4,
        InvoiceDetailId=lambda i, r: f"inv-1/line-{i}",
        CommitmentProgramEligibilityDetails=lambda i, r: '[{"CommitmentProgram":"Savings Plan","Eligible":true}]',
        ContractApplied=lambda i, r: '{"ContractId":"c-1"}' if i == 0 else "",
    )
    path = write_csv(tmp_path / "focus-1-4.csv", FOCUS_1_4, rows)
    check_load(warehouse, path, rows, "focus", "1.4")
    assert stored_totals(warehouse, path) == totals(rows)
    provider, detail, contract = warehouse.execute(
        "SELECT provider, invoice_detail_id, contract_applied FROM billing_line_items WHERE source_row = 1"
    ).fetchone()
    assert (provider, detail, contract) == ("aws", "inv-1/line-0", '{"ContractId":"c-1"}')


# FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec worked example (CC-BY-4.0): tokens priced in a virtual currency.
def test_virtual_currency_and_tokens_are_kept_apart_from_money(warehouse, shared_data, tmp_path):
    source = (
        shared_data / "focus" / "FOCUS_Spec_worked_examples" / "saas_examples" / "virtual_currency_pricing_model_a2.csv"
    )
    with open(source, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0])
    tokens = [{**r, "ConsumedUnit": "1K Tokens"} for r in rows]
    path = write_csv(tmp_path / "tokens.csv", columns, tokens)
    [result] = ingest_files(warehouse, [path])
    assert result.error is None and (result.rows_loaded, result.rows_rejected) == (len(rows), 0)
    stored = warehouse.execute(
        "SELECT pricing_currency, sum(pricing_currency_effective_cost), sum(billed_cost), sum(effective_cost), "
        "sum(x_token_count), min(x_focus_version) FROM billing_line_items GROUP BY ALL"
    ).fetchall()
    assert stored == [
        (
            "Token",
            sum(Decimal(r["PricingCurrencyEffectiveCost"]) for r in rows),
            sum(Decimal(r["BilledCost"]) for r in rows),
            sum(Decimal(r["EffectiveCost"]) for r in rows),
            sum(float(r["ConsumedQuantity"]) * 1000 for r in rows),
            "1.2",
        )
    ]
