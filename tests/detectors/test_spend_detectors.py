"""compression, commitments, spot, network, hdfs_to_object and distributed_efficiency."""

import json
from datetime import timedelta
from decimal import Decimal

import polars as pl

from tests.detectors.helpers import (
    MONEY,
    T0,
    at,
    attributed,
    commitment_inputs,
    config,
    flows,
    hourly_flows,
    jobs,
    machines,
    metrics,
    prices,
    tagged_costs,
)
from transforms.detectors import commitments, compression, distributed_efficiency, hdfs_to_object, network, spot
from transforms.detectors.commitments import best_level

C = Decimal("0.01")


def test_compression_takes_the_top_models_above_the_minimum():
    rows = attributed(
        {
            "category": "inference",
            "model": "nw-chat-70b",
            "team": "nlp",
            "project": "llm-chat",
            "effective_cost_reporting": "8400.00",
        },
        {"category": "inference", "model": "seg-v3", "team": "vision", "effective_cost_reporting": "1680.00"},
        {"category": "inference", "model": "tiny", "team": "vision", "effective_cost_reporting": "100.00"},
        {"category": "training", "model": "big-train", "team": "vision", "effective_cost_reporting": "99999.00"},
    )
    out = compression.detect({"attributed_cost": rows}, config(compression={"top_n": 3}))
    assert out["model"].to_list() == ["nw-chat-70b", "seg-v3"]  # tiny: 434.52/month < 1,000; training ignored
    # 8,400 / 168 x 730 x 0.4
    assert (
        out["monthly_savings"][0] == (Decimal("8400") / 168 * 730 * Decimal("0.4")).quantize(C) == Decimal("14600.00")
    )
    assert set(out["confidence"]) == {"low"}
    assert '"estimate": true' in out["evidence"][0]


def _usage(
    hour,
    cost,
    instance="p4d.24xlarge",
    status=None,
    commitment=None,
    category="Standard",
    charge="Usage",
    resource="i-base",
):
    start = T0 - timedelta(weeks=3) + timedelta(hours=hour)
    return {
        "provider": "aws",
        "billing_currency": "USD",
        "resource_id": resource,
        "charge_period_start": start,
        "charge_period_end": start + timedelta(hours=1),
        "charge_category": charge,
        "pricing_category": category,
        "effective_cost": Decimal(str(cost)),
        "x_instance_type": instance,
        "region_id": "us-east-1",
        "commitment_discount_id": commitment,
        "commitment_discount_name": None,
        "commitment_discount_type": "Reserved Instance" if commitment else None,
        "commitment_discount_status": status,
        "x_line_item_type": None,
    }


LOOKBACK_SCHEMA = {
    "provider": pl.String,
    "billing_currency": pl.String,
    "resource_id": pl.String,
    "charge_period_start": pl.Datetime("us", "UTC"),
    "charge_period_end": pl.Datetime("us", "UTC"),
    "charge_category": pl.String,
    "pricing_category": pl.String,
    "effective_cost": MONEY,
    "x_instance_type": pl.String,
    "region_id": pl.String,
    "commitment_discount_id": pl.String,
    "commitment_discount_name": pl.String,
    "commitment_discount_type": pl.String,
    "commitment_discount_status": pl.String,
    "x_line_item_type": pl.String,
}


def test_best_commitment_level_by_hand():
    # 4 hours: 10, 10, 10, 0 at 30 % discount. c = 10: 30 covered - 4 x 10 x 0.7 = 2 > 0.
    assert best_level([Decimal(10)] * 3, 4, Decimal("0.3")) == (Decimal(10), Decimal(2))
    # at 20 % discount the same level costs 32 for 30 covered: nothing worth buying.
    assert best_level([Decimal(10)] * 3, 4, Decimal("0.2")) == (Decimal(0), Decimal(0))


