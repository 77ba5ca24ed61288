"""Northwind AI's AWS bill: line items in CUR terms, written as CUR 2.0 Parquet and as legacy CUR CSV.

Line items are built once, in the generator's own fields (``sample_data.aws_columns``), with money
as micro-units; the writers lay them out in each format's column names as AWS documents them. Effective
(amortised) cost follows AWS's definition, so billed and effective totals are known exactly:

=========================  ==========================  ==============================================
line item type             unblended (billed)          effective
=========================  ==========================  ==============================================
Usage (on-demand, spot)    rate x hours                the same
DiscountedUsage            0                           reservation effective cost (RI rate x hours)
RIFee                      RI rate x units x hours     unused recurring fee
SavingsPlanCoveredUsage    on-demand cost              Savings Plan effective cost (SP rate x hours)
SavingsPlanNegation        minus the on-demand cost    0
SavingsPlanRecurringFee    commitment x hours          commitment minus used commitment
Tax, Credit                the amount                  the same
=========================  ==========================  ==============================================

Monthly items (RIFee, Savings Plan fee, tax, credit) cover the part of each month inside the
window, so that the window's months add up on their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from sample_data import company as co
from sample_data.aws_columns import (
    CUR2_COLUMNS,
    CUR2_PRODUCT_KEYS,
    CUR2_SCHEMA,
    CUR2_TAG_PREFIX,
    LEGACY_BILL_TYPE,
    LEGACY_HEADERS,
    LEGACY_IDENTITY,
    LEGACY_TAG_PREFIX,
)
from sample_data.frames import frame, hour_times, hours_in_month, month_segments
from sample_data.money import double_expr, micro, text_expr
from sample_data.storage import BUCKETS, GIB, gzip_bytes
from sample_data.workloads import Schedule, Window, rng_for

REGION_NAME = {"us-east-1": "US East (N. Virginia)", "us-west-2": "US West (Oregon)"}
REGION_PREFIX = {"us-east-1": "USE1", "us-west-2": "USW2"}
MONEY_FIELDS = (
    "unblended_cost",
    "public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_upfront",
    "reservation_unused_recurring",
    "savings_plan_effective_cost",
    "savings_plan_total_commitment",
    "savings_plan_used_commitment",
    "effective_cost",
)
TAG_KEYS = ("team", "project", "model", "role", "hdfs_replication", "purpose")
PRODUCT_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonSageMaker": "Amazon SageMaker",
    "AmazonBedrock": "Amazon Bedrock",
    "ComputeSavingsPlans": "Savings Plans for AWS Compute usage",
    "AWSGlue": "AWS Glue",
    "ElasticMapReduce": "Amazon Elastic MapReduce",
}


def _on_demand(cost, rate: float) -> dict:
    """The cost columns of a line billed at the public on-demand rate: the same cost unblended, effective
    and public, the rate written with six decimals."""
    return {
        "unblended_cost": cost,
        "effective_cost": cost,
        "public_on_demand_cost": cost,
        "unblended_rate": f"{rate:.6f}",
        "public_on_demand_rate": f"{rate:.6f}",
    }


def _tags(d: dict) -> dict:
    return {f"tag_{k}": d.get(k) for k in TAG_KEYS}


def _ec2_rows(m: co.Machine, sched: Schedule, window: Window) -> list[pl.DataFrame]:
    hours = np.flatnonzero(sched.on[m.name])
    n = len(hours)
    start, end = hour_times(window, hours)
    od = micro(m.hourly)
    common = dict(
        usage_account_id=co.AWS_ACCOUNTS[m.team],
        usage_start=start,
        usage_end=end,
        product_code="AmazonEC2",
        availability_zone=m.zone,
        resource_id=m.resource_id,
        usage_amount=1.0,
        currency="USD",
        region=REGION_NAME[m.region],
        region_code=m.region,
        instance_type=m.instance_type,
        gpu=str(m.gpus) if m.gpus else None,
        product_family="Compute Instance",
        servicecode="AmazonEC2",
        pricing_unit="Hrs",
        public_on_demand_rate=f"{m.hourly:.6f}",
        public_on_demand_cost=od,
        **_tags(m.all_tags()),
    )
    if m.pricing == "spot":
        spot = micro(m.hourly)
        od_rate = {"g5.2xlarge": 1.212}[m.instance_type]
        return [
            frame(
                n,
                **{**common, "public_on_demand_rate": f"{od_rate:.6f}", "public_on_demand_cost": micro(od_rate)},
                line_item_type="Usage",
                usage_type=f"SpotUsage:{m.instance_type}",
                operation="RunInstances:SV001",
                unblended_rate=f"{m.hourly:.6f}",
                unblended_cost=spot,
                effective_cost=spot,
                term="Spot",
                description=f"${m.hourly:.6f} per Spot Linux {m.instance_type} Instance Hour (generated)",
            )
        ]
    usage_type = f"BoxUsage:{m.instance_type}"
    if m.pricing == "reserved":
        ri = micro(co.RI_RATE)
        return [
            frame(
                n,
                **common,
                line_item_type="DiscountedUsage",
                usage_type=usage_type,
                operation="RunInstances",
                unblended_rate="0.000000",
                unblended_cost=0,
                reservation_arn=co.RI_ARN,
                reservation_effective_cost=ri,
                effective_cost=ri,
                term="Reserved",
                description=f"USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), {m.instance_type} instance",
            )
        ]
    if m.pricing == "savings_plan":
        sp = micro(co.SP_RATE[m.instance_type])
        covered = frame(
            n,
            **common,
            line_item_type="SavingsPlanCoveredUsage",
            usage_type=usage_type,
            operation="RunInstances",
            unblended_rate=f"{m.hourly:.6f}",
            unblended_cost=od,
            savings_plan_arn=co.SP_ARN,
            savings_plan_effective_cost=sp,
            effective_cost=sp,
            term="OnDemand",
            description=f"${m.hourly:.6f} per On Demand Linux {m.instance_type} Instance Hour",
        )
        negation = frame(
            n,
            **common,
            line_item_type="SavingsPlanNegation",
            usage_type=usage_type,
            operation="RunInstances",
            unblended_rate=f"-{m.hourly:.6f}",
            unblended_cost=-od,
            savings_plan_arn=co.SP_ARN,
            effective_cost=0,
            term="OnDemand",
            description=f"SavingsPlanCoveredUsage by {co.SP_ARN}",
        )
        return [covered, negation]
    return [
        frame(
            n,
            **common,
            line_item_type="Usage",
            usage_type=usage_type,
            operation="RunInstances",
            unblended_rate=f"{m.hourly:.6f}",
            unblended_cost=od,
            effective_cost=od,
            term="OnDemand",
            description=f"${m.hourly:.6f} per On Demand Linux {m.instance_type} Instance Hour",
        )
    ]


def _daily_rows(window: Window, daily_gib: np.ndarray | float, price_per_gib_month: float, **cols) -> pl.DataFrame:
    """One row per day: GB-months of the day (prorated by the month's hours) times the monthly price."""
    days = np.arange(window.hours // 24)
    start, end = hour_times(window, days * 24, 24)
    month_hours = np.array([hours_in_month(window.at(d * 24)) for d in days])
    gib = np.broadcast_to(np.asarray(daily_gib, dtype=np.float64), days.shape)
    gb_month = np.round(gib * 24 / month_hours, 6)
    cost = micro(gb_month * price_per_gib_month)
    return frame(
        len(days),
        usage_start=start,
        usage_end=end,
        usage_amount=gb_month,
        **_on_demand(cost=cost, rate=price_per_gib_month),
        line_item_type="Usage",
        currency="USD",
        term="OnDemand",
        pricing_unit="GB-Mo",
        **cols,
    )


def _storage_rows(window: Window, totals: pl.DataFrame) -> list[pl.DataFrame]:
    usage_types = {
        "STANDARD": "TimedStorage-ByteHrs",
        "STANDARD_IA": "TimedStorage-SIA-ByteHrs",
        "GLACIER": "TimedStorage-GlacierByteHrs",
        "INTELLIGENT_TIERING": "TimedStorage-INT-FA-ByteHrs",
    }
    buckets = {b.name: b for b in BUCKETS}
    parts = []
    for row in totals.iter_rows(named=True):
        b, cls = buckets[row["bucket"]], row["storage_class"]
        parts.append(
            _daily_rows(
                window,
                row["bytes"] / GIB,
                co.S3_PRICES[cls],
                usage_account_id=co.AWS_ACCOUNTS[b.team],
                product_code="AmazonS3",
                usage_type=f"{REGION_PREFIX[b.region]}-{usage_types[cls]}",
                operation="StandardStorage",
                resource_id=b.name,
                region=REGION_NAME[b.region],
                region_code=b.region,
                storage_class=cls,
                product_family="Storage",
                servicecode="AmazonS3",
                description=f"${co.S3_PRICES[cls]} per GB-Month of {cls} storage (generated)",
                **_tags({"team": b.team, "project": b.project}),
            )
        )
    return parts


def _ebs_rows(window: Window, sched: Schedule) -> list[pl.DataFrame]:
    """Daily EBS charges of every non-spot AWS machine, from the day it was first launched."""
    parts = []
    for m in (m for m in co.MACHINES if m.provider == "aws" and m.pricing != "spot"):
        launched = window.at(int(np.argmax(sched.on[m.name])) // 24 * 24)
        for i, (vtype, gib) in enumerate(co.ebs_volumes(m)):
            parts.append(
                _daily_rows(
                    window,
                    gib,
                    co.EBS_PRICES[vtype],
                    usage_account_id=co.AWS_ACCOUNTS[m.team],
                    product_code="AmazonEC2",
                    usage_type=f"EBS:VolumeUsage.{vtype}",
                    operation="CreateVolume-Gp3" if vtype == "gp3" else "CreateVolume",
                    resource_id=f"vol-0{co.hex_id(f'{m.name}/vol{i}', 16)}",
                    availability_zone=m.zone,
                    region=REGION_NAME[m.region],
                    region_code=m.region,
                    volume_type="Throughput Optimized HDD" if vtype == "st1" else "General Purpose",
                    volume_api_name=vtype,
                    product_family="Storage",
                    servicecode="AmazonEC2",
                    description=f"${co.EBS_PRICES[vtype]} per GB-month of {vtype} provisioned storage",
                    **_tags(m.all_tags()),
                ).filter(pl.col("usage_start") >= launched)
            )
    return parts


def _sagemaker_rows(sched: Schedule, window: Window) -> list[pl.DataFrame]:
    H = window.hours
    start, end = hour_times(window, np.arange(H))
    n_inst = co.SAGEMAKER_ENDPOINT_INSTANCES
    cost = micro(co.SAGEMAKER_HOST_RATE * n_inst)
    tags = _tags({"team": "research", "project": "speech-asr", "model": "asr-large"})
    common = dict(
        usage_account_id=co.AWS_ACCOUNTS["research"],
        product_code="AmazonSageMaker",
        currency="USD",
        region=REGION_NAME["us-east-1"],
        region_code="us-east-1",
        servicecode="AmazonSageMaker",
        line_item_type="Usage",
        term="OnDemand",
        pricing_unit="Hrs",
        product_family="ML Instance",
        **tags,
    )
    parts = [
        frame(
            H,
            **common,
            usage_start=start,
            usage_end=end,
            usage_type=f"USE1-Host:{co.SAGEMAKER_HOST_TYPE}",
            operation="RunInstance",
            resource_id=co.SAGEMAKER_ENDPOINT,
            usage_amount=float(n_inst),
            instance_type=co.SAGEMAKER_HOST_TYPE,
            gpu="1",
            **_on_demand(cost=cost, rate=co.SAGEMAKER_HOST_RATE),
            description=f"${co.SAGEMAKER_HOST_RATE} per Hosting {co.SAGEMAKER_HOST_TYPE} hour",
        )
    ]
    for job in (j for j in sched.jobs if j.resources[0].startswith("arn:aws:sagemaker")):
        hours = np.arange(job.start_h, job.end_h)
        s, e = hour_times(window, hours)
        c = micro(co.SAGEMAKER_TRAIN_RATE)
        parts.append(
            frame(
                len(hours),
                **common,
                usage_start=s,
                usage_end=e,
                usage_type=f"USE1-Train:{co.SAGEMAKER_TRAIN_TYPE}",
                operation="RunInstance",
                resource_id=job.resources[0],
                usage_amount=1.0,
                instance_type=co.SAGEMAKER_TRAIN_TYPE,
                gpu="8",
                **_on_demand(cost=c, rate=co.SAGEMAKER_TRAIN_RATE),
                description=f"${co.SAGEMAKER_TRAIN_RATE} per Training {co.SAGEMAKER_TRAIN_TYPE} hour",
            )
        )
    return parts


def _bedrock_rows(window: Window, seed: int) -> list[pl.DataFrame]:
    rng = rng_for(seed, "bedrock")
    days = np.arange(window.hours // 24)
    start, end = hour_times(window, days * 24, 24)
    growth = window.growth()[days * 24]
    parts = []
    for kind, price, mean in (("input", 0.003, 9000.0), ("output", 0.015, 2200.0)):
        k_tokens = np.round(rng.normal(mean, mean * 0.1, len(days)) * growth, 3)
        cost = micro(k_tokens * price)
        parts.append(
            frame(
                len(days),
                usage_account_id=co.AWS_ACCOUNTS["nlp"],
                usage_start=start,
                usage_end=end,
                product_code="AmazonBedrock",
                usage_type=f"USE1-Claude3.5Sonnet-{kind}-tokens",
                operation="InvokeModelInference",
                usage_amount=k_tokens,
                **_on_demand(cost=cost, rate=price),
                line_item_type="Usage",
                currency="USD",
                region=REGION_NAME["us-east-1"],
                region_code="us-east-1",
                servicecode="AmazonBedrock",
                term="OnDemand",
                pricing_unit="1K tokens",
                product_family="Amazon Bedrock",
                description=f"${price} per 1K {kind} tokens for Claude 3.5 Sonnet (generated)",
                **_tags({"team": "nlp", "project": "llm-chat", "model": "claude-3.5-sonnet"}),
            )
        )
    return parts


def _data_processing_rows(window: Window, seed: int) -> list[pl.DataFrame]:
    """The nightly feature pipelines: an AWS Glue ETL job (DPU-hours) and an EMR cluster's fee (node-hours)."""
    rng = rng_for(seed, "aws-pipelines")
    account, tags = co.AWS_ACCOUNTS["platform"], _tags({"team": "platform", "project": "feature-store"})
    parts = []
    for code, usage_type, operation, resource, qty, rate, (first, length), unit, family, desc in (
        (
            "AWSGlue",
            "USE1-ETL-DPU-Hour",
            "Jobrun",
            f"arn:aws:glue:us-east-1:{account}:job/nightly-feature-etl",
            co.GLUE_DPU,
            co.GLUE_DPU_RATE,
            co.GLUE_HOURS,
            "DPU-Hour",
            "AWS Glue",
            "ETL job run, per DPU-Hour",
        ),
        (
            "ElasticMapReduce",
            f"USE1-BoxUsage:{co.EMR_INSTANCE}",
            "RunInstances",
            f"arn:aws:elasticmapreduce:us-east-1:{account}:cluster/j-{co.hex_id('emr-features', 13).upper()}",
            float(co.EMR_NODES),
            co.EMR_NODE_FEE,
            co.EMR_HOURS,
            "Hrs",
            "Elastic Map Reduce Instance",
            f"Amazon EMR fee per {co.EMR_INSTANCE} node-hour",
        ),
    ):
        days = window.hours // 24
        hours = (np.arange(days)[:, None] * 24 + first + np.arange(length)[None, :]).ravel()
        amount = np.round(np.repeat(qty * rng.uniform(0.8, 1.2, days), length), 3)  # the day's data volume varies
        cost = micro(amount * rate)
        s, e = hour_times(window, hours)
        parts.append(
            frame(
                len(hours),
                usage_account_id=account,
                usage_start=s,
                usage_end=e,
                product_code=code,
                usage_type=usage_type,
                operation=operation,
                resource_id=resource,
                usage_amount=amount,
                **_on_demand(cost=cost, rate=rate),
                line_item_type="Usage",
                currency="USD",
                region=REGION_NAME["us-east-1"],
                region_code="us-east-1",
                servicecode=code,
                term="OnDemand",
                pricing_unit=unit,
                product_family=family,
                description=f"${rate} per {desc} (generated)",
                **tags,
            )
        )
    return parts


def _transfer_rows(window: Window, flows: pl.DataFrame) -> list[pl.DataFrame]:
    """Daily data-transfer charges: the network flows' bytes, priced as internet or inter-region."""
    daily = (
        flows.with_columns(pl.col("interval_start").str.slice(0, 10).alias("day"))
        .group_by("day", "source_resource_id", "source_region", "destination_region")
        .agg(pl.col("bytes").sum())
        .with_columns(
            pl.when(pl.col("destination_region") == "")
            .then(pl.lit("internet"))
            .otherwise(pl.lit("inter"))
            .alias("kind")
        )
        .group_by("day", "source_resource_id", "source_region", "kind")
        .agg(pl.col("bytes").sum())
        .sort("day", "source_resource_id", "kind")
    )
    owners = {m.resource_id: m for m in co.MACHINES}
    parts = []
    day0 = window.start.date()
    for row in daily.iter_rows(named=True):
        d = (np.datetime64(row["day"]) - np.datetime64(day0)).astype(int)
        s, e = hour_times(window, np.array([d * 24]), 24)
        src = row["source_resource_id"]
        gib = round(row["bytes"] / GIB, 6)
        prefix = REGION_PREFIX[row["source_region"]]
        if row["kind"] == "internet":
            price, usage_type, ttype, to = (
                co.EGRESS_INTERNET,
                f"{prefix}-DataTransfer-Out-Bytes",
                "AWS Outbound",
                "External",
            )
        else:
            price, usage_type, ttype, to = (
                co.EGRESS_INTER_REGION,
                f"{prefix}-USE1-AWS-Out-Bytes",
                "InterRegion Outbound",
                REGION_NAME["us-east-1"],
            )
        cost = micro(gib * price)
        m = owners.get(src)
        team, project = (m.team, m.project) if m else ("platform", "llm-chat")
        parts.append(
            frame(
                1,
                usage_account_id=co.AWS_ACCOUNTS[team],
                usage_start=s,
                usage_end=e,
                product_code="AmazonEC2" if m else "AmazonS3",
                usage_type=usage_type,
                operation="RunInstances" if m else "GetObject",
                resource_id=src,
                usage_amount=gib,
                **_on_demand(cost=cost, rate=price),
                line_item_type="Usage",
                currency="USD",
                region=REGION_NAME[row["source_region"]],
                region_code=row["source_region"],
                transfer_type=ttype,
                from_location=REGION_NAME[row["source_region"]],
                to_location=to,
                product_family="Data Transfer",
                servicecode="AWSDataTransfer",
                term="OnDemand",
                pricing_unit="GB",
                description=f"${price} per GB - {ttype} (generated)",
                **_tags({"team": team, "project": project}),
            )
        )
    return parts


def _monthly_rows(window: Window, items: pl.DataFrame) -> list[pl.DataFrame]:
    """RI fee, Savings Plan fee, credit and tax for the part of each month inside the window."""
    parts = []
    for h0, h1, month in month_segments(window):
        s, e = hour_times(window, np.array([h0]), h1 - h0)
        hours = h1 - h0
        seg = items.filter((pl.col("usage_start") >= window.at(h0)) & (pl.col("usage_start") < window.at(h1)))
        common = dict(
            usage_start=s,
            usage_end=e,
            currency="USD",
            region=REGION_NAME["us-east-1"],
            region_code="us-east-1",
            usage_account_id=co.AWS_PAYER,
        )
        ri_fee = micro(co.RI_RATE) * co.RI_COUNT * hours
        ri_used = int(seg.filter(pl.col("line_item_type") == "DiscountedUsage")["reservation_effective_cost"].sum())
        parts.append(
            frame(
                1,
                **common,
                line_item_type="RIFee",
                product_code="AmazonEC2",
                usage_type="HeavyUsage:p4d.24xlarge",
                operation="RunInstances",
                resource_id=co.RI_ARN,
                usage_amount=float(co.RI_COUNT * hours),
                unblended_rate=f"{co.RI_RATE:.6f}",
                unblended_cost=ri_fee,
                reservation_arn=co.RI_ARN,
                reservation_unused_upfront=0,
                reservation_unused_recurring=ri_fee - ri_used,
                effective_cost=ri_fee - ri_used,
                instance_type="p4d.24xlarge",
                term="Reserved",
                pricing_unit="Hrs",
                description=f"USD {co.RI_RATE} hourly fee per Linux/UNIX (Amazon VPC), p4d.24xlarge instance",
            )
        )
        commit = micro(co.SP_COMMITMENT_PER_HOUR) * hours
        sp_used = int(
            seg.filter(pl.col("line_item_type") == "SavingsPlanCoveredUsage")["savings_plan_effective_cost"].sum()
        )
        parts.append(
            frame(
                1,
                **common,
                line_item_type="SavingsPlanRecurringFee",
                product_code="ComputeSavingsPlans",
                usage_type="ComputeSP:1yrNoUpfront",
                operation="",
                resource_id=co.SP_ARN,
                usage_amount=float(hours),
                unblended_rate=f"{co.SP_COMMITMENT_PER_HOUR:.6f}",
                unblended_cost=commit,
                savings_plan_arn=co.SP_ARN,
                savings_plan_total_commitment=commit,
                savings_plan_used_commitment=sp_used,
                effective_cost=commit - sp_used,
                term="",
                description="1 year No Upfront Compute Savings Plan (generated)",
            )
        )
        credit = -micro(co.MONTHLY_CREDIT * hours / hours_in_month(month))
        parts.append(
            frame(
                1,
                **common,
                line_item_type="Credit",
                product_code="AmazonEC2",
                usage_type="",
                operation="",
                usage_amount=0.0,
                unblended_cost=credit,
                effective_cost=credit,
                description="AWS Activate promotional credit (generated)",
            )
        )
        by_product = (
            seg.filter(pl.col("line_item_type") != "SavingsPlanNegation")
            .group_by("product_code")
            .agg(pl.col("unblended_cost").sum())
            .sort("product_code")
        )
        for row in by_product.iter_rows(named=True):
            tax = int(round(row["unblended_cost"] * co.TAX_RATE))
            parts.append(
                frame(
                    1,
                    **common,
                    line_item_type="Tax",
                    product_code=row["product_code"],
                    usage_type="",
                    operation="",
                    usage_amount=0.0,
                    unblended_cost=tax,
                    effective_cost=tax,
                    description=f"Sales tax on {row['product_code']} (generated)",
                )
            )
    return parts


def line_items(sched: Schedule, window: Window, totals: pl.DataFrame, flows: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Every AWS line item of the window, ordered by time, with billing periods and ids."""
    parts = [p for m in co.MACHINES if m.provider == "aws" for p in _ec2_rows(m, sched, window)]
    parts += _ebs_rows(window, sched) + _storage_rows(window, totals) + _sagemaker_rows(sched, window)
    parts += _bedrock_rows(window, seed) + _data_processing_rows(window, seed) + _transfer_rows(window, flows)
    items = pl.concat(parts, how="diagonal_relaxed")
    items = pl.concat([items, *_monthly_rows(window, items)], how="diagonal_relaxed")
    return finish(items)


def finish(items: pl.DataFrame, id_prefix: str = "nwgen") -> pl.DataFrame:
    """Add the fixed bill columns, billing periods, interval text and line item ids."""
    items = items.with_columns(
        pl.col(c).cast(pl.Int64) if c in items.columns else pl.lit(None, pl.Int64).alias(c) for c in MONEY_FIELDS
    ).sort("usage_start", "product_code", "resource_id", "usage_type", "line_item_type", nulls_last=True)
    period = pl.col("usage_start").dt.truncate("1mo")
    return items.with_columns(
        payer_account_id=pl.lit(co.AWS_PAYER),
        payer_account_name=pl.lit(co.AWS_PAYER_NAME),
        invoicing_entity=pl.lit("Amazon Web Services, Inc."),
        billing_entity=pl.lit("AWS"),
        legal_entity=pl.lit("Amazon Web Services, Inc."),
        usage_account_name=pl.col("usage_account_id").replace_strict(
            {v: f"northwind-{k}" for k, v in co.AWS_ACCOUNTS.items()} | {co.AWS_PAYER: "northwind-payer"}
        ),
        billing_period_start=period,
        billing_period_end=period.dt.offset_by("1mo"),
        product_name=pl.col("product_code").replace_strict(PRODUCT_NAMES),
        time_interval=pl.concat_str(
            [
                pl.col("usage_start").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                pl.col("usage_end").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ],
            separator="/",
        ),
        line_item_id=pl.concat_str(
            [
                pl.lit(id_prefix),
                period.dt.strftime("%Y%m"),
                pl.int_range(pl.len()).over(period).cast(pl.String).str.zfill(9),
            ]
        ),
    )


# ------------------------------------------------------------------------------------------------
# Writers (column names from sample_data.aws_columns, as AWS documents them)
# ------------------------------------------------------------------------------------------------


def _as_text(items: pl.DataFrame, name: str) -> pl.Expr:
    if name in MONEY_FIELDS:
        return text_expr(name)
    dtype = items.schema[name]
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pl.col(name).cast(pl.String)


def legacy_frame(items: pl.DataFrame) -> pl.DataFrame:
    """Line items with legacy CUR CSV headers (``lineItem/UnblendedCost``, ``resourceTags/user:team``)."""
    cols = [_as_text(items, field).alias(header) for field, header in LEGACY_IDENTITY.items()]
    cols.append(pl.lit("Anniversary").alias(LEGACY_BILL_TYPE))
    cols += [_as_text(items, field).alias(header) for field, header in LEGACY_HEADERS.items() if field in items.columns]
    cols += [
        (pl.col(f"tag_{k}") if f"tag_{k}" in items.columns else pl.lit(None, pl.String)).alias(LEGACY_TAG_PREFIX + k)
        for k in TAG_KEYS
    ]
    return items.select(cols)


def _map_array(items: pl.DataFrame, columns: dict[str, str]) -> pa.Array:
    """A MAP<string,string> array from columns (map key -> column), leaving out null values."""
    n = items.height
    if n == 0:
        return pa.array([], type=pa.map_(pa.string(), pa.string()))
    long = (
        items.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            *[pl.col(col).cast(pl.String).alias(key) for key, col in columns.items()],
        )
        .unpivot(index="_row", variable_name="key", value_name="value")
        .filter(pl.col("value").is_not_null())
    )
    order = {k: i for i, k in enumerate(columns)}
    long = long.with_columns(pl.col("key").replace_strict(order, return_dtype=pl.Int32).alias("_k")).sort("_row", "_k")
    counts = np.bincount(long["_row"].to_numpy(), minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    keys = long["key"].to_arrow().cast(pa.string())
    values = long["value"].to_arrow().cast(pa.string())
    return pa.MapArray.from_arrays(offsets, keys, values)


def cur2_table(items: pl.DataFrame) -> pa.Table:
    """Line items as a CUR 2.0 table with exactly the columns and types of ``CUR2_SCHEMA``."""
    product_keys = {key: field for field, key in CUR2_PRODUCT_KEYS.items() if field in items.columns}
    tag_keys = {CUR2_TAG_PREFIX + k: f"tag_{k}" for k in TAG_KEYS if f"tag_{k}" in items.columns}
    arrays = {}
    for name, (field, typ) in CUR2_COLUMNS.items():
        if name == "product":
            arrays[name] = _map_array(items, product_keys)
        elif name == "resource_tags":
            arrays[name] = _map_array(items, tag_keys)
        elif field is not None and field in items.columns:
            if field in MONEY_FIELDS:
                series = items.select(double_expr(field))[field]
            elif isinstance(items.schema[field], pl.Datetime):
                series = items[field].dt.replace_time_zone(None).cast(pl.Datetime("ms"))
            else:
                series = items[field]
            arrays[name] = series.to_arrow().cast(typ)
        elif name == "bill_bill_type":
            arrays[name] = pa.array(["Anniversary"] * items.height, type=typ)
        else:
            arrays[name] = pa.nulls(items.height, type=typ)
    return pa.table(arrays, schema=CUR2_SCHEMA)


PARQUET_OPTIONS = dict(
    compression="snappy", use_dictionary=True, write_statistics=True, data_page_version="1.0", version="2.6"
)
ROW_GROUP_ROWS = 262_144


def write_cur2(parts, path: Path) -> int:
    """Write one CUR 2.0 Parquet file from an iterable of line-item frames, streamed; returns its rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(path, CUR2_SCHEMA, **PARQUET_OPTIONS) as writer:
        for items in parts:
            if items.height:
                writer.write_table(cur2_table(items), row_group_size=ROW_GROUP_ROWS)
                rows += items.height
    return rows


def write_legacy(items: pl.DataFrame, folder: Path, report: str, period: str) -> list[Path]:
    """Legacy CUR CSV gzip in two parts plus ``<report>-Manifest.json`` listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    table = legacy_frame(items)
    assembly = co.hex_id(f"{report}/{period}/{table.height}", 8) + "-0000-4000-8000-" + co.hex_id(period, 12)
    half = (table.height + 1) // 2
    keys, paths = [], []
    for part, chunk in enumerate((table.slice(0, half), table.slice(half)), start=1):
        name = f"{report}-{part:05d}.csv.gz"
        (folder / name).write_bytes(gzip_bytes(chunk.write_csv().encode()))
        keys.append(f"cur/{report}/{period}/{assembly}/{name}")
        paths.append(folder / name)
    start, end = period.split("-")
    manifest = {
        "assemblyId": assembly,
        "account": co.AWS_PAYER,
        "columns": [{"category": c.split("/")[0], "name": c.split("/", 1)[1], "type": "String"} for c in table.columns],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
        "reportId": co.hex_id(report, 32),
        "reportName": report,
        "billingPeriod": {"start": f"{start}T000000.000Z", "end": f"{end}T000000.000Z"},
        "bucket": "nw-billing-generated",
        "reportKeys": keys,
        "additionalArtifactKeys": [],
    }
    manifest_path = folder / f"{report}-Manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return [*paths, manifest_path]
