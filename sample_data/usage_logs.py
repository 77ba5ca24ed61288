"""The usage logs: nvidia-smi CSV per machine, jobs CSV, hourly inference CSV, network flows CSV."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.company import (
    EGRESS_BURST_DAY,
    EGRESS_BURST_DOWNLOADS_PER_HOUR,
    EGRESS_BURST_HOURS,
    GPU_MACHINES,
    MACHINES,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_ENDPOINT_INSTANCES,
    VERTEX_ENDPOINT,
    gpu_uuid,
    machine,
)
from sample_data.frames import hour_times
from sample_data.storage import WEIGHTS_PREFIX, WEIGHTS_SHARD_BYTES, WEIGHTS_SHARDS
from sample_data.workloads import Schedule, Window, rng_for
from transforms.usage.jobs_csv import COLUMNS as JOBS_HEADER  # the documented jobs CSV it writes

SMI_HEADER = "timestamp, index, uuid, name, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]"
ISO = "%Y-%m-%dT%H:%M:%SZ"


def resource_id(name: str) -> str:
    """How a usage log names a machine: AWS logs the instance id; a GCP or Azure VM is logged by its host
    name (the instance / VM name the bill shows as ``resource.name`` / the ARM id's last segment); anything
    else (a SageMaker ARN) is already an id."""
    known = {m.name: m.resource_id for m in MACHINES if m.provider not in HOST_NAMED}
    return known.get(name, name)


HOST_NAMED = ("gcp", "azure")  # providers whose machines the logs name by host name
DCGM_MACHINES = ("vm-nlp-nc24-01",)  # scraped by dcgm-exporter (util and framebuffer counters only)


def write_gpu_metrics(sched: Schedule, window: Window, seed: int, out: Path) -> dict[str, Path]:
    """One gzip nvidia-smi query-gpu CSV per GPU machine, named as its logs name it (``<instance id>.csv.gz`` on
    AWS, ``<host name>.csv.gz`` on GCP and Azure, a ``host`` column where the id is no file name); the
    DCGM-scraped machines get a Prometheus text file instead (``write_dcgm``)."""
    written = {}
    out.mkdir(parents=True, exist_ok=True)
    for m in GPU_MACHINES:
        if m.name in DCGM_MACHINES:
            continue
        rng = rng_for(seed, f"smi/{m.name}")
        hours = np.flatnonzero(sched.on[m.name])
        n_t, g = len(hours) * 4, m.gpus
        t_us = (
            int(window.start.timestamp()) + (np.repeat(hours, 4) * 3600 + np.tile([0, 900, 1800, 2700], len(hours)))
        ) * 1_000_000
        mean = np.repeat(sched.util[m.name][hours], 4)[:, None]
        sd = np.where(mean > 8, 3.0, 0.6)
        util = np.clip(np.rint(mean + rng.normal(0, 1, (n_t, g)) * sd), 0, 100).astype(np.int64)
        frac = util / 100.0
        loaded = mean > 5
        mem = np.where(loaded, m.gpu.memory_mib * (0.55 + 0.4 * frac), rng.integers(1, 6, (n_t, g)))
        power = m.gpu.idle_w + (m.gpu.max_w - m.gpu.idle_w) * 0.92 * frac + rng.normal(0, 1.5, (n_t, g))
        frame = pl.DataFrame(
            {
                "ts": np.repeat(t_us, g),
                "index": np.tile(np.arange(g), n_t),
                "util": util.ravel(),
                "mem": np.rint(mem).astype(np.int64).ravel(),
                "power": np.round(np.maximum(power, m.gpu.idle_w * 0.8), 2).ravel(),
            }
        )
        uuids = pl.Series([gpu_uuid(m.name, i) for i in range(g)])
        lines = frame.select(
            pl.concat_str(
                [
                    pl.col("ts").cast(pl.Datetime("us")).dt.strftime("%Y/%m/%d %H:%M:%S%.3f"),
                    pl.col("index").cast(pl.String),
                    pl.col("index").replace_strict(list(range(g)), uuids.to_list(), return_dtype=pl.String),
                    pl.lit(m.gpu.smi_name),
                    pl.format("{} %", pl.col("util")),
                    pl.format("{} MiB", pl.col("mem")),
                    pl.lit(f"{m.gpu.memory_mib} MiB"),
                    pl.format("{} W", pl.col("power").round(2).cast(pl.Decimal(10, 2)).cast(pl.String)),
                ],
                separator=", ",
            ).alias("line")
        )["line"]
        logged_as = resource_id(m.name)
        needs_host = "/" in logged_as
        header = ("host, " + SMI_HEADER) if needs_host else SMI_HEADER
        if needs_host:
            lines = lines.to_frame().select(
                pl.concat_str([pl.lit(logged_as), pl.col("line")], separator=", ").alias("line")
            )["line"]
        stem = m.name if needs_host else logged_as
        path = out / f"{stem}.csv.gz"
        write_gzip_text(header + "\n" + "\n".join(lines.to_list()) + "\n", path, f"{stem}.csv")
        written[m.name] = path
    return written


def write_dcgm(sched: Schedule, window: Window, seed: int, out: Path) -> dict[str, tuple[Path, int]]:
    """dcgm-exporter scrapes (every 15 minutes, with timestamps) per DCGM machine, gzip, named by host name.

    The exporter runs with a counters file of utilisation and framebuffer only (no power), so energy for
    these machines comes from the GPU's power figure. Returns the path and the GPU samples per machine.
    """
    written = {}
    out.mkdir(parents=True, exist_ok=True)
    for m in (x for x in GPU_MACHINES if x.name in DCGM_MACHINES):
        rng = rng_for(seed, f"dcgm/{m.name}")
        hours = np.flatnonzero(sched.on[m.name])
        n_t, g = len(hours) * 4, m.gpus
        t_ms = (
            int(window.start.timestamp()) + np.repeat(hours, 4) * 3600 + np.tile([0, 900, 1800, 2700], len(hours))
        ) * 1000
        mean = np.repeat(sched.util[m.name][hours], 4)[:, None]
        util = np.clip(np.rint(mean + rng.normal(0, 1, (n_t, g)) * np.where(mean > 8, 3.0, 0.6)), 0, 100).astype(
            np.int64
        )
        used = np.where(
            mean > 5, np.rint(m.gpu.memory_mib * (0.55 + 0.4 * util / 100)), rng.integers(1, 6, (n_t, g))
        ).astype(np.int64)
        free_mib = m.gpu.memory_mib - used
        lines = [
            "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).",
            "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
            "# HELP DCGM_FI_DEV_FB_FREE Framebuffer memory free (in MiB).",
            "# TYPE DCGM_FI_DEV_FB_FREE gauge",
            "# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).",
            "# TYPE DCGM_FI_DEV_FB_USED gauge",
        ]
        labels = [
            f'gpu="{i}",UUID="{gpu_uuid(m.name, i)}",pci_bus_id="00000001:00:00.0",device="nvidia{i}",'
            f'modelName="{m.gpu.smi_name}",Hostname="{m.name}"'
            for i in range(g)
        ]
        for t in range(n_t):
            for i in range(g):
                lines.append(f"DCGM_FI_DEV_GPU_UTIL{{{labels[i]}}} {util[t, i]} {t_ms[t]}")
                lines.append(f"DCGM_FI_DEV_FB_FREE{{{labels[i]}}} {free_mib[t, i]} {t_ms[t]}")
                lines.append(f"DCGM_FI_DEV_FB_USED{{{labels[i]}}} {used[t, i]} {t_ms[t]}")
        path = out / f"{m.name}.prom.gz"
        write_gzip_text("\n".join(lines) + "\n", path, f"{m.name}.prom")
        written[m.name] = (path, n_t * g)
    return written


def slurm_sacct_text(sched: Schedule, window: Window) -> str:
    """The Slurm jobs as ``sacct --parsable2`` output (NodeList a host-name range, GPUs from AllocTRES)."""
    header = "JobID|JobName|Account|User|Partition|WCKey|Start|End|State|NNodes|AllocTRES|NodeList"
    lines = [header]
    for j in (j for j in sched.jobs if j.log == "slurm"):
        nodes = sorted(j.resources)
        prefix = nodes[0][:-2]
        nodelist = f"{prefix}[{nodes[0][-2:]}-{nodes[-1][-2:]}]" if len(nodes) > 1 else nodes[0]
        end = "Unknown" if j.end_h is None else window.at(j.end_h).strftime("%Y-%m-%dT%H:%M:%S")
        state = "RUNNING" if j.end_h is None else "COMPLETED"
        lines.append(
            "|".join(
                [
                    j.job_id,
                    f"{j.model}-pretrain",
                    j.team,
                    j.user,
                    "a2-ondemand",
                    j.project,
                    window.at(j.start_h).strftime("%Y-%m-%dT%H:%M:%S"),
                    end,
                    state,
                    str(len(nodes)),
                    f"billing={96 * len(nodes)},cpu={96 * len(nodes)},gres/gpu={j.gpus_per_node * len(nodes)},"
                    f"mem={680 * len(nodes)}G,node={len(nodes)}",
                    nodelist,
                ]
            )
        )
    return "\n".join(lines) + "\n"


def jobs_frame(sched: Schedule, window: Window) -> pl.DataFrame:
    """The jobs as the documented CSV layout (one row per job, machines ``;``-separated)."""
    rows = []
    for j in (j for j in sched.jobs if j.log == "jobs"):
        rows.append(
            {
                "job_id": j.job_id,
                "kind": j.kind,
                "team": j.team,
                "project": j.project,
                "model": j.model,
                "user": j.user,
                "resource_ids": ";".join(resource_id(r) for r in j.resources),
                "start": window.at(j.start_h).strftime(ISO),
                "end": "" if j.end_h is None else window.at(j.end_h).strftime(ISO),
                "gpus_per_node": str(j.gpus_per_node),
                "pricing_model": j.pricing_model,
            }
        )
    return pl.DataFrame(rows, schema={c: pl.String for c in JOBS_HEADER}).sort("start", "job_id")


def inference_frame(sched: Schedule, window: Window, seed: int) -> pl.DataFrame:
    """Hourly serving statistics per endpoint and machine, consistent with the GPUs' utilisation."""
    rng = rng_for(seed, "inference")
    H = window.hours
    hod = window.hour_of_day()
    diurnal = (1 + 0.35 * np.sin((hod - 9) / 24 * 2 * np.pi)) * window.growth()  # daily cycle, weekly growth
    parts = []

    def add(endpoint, model, rid, rate_per_s, tok_in, tok_out, batch, latency):
        requests = rng.poisson(np.maximum(rate_per_s, 0) * 3600)
        parts.append(
            pl.DataFrame(
                {
                    "hour": hour_times(window, np.arange(H))[0].dt.strftime(ISO),
                    "endpoint": endpoint,
                    "model": model,
                    "resource_id": rid,
                    "requests": requests,
                    "tokens_in": np.rint(requests * tok_in).astype(np.int64),
                    "tokens_out": np.rint(requests * tok_out).astype(np.int64),
                    "avg_batch_size": np.round(batch, 2),
                    "avg_latency_ms": np.round(latency, 1),
                }
            )
        )

    for name in ("chat-g6e-1", "chat-g6e-2"):
        util = sched.util[name]
        add(
            "chat-prod",
            "nw-chat-70b",
            machine(name).resource_id,
            util * 0.6,
            rng.normal(900, 40, H),
            rng.normal(260, 15, H),
            rng.normal(24, 2, H),
            rng.normal(950, 60, H),
        )
    seg = machine("seg-g5-1")
    add("seg-realtime", "seg-v3", seg.resource_id, 12 * diurnal, 0, 0, rng.uniform(1.0, 1.08, H), rng.normal(38, 3, H))
    emb = machine("embed-g5-1")
    add(
        "embed-search",
        "embed-small",
        emb.resource_id,
        0.35 * diurnal,
        rng.normal(120, 8, H),
        0,
        np.ones(H),
        rng.normal(12, 1, H),
    )
    add(
        "asr-large-prod",
        "asr-large",
        SAGEMAKER_ENDPOINT,
        6 * SAGEMAKER_ENDPOINT_INSTANCES * diurnal,
        0,
        rng.normal(80, 5, H),
        rng.normal(6, 0.5, H),
        rng.normal(420, 25, H),
    )
    add(
        "asr-large-online",
        "asr-large",
        VERTEX_ENDPOINT,
        2 * diurnal,
        0,
        rng.normal(80, 5, H),
        rng.normal(4, 0.4, H),
        rng.normal(450, 30, H),
    )
    rng = rng_for(seed, "inference/gcp")  # the GCP endpoints, logged by host name (their own stream)
    ocr = machine("nw-ocr-a2-01")
    add(
        ocr.endpoint,
        ocr.model,
        resource_id(ocr.name),
        9 * diurnal,
        rng.normal(1400, 60, H),
        rng.normal(600, 30, H),
        rng.uniform(1.0, 1.05, H),
        rng.normal(85, 6, H),
    )
    rerank = machine("nw-rerank-a2-01")
    add(
        rerank.endpoint,
        rerank.model,
        resource_id(rerank.name),
        0.3 * diurnal,
        rng.normal(180, 10, H),
        0,
        np.ones(H),
        rng.normal(9, 1, H),
    )
    return pl.concat(parts).sort("hour", "endpoint", "resource_id")


def network_frame(sched: Schedule, window: Window, seed: int) -> pl.DataFrame:
    """Hourly flows: weights downloads to the internet, cross-region pulls, endpoint responses."""
    rng = rng_for(seed, "network")
    H = window.hours
    hours = np.arange(H)
    start = hour_times(window, hours)[0].dt.strftime(ISO)
    weights_bytes = WEIGHTS_SHARDS * WEIGHTS_SHARD_BYTES
    downloads = rng.poisson(0.3, H)
    burst = egress_burst_hours(window)  # the anomaly: the weights link went viral for an afternoon
    downloads[burst] += rng.poisson(EGRESS_BURST_DOWNLOADS_PER_HOUR, len(burst))

    def hourly(source, source_region, destination, destination_region, moved, content_key) -> pl.DataFrame:
        """One flow row an hour of the window, ``moved`` bytes each hour."""
        return pl.DataFrame(
            {
                "interval_start": start,
                "interval_seconds": 3600,
                "source_resource_id": source,
                "source_region": source_region,
                "destination": destination,
                "destination_region": destination_region,
                "bytes": moved,
                "content_key": content_key,
            }
        )

    parts = [
        hourly("nw-model-weights", "us-west-2", "internet", "", downloads * weights_bytes, WEIGHTS_PREFIX),
    ]
    for m in (m for m in MACHINES if m.workload == "cluster"):
        util = sched.util[m.name]
        job_start = np.r_[util[0] > 0, (util[1:] > 0) & (util[:-1] == 0)]
        parts.append(
            hourly(
                "nw-model-weights",
                "us-west-2",
                m.resource_id,
                "us-east-1",
                job_start.astype(np.int64) * weights_bytes,
                WEIGHTS_PREFIX,
            )
        )
        parts.append(
            hourly(
                "nw-model-weights",
                "us-west-2",
                m.resource_id,
                "us-east-1",
                (util > 0) * rng.integers(15 * 10**9, 25 * 10**9, H),
                "eval/chat-bench/",
            )
        )
    for name in ("chat-g6e-1", "chat-g6e-2"):
        m = machine(name)
        parts.append(hourly(m.resource_id, "us-east-1", "internet", "", rng.integers(1 * 10**9, 3 * 10**9, H), ""))
    flows = pl.concat(parts, how="vertical_relaxed").filter(pl.col("bytes") > 0)
    return flows.with_columns(pl.col("interval_seconds").cast(pl.Int64), pl.col("bytes").cast(pl.Int64)).sort(
        "interval_start", "source_resource_id", "destination", "content_key"
    )


def egress_burst_hours(window: Window) -> np.ndarray:
    """The hours of the last week's Wednesday when the model weights were downloaded many times over."""
    return window.last_week() + EGRESS_BURST_DAY * 24 + np.array(list(EGRESS_BURST_HOURS))


def write_gzip_text(text: str, path: Path, inner_name: str) -> Path:
    """Gzip text to ``path`` with no timestamp and a fixed inner name, so the bytes depend on the text only."""
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename=inner_name, mode="wb", fileobj=raw, mtime=0, compresslevel=6) as fh,
    ):
        fh.write(text.encode("utf-8"))
    return path


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
