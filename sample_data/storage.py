"""S3 buckets as an S3 Inventory (manifest.json + headerless gzip CSV data files), and their totals.

Planted here: a bucket with hundreds of TB in STANDARD last read 90+ days ago (tiering), with
near-misses that must not count (objects under 128 KB, objects younger than 30 days); large
uncompressed .csv/.json/.log objects (compression); ``checkpoints/<run>/step-*.pt`` sprawl. Keys are
URL-encoded in the inventory CSV as S3 Inventory does; some contain a space or ``+`` to exercise decoding.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import numpy as np
import polars as pl

from sample_data.workloads import Window, rng_for

GIB = 2**30
TIB = 2**40
FILE_SCHEMA = "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessedDate"


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    team: str
    project: str


BUCKETS = (
    Bucket("nw-training-data", "us-east-1", "platform", "data-lake"),
    Bucket("nw-checkpoints", "us-east-1", "nlp", "llm-chat"),
    Bucket("nw-model-weights", "us-west-2", "platform", "llm-chat"),
    Bucket("nw-archive", "us-east-1", "vision", "vision-seg"),
)
WEIGHTS_PREFIX = "releases/nw-chat-70b/v3/"
WEIGHTS_SHARDS, WEIGHTS_SHARD_BYTES = 30, 4_700_000_000
CHECKPOINT_RUNS = ("chat70b-sft-r1", "chat70b-sft-r2", "chat70b-dpo-r1")
CHECKPOINTS_PER_RUN = 48


def _objects(
    bucket: str, keys: list[str] | np.ndarray, size, modified_days, accessed_days, storage_class: str
) -> pl.DataFrame:
    """Objects with ages in days before the snapshot (accessed NaN: unknown)."""
    n = len(keys)
    return pl.DataFrame(
        {
            "bucket": [bucket] * n,
            "key": list(keys),
            "size": np.broadcast_to(np.asarray(size, dtype=np.int64), (n,)).copy(),
            "modified_days": np.broadcast_to(np.asarray(modified_days, dtype=np.float64), (n,)).copy(),
            "accessed_days": np.broadcast_to(np.asarray(accessed_days, dtype=np.float64), (n,)).copy(),
            "storage_class": [storage_class] * n,
        }
    )


def inventory(seed: int) -> pl.DataFrame:
    """Every object of every bucket, ages relative to the snapshot."""
    rng = rng_for(seed, "storage")
    parts = []
    n = 19_000  # cold training shards in STANDARD (tiering)
    parts.append(
        _objects(
            "nw-training-data",
            [f"datasets/corpus-{i % 40:02d}/shard-{i:05d}.parquet" for i in range(n)],
            rng.integers(18 * GIB, 24 * GIB, n),
            rng.uniform(200, 700, n),
            rng.uniform(95, 400, n),
            "STANDARD",
        )
    )
    n = 3_000  # near-miss: tiny cold objects (< 128 KB)
    parts.append(
        _objects(
            "nw-training-data",
            [f"datasets/corpus-{i % 40:02d}/_meta/part-{i:05d}+stats.json" for i in range(n)],
            rng.integers(2_000, 120_000, n),
            rng.uniform(200, 700, n),
            rng.uniform(120, 400, n),
            "STANDARD",
        )
    )
    n = 600  # near-miss: young objects (< 30 days), half never read
    accessed = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 5, n))
    parts.append(
        _objects(
            "nw-training-data",
            [f"datasets/fresh-2026/shard-{i:05d}.parquet" for i in range(n)],
            rng.integers(5 * GIB, 10 * GIB, n),
            rng.uniform(1, 25, n),
            accessed,
            "STANDARD",
        )
    )
    n = 1_200  # large uncompressed text (data compression)
    ext = np.array(["json", "csv", "log"])[np.arange(n) % 3]
    folder = np.array(["raw/events", "raw/exports/Q3 2026", "logs/app"])[np.arange(n) % 3]  # a key with a space
    parts.append(
        _objects(
            "nw-training-data",
            [f"{f}/2026/part-{i:05d}.{e}" for i, (f, e) in enumerate(zip(folder, ext))],
            rng.integers(30 * GIB, 50 * GIB, n),
            rng.uniform(30, 80, n),
            rng.uniform(5, 40, n),
            "STANDARD",
        )
    )
    n = 1_000
    parts.append(
        _objects(
            "nw-training-data",
            [f"archive-ia/corpus-2024/shard-{i:05d}.parquet" for i in range(n)],
            rng.integers(45 * GIB, 55 * GIB, n),
            rng.uniform(300, 500, n),
            rng.uniform(60, 300, n),
            "STANDARD_IA",
        )
    )
    keys, ages = [], []
    for r, run in enumerate(CHECKPOINT_RUNS):  # checkpoint sprawl
        for s in range(CHECKPOINTS_PER_RUN):
            keys.append(f"checkpoints/{run}/step-{(s + 1) * 500:06d}.pt")
            ages.append(10 + r * 20 + (CHECKPOINTS_PER_RUN - s) * 0.4)
    n = len(keys)
    ages = np.array(ages)
    parts.append(
        _objects(
            "nw-checkpoints",
            keys,
            rng.integers(780 * 10**9, 820 * 10**9, n),
            ages,
            ages - rng.uniform(0, 2, n),
            "STANDARD",
        )
    )
    shards = [f"{WEIGHTS_PREFIX}model-{i + 1:05d}-of-{WEIGHTS_SHARDS:05d}.safetensors" for i in range(WEIGHTS_SHARDS)]
    shards += [
        WEIGHTS_PREFIX + "config.json",
        WEIGHTS_PREFIX + "tokenizer.json",
        "releases/embed-small/v2/model.safetensors",
    ]
    sizes = [WEIGHTS_SHARD_BYTES] * WEIGHTS_SHARDS + [1_400, 9_000_000, 540_000_000]
    parts.append(_objects("nw-model-weights", shards, sizes, 60.0, 0.1, "INTELLIGENT_TIERING"))
    n = 2_000
    parts.append(
        _objects(
            "nw-archive",
            [f"2023/vision-raw-{i % 25:02d}/tar-{i:05d}.tar" for i in range(n)],
            rng.integers(380 * GIB, 420 * GIB, n),
            rng.uniform(400, 900, n),
            np.nan,
            "GLACIER",
        )
    )
    return pl.concat(parts)


def bucket_totals(objects: pl.DataFrame) -> pl.DataFrame:
    """Bytes per bucket and storage class (what the bill charges for)."""
    return (
        objects.group_by("bucket", "storage_class")
        .agg(pl.col("size").sum().alias("bytes"))
        .sort("bucket", "storage_class")
    )


def url_encoded(keys: pl.Expr) -> pl.Expr:
    """Keys URL-encoded as S3 Inventory writes them (``quote_plus``: ``/`` -> ``%2F``, space -> ``+``)."""
    return keys.map_batches(
        lambda s: pl.Series(s.name, [quote_plus(k) for k in s.to_list()], dtype=pl.String), return_dtype=pl.String
    )


def _iso(snapshot: datetime, days: pl.Expr) -> pl.Expr:
    ts = pl.lit(snapshot) - pl.duration(seconds=(days * 86400).round(0).cast(pl.Int64))
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write_inventories(objects: pl.DataFrame, window: Window, out: Path) -> list[Path]:
    """One S3 Inventory per bucket under ``out/<bucket>/``; returns the manifests."""
    snapshot = window.end - timedelta(days=1)
    manifests = []
    for bucket in BUCKETS:
        rows = objects.filter(pl.col("bucket") == bucket.name).select(
            "bucket",
            url_encoded(pl.col("key")).alias("key"),
            pl.col("size").cast(pl.String),
            _iso(snapshot, pl.col("modified_days")).alias("modified"),
            "storage_class",
            pl.when(pl.col("accessed_days").is_nan())
            .then(pl.lit(""))
            .otherwise(_iso(snapshot, pl.col("accessed_days")))
            .alias("accessed"),
        )
        folder = out / bucket.name
        (folder / "data").mkdir(parents=True, exist_ok=True)
        files = []
        chunk = 15_000
        for i in range(0, max(rows.height, 1), chunk):
            data = gzip_bytes(rows.slice(i, chunk).write_csv(include_header=False, quote_style="always").encode())
            name = f"{hashlib.sha256(f'{bucket.name}/{i}'.encode()).hexdigest()[:32]}.csv.gz"
            (folder / "data" / name).write_bytes(data)
            files.append(
                {
                    "key": f"{bucket.name}/inventory-daily/data/{name}",
                    "size": len(data),
                    "MD5checksum": hashlib.md5(data).hexdigest(),
                }
            )
        manifest = {
            "sourceBucket": bucket.name,
            "destinationBucket": "arn:aws:s3:::nw-inventory-generated",
            "version": "2016-11-30",
            "creationTimestamp": str(int(snapshot.timestamp() * 1000)),
            "fileFormat": "CSV",
            "fileSchema": FILE_SCHEMA,
            "files": files,
        }
        path = folder / "manifest.json"
        path.write_text(json.dumps(manifest, indent=2) + "\n")
        manifests.append(path)
    return manifests


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with a fixed header (no file name, mtime 0): the same input gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:
        fh.write(data)
    return buf.getvalue()
