"""Transfer direction on every reader that carries a provider's rows: one set of rules per provider
(transforms/billing/transfer.py), the same answer from the native export and from FOCUS."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest_files

# Origin: FinOps-Open-Cost-and-Usage-Spec/FOCUS-Sample-Data, FOCUS-1.0/focus_sample.csv
# (commit adbdd17a132984d6e8583c149c236d2199c3f5bc), CC-BY-4.0.
FOCUS_SAMPLE = "focus/FOCUS-Sample-Data_FOCUS-1.0_focus_sample.csv"
# Origin: finopsfoundation/focus_converters, focus_converter_base/tests/provider_config_tests/aws/
# sample-anonymous-aws-export-dataset.csv (commit c799bf96dea67c8dc8569eebbcd720e7562088fa), MIT.
AWS_CUR = "aws/focus_converters_sample-anonymous-aws-export-dataset.csv"
# Origin: microsoft/finops-toolkit, src/powershell/Tests/assets/EA_AmortizedCost_Small.csv
# (commit 04d370f322f6052b02893ba567c3b75195a19f99), MIT.
AZURE_AMORTIZED = "azure/finops-toolkit_EA_AmortizedCost_Small.csv"
# Origin: project-koku/koku, koku/masu/test/data/gcp/202011_...csv (commit 768be825...), Apache-2.0:
# its header is the layout the GCP rows below are written in.
GCP_SAMPLE = "gcp/koku_gcp_202011_2020-11-08_2020-11-11.csv"

FOCUS_COLUMNS = (
    "ProviderName",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "ServiceName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "BilledCost",
    "EffectiveCost",
    "ConsumedQuantity",
    "ConsumedUnit",
    "x_UsageType",
    "x_SkuMeterCategory",
    "x_SkuMeterSubcategory",
    "x_SkuMeterName",
)


def write_focus(path: Path, rows: list[dict]) -> Path:
    """A FOCUS 1.0 CSV of ``rows`` (missing columns NULL; one hour of 2026-11-16 unless given)."""
    base = {
        "BillingAccountId": "acct",
        "BillingCurrency": "USD",
        "BillingPeriodStart": "2026-11-01 00:00:00",
        "BillingPeriodEnd": "2026-12-01 00:00:00",
        "ChargePeriodStart": "2026-11-16 10:00:00",
        "ChargePeriodEnd": "2026-11-16 11:00:00",
        "ChargeCategory": "Usage",
        "ServiceCategory": "Networking",
        "ConsumedUnit": "GB",
    }
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, FOCUS_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: ({**base, **row}.get(c) or "NULL") for c in FOCUS_COLUMNS})
    return path


def directions(con: duckdb.DuckDBPyConnection) -> dict[int, str | None]:
    """source_row -> x_transfer_direction of the one file loaded."""
    return dict(con.sql("SELECT source_row, x_transfer_direction FROM billing_line_items").fetchall())


def _source(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _focus_parquet(csv_path: Path, out: Path) -> Path:
    """The FOCUS CSV as a typed Parquet file (numbers as decimals, NULL as null), as an export writes it."""
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', nullstr='NULL', header=true)) TO '{out}' (FORMAT parquet)")
    con.close()
    return out


def _check_focus_sample(found: dict[int, str | None], source: list[dict[str, str]]) -> None:
    assert len(found) == len(source) == 1000
    inter = {i for i, d in found.items() if d == "inter_region"}
    # Counted by hand (grep on the file): 32 AWS rows "... data transfer to <another region>",
    # 3 AWS rows quoting an "...-AWS-Out-Bytes" usage type, 2 Microsoft "Bandwidth Inter-Region -
    # Intra Continent Data Transfer Out - North America" rows.
    to_region = {i for i, r in enumerate(source, 1) if "data transfer to " in r["ChargeDescription"]}
    aws_out = {i for i, r in enumerate(source, 1) if "-AWS-Out-Bytes" in r["ChargeDescription"]}
    azure = {i for i, r in enumerate(source, 1) if r["ChargeDescription"].startswith("Bandwidth Inter-Region")}
    assert (len(to_region), len(aws_out), len(azure)) == (32, 3, 2)
    assert inter == to_region | aws_out | azure
    assert len(inter) == 37
    # the rest, counted the same way: 272 inbound (212 "data transfer in per month", 11 "data transfer
    # in to ... from CloudFront", 46 "... data transfer from <another region>", 3 "-AWS-In-Bytes"),
    # 188 out of the cloud (182 AWS "data transfer out", 2 "DataTransfer-Out-Bytes", 3 Microsoft
    # "Standard Data Transfer Out", 1 Oracle "Outbound Data Transfer Zone 1"), 58 AWS "regional data transfer"
    assert Counter(found.values()) == Counter(
        {None: 1000 - 37 - 272 - 188 - 58, "inter_region": 37, "in": 272, "internet_out": 188, "intra_region": 58}
    )
    by_text = {r["ChargeDescription"]: found[i] for i, r in enumerate(source, 1)}
    assert by_text["$0.02 per GB - US West (Oregon) data transfer to EU (Ireland)"] == "inter_region"
    assert by_text["USD 0.147 per GB for USE1-AWS-Out-Bytes in Africa (Cape Town)"] == "inter_region"
    assert by_text["USD 0.0 per GB for USE2-AWS-In-Bytes in EU (Stockholm)"] == "in"
    assert by_text["$0.00 per GB - US West (Oregon) data transfer from EU (Ireland)"] == "in"
    assert by_text["USD 0.09 per GB for DataTransfer-Out-Bytes in EU (Stockholm)"] == "internet_out"
    assert by_text["Rtn Preference: MGN - Standard Data Transfer Out"] == "internet_out"


def test_focus_sample_csv_marks_inter_region_rows(shared_data, warehouse):
    [result] = ingest_files(warehouse, [shared_data / FOCUS_SAMPLE])
    assert result.error is None and result.source_format == "focus"
    _check_focus_sample(directions(warehouse), _source(shared_data / FOCUS_SAMPLE))


def test_focus_sample_parquet_marks_inter_region_rows(shared_data, warehouse, tmp_path):
    path = _focus_parquet(shared_data / FOCUS_SAMPLE, tmp_path / "focus_sample.parquet")
    [result] = ingest_files(warehouse, [path])
    assert result.error is None and result.source_format == "focus_parquet"
    _check_focus_sample(directions(warehouse), _source(shared_data / FOCUS_SAMPLE))


def test_aws_cur_sample_inter_region_rows(shared_data, warehouse):
    path = shared_data / AWS_CUR
    [result] = ingest_files(warehouse, [path])
    assert result.error is None
    source = _source(path)
    found = directions(warehouse)
    inter = {i for i, d in found.items() if d == "inter_region"}
    # 343 rows "<SRC>-<DST>-AWS-Out-Bytes" (product/transferType "InterRegion Outbound"), by hand
    expected = {i for i, r in enumerate(source, 1) if r["lineItem/UsageType"].endswith("-AWS-Out-Bytes")}
    assert len(expected) == 343 and inter == expected


@pytest.mark.parametrize(
    "usage_type, description, direction",
    [
        (
            "USE1-USE2-AWS-Out-Bytes",
            "$0.02 per GB - US East (Northern Virginia) data transfer to US East (Ohio)",
            "inter_region",
        ),
        (
            "USE2-USE1-AWS-In-Bytes",
            "$0.00 per GB - US East (Ohio) data transfer from US East (Northern Virginia)",
            "in",
        ),
        (
            "USE1-DataTransfer-Out-Bytes",
            "$0.09 per GB - first 10 TB / month data transfer out beyond the global free tier",
            "internet_out",
        ),
        (
            "USE1-DataTransfer-Regional-Bytes",
            "$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using elastic IPs or ELB",
            "intra_region",
        ),
        ("USE1-DataTransfer-xAZ-Out-Bytes", "$0.01 per GB - regional data transfer", "intra_region"),
        ("BoxUsage:g5.4xlarge", "$1.624 per On Demand Linux g5.4xlarge Instance Hour", None),
    ],
)
def test_aws_usage_types_read_the_same_from_the_cur_and_from_focus(
    tmp_path, warehouse, usage_type, description, direction
):
    """The CUR and FOCUS readers share one table of AWS usage types (and description words)."""
    from tests.billing.test_aws_cur import _map

    cur = _map({"lineItem/UsageType": usage_type, "lineItem/LineItemDescription": description})
    assert cur["x_transfer_direction"][0] == direction
    # FOCUS with AWS columns (x_UsageType), and FOCUS without them (the description alone)
    # two accounts: two scenarios, not two competing deliveries of one account's month
    write_focus(
        tmp_path / "with.csv",
        [
            {
                "ProviderName": "AWS",
                "x_UsageType": usage_type,
                "BillingAccountId": "with",
                "ChargeDescription": "data transfer",
                "BilledCost": "1",
                "EffectiveCost": "1",
            }
        ],
    )
    write_focus(
        tmp_path / "without.csv",
        [
            {
                "ProviderName": "AWS",
                "ChargeDescription": description,
                "BillingAccountId": "without",
                "BilledCost": "1",
                "EffectiveCost": "1",
            }
        ],
    )
    results = ingest_files(warehouse, [tmp_path / "with.csv", tmp_path / "without.csv"])
    assert [r.error for r in results] == [None, None]
    found = warehouse.sql("SELECT source_file, x_transfer_direction FROM billing_line_items ORDER BY 1").fetchall()
    assert [d for _, d in found] == [direction, direction]


def test_azure_bandwidth_rows_native_and_focus(shared_data, warehouse, tmp_path):
    path = shared_data / AZURE_AMORTIZED
    [result] = ingest_files(warehouse, [path])
    assert result.error is None
    source = _source(path)
    found = directions(warehouse)
    by_meter = Counter(
        (r["MeterCategory"], r["MeterSubCategory"], r["MeterName"], found[i])
        for i, r in enumerate(source, 1)
        if r["MeterCategory"] == "Bandwidth"
    )
    # by hand: 3 Bandwidth / Inter-Region / Intra Continent Data Transfer Out, 1 Bandwidth / Standard Data Transfer Out
    assert by_meter == Counter(
        {
            ("Bandwidth", "Inter-Region", "Intra Continent Data Transfer Out", "inter_region"): 3,
            ("Bandwidth", "", "Standard Data Transfer Out", "internet_out"): 1,
        }
    )
    # the same meters in Azure's FOCUS export (x_SkuMeter* columns)
    focus = write_focus(
        tmp_path / "azure_focus.csv",
        [
            {
                "ProviderName": "Microsoft",
                "x_SkuMeterCategory": "Bandwidth",
                "x_SkuMeterSubcategory": "Inter-Region",
                "x_SkuMeterName": "Inter Continent Data Transfer Out",
                "ChargeDescription": "Data Transfer Out",
                "BilledCost": "1",
                "EffectiveCost": "1",
            },
            {
                "ProviderName": "Microsoft",
                "x_SkuMeterCategory": "Bandwidth",
                "x_SkuMeterName": "Standard Data Transfer Out",
                "BilledCost": "1",
                "EffectiveCost": "1",
            },
            {
                "ProviderName": "Microsoft",
                "x_SkuMeterCategory": "Virtual Network",
                "x_SkuMeterSubcategory": "Peering",
                "x_SkuMeterName": "Intra-Region Egress",
                "BilledCost": "1",
                "EffectiveCost": "1",
            },
            {
                "ProviderName": "Microsoft",
                "x_SkuMeterCategory": "Bandwidth",
                "x_SkuMeterName": "Standard Data Transfer In",
                "BilledCost": "0",
                "EffectiveCost": "0",
            },
        ],
    )
    [result] = ingest_files(warehouse, [focus])
    assert result.error is None
    got = warehouse.sql(
        "SELECT x_transfer_direction FROM billing_line_items WHERE source_format = 'focus' ORDER BY source_row"
    ).fetchall()
    assert [d for (d,) in got] == ["inter_region", "internet_out", "intra_region", "in"]


# GCP SKU descriptions as Google's catalogue words them (the 2024 "Data Transfer" names and the older "Egress" ones).
GCP_SKUS = [
    ("Network Inter Region Data Transfer Out from Americas to EMEA", "us-central1", "inter_region"),
    ("Network Inter Region Egress from Americas to EMEA", "us-central1", "inter_region"),
    ("Network Internet Data Transfer Out from Americas to EMEA", "us-central1", "internet_out"),
    ("Network Internet Egress from Americas to Americas", "us-central1", "internet_out"),
    ("Network Egress via Carrier Peering Network - Americas Based", "us-central1", "internet_out"),
    ("Network Inter Zone Data Transfer Out", "us-central1", "intra_region"),
    ("Download Worldwide Destinations (excluding Asia & Australia)", "us-central1", "internet_out"),
    ("Inter-region GCP Storage egress within NA", "us-central1", "inter_region"),
    ("Nvidia Tesla A100 GPU running in Americas", "us-central1", None),
]


def write_gcp(
    path: Path, header_from: Path, skus: list[tuple], cost: str = "1.0", amount: str = "1e9", unit: str = "bytes"
) -> Path:
    """GCP billing export CSV rows (the koku sample's header) for the given (SKU description, region)."""
    with open(header_from, newline="") as fh:
        header = next(csv.reader(fh))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        for n, (sku, region, *_) in enumerate(skus):
            writer.writerow(
                {
                    "billing_account_id": "01AB-CDEF",
                    "service.id": "E505-1604-58F8",
                    "service.description": "Networking",
                    "sku.id": f"SKU-{n}",
                    "sku.description": sku,
                    "usage_start_time": "2026-11-16 10:00:00+00:00",
                    "usage_end_time": "2026-11-16 11:00:00+00:00",
                    "project.id": "ml-prod",
                    "project.name": "ml-prod",
                    "project.labels": "[]",
                    "labels": "[]",
                    "system_labels": "[]",
                    "location.location": region,
                    "location.region": region,
                    "export_time": "2026-11-17 00:00:00+00:00",
                    "cost": cost,
                    "currency": "USD",
                    "currency_conversion_rate": "1.0",
                    "usage.amount": amount,
                    "usage.unit": unit,
                    "usage.amount_in_pricing_units": "0.931322574615478515625",
                    "usage.pricing_unit": "gibibyte",
                    "credits": "[]",
                    "invoice.month": "202611",
                    "cost_type": "regular",
                    "partition_date": "2026-11-16 00:00:00+00:00",
                }
            )
    return path


def test_gcp_network_skus_native_and_focus(shared_data, warehouse, tmp_path):
    path = write_gcp(tmp_path / "gcp.csv", shared_data / GCP_SAMPLE, GCP_SKUS)
    [result] = ingest_files(warehouse, [path])
    assert result.error is None and result.source_format == "gcp_billing_csv"
    assert [directions(warehouse)[i] for i in range(1, len(GCP_SKUS) + 1)] == [d for *_, d in GCP_SKUS]
    focus = write_focus(
        tmp_path / "gcp_focus.csv",
        [
            {
                "ProviderName": "Google Cloud",
                "ChargeDescription": sku,
                "RegionId": region,
                "BilledCost": "1",
                "EffectiveCost": "1",
            }
            for sku, region, _ in GCP_SKUS
        ],
    )
    [result] = ingest_files(warehouse, [focus])
    assert result.error is None
    got = warehouse.sql(
        "SELECT x_transfer_direction FROM billing_line_items WHERE source_format = 'focus' ORDER BY source_row"
    ).fetchall()
    assert [d for (d,) in got] == [d for *_, d in GCP_SKUS]


def test_one_home_for_the_rules():
    """The AWS CUR rules are the shared table, not a copy."""
    from transforms.billing import aws_rules, transfer

    usage_rules = tuple((p, d) for field, p, d in aws_rules.TRANSFER_RULES if field == "usage_type")
    assert usage_rules == transfer.AWS_USAGE_TYPE
