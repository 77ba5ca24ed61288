"""The sample generator spells AWS's columns on its own (sample_data.aws_columns); the readers' tables agree."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from sample_data import aws
from sample_data import aws_columns as gen
from sample_data import company as co
from transforms.billing.aws_cur2_columns import CUR2_COLUMNS, CUR2_PRODUCT_KEYS, CUR2_REQUIRED
from transforms.billing.aws_fields import FIELDS, REQUIRED_FIELDS, TAG_PREFIX

LEGACY, ATHENA, CUR2 = 0, 1, 2


def test_legacy_headers_the_generator_writes_are_the_ones_the_reader_reads():
    read = {field: names[LEGACY] for field, names in FIELDS.items() if names[LEGACY]}
    written = {field: header for field, header in gen.LEGACY_HEADERS.items() if field in FIELDS}
    assert written == read
    assert gen.LEGACY_TAG_PREFIX.lower().startswith(TAG_PREFIX["legacy"])
    # the generator's own extra columns are AWS's, and unknown to the reader's table
    assert set(gen.LEGACY_IDENTITY.values()) == {"identity/LineItemId", "identity/TimeInterval"}
    assert gen.LEGACY_HEADERS["unblended_rate"] == "lineItem/UnblendedRate"
    assert all(FIELDS[f][LEGACY] is None for f in FIELDS if f not in gen.LEGACY_HEADERS)


def test_cur2_columns_and_types_the_generator_writes_are_the_ones_the_reader_reads():
    assert {name: typ for name, (_, typ) in gen.CUR2_COLUMNS.items()} == CUR2_COLUMNS
    assert set(CUR2_REQUIRED) <= set(gen.CUR2_COLUMNS)
    read = {f: names[CUR2] for f, names in FIELDS.items() if names[CUR2] and not names[CUR2].startswith("product.")}
    written = {field: name for name, (field, _) in gen.CUR2_COLUMNS.items() if field in FIELDS}
    assert written == read
    product_read = {
        f: names[CUR2].removeprefix("product.")
        for f, names in FIELDS.items()
        if names[CUR2] and names[CUR2].startswith("product.")
    }
    assert gen.CUR2_PRODUCT_KEYS == product_read
    assert tuple(gen.CUR2_PRODUCT_KEYS.values()) == CUR2_PRODUCT_KEYS
    # every field a file must carry is written in both layouts
    assert all(f in gen.LEGACY_HEADERS for f in REQUIRED_FIELDS)
    assert all(f in {field for field, _ in gen.CUR2_COLUMNS.values()} for f in REQUIRED_FIELDS)


def test_the_writers_lay_out_exactly_the_generator_columns():
    start = datetime(2026, 11, 2, tzinfo=timezone.utc)
    items = aws.finish(
        pl.DataFrame(
            {
                "usage_start": [start],
                "usage_end": [datetime(2026, 11, 2, 1, tzinfo=timezone.utc)],
                "usage_account_id": [co.AWS_PAYER],
                "line_item_type": ["Usage"],
                "product_code": ["AmazonEC2"],
                "usage_type": ["BoxUsage:p5.48xlarge"],
                "resource_id": ["i-0abc"],
                "currency": ["USD"],
                "unblended_rate": ["98.320000"],
                "unblended_cost": [98_320_000],
                "effective_cost": [98_320_000],
                "instance_type": ["p5.48xlarge"],
                "region_code": ["us-east-1"],
                "tag_team": ["research"],
            }
        )
    )
    legacy = aws.legacy_frame(items)
    assert legacy.columns[:3] == ["identity/LineItemId", "identity/TimeInterval", "bill/BillType"]
    assert legacy.row(0, named=True)["lineItem/UnblendedCost"] == "98.320000"
    assert legacy.row(0, named=True)["resourceTags/user:team"] == "research"
    table = aws.cur2_table(items)
    assert table.schema == gen.CUR2_SCHEMA
    row = table.to_pylist()[0]
    assert row["line_item_unblended_cost"] == 98.32
    assert dict(row["product"]) == {
        "product_name": "Amazon Elastic Compute Cloud",
        "region_code": "us-east-1",
        "instance_type": "p5.48xlarge",
    }
    assert dict(row["resource_tags"]) == {"user_team": "research"}
