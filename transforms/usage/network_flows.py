"""Network flows, CSV (``network_flows*.csv``).

Columns: ``interval_start,interval_seconds,source_resource_id,source_region,destination,destination_region,bytes,content_key``;
destination ``internet`` for internet egress (destination_region empty); content_key is the object or
URL prefix served, empty where unknown. Rejected rows: missing start / source / destination / bytes,
a time or number that does not parse, negative bytes.
"""

from __future__ import annotations

import polars as pl

from transforms.formats import SourceFormat, register
from transforms.schema import NETWORK_FLOWS_COLUMNS, conform
from transforms.usage.common import require, typed_columns

COLUMNS = (
    "interval_start",
    "interval_seconds",
    "source_resource_id",
    "source_region",
    "destination",
    "destination_region",
    "bytes",
    "content_key",
)
REQUIRED = ("interval_start", "source_resource_id", "destination", "bytes")


def flows_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Flow summary rows → ``network_flows``."""
    require(raw, REQUIRED, "network_flows")
    texts, values, reason = typed_columns(
        raw, COLUMNS, {"interval_start": "ts", "interval_seconds": "float", "bytes": "int"}, REQUIRED
    )
    return conform(
        raw.with_columns(
            interval_start=values["interval_start"],
            interval_s=values["interval_seconds"],
            source_resource_id=texts["source_resource_id"],
            source_region=texts["source_region"],
            destination=texts["destination"],
            destination_region=texts["destination_region"],
            bytes=values["bytes"],
            content_key=texts["content_key"],
            _reject_reason=pl.coalesce(
                reason, pl.when(values["bytes"] < 0).then(pl.lit("column bytes: expected zero or more bytes"))
            ),
        ),
        {**NETWORK_FLOWS_COLUMNS, "_reject_reason": pl.String},
    )


register(
    SourceFormat(
        name="network_flows_csv",
        table="network_flows",
        reader="csv",
        matches=lambda s: {"interval_start", "source_resource_id", "destination", "bytes"} <= set(s.columns),
        to_table=flows_to_table,
        description="network flows, CSV",
        priority=5,
    )
)
