"""Billing deliveries: which files form one, which of several is current, and append-only row keys.

Pure logic (no file or warehouse access): ``flows/ingest.py`` reads the paths, manifests and
modification times and hands them in.

A *delivery* is one run of one export: the unit that replaces. Its files are its parts; parts add
up, also when they arrive in different ingest runs. The export a file belongs to, and the run of
that export, are read from the layout the providers write:

- AWS legacy CUR: ``<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-0000N.csv.gz`` with the
  assembly's ``<report>-Manifest.json`` beside the parts (``reportKeys`` lists them), and the period's
  top-level ``<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` naming the current ``assemblyId``.
  Export = report name, account and billing period of the manifest; run = ``assemblyId``
  (handled in ``flows/ingest.py``, which reads the manifests).
- A folder per export run (Azure Cost Management exports
  ``<export>/<yyyymmdd-yyyymmdd>/<run GUID>/part_0_0001.csv``, AWS assembly folders): a parent folder
  named by a GUID or a timestamp (``20240915T101500Z``, ``20240915101500``) is the run; export = the
  folder above it plus the file's name pattern.
- A run GUID at the end of the file name (Azure's older layout ``<export>_<GUID>.csv``, one file per
  run in the period folder): run = the GUID; export = the folder plus the name before it.
- Otherwise the export is the folder plus the file's name with its part number removed, and there
  is no run: ``part_0.csv`` / ``part_1.csv``, ``part_0_0001.csv``, ``<name>_part_3.csv``,
  ``<name>-part-00002.csv``, ``<name>-00001.csv.gz`` are parts of one export. Extensions
  (``.csv``, ``.gz``, ``.parquet``, ``.snappy``, ``.jsonl``, ``.json``) do not count.

Several runs of one export found together: the provider's own record decides which is current (the
AWS top-level manifest), else the newest delivery time (the manifest's, else the files' modification
time). The others are passed over, never loaded. A current delivery whose manifest lists parts that
are neither here nor already stored is held back whole.

Deliveries of *different* exports found together compete where they hold rows of the same provider /
account / billing period (``compete``: a restated month saved as a second file beside the first, in
a flat folder with no run in its layout): only the newest is loaded, a tie is refused as ambiguous.
The period is known only after mapping, so ``flows/ingest.py`` hands in each delivery's mapped
(provider, account, period) set. Append-only sources (GCP) do not compete: their files add up.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from transforms.schema import ROW_KEY_EXCLUDED

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
RUN_FOLDER = re.compile(rf"^(?:{GUID}|\d{{8}}T?\d{{4,6}}Z?)$")
GUID_SUFFIX = re.compile(rf"^(?P<base>.+?)[_-](?P<run>{GUID})$")
PART_PATTERNS = (
    re.compile(r"^(?P<base>.*?)[-_.]?part[-_]?\d+(?:[-_]\d+)?$", re.IGNORECASE),  # part_0, part_0_0001, x_part_3
    re.compile(r"^(?P<base>.+?)-\d{5}$"),  # AWS: <report>-00001
)
EXTENSIONS = (".gz", ".csv", ".parquet", ".snappy", ".jsonl", ".json", ".txt")

# Columns that say where a row came from, not what it is: left out of an append-only row's identity.
LINEAGE = ("source_format", "source_file", "source_row", "file_sha256", "delivery_id", "ingest_id", "row_key")


def name_stem(name: str) -> str:
    """The file name without its data-format extensions (``a-00001.csv.gz`` -> ``a-00001``)."""
    stem = name
    while True:
        lower = stem.lower()
        ext = next((e for e in EXTENSIONS if lower.endswith(e) and len(stem) > len(e)), None)
        if ext is None:
            return stem
        stem = stem[: -len(ext)]


def part_base(stem: str) -> str:
    """The export's name pattern: the stem with its part number removed."""
    for pattern in PART_PATTERNS:
        if match := pattern.match(stem):
            return match["base"]
    return stem


@dataclass(frozen=True)
class ExportIdentity:
    export: str  # the export the file belongs to, stable across runs
    run: str | None  # the export run (version) the layout names, if any


