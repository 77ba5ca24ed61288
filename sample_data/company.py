"""Northwind AI, the fictional company the sample describes: accounts, machines, buckets, prices.

Everything here is generated data, not a real company. Prices are public list prices (us-east-1
unless noted) from the price tables in the shared samples, as of late 2025.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

COMPANY = "Northwind AI (generated sample data)"
AWS_PAYER = "111122223333"
AWS_PAYER_NAME = "Northwind AI (generated)"
AWS_ACCOUNTS = {"vision": "210987654321", "nlp": "310987654321", "platform": "410987654321", "research": "510987654321"}
GCP_BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
GCP_PROJECT = "nw-research-gen"
AZURE_BILLING_ACCOUNT = "nw-mca-0001:generated"
AZURE_SUBSCRIPTION = "5e1f0c2a-0000-4000-8000-00000000ab01"
OCI_TENANCY = "ocid1.tenancy.oc1..northwindgenerated"

TEAMS = ("vision", "nlp", "platform", "research")


def hex_id(name: str, length: int = 17) -> str:
    """A stable hexadecimal id derived from a name (the same on every run and seed)."""
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def instance_id(name: str) -> str:
    return f"i-0{hex_id(name, 16)}"


def gpu_uuid(machine: str, index: int) -> str:
    h = hashlib.sha256(f"{machine}/{index}".encode()).hexdigest()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass(frozen=True)
class GpuModel:
    smi_name: str  # as nvidia-smi names it
    memory_mib: int
    idle_w: float
    max_w: float


A100_40 = GpuModel("NVIDIA A100-SXM4-40GB", 40960, 52.0, 400.0)
H100 = GpuModel("NVIDIA H100 80GB HBM3", 81559, 70.0, 700.0)
A10G = GpuModel("NVIDIA A10G", 23028, 18.0, 300.0)
L40S = GpuModel("NVIDIA L40S", 46068, 35.0, 350.0)
A10 = GpuModel("NVIDIA A10", 23028, 18.0, 150.0)
A100_80 = GpuModel("NVIDIA A100 80GB PCIe", 81920, 45.0, 300.0)


@dataclass(frozen=True)
class Machine:
    """One billed machine, its GPUs, owner and the workload pattern it runs."""

    name: str
    provider: str
    instance_type: str
    gpus: int
    gpu: GpuModel | None
    region: str
    zone: str
    team: str
    project: str
    model: str
    workload: str  # idle | idle_vm | underused | underused_vm | inference_vm | slurm_training | hdfs_vm | cluster | reserved_training | new_training | inference | dev | spot_eval | training | evaluation | hdfs
    pricing: str  # on_demand | reserved | spot | savings_plan
    hourly: float  # on-demand list price per hour in the billing currency
    resource_id: str = ""
    tags: dict = field(default_factory=dict)
    endpoint: str = ""  # inference endpoint it serves

    def all_tags(self) -> dict:
        base = {"team": self.team, "project": self.project}
        if self.model:
            base["model"] = self.model
        return {**base, **self.tags}


def _aws(name: str, **kw) -> Machine:
    return Machine(name=name, provider="aws", resource_id=instance_id(name), **kw)


P4D, P5 = 21.957642, 55.04
MACHINES: tuple[Machine, ...] = (
    # 1. idle GPUs: two p4d nodes of team vision, no jobs
    *(
        _aws(
            f"vision-p4d-{i}",
            instance_type="p4d.24xlarge",
            gpus=8,
            gpu=A100_40,
            region="us-east-1",
            zone="us-east-1b",
            team="vision",
            project="vision-seg",
            model="seg-v3",
            workload="idle",
            pricing="on_demand",
            hourly=P4D,
        )
        for i in (1, 2)
    ),
    # the busy vision p4d, covered by the reserved instance
    _aws(
        "vision-p4d-3",
        instance_type="p4d.24xlarge",
        gpus=8,
        gpu=A100_40,
        region="us-east-1",
        zone="us-east-1a",
        team="vision",
        project="vision-seg",
        model="seg-v3",
        workload="reserved_training",
        pricing="reserved",
        hourly=P4D,
    ),
    # nlp training cluster: steady on-demand baseline, long jobs, a 4-node job each week
    *(
        _aws(
            f"nlp-p5-{i}",
            instance_type="p5.48xlarge",
            gpus=8,
            gpu=H100,
            region="us-east-1",
            zone="us-east-1a",
            team="nlp",
            project="llm-chat",
            model="nw-chat-70b",
            workload="cluster",
            pricing="on_demand",
            hourly=P5,
        )
        for i in (1, 2, 3, 4)
    ),
    # the story: vision's new project starts training on a new p5 node in the second-to-last week
    _aws(
        "vision-p5-1",
        instance_type="p5.48xlarge",
        gpus=8,
        gpu=H100,
        region="us-east-1",
        zone="us-east-1a",
        team="vision",
        project="vision-seg-v4",
        model="seg-v4",
        workload="new_training",
        pricing="on_demand",
        hourly=P5,
    ),
    # 2. underused p5 of team research
    _aws(
        "research-p5-1",
        instance_type="p5.48xlarge",
        gpus=8,
        gpu=H100,
        region="us-east-1",
        zone="us-east-1c",
        team="research",
        project="speech-asr",
        model="asr-large",
        workload="underused",
        pricing="on_demand",
        hourly=P5,
    ),
    # busy chat endpoints, covered by the Savings Plan (5. compression: the largest inference spend)
    *(
        _aws(
            f"chat-g6e-{i}",
            instance_type="g6e.12xlarge",
            gpus=4,
            gpu=L40S,
            region="us-east-1",
            zone="us-east-1a",
            team="nlp",
            project="llm-chat",
            model="nw-chat-70b",
            workload="inference",
            pricing="savings_plan",
            hourly=10.49264,
            endpoint="chat-prod",
        )
        for i in (1, 2)
    ),
    # 3. batching: seg-v3 endpoint on g5 with batch size 1
    _aws(
        "seg-g5-1",
        instance_type="g5.2xlarge",
        gpus=1,
        gpu=A10G,
        region="us-east-1",
        zone="us-east-1a",
        team="vision",
        project="vision-seg",
        model="seg-v3",
        workload="inference",
        pricing="on_demand",
        hourly=1.212,
        endpoint="seg-realtime",
    ),
    # 4. gpu_to_cpu: low-traffic embed-small endpoint
    _aws(
        "embed-g5-1",
        instance_type="g5.xlarge",
        gpus=1,
        gpu=A10G,
        region="us-east-1",
        zone="us-east-1a",
        team="platform",
        project="search-embed",
        model="embed-small",
        workload="inference",
        pricing="on_demand",
        hourly=1.006,
        endpoint="embed-search",
    ),
    # 14. scheduling: development notebooks left on nights and weekends
    _aws(
        "dev-g5-alice",
        instance_type="g5.4xlarge",
        gpus=1,
        gpu=A10G,
        region="us-east-1",
        zone="us-east-1a",
        team="research",
        project="speech-asr",
        model="asr-large",
        workload="dev",
        pricing="on_demand",
        hourly=1.624,
        tags={"purpose": "notebook"},
    ),
    _aws(
        "dev-g5-bob",
        instance_type="g5.4xlarge",
        gpus=1,
        gpu=A10G,
        region="us-east-1",
        zone="us-east-1a",
        team="nlp",
        project="llm-chat",
        model="nw-chat-70b",
        workload="dev",
        pricing="on_demand",
        hourly=1.624,
        tags={"purpose": "notebook"},
    ),
    # spot evaluation nodes (busy while they run)
    *(
        _aws(
            f"eval-spot-{i}",
            instance_type="g5.2xlarge",
            gpus=1,
            gpu=A10G,
            region="us-east-1",
            zone="us-east-1d",
            team="vision",
            project="vision-seg",
            model="seg-v3",
            workload="spot_eval",
            pricing="spot",
            hourly=0.43682,
        )
        for i in (1, 2)
    ),
    # 12. self-managed HDFS on EC2 with large EBS volumes
    *(
        _aws(
            f"hdfs-dn-{i}",
            instance_type="r6i.4xlarge",
            gpus=0,
            gpu=None,
            region="us-east-1",
            zone="us-east-1a",
            team="platform",
            project="data-lake",
            model="",
            workload="hdfs",
            pricing="on_demand",
            hourly=1.008,
            tags={"role": "hdfs-datanode", "hdfs_replication": "3"},
        )
        for i in (1, 2, 3, 4)
    ),
    # GCP: busy asr-large training on a3-highgpu-8g
    Machine(
        name="a3-train-1",
        provider="gcp",
        instance_type="a3-highgpu-8g",
        gpus=8,
        gpu=H100,
        region="us-central1",
        zone="us-central1-a",
        team="research",
        project="speech-asr",
        model="asr-large",
        workload="training",
        pricing="on_demand",
        hourly=88.49,
        resource_id=f"//compute.googleapis.com/projects/{GCP_PROJECT}/zones/us-central1-a/instances/a3-train-1",
    ),
    # Azure: busy seg-v3 training on ND96asr_v4 (EUR)
    Machine(
        name="nd96-train-1",
        provider="azure",
        instance_type="Standard_ND96asr_v4",
        gpus=8,
        gpu=A100_40,
        region="westeurope",
        zone="",
        team="vision",
        project="vision-seg",
        model="seg-v3",
        workload="training",
        pricing="on_demand",
        hourly=32.52,
        resource_id=f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-vision-train/providers/"
        "Microsoft.Compute/virtualMachines/nd96-train-1",
    ),
    # OCI (FOCUS export): evaluation node
    Machine(
        name="oci-a10-eval-1",
        provider="oracle",
        instance_type="VM.GPU.A10.1",
        gpus=1,
        gpu=A10,
        region="us-ashburn-1",
        zone="",
        team="platform",
        project="search-embed",
        model="embed-small",
        workload="evaluation",
        pricing="on_demand",
        hourly=2.0,
        resource_id="ocid1.instance.oc1.iad.northwindgeneratedevala10x1",
    ),
)


def _gcp(name: str, zone: str, **kw) -> Machine:
    """A Compute Engine VM: its host name is the instance name (the export's ``resource.name``)."""
    return Machine(
        name=name,
        provider="gcp",
        region=zone[:-2],
        zone=zone,
        resource_id=f"//compute.googleapis.com/projects/{GCP_PROJECT}/zones/{zone}/instances/{name}",
        **kw,
    )


def _azure(name: str, rg: str, **kw) -> Machine:
    """An Azure VM: the last segment of its ARM resource id is the VM (and host) name."""
    return Machine(
        name=name,
        provider="azure",
        region="westeurope",
        zone="",
        resource_id=f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{rg}/providers/"
        f"Microsoft.Compute/virtualMachines/{name}",
        **kw,
    )


# GCP bills a VM hour as one vCPU core line, one RAM line and one GPU line per machine (USD list prices,
# us-central1): family -> (core SKU, RAM SKU, GPU SKU) as (id, description, price per unit-hour).
GCP_SKUS = {
    "a2": (
        ("A2-CORE-USC1", "A2 Instance Core running in Americas", 0.031611),
        ("A2-RAM0-USC1", "A2 Instance Ram running in Americas", 0.004237),
        ("A100-GPU-USC1", "Nvidia Tesla A100 GPU running in Americas", 2.933908),
    ),
    "n2": (
        ("N2-CORE-USC1", "N2 Instance Core running in Americas", 0.031611),
        ("N2-RAM0-USC1", "N2 Instance Ram running in Americas", 0.004237),
        None,
    ),
}
GCP_SHAPES = {
    "a2-highgpu-1g": (12, 85),
    "a2-highgpu-4g": (48, 340),
    "a2-highgpu-8g": (96, 680),
    "n2-standard-8": (8, 32),
}
GCP_PD_STANDARD = ("PD-STD-USC1", "Storage PD Capacity", 0.04)  # per GiB-month


def gcp_hourly(instance_type: str, gpus: int) -> float:
    """The VM's hourly list price: vCPUs x core price + GiB x RAM price + GPUs x GPU price."""
    core, ram, gpu = GCP_SKUS[instance_type.split("-")[0]]
    vcpu, gib = GCP_SHAPES[instance_type]
    return round(vcpu * core[2] + gib * ram[2] + (gpus * gpu[2] if gpu else 0.0), 6)


# The GPU machines of GCP and Azure that the savings detectors judge (planted, see opportunities.py), and a
# self-managed HDFS cluster on GCP VMs. Their workloads are scheduled after everything above (workloads.py).
A2_4G, A2_1G, A2_8G = gcp_hourly("a2-highgpu-4g", 4), gcp_hourly("a2-highgpu-1g", 1), gcp_hourly("a2-highgpu-8g", 8)
N2_8 = gcp_hourly("n2-standard-8", 0)
HDFS_GCP_DISK_GIB = 10_240  # one pd-standard data disk per datanode
MACHINES += (
    # GCP idle: an a2-highgpu-4g left running after a vision experiment, no jobs
    _gcp(
        "nw-vision-a2-01",
        "us-central1-b",
        instance_type="a2-highgpu-4g",
        gpus=4,
        gpu=A100_40,
        team="vision",
        project="vision-seg",
        model="seg-v3",
        workload="idle_vm",
        pricing="on_demand",
        hourly=A2_4G,
    ),
    # GCP batching: the document OCR endpoint answers one request at a time on an A100
    _gcp(
        "nw-ocr-a2-01",
        "us-central1-a",
        instance_type="a2-highgpu-1g",
        gpus=1,
        gpu=A100_40,
        team="platform",
        project="doc-ai",
        model="ocr-v2",
        workload="inference_vm",
        pricing="on_demand",
        hourly=A2_1G,
        endpoint="ocr-realtime",
    ),
    # GCP gpu_to_cpu: a small re-ranking model with a few requests a second at most
    _gcp(
        "nw-rerank-a2-01",
        "us-central1-a",
        instance_type="a2-highgpu-1g",
        gpus=1,
        gpu=A100_40,
        team="platform",
        project="search-embed",
        model="rerank-small",
        workload="inference_vm",
        pricing="on_demand",
        hourly=A2_1G,
        endpoint="rerank-search",
    ),
    # GCP spot: a Slurm cluster of two a2-highgpu-8g nodes running long on-demand pre-training jobs
    *(
        _gcp(
            f"nw-gpu-{i:02d}",
            "us-central1-c",
            instance_type="a2-highgpu-8g",
            gpus=8,
            gpu=A100_40,
            team="nlp",
            project="llm-pretrain",
            model="nw-base-7b",
            workload="slurm_training",
            pricing="on_demand",
            hourly=A2_8G,
        )
        for i in (1, 2)
    ),
    # GCP HDFS: three n2 datanodes with a persistent data disk each, replication 2
    *(
        _gcp(
            f"lake-dn-{i}",
            "us-central1-a",
            instance_type="n2-standard-8",
            gpus=0,
            gpu=None,
            team="platform",
            project="data-lake",
            model="",
            workload="hdfs_vm",
            pricing="on_demand",
            hourly=N2_8,
            tags={"role": "hdfs-datanode", "cluster": "lake", "hdfs_replication": "2"},
        )
        for i in (1, 2, 3)
    ),
    # Azure idle (EUR): an NC24ads A100 v4 nobody uses
    _azure(
        "vm-nlp-nc24-01",
        "rg-nlp-exp",
        instance_type="Standard_NC24ads_A100_v4",
        gpus=1,
        gpu=A100_80,
        team="nlp",
        project="llm-chat",
        model="nw-chat-70b",
        workload="idle_vm",
        pricing="on_demand",
        hourly=4.42,
    ),
    # Azure underused (EUR): four A100s running evaluations that use about a quarter of them
    _azure(
        "vm-research-nc96-01",
        "rg-research-eval",
        instance_type="Standard_NC96ads_A100_v4",
        gpus=4,
        gpu=A100_80,
        team="research",
        project="speech-asr",
        model="asr-large",
        workload="underused_vm",
        pricing="on_demand",
        hourly=17.69,
    ),
)
AZURE_VM_METERS = {  # instance type -> (meter sub-category, meter name, product name, vCPUs)
    "Standard_ND96asr_v4": (
        "NDasrA100v4 Series",
        "ND96asr v4",
        "Virtual Machines NDasrA100v4 Series - ND96asr v4 - EU West",
        96,
    ),
    "Standard_NC24ads_A100_v4": (
        "NCadsA100v4 Series",
        "NC24ads A100 v4",
        "Virtual Machines NCadsA100v4 Series - NC24ads A100 v4 - EU West",
        24,
    ),
    "Standard_NC96ads_A100_v4": (
        "NCadsA100v4 Series",
        "NC96ads A100 v4",
        "Virtual Machines NCadsA100v4 Series - NC96ads A100 v4 - EU West",
        96,
    ),
}

GPU_MACHINES = tuple(m for m in MACHINES if m.gpus > 0)


def machine(name: str) -> Machine:
    return next(m for m in MACHINES if m.name == name)


# SageMaker (managed, no GPU agent): an endpoint and training jobs, both for asr-large
SAGEMAKER_ENDPOINT = f"arn:aws:sagemaker:us-east-1:{AWS_ACCOUNTS['research']}:endpoint/asr-large-prod"
SAGEMAKER_ENDPOINT_INSTANCES = 2
SAGEMAKER_HOST_TYPE, SAGEMAKER_HOST_RATE = "ml.g5.4xlarge", 2.03
SAGEMAKER_TRAIN_TYPE, SAGEMAKER_TRAIN_RATE = "ml.p4d.24xlarge", 25.25
VERTEX_ENDPOINT = f"projects/{GCP_PROJECT}/locations/us-central1/endpoints/asr-large-online"
VERTEX_NODE_RATE = 1.0

# Reserved instance: 2 x p4d.24xlarge (1 year, no upfront, zonal us-east-1a); only vision-p4d-3 matches
RI_ARN = f"arn:aws:ec2:us-east-1:{AWS_PAYER}:reserved-instances/{hex_id('ri-p4d', 8)}-0000-4000-8000-{hex_id('ri', 12)}"
RI_COUNT, RI_RATE = 2, 13.921094
# Compute Savings Plan covering the chat endpoints' g6e usage
SP_ARN = f"arn:aws:savingsplans::{AWS_PAYER}:savingsplan/{hex_id('sp-compute', 8)}-0000-4000-8000-{hex_id('sp', 12)}"
SP_RATE = {"g6e.12xlarge": 6.61036}  # the plan's rate for covered usage
SP_COMMITMENT_PER_HOUR = 13.6  # dollars per hour committed (covered usage needs 13.22)

S3_PRICES = {"STANDARD": 0.023, "STANDARD_IA": 0.0125, "GLACIER": 0.0036, "INTELLIGENT_TIERING": 0.023}
EBS_PRICES = {"gp3": 0.08, "st1": 0.045}
HDFS_VOLUMES_PER_NODE, HDFS_VOLUME_GIB = 6, 12_500


def ebs_volumes(m: Machine) -> list[tuple[str, int]]:
    """The EBS volumes (type, GiB) attached to an AWS machine: a gp3 root, plus st1 data volumes on HDFS nodes."""
    volumes = [("gp3", 2000 if m.gpus >= 4 else 500)]
    if m.workload == "hdfs":
        volumes += [("st1", HDFS_VOLUME_GIB)] * HDFS_VOLUMES_PER_NODE
    return volumes


EGRESS_INTERNET, EGRESS_INTER_REGION = 0.09, 0.02
TAX_RATE = 0.0625  # a sales tax on AWS usage, one Tax line per month and service
MONTHLY_CREDIT = 5000.0  # an AWS promotional credit each month (prorated to the window)

# The story the weeks tell (see workloads.story_hours)
INFERENCE_GROWTH_PER_WEEK = 0.03  # requests, tokens and token-billed spend grow 3 % a week
NEW_PROJECT_START = (3, 9)  # vision-seg-v4 starts on Thursday 09:00 of the second-to-last week (day, hour)
SCHEDULED_DEV = "dev-g5-bob"  # scheduled off nights and weekends in the last week (the resolved recommendation)
EGRESS_BURST_DAY, EGRESS_BURST_HOURS = 2, range(10, 22)  # Wednesday of the last week: weights downloads burst
EGRESS_BURST_DOWNLOADS_PER_HOUR = 20

# Daily data pipelines (the data_processing category): (hourly quantity, unit price, first hour, hours)
GLUE_DPU, GLUE_DPU_RATE, GLUE_HOURS = 100.0, 0.44, (2, 4)  # AWS Glue ETL job, DPU-hours
EMR_NODES, EMR_NODE_FEE, EMR_INSTANCE, EMR_HOURS = 12, 0.252, "r5.4xlarge", (1, 6)  # EMR fee per node-hour
DATAFLOW_VCPU, DATAFLOW_VCPU_RATE, DATAFLOW_GB, DATAFLOW_GB_RATE, DATAFLOW_HOURS = 400, 0.056, 1500, 0.003557, (3, 4)
DATABRICKS_DBU, DATABRICKS_DBU_RATE = 350.0, 0.30  # EUR, premium jobs compute, per day
