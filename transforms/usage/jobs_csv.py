"""Jobs, the project's documented CSV (``jobs*.csv``) or JSONL with the same keys (``jobs*.jsonl``).

Columns: ``job_id,kind,team,project,model,user,resource_ids,start,end,gpus_per_node,pricing_model``.
``resource_ids`` is a ``;``-separated list of machines (one row per job and machine); ``kind`` is
training | inference | preprocessing | evaluation | development; ``start``/``end`` ISO 8601 UTC
(``end`` empty while the job runs); ``pricing_model`` on_demand | spot | reserved or empty.
Rejected rows: missing job_id / kind / resource_ids / start, unknown kind or pricing model, a time
or GPU count that does not parse, an end before the start.
"""

from __future__ import annotations

import polars as pl

from transforms.formats import SourceFormat, register
from transforms.schema import JOBS_COLUMNS, conform
from transforms.usage.common import require, typed_columns

COLUMNS = (
    "job_id",
    "kind",
    "team",
    "project",
    "model",
    "user",
    "resource_ids",
    "start",
    "end",
    "gpus_per_node",
    "pricing_model",
)
REQUIRED = ("job_id", "kind", "resource_ids", "start")
KINDS = ("training", "inference", "preprocessing", "evaluation", "development")
PRICING_MODELS = ("on_demand", "spot", "reserved")


def jobs_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Documented jobs rows → one ``jobs`` row per job and machine, with reject reasons."""
    require(raw, REQUIRED, "jobs")
    texts, values, reason = typed_columns(raw, COLUMNS, {"start": "ts", "end": "ts", "gpus_per_node": "int"}, REQUIRED)
    kind = texts["kind"].str.to_lowercase()
    pricing = texts["pricing_model"].str.to_lowercase()
    reason = pl.coalesce(
        reason,
        pl.when(~kind.is_in(KINDS)).then(
            pl.format("column kind: expected one of {}, got '{}'", pl.lit(" | ".join(KINDS)), texts["kind"])
        ),
        pl.when(pricing.is_not_null() & ~pricing.is_in(PRICING_MODELS)).then(
            pl.format(
                "column pricing_model: expected on_demand | spot | reserved or empty, got '{}'", texts["pricing_model"]
            )
        ),
        pl.when(values["end"] < values["start"]).then(pl.lit("column end: expected a time after start")),
    )
    machines = (
        texts["resource_ids"]
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return conform(
        raw.with_columns(
            job_id=texts["job_id"],
            kind=kind,
            team=texts["team"],
            project=texts["project"],
            model=texts["model"],
            user_name=texts["user"],
            start_ts=values["start"],
            end_ts=values["end"],
            gpus=values["gpus_per_node"].cast(pl.Int32),
            pricing_model=pricing,
            state=pl.when(values["end"].is_null()).then(pl.lit("RUNNING")).otherwise(pl.lit("COMPLETED")),
            nodes=machines.list.len().cast(pl.Int32),
            resource_id=machines,
            _reject_reason=reason,
        ).explode("resource_id"),
        {**JOBS_COLUMNS, "_reject_reason": pl.String},
    )


def _is_jobs(sniff) -> bool:
    return {"job_id", "kind", "resource_ids", "start"} <= set(sniff.columns)


register(
    SourceFormat(
        name="jobs_csv",
        table="jobs",
        reader="csv",
        matches=_is_jobs,
        to_table=jobs_to_table,
        description="jobs, documented CSV",
        priority=5,
    )
)
register(
    SourceFormat(
        name="jobs_jsonl",
        table="jobs",
        reader="jsonl",
        matches=lambda s: _is_jobs(s) and s.name.lower().endswith((".jsonl", ".json", ".jsonl.gz")),
        to_table=jobs_to_table,
        description="jobs, documented JSONL",
        priority=6,
    )
)
