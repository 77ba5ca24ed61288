"""Self-managed HDFS clusters: move the data to object storage.

HDFS resources are billing rows whose tag ``role_tag`` (default ``role``) matches ``role_pattern``
(default ``^hdfs``, e.g. role=hdfs-datanode); tag ``cluster_tag`` groups them into clusters. The
cluster's cost is everything billed to those resources this week (instances and block volumes).
Tag keys (AWS tags, GCP labels, Azure tags) are compared without the prefixes exports add
(``user:``, ``user_``). The replication factor is the first of ``replication_tags`` present
(default 3 when none is). Block volume size is the volumes' GB-months this week, as each bill
shows it (``gb_months``):

- AWS (CUR, FOCUS): the usage in ``GB-Mo`` / ``GB-Months``;
- GCP: persistent disks are consumed in byte-seconds and priced in ``gibibyte month``: the priced
  quantity (GiB-months; GCP prices object storage per GiB too);
- Azure: managed disks are billed per disk in ``1/Month`` (the share of a month each day): the
  disk tier in the meter name (``P30 LRS Disk`` = 1,024 GiB) x that share; ``GB/Month`` units as is.

    hdfs_monthly   = week_cost / 168 h x 730 h
    block_gb       = GB-months this week x 730 / 168        (the average provisioned GB)
    logical_gb     = block_gb / replication
    object_monthly = logical_gb x object_price               (``object_class``, config/prices.csv)
    monthly_savings = hdfs_monthly - object_monthly

Confidence: medium (jobs reading the data need compute elsewhere; request charges are not priced).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from transforms.config import DetectorConfig
from transforms.detectors.common import (
    HOURS_PER_WEEK,
    frame,
    hours_per_month,
    lookup_price,
    money,
    num,
    per_month,
    per_month_text,
    recommendation,
    to_frame,
    to_reporting,
)
from transforms.tags import parse_tags

KIND = "hdfs_to_object"
STRATEGY = "object storage versus HDFS"
INPUTS = ("tagged_costs", "prices")
GB_MONTH = re.compile(r"(?i)^(1\s*)?(gb|gib|gibibyte)\s*[-/ ]?\s*(mo|month)")
# Azure managed disk tiers (Premium SSD P, Standard SSD E, Standard HDD S): size in GiB.
AZURE_DISK_GIB = {
    1: 4,
    2: 8,
    3: 16,
    4: 32,
    6: 64,
    10: 128,
    15: 256,
    20: 512,
    30: 1024,
    40: 2048,
    50: 4096,
    60: 8192,
    70: 16384,
    80: 32767,
}
AZURE_DISK_METER = re.compile(r"(?i)^([PES])(\d+)\s+(LRS|ZRS)\s+Disks?\b")
PER_MONTH = re.compile(r"(?i)^1\s*/\s*month$")


def gb_months(row: Mapping) -> Decimal:
    """GB-months of block storage one tagged_costs row bills (0 when it is not block storage)."""
    for unit, quantity in (
        (row.get("consumed_unit"), row.get("consumed_quantity")),
        (row.get("pricing_unit"), row.get("pricing_quantity")),
    ):
        if unit and quantity is not None and GB_MONTH.match(unit.strip()):
            return Decimal(quantity)
    tier = AZURE_DISK_METER.match(str(row.get("x_usage_type") or "").strip())
    unit, quantity = row.get("consumed_unit"), row.get("consumed_quantity")
    if tier and unit and quantity is not None and PER_MONTH.match(unit.strip()):
        size = AZURE_DISK_GIB.get(int(tier.group(2)))
        if size is not None:
            return Decimal(size) * Decimal(quantity)
    return Decimal(0)


def detect(frames: Mapping[str, pl.DataFrame], config: DetectorConfig) -> pl.DataFrame:
    """HDFS clusters whose data would cost less in object storage."""
    cfg = config.hdfs_to_object
    role_tag = cfg.role_tag
    role = re.compile(cfg.role_pattern)
    cluster_tag = cfg.cluster_tag
    replication_tags = cfg.replication_tags
    default_rf = cfg.default_replication
    object_class = cfg.object_class
    tagged = frame(frames, "tagged_costs")
    if tagged is None:
        return to_frame([])
    clusters: dict[tuple, dict] = {}
    for r in tagged.filter(pl.col("tags").str.contains(role_tag, literal=True)).iter_rows(named=True):
        tags = parse_tags(r["tags"])
        if not role.search(str(tags.get(role_tag, ""))):
            continue
        key = (r["provider"], str(tags.get(cluster_tag, "hdfs")))
        c = clusters.setdefault(
            key,
            {
                "cost": Decimal(0),
                "gb_months": Decimal(0),
                "rf": None,
                "region": r["region_id"],
                "resources": set(),
                "unconverted": 0,
                "by_resource": {},
            },
        )
        cost = to_reporting(r["effective_cost"], r["billing_currency"], config)
        if cost is None:
            c["unconverted"] += 1
            continue
        c["cost"] += cost
        c["resources"].add(r["resource_id"])
        resource = r["resource_id"] or f"hdfs:{key[1]}"
        c["by_resource"][resource] = c["by_resource"].get(resource, Decimal(0)) + cost
        c["gb_months"] += gb_months(r)
        for name in replication_tags:
            if name in tags:
                try:
                    c["rf"] = Decimal(tags[name])
                except ArithmeticError:
                    pass
                break
    month = hours_per_month(config)
    cur = config.reporting_currency
    rows = []
    for (provider, cluster), c in sorted(clusters.items()):
        price = lookup_price(
            frames.get("prices"), provider, c["region"], object_class.get(provider), "storage_gb_month", config
        )
        if price is None or c["gb_months"] <= 0:
            continue
        rf = c["rf"] if c["rf"] and c["rf"] > 0 else default_rf
        hdfs_monthly = per_month(c["cost"], config)
        block_gb = c["gb_months"] * month / HOURS_PER_WEEK
        logical_gb = block_gb / rf
        object_monthly = logical_gb * price.value
        savings = hdfs_monthly - object_monthly
        rows.append(
            recommendation(
                kind=KIND,
                strategy=STRATEGY,
                resource_id=f"hdfs:{cluster}",
                monthly_savings=savings,
                config=config,
                formula=(
                    f"{num(money(c['cost']))} {cur}/week {per_month_text(config)} - "
                    f"{num(block_gb.quantize(Decimal('0.01')))} GB / {num(rf)} x {num(price.value)} {cur}/GB-month"
                    f" = {num(money(savings))}"
                ),
                evidence={
                    "cluster": cluster,
                    "resources": sorted(c["resources"]),
                    "week_cost": money(c["cost"]),
                    "hdfs_monthly": money(hdfs_monthly),
                    "block_gb": block_gb.quantize(Decimal("0.01")),
                    "replication": float(rf),
                    "logical_gb": logical_gb.quantize(Decimal("0.01")),
                    "object_monthly": money(object_monthly),
                    **price.evidence("object_price"),
                },
                evidence_text=(
                    f"HDFS cluster {cluster}: {len(c['resources'])} resources, {num(money(hdfs_monthly))} {cur}/month for "
                    f"{num(logical_gb.quantize(Decimal('1')))} GB of data (replication {num(rf)})"
                ),
                confidence="medium",
                confidence_reason="jobs reading the data still need compute; object request charges are not priced",
                action=f"Move HDFS cluster {cluster}'s data to {object_class.get(provider)} object storage and retire the data nodes.",
                cost_basis={k: per_month(v, config) for k, v in c["by_resource"].items()},
                overlap_group=f"hdfs:{cluster}",
            )
        )
    return to_frame(rows, config)