def test_commitment_for_a_steady_baseline_and_an_underused_reservation(warehouse):
    hours = 4 * 168
    # a steady 20 USD/h of p4d on-demand for 3 weeks of the 4-week lookback (504 h), 0 before
    rows = [_usage(h, "20") for h in range(504)]
    # a reservation: 60 USD used, 140 USD unused over the lookback (30 % utilisation)
    rows += [
        _usage(0, "60", status="Used", commitment="ri-1", category="Committed"),
        _usage(1, "140", status="Unused", commitment="ri-1", category="Committed", charge="Purchase"),
    ]
    frame = pl.DataFrame(rows, schema=LOOKBACK_SCHEMA)
    px = prices(
        ("aws", "us-east-1", "p4d.24xlarge", "ondemand_hour", "21.957642"),
        ("aws", "us-east-1", "p4d.24xlarge", "commit_1yr_hour", "13.921094"),
    )
    out = commitments.detect({**commitment_inputs(warehouse, frame), "prices": px}, config()).sort("resource_id")
    assert out["resource_id"].to_list() == ["commitment-baseline:aws:USD", "ri-1"]
    d = Decimal(1) - Decimal("13.921094") / Decimal("21.957642")
    net = Decimal(504) * 20 - Decimal(hours) * 20 * (Decimal(1) - d)
    assert out["monthly_savings"][0] == (net / hours * 730).quantize(C)
    assert out["monthly_savings"][1] == (Decimal(140) / hours * 730).quantize(C) == Decimal("152.08")
    assert out["confidence"][1] == "high"
    # the cost each acts on: the baseline machine's on-demand spend as a month (504 h x 20 / 672 h x 730),
    # and the reservation's whole fee as a month ((60 + 140) / 672 h x 730)
    assert json.loads(out["cost_basis"][0]) == {"i-base": "10950.00"}
    assert json.loads(out["cost_basis"][1]) == {"ri-1": "217.26"}


def test_commitment_spreads_lines_off_the_hour_and_without_an_end_without_counting_them_twice(warehouse):
    # 671 one-hour lines of 1 USD that start at half past: each touches two clock hours and puts 0.50 on
    # each (it put 1 USD on each before, doubling the on-demand spend); one 5 USD line without an end is a
    # moment in its hour (it was spread over every hour to the lookback's end).
    rows = []
    for h in range(671):
        line = _usage(h, "1")
        line["charge_period_start"] += timedelta(minutes=30)
        line["charge_period_end"] += timedelta(minutes=30)
        rows.append(line)
    moment = _usage(10, "5", resource="i-moment")
    moment["charge_period_end"] = None
    frame = pl.DataFrame([*rows, moment], schema=LOOKBACK_SCHEMA)
    out = commitments.detect({**commitment_inputs(warehouse, frame), "prices": prices()}, config())
    evidence = json.loads(out["evidence"][0])
    assert evidence["on_demand_spend"] == 676.0  # 671 x 1 + 5: each line's cost once
    # 0.50 in the first and last hour, 1.00 in the 670 between, 6.00 in hour 10: a level of 1.00 is reached in 670 h
    assert evidence["commit_level_per_hour"] == 1.0
    assert evidence["hours_at_or_above_level"] == 670
    assert json.loads(out["cost_basis"][0]) == {
        "i-base": str((Decimal(671) / 672 * 730).quantize(C)),
        "i-moment": str((Decimal(5) / 672 * 730).quantize(C)),
    }


