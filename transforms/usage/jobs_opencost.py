"""Jobs from the OpenCost allocation CSV export (``Date,Namespace,...,GPUs,...,Label_team``).

One row per day and pod/container: job_id = Namespace/Pod/Container, the day as start..start+1d,
team = Label_team (or the ``team`` key of Labels), project = Namespace, GPUs = the GPUs column
(OpenCost's average GPU count, rounded up). There is no node column in this export: resource_id is
null, so these jobs are kept for reporting and counted as on unknown machines by attribution.
Rejected rows: a date or GPU count that does not parse.
"""

from __future__ import annotations

import polars as pl

from transforms.formats import SourceFormat, register
from transforms.schema import JOBS_COLUMNS, conform
from transforms.usage.common import require, typed_columns

REQUIRED = ("Date", "Namespace", "Pod", "GPUs")


def opencost_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """OpenCost allocation rows → ``jobs``."""
    require(raw, REQUIRED, "opencost_allocation_csv")
    names = ("Date", "Namespace", "Pod", "Container", "GPUs", "Label_team", "Labels", "Node")
    texts, values, reason = typed_columns(raw, names, {"Date": "ts", "GPUs": "float"}, ("Date", "Namespace", "Pod"))
    team = pl.coalesce(texts["Label_team"], texts["Labels"].str.json_path_match("$.team"))
    return conform(
        raw.with_columns(
            job_id=pl.concat_str([texts["Namespace"], texts["Pod"], texts["Container"].fill_null("")], separator="/"),
            kind=pl.lit("inference"),
            team=team,
            project=texts["Namespace"],
            resource_id=texts["Node"],
            start_ts=values["Date"],
            end_ts=values["Date"] + pl.duration(days=1),
            gpus=values["GPUs"].ceil().cast(pl.Int32),
            nodes=pl.lit(1, dtype=pl.Int32),
            state=pl.lit("COMPLETED"),
            _reject_reason=reason,
        ),
        {**JOBS_COLUMNS, "_reject_reason": pl.String},
    )


register(
    SourceFormat(
        name="opencost_allocation_csv",
        table="jobs",
        reader="csv",
        matches=lambda s: {"Namespace", "Pod", "GPUs", "TotalCost"} <= set(s.columns),
        to_table=opencost_to_table,
        description="jobs, OpenCost allocation CSV export",
        priority=5,
    )
)
