"""Tiny bills in each provider's real export format, and usage logs naming machines as hosts do.

The layouts follow the real samples in ../shared/data: the GCP BigQuery export flattened to CSV
(koku's sample header plus the detailed export's ``resource.name`` / ``resource.global_name``), the
Azure EA cost details CSV (finops-toolkit's header), the FOCUS 1.0 CSV (the FOCUS sample's header)
and the legacy AWS CUR CSV. Every figure is written as exact text so a test can work it out by hand.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

# --- GCP: the BigQuery billing export flattened to CSV -------------------------------------------

GCP_HEADER = (
    "billing_account_id",
    "service.id",
    "service.description",
    "sku.id",
    "sku.description",
    "usage_start_time",
    "usage_end_time",
    "project.id",
    "project.name",
    "project.labels",
    "project.ancestry_numbers",
    "labels",
    "system_labels",
    "location.location",
    "location.country",
    "location.region",
    "location.zone",
    "resource.name",
    "resource.global_name",
    "export_time",
    "cost",
    "currency",
    "currency_conversion_rate",
    "usage.amount",
    "usage.unit",
    "usage.amount_in_pricing_units",
    "usage.pricing_unit",
    "credits",
    "invoice.month",
    "cost_type",
)
GCP_PROJECT = "ml-prod-4711"
GCP_ZONE = "us-central1-a"


def gcp_instance_id(name: str) -> str:
    """The detailed export's ``resource.global_name`` of a VM (the instance's numeric id, not its name)."""
    number = sum(ord(c) for c in name) * 7919
    return f"//compute.googleapis.com/projects/{GCP_PROJECT}/zones/{GCP_ZONE}/instances/{number}"


def gcp_labels(labels: dict[str, str]) -> str:
    """Labels as the flattened export writes them (Python list-of-dict text)."""
    return "[" + ", ".join(f"{{'key': '{k}', 'value': '{v}'}}" for k, v in labels.items()) + "]"


def gcp_row(
    start: datetime,
    sku: str,
    cost: str,
    amount: str,
    unit: str,
    pricing_amount: str,
    pricing_unit: str,
    name: str | None,
    global_name: str | None,
    machine_type: str | None = None,
    labels: dict | None = None,
    credit: str | None = None,
    service: str = "Compute Engine",
    hours: int = 1,
) -> dict[str, str]:
    """One line of the export for the hour (or ``hours``) starting at ``start``."""
    system = (
        {"compute.googleapis.com/machine_spec": machine_type, "compute.googleapis.com/cores": "96"}
        if machine_type
        else {}
    )
    credits = (
        (
            f"[{{'name': 'Sustained Usage Discount', 'amount': {credit}, 'full_name': None, "
            f"'id': 'SUD', 'type': 'SUSTAINED_USAGE_DISCOUNT'}}]"
        )
        if credit
        else "[]"
    )
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service.id": "6F81-5844-456A",
        "service.description": service,
        "sku.id": f"SKU-{sum(map(ord, sku)):05d}",
        "sku.description": sku,
        "usage_start_time": f"{start:%Y-%m-%d %H:%M:%S}+00:00",
        "usage_end_time": f"{start + timedelta(hours=hours):%Y-%m-%d %H:%M:%S}+00:00",
        "project.id": GCP_PROJECT,
        "project.name": "ML production",
        "project.labels": "[]",
        "project.ancestry_numbers": "/123456789/",
        "labels": gcp_labels(labels or {}),
        "system_labels": gcp_labels(system),
        "location.location": "us-central1",
        "location.country": "US",
        "location.region": "us-central1",
        "location.zone": GCP_ZONE,
        "resource.name": name or "",
        "resource.global_name": global_name or "",
        "export_time": f"{start + timedelta(hours=5):%Y-%m-%d %H:%M:%S}.000000+00:00",
        "cost": cost,
        "currency": "USD",
        "currency_conversion_rate": "1.0",
        "usage.amount": amount,
        "usage.unit": unit,
        "usage.amount_in_pricing_units": pricing_amount,
        "usage.pricing_unit": pricing_unit,
        "credits": credits,
        "invoice.month": f"{start:%Y%m}",
        "cost_type": "regular",
    }


# a2-highgpu-8g in us-central1 as GCP bills one hour of it: 96 vCPU, 680 GiB RAM and 8 A100 GPUs,
# each its own SKU with its own usage unit and amount (list rates 0.031611 USD per vCPU-hour,
# 0.004237 USD per GiB-hour, 2.933908 USD per GPU-hour).
A2_CORE_COST, A2_RAM_COST, A2_GPU_COST = "3.034656", "2.88116", "23.471264"
A2_RAM_BYTE_SECONDS = str(680 * 2**30 * 3600)


def gcp_a2_hour(start: datetime, name: str, labels: dict | None = None, gpu_credit: str | None = None) -> list[dict]:
    """The three lines of one hour of an a2-highgpu-8g named ``name``."""
    gid = gcp_instance_id(name)
    common = {"name": name, "global_name": gid, "machine_type": "a2-highgpu-8g", "labels": labels}
    return [
        gcp_row(
            start,
            "A2 Instance Core running in Americas",
            A2_CORE_COST,
            str(96 * 3600),
            "seconds",
            "96",
            "hour",
            **common,
        ),
        gcp_row(
            start,
            "A2 Instance Ram running in Americas",
            A2_RAM_COST,
            A2_RAM_BYTE_SECONDS,
            "byte-seconds",
            "680",
            "gibibyte hour",
            **common,
        ),
        gcp_row(
            start,
            "Nvidia Tesla A100 GPU running in Americas",
            A2_GPU_COST,
            str(8 * 3600),
            "seconds",
            "8",
            "hour",
            credit=gpu_credit,
            **common,
        ),
    ]


def gcp_boot_disk_hour(start: datetime, name: str) -> dict:
    """The VM's boot disk for an hour: GCP names it after the VM by default, with its own global name."""
    gid = f"//compute.googleapis.com/projects/{GCP_PROJECT}/zones/{GCP_ZONE}/disks/{sum(ord(c) for c in name)}"
    gib_seconds = 200 * 2**30 * 3600
    return gcp_row(
        start,
        "Balanced PD Capacity",
        "0.013699",
        str(gib_seconds),
        "byte-seconds",
        "0.273973",
        "gibibyte month",
        name,
        gid,
    )