def test_spot_fires_on_long_on_demand_training_only():
    frames = {
        "jobs": jobs(
            {
                "job_id": "long",
                "kind": "training",
                "team": "research",
                "project": "p",
                "model": "m",
                "resource_id": "i-1",
                "start_ts": at(0),
                "end_ts": at(48),
                "gpus": 8,
                "pricing_model": "on_demand",
            },
            {
                "job_id": "short",
                "kind": "training",
                "team": "vision",
                "project": "p",
                "model": "s",
                "resource_id": "i-1",
                "start_ts": at(50),
                "end_ts": at(60),
                "gpus": 8,
                "pricing_model": "on_demand",
            },
            {
                "job_id": "on-spot",
                "kind": "training",
                "team": "nlp",
                "project": "p",
                "model": "x",
                "resource_id": "i-1",
                "start_ts": at(0),
                "end_ts": at(100),
                "gpus": 8,
                "pricing_model": "spot",
            },
        ),
        "machines": machines(
            {"resource_id": "i-1", "instance_type": "p4d.24xlarge", "hours": 168, "effective_cost": "3360"}
        ),  # 20 USD/h
        "prices": prices(
            ("aws", "us-east-1", "p4d.24xlarge", "ondemand_hour", "20"),
            ("aws", "us-east-1", "p4d.24xlarge", "spot_hour", "8"),
        ),
    }
    out = spot.detect(frames, config())
    assert out["team"].to_list() == ["research"]
    # 48 h x 20 = 960 / week x 0.6 discount / 168 x 730 x 0.9
    expected = (Decimal(960) * Decimal("0.6") / 168 * 730 * Decimal("0.9")).quantize(C)
    assert out["monthly_savings"][0] == expected == Decimal("2252.57")


def test_network_cdn_for_repeated_downloads_and_cross_region_transfer():
    egress = {"source_resource_id": "bucket-w", "source_region": "us-east-1", "destination": "internet"}
    rows = [
        *hourly_flows(12, 50, **egress, content_key="models/weights.safetensors"),
        *hourly_flows(3, 50, **egress, content_key="rare.bin"),
        *hourly_flows(
            5,
            100,
            source_resource_id="bucket-d",
            source_region="us-east-1",
            destination="i-west",
            destination_region="us-west-2",
        ),
    ]
    px = prices(
        ("aws", "us-east-1", "internet", "egress_gb", "0.09"),
        ("aws", "us-east-1", "cloudfront", "cdn_egress_gb", "0.085"),
        ("aws", "us-east-1", "inter_region", "inter_region_gb", "0.02"),
    )
    out = network.detect({"network_flows": flows(*rows), "prices": px}, config()).sort("resource_id")
    assert out["resource_id"].to_list() == ["models/weights.safetensors", "us-east-1->us-west-2"]
    assert out["monthly_savings"][0] == (Decimal(600) / 168 * 730 * (Decimal("0.09") - Decimal("0.085"))).quantize(C)
    assert out["monthly_savings"][1] == (Decimal(500) / 168 * 730 * Decimal("0.02")).quantize(C) == Decimal("43.45")


def test_network_uses_the_billed_egress_rate():
    rows = hourly_flows(
        10, 100, source_resource_id="b", source_region="us-east-1", destination="internet", content_key="k"
    )
    rates = pl.DataFrame(
        {
            "provider": ["aws"],
            "direction": ["internet_out"],
            "billing_currency": ["USD"],
            "effective_cost": [Decimal("120")],
            "gb": [Decimal("1000")],
        },
        schema={
            "provider": pl.String,
            "direction": pl.String,
            "billing_currency": pl.String,
            "effective_cost": MONEY,
            "gb": MONEY,
        },
    )
    px = prices(("aws", "us-east-1", "cloudfront", "cdn_egress_gb", "0.085"))
    out = network.detect({"network_flows": flows(*rows), "prices": px, "transfer_rates": rates}, config())
    assert out["monthly_savings"][0] == (Decimal(1000) / 168 * 730 * (Decimal("0.12") - Decimal("0.085"))).quantize(C)
    assert out["confidence"][0] == "high"


