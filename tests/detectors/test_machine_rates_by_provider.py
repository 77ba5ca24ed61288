"""A GPU machine's hourly rate from the bill as each provider splits it: ingest, recommend_machines.sql, machine_rates.

The rate is the machine's effective cost over its billed machine-hours: every line of the machine
is added (GCP bills vCPU, RAM and GPU as three SKUs; Azure adds software licences on the VM's own
resource id), and the hours are counted once (a machine-hour is not 96 vCPU-hours plus 8 GPU-hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from flows.ingest import ingest_files
from flows.recommend import read_inputs
from tests.detectors.bills import (
    A2_CORE_COST,
    A2_GPU_COST,
    A2_RAM_COST,
    azure_disk_id,
    azure_row,
    azure_vm_id,
    cur_row,
    focus_row,
    gcp_a2_hour,
    gcp_boot_disk_hour,
    gcp_instance_id,
    write_azure,
    write_cur,
    write_focus,
    write_gcp,
)
from tests.detectors.helpers import WEEK, config, prices
from transforms.detectors.common import machine_rates

T0 = datetime(WEEK.year, WEEK.month, WEEK.day, tzinfo=timezone.utc)


def _rates(warehouse, paths, cfg=None):
    results = ingest_files(warehouse, paths)
    for r in results:
        assert r.error is None and r.rows_rejected == 0, (r.path, r.error)
    cfg = cfg or config()
    machines = read_inputs(warehouse, WEEK, cfg)["machines"]
    return machines, machine_rates(machines, prices(), cfg)


def test_gcp_a2_machine_is_core_plus_ram_plus_gpu_over_machine_hours(warehouse, tmp_path):
    # 3 hours of an a2-highgpu-8g, each billed as 3 SKUs (vCPU seconds, RAM byte-seconds, GPU seconds),
    # a 10 % sustained-use credit on the GPU line; its boot disk (same name, own id) is another resource.
    credit = "-2.3471264"
    rows = [line for h in range(3) for line in gcp_a2_hour(T0 + timedelta(hours=h), "gpu-node-1", gpu_credit=credit)]
    rows += [gcp_boot_disk_hour(T0 + timedelta(hours=h), "gpu-node-1") for h in range(3)]
    machines, rates = _rates(warehouse, [write_gcp(tmp_path / "gcp_billing_export.csv", rows)])

    vm = gcp_instance_id("gpu-node-1")
    per_hour = Decimal(A2_CORE_COST) + Decimal(A2_RAM_COST) + Decimal(A2_GPU_COST) + Decimal(credit)
    assert per_hour == Decimal("27.0399536")
    assert rates[vm]["rate"] == per_hour * 3 / 3 == Decimal("27.0399536")
    assert rates[vm]["rate_source"] == "bill"
    row = machines.filter(machines["resource_id"] == vm).row(0, named=True)
    assert row["hours"] == 3 and row["instance_type"] == "a2-highgpu-8g" and row["gpu_count"] == 8


def test_aws_cur_machine_with_a_partial_hour_and_a_transfer_line(warehouse, tmp_path):
    # p4d.24xlarge: two full hours and half an hour (per-second billing); the instance's data transfer
    # line (GB) is network spend, not the machine's hourly rate; its EBS volume is its own resource.
    rows = [
        cur_row(
            T0 + timedelta(hours=h),
            "i-0a1b2c3d4e5f",
            "BoxUsage:p4d.24xlarge",
            amount,
            "Hrs",
            cost,
            instance_type="p4d.24xlarge",
            gpu="8",
        )
        for h, amount, cost in ((0, "1", "21.957642"), (1, "1", "21.957642"), (2, "0.5", "10.978821"))
    ]
    rows.append(
        cur_row(
            T0,
            "i-0a1b2c3d4e5f",
            "USE1-DataTransfer-Out-Bytes",
            "100",
            "GB",
            "9.00",
            family="Data Transfer",
            operation="",
        )
    )
    rows.append(
        cur_row(
            T0,
            "vol-0123",
            "EBS:VolumeUsage.gp3",
            "1.369863",
            "GB-Mo",
            "0.109589",
            family="Storage",
            operation="CreateVolume-Gp3",
        )
    )
    _, rates = _rates(warehouse, [write_cur(tmp_path / "cur-00001.csv", rows)])

    assert rates["i-0a1b2c3d4e5f"]["rate"] == Decimal("54.894105") / Decimal("2.5") == Decimal("21.957642")


def test_aws_focus_machine_with_a_partial_hour(warehouse, tmp_path):
    desc = "$21.957642 per On Demand Linux p4d.24xlarge Instance Hour"
    rows = [
        focus_row(T0 + timedelta(hours=h), "i-0f0c05", desc, q, "Hours", c)
        for h, q, c in ((0, "1", "21.957642"), (1, "1", "21.957642"), (2, "0.25", "5.4894105"))
    ]
    rows.append(
        focus_row(
            T0,
            "i-0f0c05",
            "$0.09 per GB - first 10 TB / month data transfer out",
            "10",
            "GB",
            "0.90",
            category="Networking",
            resource_type="NULL",
        )
    )
    _, rates = _rates(warehouse, [write_focus(tmp_path / "focus.csv", rows)])

    assert rates["i-0f0c05"]["rate"] == Decimal("49.4046945") / Decimal("2.25") == Decimal("21.957642")


def test_azure_vm_with_a_licence_meter_billed_daily_in_eur(warehouse, tmp_path):
    # NC24ads A100 v4 billed per day: 24 h then 10 h, each day also a RHEL licence meter on the VM's own
    # ARM id (the same hours again); its OS disk is its own resource.
    vm = azure_vm_id("gpu-az-1")
    info = '{"UsageType":"ComputeHR","ServiceType":"Standard_NC24ads_A100_v4","VCPUs":24}'
    rows = []
    for day, hours, compute, licence in ((T0, "24", "88.08", "2.40"), (T0 + timedelta(days=1), "10", "36.70", "1.00")):
        vm_row = azure_row(
            day, vm, "Virtual Machines", "NCadsA100v4 Series", "NC24ads A100 v4", hours, compute, "1 Hour"
        )
        vm_row["AdditionalInfo"] = info
        rows += [
            vm_row,
            azure_row(
                day,
                vm,
                "Virtual Machines Licenses",
                "Red Hat Enterprise Linux",
                "9+ vCPU VM License",
                hours,
                licence,
                "1 Hour",
            ),
        ]
        rows.append(
            azure_row(
                day,
                azure_disk_id("gpu-az-1_OsDisk_1"),
                "Storage",
                "Premium SSD Managed Disks",
                "P10 LRS Disk",
                "0.033333",
                "0.65",
                "1/Month",
                service="Microsoft.Compute",
            )
        )
    cfg = config(fx={"EUR": Decimal("1.08")})
    _, rates = _rates(warehouse, [write_azure(tmp_path / "azure_cost_details.csv", rows)], cfg)

    eur_rate = (Decimal("88.08") + Decimal("2.40") + Decimal("36.70") + Decimal("1.00")) / 34
    assert eur_rate == Decimal("3.77")
    assert rates[vm]["rate"] == pytest.approx(eur_rate * Decimal("1.08"), abs=Decimal("1e-12"))
    assert rates[vm]["rate"].quantize(Decimal("0.000001")) == Decimal("4.071600")
