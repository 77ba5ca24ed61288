"""S3 Inventory (manifest.json + headerless gzip CSV parts) into storage_inventory, via ingest."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_files
from flows.readers import sniff
from transforms.formats import detect

SCHEMA = "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessedDate"
SNAPSHOT_MS = 1_763_337_600_000  # 2025-11-17T00:00:00Z

PART_ONE = [
    (
        "nw-data",
        "datasets/shard-00001.parquet",
        "21474836480",
        "2025-05-01T10:00:00.000Z",
        "STANDARD",
        "2025-11-10T08:30:00.000Z",
    ),
    ("nw-data", "raw/my+report%282025%29%E2%82%AC.csv", "1024", "2025-06-02T00:00:00.000Z", "STANDARD_IA", ""),
]
PART_TWO = [
    ("nw-data", "archive/tar-00001.tar", "lots", "2024-01-01T00:00:00.000Z", "GLACIER", ""),
    ("nw-data", "archive/tar-00002.tar", "429496729600", "2024-01-02T00:00:00.000Z", "GLACIER", ""),
]


def csv_gz(rows: list[tuple[str, ...]]) -> bytes:
    """Headerless CSV with every field quoted, gzip-compressed, as S3 Inventory writes it."""
    lines = "".join(",".join(f'"{v}"' for v in row) + "\n" for row in rows)
    return gzip.compress(lines.encode())


def write_inventory(folder: Path, parts: dict[str, list[tuple[str, ...]]], listed: list[str] | None = None) -> Path:
    """A bucket's manifest.json and its data parts under ``folder/data/``; returns the manifest."""
    (folder / "data").mkdir(parents=True)
    files = []
    for name, rows in parts.items():
        data = csv_gz(rows)
        (folder / "data" / name).write_bytes(data)
        files.append({"key": f"nw-data/inv/data/{name}", "size": len(data), "MD5checksum": "0"})
    files += [{"key": f"nw-data/inv/data/{name}", "size": 1, "MD5checksum": "0"} for name in listed or []]
    manifest = {
        "sourceBucket": "nw-data",
        "destinationBucket": "arn:aws:s3:::inv",
        "version": "2016-11-30",
        "creationTimestamp": str(SNAPSHOT_MS),
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": files,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def test_two_parts_decoded_keys_and_a_bad_size(warehouse, tmp_path):
    manifest = write_inventory(tmp_path / "nw-data", {"part-a.csv.gz": PART_ONE, "part-b.csv.gz": PART_TWO})
    assert detect(sniff(manifest)).name == "s3_inventory"
    (result,) = ingest_files(warehouse, [tmp_path / "nw-data"])  # the folder: its parts are read through the manifest
    assert result.error is None, result.error
    assert (result.path, result.source_format, result.table) == (str(manifest), "s3_inventory", "storage_inventory")
    assert (result.rows_in_file, result.rows_loaded, result.rows_rejected) == (4, 3, 1)

    rows = warehouse.sql("SELECT * EXCLUDE (file_sha256, ingest_id) FROM storage_inventory ORDER BY source_row").pl()
    assert rows["key"].to_list() == [
        "datasets/shard-00001.parquet",
        "raw/my report(2025)€.csv",
        "archive/tar-00002.tar",
    ]
    assert rows["size_bytes"].to_list() == [21474836480, 1024, 429496729600]
    assert rows["source_row"].to_list() == [1, 2, 4]  # rows numbered across the parts in manifest order
    assert (
        set(rows["snapshot_date"]) == {datetime.fromtimestamp(SNAPSHOT_MS / 1000, UTC).date()} == {date(2025, 11, 17)}
    )
    assert set(rows["provider"]) == {"aws"} and set(rows["bucket"]) == {"nw-data"}
    assert rows["storage_class"].to_list() == ["STANDARD", "STANDARD_IA", "GLACIER"]
    assert rows["last_modified"][0] == datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    assert rows["last_accessed"].to_list() == [datetime(2025, 11, 10, 8, 30, tzinfo=UTC), None, None]
    assert rows["source_file"].to_list() == [str(manifest)] * 3

    ((bad_row, reason),) = warehouse.sql("SELECT source_row, reason FROM rejected_rows").fetchall()
    assert bad_row == 3
    assert reason == "column Size: expected a whole number of bytes, got 'lots'"


def test_bad_dates_negative_size_and_bad_encoding_are_rejected_with_the_column(warehouse, tmp_path):
    manifest = write_inventory(
        tmp_path / "nw-data",
        {
            "p.csv.gz": [
                ("nw-data", "a", "-5", "2025-01-01T00:00:00.000Z", "STANDARD", ""),
                ("nw-data", "b%FF", "5", "2025-01-01T00:00:00.000Z", "STANDARD", ""),
                ("nw-data", "c", "5", "yesterday", "STANDARD", ""),
                ("nw-data", "d", "5", "2025-01-01T00:00:00.000Z", "STANDARD", "soon"),
                ("nw-data", "", "5", "2025-01-01T00:00:00.000Z", "STANDARD", ""),
                ("nw-data", "null", "0", "2025-01-01T00:00:00.000Z", "STANDARD", ""),
            ]
        },
    )
    (result,) = ingest_files(warehouse, [manifest])
    assert (result.rows_loaded, result.rows_rejected) == (1, 5)
    assert warehouse.sql("SELECT key, size_bytes FROM storage_inventory").fetchall() == [("null", 0)]
    reasons = dict(warehouse.sql("SELECT source_row, reason FROM rejected_rows").fetchall())
    assert reasons == {
        1: "column Size: expected zero or more bytes, got '-5'",
        2: "column Key: expected URL-encoded UTF-8 text, got 'b%FF'",
        3: "column LastModifiedDate: expected an ISO 8601 timestamp, got 'yesterday'",
        4: "column LastAccessedDate: expected an ISO 8601 timestamp or empty, got 'soon'",
        5: "column Key: required value is missing",
    }


def test_a_missing_part_refuses_the_whole_inventory(warehouse, tmp_path):
    manifest = write_inventory(tmp_path / "nw-data", {"part-a.csv.gz": PART_ONE}, listed=["gone-part.csv.gz"])
    (result,) = ingest_files(warehouse, [manifest])
    assert result.error is not None
    assert (
        str(manifest) in result.error
        and "nw-data/inv/data/gone-part.csv.gz" in result.error
        and "missing" in result.error
    )
    assert result.rows_loaded == 0
    assert warehouse.sql("SELECT count(*) FROM storage_inventory").fetchall() == [(0,)]
    assert warehouse.sql("SELECT count(*) FROM ingest_manifest").fetchall() == [(0,)]
    given_as_folder = {r.path: r.error for r in ingest_files(warehouse, [tmp_path / "nw-data"])}
    assert "gone-part.csv.gz listed in the manifest is missing" in given_as_folder[str(manifest)]
    assert warehouse.sql("SELECT count(*) FROM storage_inventory").fetchall() == [(0,)]


def test_a_manifest_without_a_creation_timestamp_or_with_parquet_is_refused(warehouse, tmp_path):
    manifest = write_inventory(tmp_path / "nw-data", {"p.csv.gz": PART_ONE})
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**doc, "creationTimestamp": "not-a-time"}))
    (result,) = ingest_files(warehouse, [manifest])
    assert "creationTimestamp" in result.error and "not-a-time" in result.error and str(manifest) in result.error
    manifest.write_text(json.dumps({**doc, "fileFormat": "Parquet"}))
    (result,) = ingest_files(warehouse, [manifest])
    assert "only CSV" in result.error and "Parquet" in result.error
    assert warehouse.sql("SELECT count(*) FROM storage_inventory").fetchall() == [(0,)]


