"""Jobs from Slurm ``sacct --parsable2`` (reader ``text``: ``|``-separated lines).

With a header line (``JobID|...``) fields are taken by name: JobID, Account, User, Partition, WCKey,
Start, End, State, NNodes, AllocTRES, AllocGRES / ReqGRES, NodeList, JobName. Without one, the two
layouts Open XDMoD documents are recognised by the position of the submit time:
``jobid,jobidraw,cluster,partition,[qos,]account,group,gid,user,uid,submit,eligible,start,end,elapsed,
exitcode,state,nnodes,ncpus,reqcpus,reqmem,[reqgres,]reqtres,alloctres,timelimit,nodelist,jobname``.
team = Account, project = WCKey or Partition, kind = training (sacct does not say; a job name with
infer/serv, eval, prep/etl or dev/interactive picks inference, evaluation, preprocessing, development).
GPUs: AllocTRES ``gres/gpu=N`` is the job's total, shared over its nodes; else AllocGRES/ReqGRES
``gpu[:type]:N`` per node. NodeList ``node[01-08]`` is expanded (one row per job and node).
Rejected rows: too few fields, a start time that does not parse (``Unknown`` start = never ran).
"""

from __future__ import annotations

import re

import polars as pl

from transforms.formats import SourceFormat, register
from transforms.parsing import parse_timestamp
from transforms.schema import JOBS_COLUMNS, conform

# Open XDMoD's two headerless layouts: one list of fields, the older without ``qos``, the newer
# without ``reqgres``.
XDMOD_FIELDS = (
    "jobid",
    "jobidraw",
    "cluster",
    "partition",
    "qos",
    "account",
    "group",
    "gid",
    "user",
    "uid",
    "submit",
    "eligible",
    "start",
    "end",
    "elapsed",
    "exitcode",
    "state",
    "nnodes",
    "ncpus",
    "reqcpus",
    "reqmem",
    "reqgres",
    "reqtres",
    "alloctres",
    "timelimit",
    "nodelist",
    "jobname",
)
OLD = tuple(f for f in XDMOD_FIELDS if f != "qos")
NEW = tuple(f for f in XDMOD_FIELDS if f != "reqgres")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
KIND_HINTS = (
    ("inference", r"infer|serv"),
    ("evaluation", r"eval"),
    ("preprocessing", r"prep|etl"),
    ("development", r"\bdev|interactive|jupyter"),
)


def expand_nodelist(nodelist: str | None) -> list[str]:
    """``a[01-03,07],b1`` → ``[a01, a02, a03, a07, b1]`` (zero padding kept)."""
    if not nodelist:
        return []
    parts = re.findall(r"[^,\[]+(?:\[[^\]]*\])?[^,\[]*", nodelist)
    nodes: list[str] = []
    for part in parts:
        match = re.match(r"^(.*?)\[([^\]]*)\](.*)$", part)
        if not match:
            nodes.append(part)
            continue
        prefix, ranges, suffix = match.groups()
        for item in ranges.split(","):
            low, _, high = item.partition("-")
            width = len(low)
            for number in range(int(low), int(high or low) + 1):
                nodes.append(f"{prefix}{number:0{width}d}{suffix}")
    return nodes


def _gpus(fields: dict) -> tuple[int | None, str]:
    """GPUs and whether the figure is per job (``total``) or per node."""
    tres = fields.get("alloctres") or ""
    found = re.search(r"gres/gpu=(\d+)", tres)
    if found:
        return int(found.group(1)), "total"
    gres = fields.get("allocgres") or fields.get("reqgres") or ""
    found = re.search(r"gpu(?::[^:,(]+)?:(\d+)", gres)
    return (int(found.group(1)), "node") if found else (0, "node")


def _split_line(fields: list[str], names: tuple[str, ...] | None) -> dict | None:
    if names is None:
        if len(fields) < len(OLD):
            return None
        names = OLD if TIME.match(fields[9]) else NEW
    head = fields[: len(names) - 1] + ["|".join(fields[len(names) - 1 :])]
    return dict(zip(names, head))


def _rows(lines: list[str], source_rows: list[int]) -> list[dict]:
    names: tuple[str, ...] | None = None
    rows = []
    for line, source_row in zip(lines, source_rows):
        if not line.strip():
            continue
        fields = line.split("|")
        if fields[0].strip().lower() == "jobid":
            names = tuple(f.strip().lower() for f in fields)
            continue
        parsed = _split_line(fields, names)
        if parsed is None:
            rows.append(
                {
                    "source_row": source_row,
                    "_reject_reason": f"expected at least {len(OLD)} '|'-separated fields, got {len(fields)}",
                }
            )
            continue
        gpus, basis = _gpus(parsed)
        nodes = expand_nodelist(parsed.get("nodelist")) or [None]
        for position, node in enumerate(nodes):
            per_node = gpus if basis == "node" else gpus // len(nodes) + (1 if position < gpus % len(nodes) else 0)
            rows.append(
                {
                    "source_row": source_row,
                    "job_id": parsed.get("jobid"),
                    "team": parsed.get("account"),
                    "project": parsed.get("wckey") or parsed.get("partition"),
                    "user_name": parsed.get("user"),
                    "resource_id": node,
                    "start": parsed.get("start"),
                    "end": parsed.get("end"),
                    "gpus": per_node,
                    "nodes": len(nodes),
                    "state": (parsed.get("state") or "").split(" ")[0] or None,
                    "name": parsed.get("jobname"),
                    "_reject_reason": None,
                }
            )
    return rows


def slurm_to_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """sacct lines → ``jobs`` rows, one per job and node."""
    frame = raw.collect()
    rows = _rows(frame["line"].to_list(), frame["source_row"].to_list())
    text_columns = (
        "job_id",
        "team",
        "project",
        "user_name",
        "resource_id",
        "start",
        "end",
        "state",
        "name",
        "_reject_reason",
    )
    schema = {c: pl.String for c in text_columns} | {"source_row": pl.Int64, "gpus": pl.Int32, "nodes": pl.Int32}
    parsed = pl.DataFrame(rows, schema=schema)
    start, end = parse_timestamp("start"), parse_timestamp("end")
    kind = pl.lit("training")
    for name, pattern in reversed(KIND_HINTS):
        kind = (
            pl.when(pl.col("name").str.contains(f"(?i){pattern}").fill_null(False)).then(pl.lit(name)).otherwise(kind)
        )
    reason = pl.coalesce(
        pl.col("_reject_reason"),
        pl.when(start.is_null()).then(pl.format("column Start: expected an ISO 8601 time, got '{}'", pl.col("start"))),
    )
    return conform(
        parsed.lazy().with_columns(
            start_ts=start,
            end_ts=end,
            kind=kind,
            _reject_reason=reason,
        ),
        {**JOBS_COLUMNS, "_reject_reason": pl.String},
    )


def _is_sacct(sniff) -> bool:
    first = sniff.head.splitlines()[0] if sniff.head else ""
    return first.count("|") >= 10 and (first.lower().startswith("jobid|") or len(first.split("|")) >= len(OLD))


# A header line names the fields of every line after it: the reader repeats it atop each later batch.
HEADER_LINE = r"(?i)^\s*jobid\s*(?:\||$)"

register(
    SourceFormat(
        name="slurm_sacct",
        table="jobs",
        reader="text",
        matches=_is_sacct,
        to_table=slurm_to_table,
        description="jobs, Slurm sacct --parsable2",
        priority=4,
        read_options={"carry_line": HEADER_LINE},
    )
)
