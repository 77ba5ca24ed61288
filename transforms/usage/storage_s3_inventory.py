"""Storage inventory from S3 Inventory CSV reports (reader ``s3_inventory``).

What is ingested is the inventory's ``manifest.json``; its data files are part of it. Layout (one
folder per bucket and snapshot, as S3 Inventory delivers it):

    <bucket>/manifest.json
        {"sourceBucket": "nw-training-data", "fileFormat": "CSV",
         "fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessedDate",
         "files": [{"key": ".../data/<uuid>.csv.gz", "size": 1234, "MD5checksum": "..."}, ...],
         "creationTimestamp": "1763251200000"}
    <bucket>/<uuid>.csv.gz or <bucket>/data/<uuid>.csv.gz
        headerless gzip CSV, every field quoted, fields in fileSchema order, e.g.
        "nw-training-data","datasets/shard%2001.parquet","21474836480","2026-05-01T10:00:00.000Z","STANDARD",""

Mapping: Bucket → bucket, Key → key (URL-decoded, ``+`` is a space, as S3 Inventory encodes keys),
Size → size_bytes, StorageClass → storage_class, LastModifiedDate → last_modified (UTC),
LastAccessedDate → last_accessed (this project's documented extension, filled from access logs
where known; empty → null), the manifest's creationTimestamp (epoch ms) → snapshot_date (UTC
date), provider ``aws``. ``source_row`` numbers the data rows across the data files in manifest
order. Rejected rows: a missing bucket, key or size, a size that is not a whole number of zero or
more bytes, a key that is not valid URL encoding of UTF-8, a date that does not parse.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import polars as pl

from transforms.formats import FormatError, Sniff, SourceFormat, register
from transforms.parsing import parse_timestamp, reject_if_missing, reject_if_unparsed, text
from transforms.schema import STORAGE_INVENTORY_COLUMNS, conform
from transforms.usage.common import col_or_null, require

FORMAT = "s3_inventory"
REQUIRED = ("Bucket", "Key", "Size")


def _decoded(value: str | None) -> str | None:
    """One URL-encoded key decoded, or None where it is not valid UTF-8 percent-encoding."""
    if value is None:
        return None
    try:
        return unquote_plus(value, errors="strict")
    except UnicodeDecodeError:
        return None


def url_decoded(expr: pl.Expr) -> pl.Expr:
    """S3 Inventory keys decoded (``%2F`` → ``/``, ``+`` → space); null where the encoding is invalid."""
    return expr.map_batches(
        lambda keys: pl.Series(keys.name, [_decoded(k) for k in keys.to_list()], dtype=pl.String),
        return_dtype=pl.String,
    )


def present_text(name: str) -> pl.Expr:
    """A raw column's exact text (not trimmed: keys may read like 'null'), null where empty."""
    return pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name))


def snapshot_date(raw: pl.LazyFrame) -> pl.Expr:
    """The manifest's creationTimestamp (epoch ms) as a UTC date; FormatError if it is not one."""
    require(raw, ("_snapshot_ms",), FORMAT)
    first = (
        raw.select(pl.len().alias("rows"), pl.col("_snapshot_ms").first().alias("value")).collect().row(0, named=True)
    )
    millis = pl.Series([first["value"]], dtype=pl.String).str.strip_chars().cast(pl.Int64, strict=False).item()
    if millis is None and first["rows"]:
        raise FormatError(f"{FORMAT}: manifest creationTimestamp: expected epoch milliseconds, got {first['value']!r}")
    return pl.lit(millis, dtype=pl.Int64).cast(pl.Datetime("ms", "UTC")).dt.date()


def inventory_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """S3 Inventory data rows → ``storage_inventory`` rows, with a reason for each bad row."""
    require(raw, REQUIRED, FORMAT)
    bucket, raw_key = present_text("Bucket"), present_text("Key")
    key = url_decoded(raw_key)
    size_text = text("Size")
    size = size_text.cast(pl.Int64, strict=False)
    modified_text, accessed_text = col_or_null(raw, "LastModifiedDate"), col_or_null(raw, "LastAccessedDate")
    modified, accessed = parse_timestamp(modified_text), parse_timestamp(accessed_text)
    reason = pl.coalesce(
        reject_if_missing({"Bucket": bucket, "Key": raw_key, "Size": size_text}),
        reject_if_unparsed(
            {
                "Key": (raw_key, key, "URL-encoded UTF-8 text"),
                "Size": (size_text, size, "a whole number of bytes"),
                "LastModifiedDate": (modified_text, modified, "an ISO 8601 timestamp"),
                "LastAccessedDate": (accessed_text, accessed, "an ISO 8601 timestamp or empty"),
            }
        ),
        pl.when(size < 0).then(pl.format("column Size: expected zero or more bytes, got '{}'", size_text)),
    )
    table = raw.with_columns(
        snapshot_date=snapshot_date(raw),
        provider=pl.lit("aws"),
        bucket=bucket,
        key=key,
        size_bytes=size,
        storage_class=col_or_null(raw, "StorageClass"),
        last_modified=modified,
        last_accessed=accessed,
        _reject_reason=reason,
    )
    return conform(table, {**STORAGE_INVENTORY_COLUMNS, "_reject_reason": pl.String})


def is_s3_inventory_manifest(sniff: Sniff) -> bool:
    """An S3 Inventory ``manifest.json`` (AWS CUR manifests have other names and no fileSchema)."""
    return sniff.name == "manifest.json" and '"fileSchema"' in sniff.head


register(
    SourceFormat(
        name=FORMAT,
        table="storage_inventory",
        reader="s3_inventory",
        matches=is_s3_inventory_manifest,
        to_table=inventory_to_table,
        description="storage inventory, S3 Inventory CSV (manifest.json)",
        priority=5,
    )
)