def test_a_schema_without_size_is_refused_naming_it(warehouse, tmp_path):
    manifest = write_inventory(tmp_path / "nw-data", {"p.csv.gz": [("nw-data", "a", "STANDARD")]})
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**doc, "fileSchema": "Bucket, Key, StorageClass"}))
    (result,) = ingest_files(warehouse, [manifest])
    assert "missing required column(s) Size" in result.error


def test_only_inventory_manifests_are_claimed(tmp_path):
    other = tmp_path / "manifest.json"
    other.write_text(json.dumps({"assemblyId": "x", "reportKeys": []}))
    found = detect(sniff(other))
    assert found is None or found.name != "s3_inventory"
    cur = tmp_path / "report-Manifest.json"
    cur.write_text(json.dumps({"fileSchema": "Bucket, Key"}))
    found = detect(sniff(cur))
    assert found is None or found.name != "s3_inventory"


@pytest.mark.slow
def test_generated_inventories_ingest_whole(warehouse, tmp_path):
    from sample_data.storage import inventory, write_inventories
    from sample_data.workloads import Window

    objects = inventory(seed=7)
    window = Window(start=datetime(2026, 11, 2, tzinfo=UTC), weeks=2)
    manifests = write_inventories(objects, window, tmp_path / "storage")
    results = ingest_files(warehouse, [tmp_path / "storage"])
    assert [r.error for r in results] == [None] * len(manifests)
    assert sorted(r.path for r in results) == sorted(str(m) for m in manifests)
    assert sum(r.rows_rejected for r in results) == 0
    assert sum(r.rows_loaded for r in results) == objects.height
    stored = warehouse.sql(
        "SELECT bucket, storage_class, sum(size_bytes)::BIGINT AS bytes FROM storage_inventory "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    expected = objects.group_by("bucket", "storage_class").agg(pl.col("size").sum()).sort("bucket", "storage_class")
    assert stored == expected.rows()
    snapshot = warehouse.sql("SELECT DISTINCT snapshot_date FROM storage_inventory").fetchall()
    assert snapshot == [((window.end - timedelta(days=1)).date(),)]
