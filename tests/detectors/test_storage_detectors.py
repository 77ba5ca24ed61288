"""storage_tiering, data_compression and checkpoint_sprawl on hand-built inventories."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from tests.detectors.helpers import config, prices, storage
from transforms.detectors import checkpoint_sprawl, data_compression, storage_tiering

C = Decimal("0.01")
GIB = 1024**3
SNAP = date(2026, 11, 15)
NOON = datetime(2026, 11, 15, tzinfo=timezone.utc)
S3 = prices(
    ("aws", "us-east-1", "STANDARD", "storage_gb_month", "0.023"),
    ("aws", "us-east-1", "STANDARD_IA", "storage_gb_month", "0.0125"),
    ("aws", "us-east-1", "STANDARD_IA", "retrieval_gb", "0.01"),
    ("aws", "us-east-1", "STANDARD_IA", "min_storage_days", "30"),
    ("aws", "us-east-1", "STANDARD_IA", "min_object_kb", "128"),
    ("aws", "us-east-1", "GLACIER_IR", "storage_gb_month", "0.004"),
    ("aws", "us-east-1", "GLACIER_IR", "retrieval_gb", "0.03"),
    ("aws", "us-east-1", "GLACIER_IR", "min_storage_days", "90"),
    ("aws", "us-east-1", "GLACIER_IR", "min_object_kb", "128"),
)


def obj(key, size, modified_days_ago, accessed_days_ago, bucket="cold", cls="STANDARD"):
    return {
        "snapshot_date": SNAP,
        "provider": "aws",
        "bucket": bucket,
        "key": key,
        "size_bytes": size,
        "storage_class": cls,
        "last_modified": NOON - timedelta(days=modified_days_ago),
        "last_accessed": None if accessed_days_ago is None else NOON - timedelta(days=accessed_days_ago),
    }


def test_tiering_counts_cold_objects_net_of_fees_and_never_the_near_misses():
    inv = storage(
        obj("a/archive-1.bin", 1000 * GIB, 400, 200),  # unread 200 d -> GLACIER_IR
        obj("a/ia-1.bin", 500 * GIB, 100, 45),  # unread 45 d  -> STANDARD_IA
        obj("a/small.bin", 64 * 1024, 400, 200),  # 64 KB < 128 KB minimum: never counts
        obj("a/young.bin", 10 * GIB, 10, 100),  # modified 10 d ago (< 90 d minimum): never counts
        obj("a/hot.bin", 10 * GIB, 400, 3),  # read last week: stays
        obj("a/unknown.bin", 10 * GIB, 400, None),  # no access date: not counted by default
        obj("a/ia-already.bin", 10 * GIB, 400, 200, cls="STANDARD_IA"),  # not hot
    )
    out = storage_tiering.detect({"storage_inventory": inv, "prices": S3}, config())
    assert out.height == 1
    row = out.row(0, named=True)
    # Glacier IR: 1000 GB x (0.023 - 0.004) - 1000 x 0.05 x 0.03 - 1 x 0.02/1000/12 - 1000 x 0.05 x 0.004 x 90/30
    glacier = (
        Decimal(1000) * (Decimal("0.023") - Decimal("0.004"))
        - Decimal(1000) * Decimal("0.05") * Decimal("0.03")
        - Decimal("0.02") / 1000 / 12
        - Decimal(1000) * Decimal("0.05") * Decimal("0.004") * 90 / 30
    )
    # Standard-IA: 500 GB x (0.023 - 0.0125) - 500 x 0.05 x 0.01 - 1 x 0.02/1000/12 - 500 x 0.05 x 0.0125 x 30/30
    ia = (
        Decimal(500) * (Decimal("0.023") - Decimal("0.0125"))
        - Decimal(500) * Decimal("0.05") * Decimal("0.01")
        - Decimal("0.02") / 1000 / 12
        - Decimal(500) * Decimal("0.05") * Decimal("0.0125")
    )
    assert row["monthly_savings"] == (glacier + ia).quantize(C) == Decimal("21.59")
    assert row["resource_id"] == "cold"
    assert row["overlap_group"] == "storage:cold"
    assert '"objects": 1' in row["evidence"]


def test_tiering_data_read_last_week_does_not_fire():
    inv = storage(obj("x", 500 * GIB, 400, 6))
    assert storage_tiering.detect({"storage_inventory": inv, "prices": S3}, config()).height == 0


def test_data_compression_values_text_objects_only():
    inv = storage(
        obj("logs/app.log", 3000 * GIB, 5, 1, bucket="raw"),
        obj("exports/t.csv", 1000 * GIB, 5, 1, bucket="raw"),
        obj("exports/t.csv.gz", 100 * GIB, 5, 1, bucket="raw"),  # already compressed
        obj("model.bin", 900 * GIB, 5, 1, bucket="raw"),  # not text
        obj("small.json", 50 * GIB, 5, 1, bucket="tiny"),  # under the 100 GB minimum
    )
    out = data_compression.detect({"storage_inventory": inv, "prices": S3}, config())
    assert out["resource_id"].to_list() == ["raw"]
    expected = (Decimal(4000) * (Decimal(1) - Decimal(1) / Decimal(4)) * Decimal("0.023")).quantize(C)
    assert out["monthly_savings"][0] == expected == Decimal("69.00")


def test_checkpoint_sprawl_keeps_the_newest_three_per_run():
    rows = [obj(f"checkpoints/run-a/step-{i:03d}.pt", 200 * GIB, 50 - i, 50 - i, bucket="ckpt") for i in range(10)]
    rows += [obj(f"checkpoints/run-b/step-{i:03d}.pt", 200 * GIB, 50 - i, 50 - i, bucket="ckpt") for i in range(3)]
    rows += [obj("models/final.pt", 20 * GIB, 1, 1, bucket="ckpt")]
    out = checkpoint_sprawl.detect({"storage_inventory": storage(*rows), "prices": S3}, config())
    assert out.height == 1
    # run-a: 10 checkpoints, keep 3 -> 7 x 200 GB; run-b: 3, keep 3 -> none
    assert out["monthly_savings"][0] == (Decimal(7 * 200) * Decimal("0.023")).quantize(C) == Decimal("32.20")
    assert '"runs": 1' in out["evidence"][0]


def test_checkpoint_sprawl_within_retention_does_not_fire():
    rows = [obj(f"checkpoints/run-a/step-{i}.pt", 200 * GIB, 10 - i, 1, bucket="ckpt") for i in range(3)]
    assert checkpoint_sprawl.detect({"storage_inventory": storage(*rows), "prices": S3}, config()).height == 0