def write_csv(path: Path, header: tuple[str, ...], rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(header))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})
    return path


def write_gcp(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, GCP_HEADER, rows)


# --- Azure: EA cost details (finops-toolkit's EA_ActualCost header) ------------------------------

AZURE_HEADER = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "AccountOwnerId",
    "AccountName",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "Product",
    "PartNumber",
    "MeterId",
    "ServiceFamily",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "MeterName",
    "Quantity",
    "EffectivePrice",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ResourceLocation",
    "AvailabilityZone",
    "ConsumedService",
    "ResourceId",
    "ResourceName",
    "ServiceInfo1",
    "ServiceInfo2",
    "AdditionalInfo",
    "Tags",
    "InvoiceSectionId",
    "InvoiceSection",
    "CostCenter",
    "UnitOfMeasure",
    "ResourceGroup",
    "ReservationId",
    "ReservationName",
    "ProductOrderId",
    "ProductOrderName",
    "OfferId",
    "IsAzureCreditEligible",
    "Term",
    "PublisherName",
    "PlanName",
    "ChargeType",
    "Frequency",
    "PublisherType",
    "PayGPrice",
    "PricingModel",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
)
AZURE_SUB = "5f1c2a3b-0d4e-4f60-9a7b-8c9d0e1f2a3b"


def azure_vm_id(name: str, group: str = "rg-ml") -> str:
    return f"/subscriptions/{AZURE_SUB}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}"


def azure_disk_id(name: str, group: str = "rg-ml") -> str:
    return f"/subscriptions/{AZURE_SUB}/resourceGroups/{group}/providers/Microsoft.Compute/disks/{name}"


