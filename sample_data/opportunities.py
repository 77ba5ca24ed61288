"""The savings opportunities planted in the sample, with their approximate monthly savings (730 h)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from flows.settings import CONFIG_DIR
from sample_data import company as co
from sample_data.frames import hours_in_month
from sample_data.storage import BUCKETS, GIB, WEIGHTS_SHARD_BYTES, WEIGHTS_SHARDS
from sample_data.usage_logs import egress_burst_hours
from sample_data.workloads import Schedule, Window

MONTH_H = 730
# The detectors' settings (config/recommendations.toml) and prices (config/prices.csv) the figures follow
RIGHTSIZE_TARGET_PCT, BATCHING_TARGET_PCT = 80.0, 60.0
CPU_ALTERNATIVE_HOURLY = 0.357  # c7i.2xlarge
P5_SPOT, SPOT_INTERRUPTION_OVERHEAD = 28.106467, 0.1
TEXT_COMPRESSION_RATIO = 4.0
CDN_EGRESS_PER_GB = 0.085
WORK_DAYS, WORK_HOURS, LOW_UTIL_PCT = range(5), range(8, 20), 10.0
IDLE_UTIL_PCT, UNDERUSED_P95_PCT = 5.0, 40.0
GCP_CPU_ALTERNATIVE_HOURLY = 0.388472  # n2-standard-8
A2_8G_SPOT = 15.42416  # a2-highgpu-8g spot, us-central1
GCP_STANDARD_GB_MONTH = 0.02
FX_RATES = CONFIG_DIR / "fx_rates.csv"


def usd_per(currency: str) -> float:
    """The reporting (USD) value of one unit of ``currency``, from the example rates the project ships."""
    if currency == "USD":
        return 1.0
    rates = pl.read_csv(FX_RATES, infer_schema=False, comment_prefix="#")
    return float(rates.filter(pl.col("currency") == currency)["rate_to_reporting"][0])


def planted(sched: Schedule, objects, flows) -> list[dict]:
    """One entry per planted opportunity: kind, scope, evidence and the approximate monthly saving (USD)."""
    m = co.machine
    idle = [m("vision-p4d-1"), m("vision-p4d-2")]
    cluster = [x for x in co.MACHINES if x.workload == "cluster"]
    under = m("research-p5-1")
    chat = [m("chat-g6e-1"), m("chat-g6e-2")]
    p95 = float(np.percentile(sched.util[under.name], 95))
    gpus_needed = math.ceil(under.gpus * p95 / RIGHTSIZE_TARGET_PCT)
    seg = m("seg-g5-1")
    seg_util = float(np.mean(sched.util[seg.name][sched.on[seg.name]]))
    dev = [x for x in co.MACHINES if x.workload == "dev" and sched.on[x.name].all()]  # not the one scheduled off
    hours = np.arange(len(sched.util[dev[0].name]))
    off = ~(np.isin((hours // 24) % 7, list(WORK_DAYS)) & np.isin(hours % 24, list(WORK_HOURS)))
    off_hours = float(np.mean([np.mean(off & sched.on[d.name] & (sched.util[d.name] < LOW_UTIL_PCT)) for d in dev]))
    long_jobs = [
        j
        for j in sched.jobs
        if j.kind == "training"
        and j.pricing_model == "on_demand"
        and j.end_h is not None
        and j.end_h - j.start_h > 24
        and set(j.resources) <= {x.name for x in cluster}
    ]
    long_share = sum((j.end_h - j.start_h) * len(j.resources) for j in long_jobs) / (len(cluster) * len(hours))
    cold = (
        objects.filter(
            (objects["bucket"] == "nw-training-data")
            & (objects["storage_class"] == "STANDARD")
            & (objects["accessed_days"] >= 90)
            & (objects["size"] >= 128 * 1024)
            & (objects["modified_days"] >= 30)
        )["size"].sum()
        / GIB
    )
    text = (
        objects.filter(objects["key"].str.contains(r"\.(csv|json|log)$") & (objects["size"] >= GIB))["size"].sum() / GIB
    )
    ckpt = objects.filter(objects["key"].str.starts_with("checkpoints/"))
    ckpt_gib = ckpt["size"].sum() / GIB
    internet = flows.filter((flows["destination"] == "internet") & (flows["content_key"] != ""))["bytes"].sum() / GIB
    inter = flows.filter(flows["destination_region"] != "")["bytes"].sum() / GIB
    days = len(sched.util[under.name]) / 24
    hdfs = [x for x in co.MACHINES if x.workload == "hdfs"]
    hdfs_volumes = [v for x in hdfs for v in co.ebs_volumes(x)]  # the detector counts every volume the nodes bill
    hdfs_ebs_gib = sum(gib for _, gib in hdfs_volumes)
    hdfs_ebs_usd = sum(gib * co.EBS_PRICES[vtype] for vtype, gib in hdfs_volumes)
    hdfs_st1_gib = sum(gib for vtype, gib in hdfs_volumes if vtype == "st1")
    dist_share = 36 / 168
    r = lambda v: round(float(v), 0)  # noqa: E731
    return [
        dict(
            kind="idle_gpu",
            resource_id=[x.resource_id for x in idle],
            team="vision",
            evidence="GPU utilisation 0-3 % in ~94 % of hours, no jobs",
            monthly_saving_usd=r(2 * co.P4D * MONTH_H * 0.94),
        ),
        dict(
            kind="underused_gpu",
            resource_id=under.resource_id,
            team="research",
            evidence=f"p95 GPU utilisation {p95:.0f} %: {gpus_needed} of {under.gpus} GPUs needed",
            monthly_saving_usd=r(co.P5 * MONTH_H * (1 - gpus_needed / under.gpus)),
        ),
        dict(
            kind="batching",
            resource_id=m("seg-g5-1").resource_id,
            team="vision",
            model="seg-v3",
            evidence=f"avg_batch_size ~1.04, GPU utilisation ~{seg_util:.0f} %",
            monthly_saving_usd=r(seg.hourly * MONTH_H * (1 - seg_util / BATCHING_TARGET_PCT)),
        ),
        dict(
            kind="gpu_to_cpu",
            resource_id=m("embed-g5-1").resource_id,
            team="platform",
            model="embed-small",
            evidence="~0.35 requests/s on a g5.xlarge",
            monthly_saving_usd=r((m("embed-g5-1").hourly - CPU_ALTERNATIVE_HOURLY) * MONTH_H),
        ),
        dict(
            kind="compression",
            model="nw-chat-70b",
            team="nlp",
            resource_id=[m("chat-g6e-1").resource_id, m("chat-g6e-2").resource_id],
            evidence="largest inference spend (2 x g6e.12xlarge, Savings Plan rate)",
            monthly_saving_usd=r(
                sum(
                    co.SP_RATE[x.instance_type] * MONTH_H
                    + sum(gib * co.EBS_PRICES[vtype] for vtype, gib in co.ebs_volumes(x))
                    for x in chat
                )
                * 0.4
            ),
        ),
        dict(
            kind="commitments",
            resource_id=[x.resource_id for x in cluster],
            team="nlp",
            evidence="4 p5.48xlarge on demand every hour, not covered by the Savings Plan",
            monthly_saving_usd=r(4 * (co.P5 - 43.344) * MONTH_H),
        ),
        dict(
            kind="commitments",
            resource_id=co.RI_ARN,
            team="vision",
            evidence=f"{co.RI_COUNT} p4d.24xlarge reserved, 1 used: half the RI hours unused",
            monthly_saving_usd=r(co.RI_RATE * MONTH_H),
        ),
        dict(
            kind="spot",
            resource_id=[x.resource_id for x in cluster],
            team="nlp",
            model="nw-chat-70b",
            evidence=f"on-demand training jobs of 30-60 h ({long_share:.0%} of the cluster's hours)",
            monthly_saving_usd=r(
                len(cluster) * co.P5 * MONTH_H * long_share * (1 - P5_SPOT / co.P5) * (1 - SPOT_INTERRUPTION_OVERHEAD)
            ),
        ),
        dict(
            kind="storage_tiering",
            resource_id="nw-training-data",
            team="platform",
            evidence=f"{cold / 1024:.0f} TiB in STANDARD last read 90+ days ago (excluding < 128 KB and < 30 days)",
            monthly_saving_usd=r(cold * (0.023 - 0.004)),
        ),
        dict(
            kind="data_compression",
            resource_id="nw-training-data",
            team="platform",
            evidence=f"{text / 1024:.0f} TiB of uncompressed .csv/.json/.log objects",
            monthly_saving_usd=r(text * co.S3_PRICES["STANDARD"] * (1 - 1 / TEXT_COMPRESSION_RATIO)),
        ),
        dict(
            kind="checkpoint_sprawl",
            resource_id="nw-checkpoints",
            team="nlp",
            evidence=f"{len(ckpt)} checkpoints in 3 runs, {ckpt_gib / 1024:.0f} TiB",
            monthly_saving_usd=r(ckpt_gib * 0.023 * (45 / 48)),
        ),
        dict(
            kind="network",
            resource_id="nw-model-weights",
            team="platform",
            evidence=f"{internet / days:.0f} GiB/day of the same weights ({WEIGHTS_SHARDS} x "
            f"{WEIGHTS_SHARD_BYTES / 1e9:.1f} GB) to the internet; {inter / days:.0f} GiB/day us-west-2 -> us-east-1",
            monthly_saving_usd=r(
                (internet * (co.EGRESS_INTERNET - CDN_EGRESS_PER_GB) + inter * co.EGRESS_INTER_REGION)
                / days
                * MONTH_H
                / 24
            ),
        ),
        dict(
            kind="hdfs",
            resource_id=[x.resource_id for x in hdfs],
            team="platform",
            evidence=f"{len(hdfs)} r6i.4xlarge datanodes, {hdfs_st1_gib / 1024:.0f} TiB st1, replication 3",
            monthly_saving_usd=r(
                len(hdfs) * 1.008 * MONTH_H + hdfs_ebs_usd - hdfs_ebs_gib / 3 * co.S3_PRICES["STANDARD"]
            ),
        ),
        dict(
            kind="distributed_efficiency",
            resource_id=[x.resource_id for x in cluster],
            team="nlp",
            model="nw-chat-70b",
            evidence="4-node job ~42 % per GPU vs ~90 % on 1 node",
            monthly_saving_usd=r(4 * co.P5 * MONTH_H * dist_share * (1 - 42 / 90)),
        ),
        dict(
            kind="scheduling",
            resource_id=[x.resource_id for x in dev],
            team="/".join(x.team for x in dev),
            evidence=f"development GPUs on and idle {off_hours:.0%} of hours (nights, weekends)",
            monthly_saving_usd=r(sum(d.hourly for d in dev) * MONTH_H * off_hours),
        ),
    ]


def _on_machine(kind: str, x: co.Machine, serving: bool = False, **facts) -> dict:
    """A planted saving on machine ``x``: its provider, id, host name and team (and model where it
    serves one), then ``facts`` (evidence, formula, monthly_saving_usd)."""
    found = dict(kind=kind, provider=x.provider, resource_id=x.resource_id, host=x.name, team=x.team)
    if serving:
        found["model"] = x.model
    return found | facts


def planted_other_clouds(sched: Schedule, window: Window) -> list[dict]:
    """The GPU savings planted on GCP and Azure machines, as the detectors' formulas give them for the
    window's last week (the demo's week); ``week`` and ``formula`` say so. Azure bills in EUR: its figures
    are in USD at the example rate of config/fx_rates.csv."""
    m = co.machine
    last = window.last_week()
    week = slice(last, None)
    r = lambda v: round(float(v), 2)  # noqa: E731
    found = []
    for x in (m("nw-vision-a2-01"), m("vm-nlp-nc24-01")):
        rate = x.hourly * usd_per("EUR" if x.provider == "azure" else "USD")
        idle = int(np.sum(sched.util[x.name][week] < IDLE_UTIL_PCT))
        found.append(
            _on_machine(
                "idle_gpu",
                x,
                evidence=f"{x.instance_type} ({x.gpus} GPU): every GPU under 5 % for {idle} of 168 h, no jobs",
                formula=f"{idle} idle h / 168 h x 730 h x {rate:.6f} USD/h",
                monthly_saving_usd=r(idle / 168 * MONTH_H * rate),
            )
        )
    x = m("vm-research-nc96-01")
    rate = x.hourly * usd_per("EUR")
    p95 = float(np.percentile(sched.util[x.name][week], 95))
    needed = max(1, math.ceil(x.gpus * p95 / RIGHTSIZE_TARGET_PCT))
    found.append(
        _on_machine(
            "underused_gpu",
            x,
            evidence=f"p95 GPU utilisation ~{p95:.0f} %: {needed} of {x.gpus} GPUs needed",
            formula=f"(1 - {needed} / {x.gpus} GPUs) x 730 h x {rate:.6f} USD/h",
            monthly_saving_usd=r((1 - needed / x.gpus) * MONTH_H * rate),
        )
    )
    x = m("nw-ocr-a2-01")
    util = float(np.mean(sched.util[x.name][week]))
    found.append(
        _on_machine(
            "batching",
            x,
            serving=True,
            evidence=f"endpoint {x.endpoint}: avg_batch_size ~1.02, GPU utilisation ~{util:.0f} %",
            formula=f"{x.hourly} USD/h x 730 h x (1 - {util:.2f} % / {BATCHING_TARGET_PCT:g} %)",
            monthly_saving_usd=r(x.hourly * MONTH_H * (1 - util / BATCHING_TARGET_PCT)),
        )
    )
    x = m("nw-rerank-a2-01")
    found.append(
        _on_machine(
            "gpu_to_cpu",
            x,
            serving=True,
            evidence=f"endpoint {x.endpoint}: ~0.3 requests/s, ~180 tokens a request on an A100",
            formula=f"({x.hourly} - {GCP_CPU_ALTERNATIVE_HOURLY}) USD/h x 730 h (n2-standard-8)",
            monthly_saving_usd=r((x.hourly - GCP_CPU_ALTERNATIVE_HOURLY) * MONTH_H),
        )
    )
    nodes = [x for x in co.MACHINES if x.workload == "slurm_training"]
    long_jobs = [j for j in sched.jobs if j.log == "slurm" and j.end_h is not None and j.end_h - j.start_h >= 24]
    node_hours = sum(max(0, min(j.end_h, last + 168) - max(j.start_h, last)) * len(j.resources) for j in long_jobs)
    discount = 1 - A2_8G_SPOT / co.A2_8G
    found.append(
        dict(
            kind="spot",
            provider="gcp",
            resource_id=[x.resource_id for x in nodes],
            host=[x.name for x in nodes],
            team=nodes[0].team,
            model=nodes[0].model,
            evidence=f"Slurm jobs of 30-60 h on demand on {len(nodes)} a2-highgpu-8g nodes "
            f"({node_hours} node-hours in the week)",
            formula=f"{node_hours} h x {co.A2_8G} USD/h x {discount:.4f} / 168 h x 730 h x 0.9",
            monthly_saving_usd=r(node_hours * co.A2_8G * discount / 168 * MONTH_H * (1 - SPOT_INTERRUPTION_OVERHEAD)),
        )
    )
    lake = [x for x in co.MACHINES if x.workload == "hdfs_vm"]
    disk_gib = len(lake) * co.HDFS_GCP_DISK_GIB
    # the disks bill GiB-months by the hours of each hour's month: this week's GiB-months x 730 / 168
    gib_months = sum(disk_gib / hours_in_month(window.at(h)) for h in range(last, last + 168))
    monthly = (len(lake) * co.N2_8 * 168 + gib_months * co.GCP_PD_STANDARD[2]) / 168 * MONTH_H
    disk_gib = gib_months * MONTH_H / 168
    found.append(
        dict(
            kind="hdfs",
            provider="gcp",
            resource_id=[x.resource_id for x in lake],
            host=[x.name for x in lake],
            team="platform",
            evidence=f"{len(lake)} n2-standard-8 datanodes (cluster=lake), "
            f"{len(lake) * co.HDFS_GCP_DISK_GIB / 1024:.0f} TiB pd-standard, replication 2",
            formula=f"{monthly:.2f} USD/month - {disk_gib:.2f} GiB / 2 x {GCP_STANDARD_GB_MONTH} USD/GiB-month",
            monthly_saving_usd=r(monthly - disk_gib / 2 * GCP_STANDARD_GB_MONTH),
        )
    )
    return found


def story(sched: Schedule, window: Window, flows) -> dict:
    """What changes over the weeks: traffic growth, a new project, the last week's anomaly and a resolved saving."""
    m = co.machine
    new = m("vision-p5-1")
    start = window.at(window.new_project_start())
    burst = egress_burst_hours(window)
    weights = flows.filter((flows["destination"] == "internet") & (flows["content_key"] != ""))
    day = window.at(int(burst[0]) // 24 * 24)
    on_day = weights.filter(weights["interval_start"].str.starts_with(day.strftime("%Y-%m-%d")))["bytes"].sum() / GIB
    usual = (weights["bytes"].sum() / GIB - on_day) / (window.hours / 24 - 1)
    events = {
        "growth": dict(
            what="inference requests, tokens and token-billed spend grow every week",
            per_week=co.INFERENCE_GROWTH_PER_WEEK,
        ),
        "new_project": dict(
            project=new.project,
            team=new.team,
            model=new.model,
            resource_id=new.resource_id,
            instance_type=new.instance_type,
            start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            jobs=sum(1 for j in sched.jobs if j.project == new.project),
        ),
        "anomaly": dict(
            kind="internet egress burst",
            resource_id="nw-model-weights",
            day=day.date().isoformat(),
            gib=round(float(on_day), 0),
            usual_gib_per_day=round(float(usual), 0),
            extra_usd=round(float((on_day - usual) * co.EGRESS_INTERNET), 0),
        ),
        "resolved": [],
    }
    dev = m(co.SCHEDULED_DEV)
    on = sched.on[dev.name]
    if not on.all():
        last = window.last_week()
        off_h = 168 - int(on[last:].sum())
        events["resolved"].append(
            dict(
                kind="scheduling",
                resource_id=dev.resource_id,
                team=dev.team,
                week=window.at(last).date().isoformat(),
                evidence=f"scheduled off outside weekday work hours from {window.at(last):%Y-%m-%d} ({off_h} h a week)",
                monthly_saving_usd=round(dev.hourly * off_h * MONTH_H / 168, 0),
            )
        )
    return events


BUCKET_NAMES = tuple(b.name for b in BUCKETS)
