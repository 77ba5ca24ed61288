"""The commitments detector on each provider's bill, through ingest: a machine on demand for the whole
4-week lookback, billed as its provider bills it (AWS CUR and FOCUS by the hour, GCP by the hour in one
line per SKU, Azure by the day), must be priced as one steady baseline of its whole hourly cost."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.config import load_prices
from flows.ingest import ingest_files
from flows.recommend import recommend_week
from flows.settings import Settings
from tests.detectors.bills import (
    A2_CORE_COST,
    A2_GPU_COST,
    A2_RAM_COST,
    azure_row,
    azure_vm_id,
    cur_row,
    focus_row,
    gcp_a2_hour,
    gcp_instance_id,
    write_azure,
    write_cur,
    write_focus,
    write_gcp,
)
from tests.detectors.helpers import T0, WEEK

START = T0 - timedelta(weeks=3)  # the 4-week lookback ending with the report week
HOURS = 4 * 168


C = Decimal("0.01")
PRICES = Path(__file__).resolve().parents[2] / "config" / "prices.csv"
# the machine each bill names, where the price list prices it
PRICED = {
    "aws": ("us-east-1", "g5.xlarge"),
    "focus": ("us-east-1", "g5.xlarge"),
    "gcp": ("us-central1", "a2-highgpu-8g"),
    "azure": ("westeurope", "Standard_NC24ads_A100_v4"),
}


def _price(provider: str, price_type: str) -> Decimal:
    region, item = PRICED[provider]
    found = load_prices(PRICES).filter(
        (pl.col("provider") == ("aws" if provider == "focus" else provider))
        & (pl.col("region") == region)
        & (pl.col("item") == item)
        & (pl.col("price_type") == price_type)
    )
    assert found.height == 1, (provider, price_type)
    return found["value"][0]


def _bill(provider: str, tmp_path):
    if provider == "aws":
        rows = [
            cur_row(START + timedelta(hours=h), "i-0abc", "BoxUsage:g5.xlarge", "1", "Hrs", "1.006", "g5.xlarge", "1")
            for h in range(HOURS)
        ]
        return write_cur(tmp_path / "cur.csv", rows), "i-0abc", Decimal("1.006")
    if provider == "focus":
        rows = [
            focus_row(
                START + timedelta(hours=h),
                "i-0def",
                "$1.006 per On Demand Linux g5.xlarge Instance Hour",
                "1",
                "Hours",
                "1.006",
            )
            for h in range(HOURS)
        ]
        return write_focus(tmp_path / "focus.csv", rows), "i-0def", Decimal("1.006")
    if provider == "gcp":
        rows = [line for h in range(HOURS) for line in gcp_a2_hour(START + timedelta(hours=h), "gpu-train-1")]
        hourly = Decimal(A2_CORE_COST) + Decimal(A2_RAM_COST) + Decimal(A2_GPU_COST)
        return write_gcp(tmp_path / "gcp_billing_export.csv", rows), gcp_instance_id("gpu-train-1"), hourly
    vm = azure_vm_id("nc24-1")
    rows = [
        azure_row(
            START + timedelta(days=d),
            vm,
            "Virtual Machines",
            "NCads A100 v4 Series",
            "NC24ads A100 v4",
            "24",
            "88.32",
            "1 Hour",
            currency="USD",
        )
        for d in range(HOURS // 24)
    ]
    return write_azure(tmp_path / "azure.csv", rows), vm, Decimal("88.32") / 24


@pytest.mark.parametrize("provider", ["aws", "focus", "gcp", "azure"])
def test_a_steady_on_demand_machine_is_one_baseline_of_its_whole_hourly_cost(provider, warehouse, tmp_path):
    path, resource, hourly = _bill(provider, tmp_path)
    for r in ingest_files(warehouse, [path]):
        assert r.error is None and r.rows_rejected == 0, (r.path, r.error)
    recs = recommend_week(warehouse, WEEK, Settings(db=tmp_path / "unused.duckdb"))
    found = recs.filter(pl.col("kind") == "commitments")
    assert found.height == 1
    evidence = json.loads(found["evidence"][0])
    # every hour of the lookback at the machine's whole hourly cost (GCP: its 3 SKU lines; Azure: a day / 24)
    assert Decimal(str(evidence["on_demand_spend"])) == (hourly * HOURS).quantize(C)
    assert evidence["hours_at_or_above_level"] == HOURS
    assert json.loads(found["cost_basis"][0]) == {resource: str((hourly * 730).quantize(C))}
    # a commitment at the steady level saves d x level every hour, d = 1 - commit / on-demand price
    d = Decimal(1) - _price(provider, "commit_1yr_hour") / _price(provider, "ondemand_hour")
    assert found["monthly_savings"][0] == (hourly * d * 730).quantize(C)