def azure_row(
    day: datetime,
    resource_id: str,
    category: str,
    subcategory: str,
    meter: str,
    quantity: str,
    cost: str,
    unit: str,
    currency: str = "EUR",
    tags: str = "",
    service: str = "Microsoft.Compute",
    product: str | None = None,
    service_family: str = "Compute",
) -> dict[str, str]:
    return {
        "BillingAccountId": "8611537",
        "BillingAccountName": "Contoso ML",
        "BillingPeriodStartDate": f"{day:%m}/01/{day:%Y}",
        "BillingPeriodEndDate": f"{day:%m}/30/{day:%Y}",
        "BillingProfileId": "8611537",
        "BillingProfileName": "Contoso ML",
        "AccountOwnerId": "ml@contoso.example",
        "AccountName": "ML",
        "SubscriptionId": AZURE_SUB,
        "SubscriptionName": "ml-prod",
        "Date": f"{day:%m/%d/%Y}",
        "Product": product or f"{category} {subcategory} - {meter}",
        "PartNumber": "AAA-00001",
        "MeterId": "00000000-0000-0000-0000-000000000001",
        "ServiceFamily": service_family,
        "MeterCategory": category,
        "MeterSubCategory": subcategory,
        "MeterRegion": "EU West",
        "MeterName": meter,
        "Quantity": quantity,
        "EffectivePrice": "0",
        "Cost": cost,
        "UnitPrice": "0",
        "BillingCurrency": currency,
        "ResourceLocation": "westeurope",
        "ConsumedService": service,
        "ResourceId": resource_id,
        "ResourceName": resource_id.rsplit("/", 1)[-1],
        "Tags": tags,
        "UnitOfMeasure": unit,
        "ResourceGroup": "rg-ml",
        "OfferId": "MS-AZR-0017P",
        "IsAzureCreditEligible": "True",
        "PublisherName": "Microsoft",
        "ChargeType": "Usage",
        "Frequency": "UsageBased",
        "PublisherType": "Azure",
        "PayGPrice": "0",
        "PricingModel": "OnDemand",
    }


def write_azure(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, AZURE_HEADER, rows)


# --- AWS: FOCUS 1.0 CSV (the FOCUS sample's header) and the legacy CUR CSV ------------------------

FOCUS_HEADER = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
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
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
)


def focus_row(
    start: datetime,
    resource_id: str,
    description: str,
    quantity: str,
    unit: str,
    cost: str,
    service: str = "Amazon Elastic Compute Cloud",
    category: str = "Compute",
    tags: str = "NULL",
    resource_type: str = "instance",
) -> dict[str, str]:
    return {
        "AvailabilityZone": "us-east-1a",
        "BilledCost": cost,
        "BillingAccountId": "1234567890123",
        "BillingAccountName": "Northwind",
        "BillingCurrency": "USD",
        "BillingPeriodEnd": "2026-12-01 00:00:00",
        "BillingPeriodStart": "2026-11-01 00:00:00",
        "ChargeCategory": "Usage",
        "ChargeClass": "NULL",
        "ChargeDescription": description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
        "ChargePeriodStart": f"{start:%Y-%m-%d %H:%M:%S}",
        "CommitmentDiscountCategory": "NULL",
        "CommitmentDiscountId": "NULL",
        "CommitmentDiscountName": "NULL",
        "CommitmentDiscountStatus": "NULL",
        "CommitmentDiscountType": "NULL",
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "ContractedCost": cost,
        "ContractedUnitPrice": "NULL",
        "EffectiveCost": cost,
        "InvoiceIssuerName": "Amazon Web Services, Inc.",
        "ListCost": cost,
        "ListUnitPrice": "NULL",
        "PricingCategory": "Standard",
        "PricingQuantity": quantity,
        "PricingUnit": unit,
        "ProviderName": "AWS",
        "PublisherName": "Amazon Web Services, Inc.",
        "RegionId": "us-east-1",
        "RegionName": "US East (N. Virginia)",
        "ResourceId": resource_id,
        "ResourceName": "NULL",
        "ResourceType": resource_type,
        "ServiceCategory": category,
        "ServiceName": service,
        "SkuId": "4GQWNPC9K2PZAY97",
        "SkuPriceId": "NULL",
        "SubAccountId": "11353890204",
        "SubAccountName": "Atlas Orion",
        "Tags": tags,
    }