def export_identity(parts: tuple[str, ...]) -> ExportIdentity:
    """The export and run of a file from its path components (``Path(...).parts``)."""
    *folders, name = parts
    stem = name_stem(name)
    parent = "/".join(folders)
    if folders and RUN_FOLDER.match(folders[-1]):
        return ExportIdentity(f"{'/'.join(folders[:-1])}/{part_base(stem)}", folders[-1])
    if match := GUID_SUFFIX.match(stem):
        return ExportIdentity(f"{parent}/{part_base(match['base'])}", match["run"].lower())
    return ExportIdentity(f"{parent}/{part_base(stem)}", None)


def delivery_id_for(fmt: str, identity: ExportIdentity) -> str:
    """A delivery id derived from the export and its run (never from the files given in one run)."""
    digest = hashlib.sha256(f"{fmt}|{identity.export}|{identity.run or ''}".encode()).hexdigest()[:16]
    return f"{fmt}-{digest}"


@dataclass
class Candidate:
    """One delivery found in an ingest run, before deciding."""

    delivery_id: str
    export: str
    run: str | None
    delivered_at: datetime  # the provider's time of this delivery (see time_source)
    time_source: str  # e.g. "manifest file mtime", "file mtime"
    files: list[str]
    missing: list[str] = field(default_factory=list)  # parts its manifest lists that are not here nor stored
    unreadable: list[str] = field(default_factory=list)  # listed parts present but not readable
    current_run: str | None = None  # the run the provider's own record names as current (AWS top-level manifest)
    holds: frozenset[tuple] = frozenset()  # (provider, billing_account_id, billing_period_start) of its mapped rows
    cost_type: str | None = None  # the export type its manifest names (Azure: ActualCost, AmortizedCost, FocusCost)


@dataclass(frozen=True)
class Decision:
    delivery_id: str
    decision: str  # load | passed_over | held_back
    reason: str
    refused: bool = False  # held back because it cannot be decided (ambiguous): an error for the user to resolve


def _when(c: Candidate) -> str:
    return f"{c.delivered_at:%Y-%m-%d %H:%M:%S} UTC by {c.time_source}"


def decide(candidates: list[Candidate]) -> list[Decision]:
    """Which delivery of each export to load; the others passed over or held back, with the reason."""
    by_export: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_export.setdefault(c.export, []).append(c)
    decisions: list[Decision] = []
    for group in by_export.values():
        named = {c.current_run for c in group if c.current_run}
        if len(named) == 1:
            [run] = named
            current = next((c for c in group if c.run == run), None)
            why = f"the period's top-level manifest names {run} as the current delivery"
        else:
            current = max(group, key=lambda c: (c.delivered_at, c.delivery_id))
            why = f"{current.delivery_id} is newer ({_when(current)})" if len(group) > 1 else ""
        for c in group:
            if c is not current:
                detail = why if current is not None else why + ", and it is not among the files given"
                decisions.append(Decision(c.delivery_id, "passed_over", f"{detail}; this one: {_when(c)}"))
        if current is None:
            continue
        if current.missing or current.unreadable:
            reasons = []
            if current.missing:
                reasons.append(f"its manifest lists parts that are missing: {', '.join(current.missing)}")
            if current.unreadable:
                reasons.append(f"parts that could not be read: {', '.join(current.unreadable)}")
            decisions.append(Decision(current.delivery_id, "held_back", "; ".join(reasons)))
        else:
            decisions.append(Decision(current.delivery_id, "load", why or "the only delivery of its export"))
    return decisions


def _named(c: Candidate) -> str:
    more = len(c.files) - 1
    return (
        c.files[0] + (f" and {more} more part{'s' if more > 1 else ''}" if more else "") if c.files else c.delivery_id
    )


def _second(c: Candidate) -> datetime:
    # to the second: a copy or sync keeps whole seconds at best, a finer difference is the copy's order
    return c.delivered_at.replace(microsecond=0)


