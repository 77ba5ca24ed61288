"""Jobs from the OpenCost allocation API response (``/allocation`` JSON: ``{"code", "data": [{name: {...}}]}``).

Each allocation (aggregated by namespace, controller, pod or container, as the query asked) over
its window becomes one job: job_id = the allocation name, start/end = its ``start``/``end``,
GPUs = ``gpuCount`` (rounded up), team = the ``team`` label (pod or namespace labels), project =
the namespace, resource_id = the ``node`` property where the aggregation kept it (null otherwise:
such jobs are kept for reporting and counted by attribution as on unknown machines), kind =
``inference`` unless a ``kind`` label says otherwise. Each window set in ``data`` is one record;
an allocation without a name or start is rejected with the reason.
"""

from __future__ import annotations

import json
import sys

import polars as pl

from transforms.formats import FormatError, SourceFormat, register
from transforms.parsing import parse_timestamp
from transforms.schema import JOBS_COLUMNS, conform

ALLOCATION = pl.Struct(
    {
        "job_id": pl.String,
        "start": pl.String,
        "end": pl.String,
        "gpus": pl.Float64,
        "team": pl.String,
        "project": pl.String,
        "resource_id": pl.String,
        "kind": pl.String,
    }
)


def _allocations(document: str) -> list[dict]:
    """The allocations of every window set of one response (pure: parses the text it is given)."""
    try:
        body = json.loads(document)
    except json.JSONDecodeError as exc:
        raise FormatError(f"opencost_allocation_json: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise FormatError("opencost_allocation_json: JSON nested too deeply to read") from exc
    except ValueError as exc:  # Python's limit on the digits of an integer
        raise FormatError(
            f"opencost_allocation_json: a JSON number longer than {sys.get_int_max_str_digits()} digits"
        ) from exc
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise FormatError("opencost_allocation_json: expected an object with a 'data' list of allocation sets")
    rows = []
    for window_set in body["data"]:
        for name, alloc in (window_set or {}).items():
            props = alloc.get("properties") or {}
            labels = {**(props.get("namespaceLabels") or {}), **(props.get("labels") or {})}
            rows.append(
                {
                    "job_id": alloc.get("name") or name,
                    "start": alloc.get("start"),
                    "end": alloc.get("end"),
                    "gpus": float(alloc.get("gpuCount") or 0),
                    "team": labels.get("team"),
                    "project": props.get("namespace"),
                    "resource_id": props.get("node"),
                    "kind": labels.get("kind"),
                }
            )
    return rows


def opencost_json_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The response document → one ``jobs`` row per allocation."""
    allocations = (
        raw.select(pl.col("document").map_elements(_allocations, return_dtype=pl.List(ALLOCATION)).alias("a"))
        .explode("a")
        .unnest("a")
        .with_row_index("source_row", offset=1)
        .with_columns(pl.col("source_row").cast(pl.Int64))
    )
    start, end = parse_timestamp(pl.col("start")), parse_timestamp(pl.col("end"))
    reason = (
        pl.when(pl.col("job_id").is_null())
        .then(pl.lit("allocation: required name is missing"))
        .when(start.is_null())
        .then(pl.format("allocation {}: expected a start timestamp, got '{}'", "job_id", "start"))
    )
    return conform(
        allocations.with_columns(
            kind=pl.coalesce("kind", pl.lit("inference")),
            start_ts=start,
            end_ts=end,
            gpus=pl.col("gpus").ceil().cast(pl.Int32),
            nodes=pl.lit(1, dtype=pl.Int32),
            state=pl.lit("COMPLETED"),
            _reject_reason=reason,
        ),
        {**JOBS_COLUMNS, "_reject_reason": pl.String},
    )


def _is_opencost_response(sniff) -> bool:
    head = sniff.head.lstrip()
    return (
        sniff.name.lower().endswith(".json")
        and head.startswith("{")
        and '"data"' in head
        and ('"cpuCoreHours"' in head or '"gpuHours"' in head)
    )


register(
    SourceFormat(
        name="opencost_allocation_json",
        table="jobs",
        reader="document",
        matches=_is_opencost_response,
        to_table=opencost_json_to_table,
        description="jobs, OpenCost allocation API response (JSON)",
        priority=5,
    )
)
