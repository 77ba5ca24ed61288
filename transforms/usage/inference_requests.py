"""Inference requests: the hourly CSV (``inference*.csv``) and per-request traces.

Hourly: ``hour,endpoint,model,resource_id,requests,tokens_in,tokens_out,avg_batch_size,avg_latency_ms``
(hour = ISO start of the hour, interval_s 3600). Per request (the Azure LLM trace layout):
``TIMESTAMP,ContextTokens,GeneratedTokens`` with optional ``endpoint,model,resource_id,batch_size,latency_ms``;
endpoint defaults to the file's stem, requests = 1, interval_s = 0.
Rejected rows: a missing or unparsable time, a count that is not a whole number, negative tokens.
"""

from __future__ import annotations

import polars as pl

from transforms.formats import SourceFormat, register
from transforms.schema import INFERENCE_COLUMNS, conform
from transforms.usage.common import require, typed_columns

HOURLY = (
    "hour",
    "endpoint",
    "model",
    "resource_id",
    "requests",
    "tokens_in",
    "tokens_out",
    "avg_batch_size",
    "avg_latency_ms",
)
TRACE = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
OUT = {**INFERENCE_COLUMNS, "_reject_reason": pl.String}


def _negative(values: dict[str, pl.Expr], names: tuple[str, ...]) -> pl.Expr:
    return pl.coalesce(
        [pl.when(values[n] < 0).then(pl.lit(f"column {n}: expected a count of zero or more")) for n in names]
    )


def hourly_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Hourly aggregate rows → ``inference_requests``."""
    require(raw, ("hour", "endpoint", "requests"), "inference_hourly")
    kinds = {
        "hour": "ts",
        "requests": "int",
        "tokens_in": "int",
        "tokens_out": "int",
        "avg_batch_size": "float",
        "avg_latency_ms": "float",
    }
    texts, values, reason = typed_columns(raw, HOURLY, kinds, ("hour", "endpoint", "requests"))
    return conform(
        raw.with_columns(
            ts=values["hour"],
            interval_s=pl.lit(3600.0),
            endpoint=texts["endpoint"],
            model=texts["model"],
            resource_id=texts["resource_id"],
            requests=values["requests"],
            tokens_in=values["tokens_in"],
            tokens_out=values["tokens_out"],
            batch_size=values["avg_batch_size"],
            latency_ms=values["avg_latency_ms"],
            _reject_reason=pl.coalesce(reason, _negative(values, ("requests", "tokens_in", "tokens_out"))),
        ),
        OUT,
    )


def trace_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Per-request trace rows → ``inference_requests`` (one request each)."""
    require(raw, TRACE, "inference_trace")
    names = (*TRACE, "endpoint", "model", "resource_id", "batch_size", "latency_ms")
    kinds = {
        "TIMESTAMP": "ts",
        "ContextTokens": "int",
        "GeneratedTokens": "int",
        "batch_size": "float",
        "latency_ms": "float",
    }
    texts, values, reason = typed_columns(raw, names, kinds, TRACE)
    stem = pl.col("_file_stem") if "_file_stem" in raw.collect_schema().names() else pl.lit(None, dtype=pl.String)
    return conform(
        raw.with_columns(
            ts=values["TIMESTAMP"],
            interval_s=pl.lit(0.0),
            endpoint=pl.coalesce(texts["endpoint"], stem),
            model=texts["model"],
            resource_id=texts["resource_id"],
            requests=pl.lit(1, dtype=pl.Int64),
            tokens_in=values["ContextTokens"],
            tokens_out=values["GeneratedTokens"],
            batch_size=values["batch_size"],
            latency_ms=values["latency_ms"],
            _reject_reason=pl.coalesce(reason, _negative(values, ("ContextTokens", "GeneratedTokens"))),
        ),
        OUT,
    )


register(
    SourceFormat(
        name="inference_hourly",
        table="inference_requests",
        reader="csv",
        matches=lambda s: {"hour", "endpoint", "requests", "tokens_in"} <= set(s.columns),
        to_table=hourly_to_table,
        description="inference requests, hourly CSV",
        priority=5,
    )
)
register(
    SourceFormat(
        name="inference_trace",
        table="inference_requests",
        reader="csv",
        matches=lambda s: set(TRACE) <= set(s.columns),
        to_table=trace_to_table,
        description="inference requests, per-request trace CSV",
        priority=5,
    )
)
