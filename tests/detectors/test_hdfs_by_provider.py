"""hdfs_to_object on each provider's own bill: AWS CUR, GCP billing export, Azure cost details.

Two data nodes labelled role=hdfs-datanode, cluster=lake, hdfs_replication=2, each with a data
volume carrying the same labels, for the whole report week; the figure is worked out by hand:

    monthly_savings = week_cost / 168 x 730 - (GB-months x 730 / 168) / 2 x object price
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flows.ingest import ingest_files
from flows.recommend import read_inputs
from tests.detectors.bills import (
    azure_disk_id,
    azure_row,
    azure_vm_id,
    cur_row,
    gcp_row,
    write_azure,
    write_cur,
    write_gcp,
)
from tests.detectors.helpers import WEEK, config, prices
from transforms.detectors import hdfs_to_object

T0 = datetime(WEEK.year, WEEK.month, WEEK.day, tzinfo=timezone.utc)
C = Decimal("0.01")
LABELS = {"role": "hdfs-datanode", "cluster": "lake", "hdfs_replication": "2"}
PRICES = prices(
    ("aws", "us-east-1", "STANDARD", "storage_gb_month", "0.023"),
    ("gcp", "us-central1", "STANDARD", "storage_gb_month", "0.02"),
    ("azure", "westeurope", "Hot", "storage_gb_month", "0.018032"),
)


def _detect(warehouse, paths, cfg=None):
    for r in ingest_files(warehouse, paths):
        assert r.error is None and r.rows_rejected == 0, (r.path, r.error)
    cfg = cfg or config()
    frames = read_inputs(warehouse, WEEK, cfg)
    frames["prices"] = PRICES
    return hdfs_to_object.detect(frames, cfg)


def _expected(week_cost: Decimal, gb_months: Decimal, price: str) -> Decimal:
    block_gb = gb_months * 730 / 168
    return (week_cost / 168 * 730 - block_gb / 2 * Decimal(price)).quantize(C)


def test_gcp_hdfs_nodes_with_labelled_persistent_disks(warehouse, tmp_path):
    # n2-standard-8 data nodes: 8 vCPU (seconds) and 32 GiB RAM (byte-seconds) an hour; a 2,048 GiB
    # pd-standard each, consumed in byte-seconds and priced in gibibyte months (2,048 / 730 an hour).
    rows = []
    for node in ("hdfs-dn-1", "hdfs-dn-2"):
        vm = f"//compute.googleapis.com/projects/p/zones/us-central1-a/instances/{len(node)}{node[-1]}"
        disk = f"//compute.googleapis.com/projects/p/zones/us-central1-a/disks/{node}-data"
        for h in range(168):
            start = T0 + timedelta(hours=h)
            rows += [
                gcp_row(
                    start,
                    "N2 Instance Core running in Americas",
                    "0.252888",
                    str(8 * 3600),
                    "seconds",
                    "8",
                    "hour",
                    node,
                    vm,
                    machine_type="n2-standard-8",
                    labels=LABELS,
                ),
                gcp_row(
                    start,
                    "N2 Instance Ram running in Americas",
                    "0.135584",
                    str(32 * 2**30 * 3600),
                    "byte-seconds",
                    "32",
                    "gibibyte hour",
                    node,
                    vm,
                    machine_type="n2-standard-8",
                    labels=LABELS,
                ),
                gcp_row(
                    start,
                    "Storage PD Capacity",
                    "0.1122191781",
                    str(2048 * 2**30 * 3600),
                    "byte-seconds",
                    "2.8054794521",
                    "gibibyte month",
                    f"{node}-data",
                    disk,
                    labels=LABELS,
                ),
            ]
    out = _detect(warehouse, [write_gcp(tmp_path / "gcp_billing_export.csv", rows)])

    assert out["resource_id"].to_list() == ["hdfs:lake"]
    week_cost = 2 * 168 * (Decimal("0.252888") + Decimal("0.135584") + Decimal("0.1122191781"))
    gb_months = 2 * 168 * Decimal("2.8054794521")  # 2 x 2,048 GiB for a week
    assert out["monthly_savings"][0] == _expected(week_cost, gb_months, "0.02") == Decimal("690.05")
    assert '"replication": 2.0' in out["evidence"][0]


def test_aws_cur_hdfs_nodes_with_tagged_ebs_volumes(warehouse, tmp_path):
    # daily CUR lines: d3.2xlarge data nodes at 24 h a day, a 4,000 GB gp3 volume each (GB-Mo a day = 4,000 x 24 / 730)
    rows = []
    for node in ("i-0dn1", "i-0dn2"):
        for d in range(7):
            day = T0 + timedelta(days=d)
            rows.append(
                cur_row(
                    day,
                    node,
                    "BoxUsage:d3.2xlarge",
                    "24",
                    "Hrs",
                    "23.976",
                    instance_type="d3.2xlarge",
                    tags=LABELS,
                    hours=24,
                )
            )
            rows.append(
                cur_row(
                    day,
                    f"vol-{node[2:]}",
                    "EBS:VolumeUsage.gp3",
                    "131.5068493151",
                    "GB-Mo",
                    "10.5205479452",
                    family="Storage",
                    operation="CreateVolume-Gp3",
                    tags=LABELS,
                    hours=24,
                )
            )
    out = _detect(warehouse, [write_cur(tmp_path / "cur-00001.csv", rows)])

    assert out["resource_id"].to_list() == ["hdfs:lake"]
    week_cost = 2 * 7 * (Decimal("23.976") + Decimal("10.5205479452"))
    gb_months = 2 * 7 * Decimal("131.5068493151")
    assert out["monthly_savings"][0] == _expected(week_cost, gb_months, "0.023") == Decimal("2006.54")


def test_azure_hdfs_vms_with_tagged_managed_disks_in_eur(warehouse, tmp_path):
    # Standard_D8s_v5 VMs billed daily (24 h), a P30 (1,024 GiB) data disk each billed per disk in 1/Month
    # (a day = 1/30 month); EUR at 1.08 USD.
    tags = '"role": "hdfs-datanode","cluster": "lake","hdfs_replication": "2"'
    rows = []
    for node in ("hdfs-vm-1", "hdfs-vm-2"):
        for d in range(7):
            day = T0 + timedelta(days=d)
            rows.append(
                azure_row(
                    day,
                    azure_vm_id(node),
                    "Virtual Machines",
                    "Dsv5 Series",
                    "D8s v5",
                    "24",
                    "8.28",
                    "1 Hour",
                    tags=tags,
                )
            )
            rows.append(
                azure_row(
                    day,
                    azure_disk_id(f"{node}-data"),
                    "Storage",
                    "Premium SSD Managed Disks",
                    "P30 LRS Disk",
                    "0.0333333333",
                    "4.0960000000",
                    "1/Month",
                    tags=tags,
                    service="Microsoft.Compute",
                    service_family="Storage",
                )
            )
    cfg = config(fx={"EUR": Decimal("1.08")})
    out = _detect(warehouse, [write_azure(tmp_path / "azure_cost_details.csv", rows)], cfg)

    assert out["resource_id"].to_list() == ["hdfs:lake"]
    week_cost = 2 * 7 * (Decimal("8.28") + Decimal("4.096")) * Decimal("1.08")
    gb_months = 2 * 7 * 1024 * Decimal("0.0333333333")
    assert out["monthly_savings"][0] == _expected(week_cost, gb_months, "0.018032") == Decimal("794.38")