def test_hdfs_cluster_versus_object_storage():
    tags = '{"user:role": "hdfs-datanode", "user:cluster": "lake", "user:replication": "3"}'
    rows = tagged_costs(
        ("i-dn1", tags, "Hrs", "500", "168"),
        ("vol-1", tags, "GB-Mo", "300", "6904.10958904"),
        ("i-web", '{"user:role": "web"}', "Hrs", "900", "168"),
    )
    px = prices(("aws", "us-east-1", "STANDARD", "storage_gb_month", "0.023"))
    out = hdfs_to_object.detect({"tagged_costs": rows, "prices": px}, config())
    assert out["resource_id"].to_list() == ["hdfs:lake"]
    block_gb = Decimal("6904.10958904") * 730 / 168  # ~30,000 GB provisioned
    expected = Decimal(800) / 168 * 730 - block_gb / 3 * Decimal("0.023")
    assert out["monthly_savings"][0] == expected.quantize(C)


def test_distributed_efficiency_compares_with_fewer_node_runs():
    frames = {
        "jobs": jobs(
            *[
                {
                    "job_id": "big",
                    "kind": "training",
                    "team": "nlp",
                    "project": "llm",
                    "model": "m",
                    "resource_id": r,
                    "start_ts": at(0),
                    "end_ts": at(24),
                    "gpus": 8,
                    "nodes": 4,
                }
                for r in ("n1", "n2", "n3", "n4")
            ],
            {
                "job_id": "one",
                "kind": "training",
                "team": "nlp",
                "project": "llm",
                "model": "m",
                "resource_id": "n5",
                "start_ts": at(0),
                "end_ts": at(24),
                "gpus": 8,
                "nodes": 1,
            },
            # a model that scales well: no recommendation
            *[
                {
                    "job_id": "ok",
                    "kind": "training",
                    "team": "cv",
                    "project": "seg",
                    "model": "ok",
                    "resource_id": r,
                    "start_ts": at(30),
                    "end_ts": at(40),
                    "gpus": 8,
                    "nodes": 2,
                }
                for r in ("n6", "n7")
            ],
            {
                "job_id": "ok1",
                "kind": "training",
                "team": "cv",
                "project": "seg",
                "model": "ok",
                "resource_id": "n8",
                "start_ts": at(30),
                "end_ts": at(40),
                "gpus": 8,
                "nodes": 1,
            },
        ),
        "gpu_metrics": pl.concat(
            [metrics(r, [45.0] * 24) for r in ("n1", "n2", "n3", "n4")]
            + [metrics("n5", [90.0] * 24)]
            + [metrics(r, [85.0] * 10, start_hour=30) for r in ("n6", "n7", "n8")]
        ),
        "machines": machines(
            *[
                {"resource_id": f"n{i}", "instance_type": "p4d.24xlarge", "hours": 168, "effective_cost": "3360"}
                for i in range(1, 9)
            ]
        ),
        "prices": prices(),
    }
    out = distributed_efficiency.detect(frames, config())
    assert out["model"].to_list() == ["m"]
    # 4 machines x 24 h x 20 USD/h = 1,920 this week; idle share 1 - 45/90 = 0.5
    assert out["monthly_savings"][0] == (Decimal(1920) * Decimal("0.5") / 168 * 730).quantize(C) == Decimal("4171.43")


def test_hdfs_tags_with_cur2_prefixes_and_a_replication_tag():
    tags = '{"user_role": "hdfs-datanode", "user_hdfs_replication": "2"}'
    rows = tagged_costs(
        ("i-dn", tags, "Hrs", "168", "168"),
        ("vol-dn", tags, "GB-Mo", "100", "2301.36986301"),
    )
    px = prices(("aws", "us-east-1", "STANDARD", "storage_gb_month", "0.023"))
    out = hdfs_to_object.detect({"tagged_costs": rows, "prices": px}, config())
    assert out["resource_id"].to_list() == ["hdfs:hdfs"]  # no cluster tag: one cluster named hdfs
    block_gb = Decimal("2301.36986301") * 730 / 168  # ~10,000 GB
    expected = Decimal(268) / 168 * 730 - block_gb / 2 * Decimal("0.023")
    assert out["monthly_savings"][0] == expected.quantize(C)
    assert '"replication": 2.0' in out["evidence"][0]