def write_focus(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, FOCUS_HEADER, rows)


CUR_HEADER = (
    "identity/LineItemId",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "lineItem/LineItemDescription",
    "product/ProductName",
    "product/instanceType",
    "product/gpu",
    "product/region",
    "product/productFamily",
    "product/volumeApiName",
    "pricing/unit",
    "pricing/publicOnDemandCost",
    "reservation/ReservationARN",
    "reservation/EffectiveCost",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "resourceTags/user:role",
    "resourceTags/user:cluster",
    "resourceTags/user:hdfs_replication",
)


def cur_row(
    start: datetime,
    resource_id: str,
    usage_type: str,
    amount: str,
    unit: str,
    cost: str,
    instance_type: str = "",
    gpu: str = "",
    family: str = "Compute Instance",
    tags: dict | None = None,
    operation: str = "RunInstances",
    hours: int = 1,
) -> dict[str, str]:
    tags = tags or {}
    return {
        "identity/LineItemId": f"{resource_id}-{usage_type}-{start:%Y%m%d%H}",
        "bill/PayerAccountId": "111122223333",
        "bill/BillingPeriodStartDate": "2026-11-01T00:00:00Z",
        "bill/BillingPeriodEndDate": "2026-12-01T00:00:00Z",
        "lineItem/UsageAccountId": "444455556666",
        "lineItem/LineItemType": "Usage",
        "lineItem/UsageStartDate": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "lineItem/UsageEndDate": f"{start + timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ}",
        "lineItem/ProductCode": "AmazonEC2",
        "lineItem/UsageType": usage_type,
        "lineItem/Operation": operation,
        "lineItem/AvailabilityZone": "us-east-1a",
        "lineItem/ResourceId": resource_id,
        "lineItem/UsageAmount": amount,
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedCost": cost,
        "lineItem/LineItemDescription": usage_type,
        "product/ProductName": "Amazon Elastic Compute Cloud",
        "product/instanceType": instance_type,
        "product/gpu": gpu,
        "product/region": "us-east-1",
        "product/productFamily": family,
        "pricing/unit": unit,
        "pricing/publicOnDemandCost": cost,
        "resourceTags/user:role": tags.get("role", ""),
        "resourceTags/user:cluster": tags.get("cluster", ""),
        "resourceTags/user:hdfs_replication": tags.get("hdfs_replication", ""),
    }


def write_cur(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, CUR_HEADER, rows)


# --- usage logs ----------------------------------------------------------------------------------

NVIDIA_SMI_HEADER = (
    "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
)


def write_nvidia_smi(
    path: Path, start: datetime, utils: list[float], gpus: int = 8, model: str = "NVIDIA A100-SXM4-40GB"
) -> Path:
    """One sample per GPU per hour, hour i at ``utils[i]`` % (``nvidia-smi --query-gpu ... --format=csv``)."""
    lines = [NVIDIA_SMI_HEADER]
    for h, util in enumerate(utils):
        ts = start + timedelta(hours=h)
        for g in range(gpus):
            lines.append(
                f"{ts:%Y/%m/%d %H:%M:%S}.000, {g}, GPU-{g:04d}, {model}, {util:g} %, 1024 MiB, 40960 MiB, 60.00 W"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


SACCT_HEADER = "JobID|Account|User|Partition|Start|End|State|NNodes|AllocTRES|NodeList|JobName"


def write_sacct(path: Path, jobs: list[tuple]) -> Path:
    """``sacct --parsable2`` with a header: (job_id, account, user, partition, start, end, gpus, nodelist, name)."""
    lines = [SACCT_HEADER]
    for job_id, account, user, partition, start, end, gpus, nodelist, name in jobs:
        lines.append(
            f"{job_id}|{account}|{user}|{partition}|{start:%Y-%m-%dT%H:%M:%S}|{end:%Y-%m-%dT%H:%M:%S}|"
            f"COMPLETED|1|cpu=96,mem=680G,node=1,billing=96,gres/gpu={gpus}|{nodelist}|{name}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path