def cost_view(c: Candidate) -> str | None:
    """``amortized`` or ``actual`` where the export's own file names say which cost view it is.

    Azure Cost Management exports the same charges twice, as actual cost and as amortized cost
    (``...ActualCost...`` / ``...AmortizedCost...``, the export type in the names it writes). The type
    the export's manifest names (``exportConfig.type``) says it first.
    """
    if c.cost_type and c.cost_type.lower() in ("actualcost", "amortizedcost"):
        return c.cost_type.lower().removesuffix("cost")
    names = " ".join(Path(f).name.lower() for f in c.files)
    if "amortized" in names or "amortised" in names:
        return "amortized"
    if "actual" in names:
        return "actual"
    return None


def compete(candidates: list[Candidate]) -> list[Decision]:
    """Which of the deliveries about to be loaded in one run restate others; each gets a decision.

    Deliveries (each already the current run of its own export) that hold rows of the same provider /
    account / billing period (``holds``) are competing deliveries of that period, e.g. a restated
    month written as a second file beside the first. The newest (``delivered_at``) is loaded; an
    older one is passed over ("restated by <file>, newer"). A delivery is stored whole, so it loses
    whole as soon as any one of its periods is held by a newer competitor, also where its other
    periods are not (a two-month file against a newer file of one of the months: neither month
    is loaded from the older file). Competitors with the same time (to the second) on a shared
    period cannot be told apart: all of them are refused as ambiguous, naming each other, rather than guessed.

    An actual-cost and an amortized-cost export of the same period (``cost_view``) are not versions of
    each other but the same charges seen twice: the amortized one is loaded (the report's basis is
    effective, amortised cost) and the actual one passed over, whatever their times, so nothing is
    counted twice.
    """
    decisions: list[Decision] = []
    for c in candidates:
        rivals = [o for o in candidates if o is not c and o.holds & c.holds]
        views = {o.delivery_id: cost_view(o) for o in [c, *rivals]}
        if views[c.delivery_id] == "actual" and (
            amortized := [o for o in rivals if views[o.delivery_id] == "amortized"]
        ):
            decisions.append(
                Decision(
                    c.delivery_id,
                    "passed_over",
                    f"the same charges as {_named(amortized[0])} (amortized cost), which is loaded instead: "
                    "the report's basis is effective cost, and loading both would count every charge twice",
                )
            )
            continue
        if views[c.delivery_id] == "amortized":
            rivals = [o for o in rivals if views[o.delivery_id] != "actual"]
        newer = [o for o in rivals if _second(o) > _second(c)]
        tied = [o for o in rivals if _second(o) == _second(c)]
        if newer:
            newest = max(newer, key=lambda o: (_second(o), o.delivery_id))
            decisions.append(
                Decision(
                    c.delivery_id,
                    "passed_over",
                    f"restated by {_named(newest)}, newer ({_when(newest)}); this one: {_when(c)}",
                )
            )
        elif tied:
            others = ", ".join(_named(o) for o in tied)
            decisions.append(
                Decision(
                    c.delivery_id,
                    "held_back",
                    f"ambiguous: {_named(c)} and {others} hold the same provider / account / billing period and have "
                    f"the same delivery time ({_when(c)}); neither is loaded: remove the one that is not current",
                    refused=True,
                )
            )
        else:
            older = [o for o in rivals]
            why = f"; newer than {', '.join(_named(o) for o in older)}" if older else ""
            decisions.append(Decision(c.delivery_id, "load", why))
    return decisions


def with_row_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``row_key``: a hash of the row's canonical content (lineage left out) and its occurrence.

    For append-only sources (GCP): the same rows delivered again in another file get the same keys,
    while two identical rows within one file stay two rows (occurrence 0 and 1, in file order).
    ``frame`` is one whole file's canonical rows.
    """
    content_columns = [c for c in frame.columns if c not in LINEAGE and c not in ROW_KEY_EXCLUDED]
    content = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("\u2400") for c in content_columns], separator="\u241f"
    )
    digest = content.map_batches(
        lambda s: pl.Series([hashlib.sha256(v.encode()).hexdigest()[:32] for v in s], dtype=pl.String),
        return_dtype=pl.String,
    )
    ordered = frame.sort("source_row", maintain_order=True).with_columns(digest.alias("_content"))
    return ordered.with_columns(
        (pl.col("_content") + ":" + pl.int_range(pl.len()).over("_content").cast(pl.String)).alias("row_key")
    ).drop("_content")
