"""Loading files into the warehouse exactly once, losing nothing.

- Each file is recorded in ``ingest_manifest`` by its SHA-256: the same file again changes nothing.
- Billing files form *deliveries*: the parts of one export run (one AWS CUR assembly, one export
  run folder, one export's numbered parts; ``transforms/deliveries.py`` documents the layouts).
  Parts add up, also across runs. Of several runs of one export found together only the current
  one is loaded (the AWS top-level manifest decides, else the newest delivery time); the others are
  passed over. A delivery whose manifest lists parts that are missing or unreadable is held back
  whole. Deliveries of different exports that hold rows of the same provider / account / billing
  period compete (a restated month beside the first): they are mapped first, then only the newest
  is stored (``transforms.deliveries.compete``; a tie is refused as ambiguous). Every decision is
  recorded in ``delivery_decisions``; passed-over files also in ``passed_over_files``, so later
  runs skip them. Export metadata (manifests, FOCUS schema metadata) is never read as data.
- A delivery is stored in one transaction: if any part cannot be read or written, nothing of it is
  stored. For formats whose period policy is ``replace``, it then replaces the rows that other
  deliveries loaded in earlier runs hold of the same provider / account / billing period, unless
  one of those is newer (by the providers' own time): then it is passed over. Append-only sources
  (GCP) are de-duplicated on each row's identity (``row_key``).
- Rows that cannot be mapped go to ``rejected_rows`` with file, row number and reason.
- Usage logs are stored per file, in one transaction each.
- Files are read and mapped first, outside any transaction, into Parquet parts (in a temporary
  folder here, or on Dask workers: ``flows/ingest_flow.py``); the transaction only copies the parts
  in. Memory stays flat however large a file is, and a failure part way leaves the previous state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from flows import PROJECT_ROOT
from flows.readers import UnreadableFile, failure_message, read_raw, sniff
from flows.warehouse import current_staging, insert_parquet, sql_text, transaction
from transforms.deliveries import Candidate, compete, decide, delivery_id_for, export_identity, with_row_keys
from transforms.formats import SourceFormat, closest_match, detect, load_all

log = logging.getLogger(__name__)

INSTANCES_CSV = PROJECT_ROOT / "config" / "instances.csv"
SKIPPED_NAMES = ("readme", ".")


class IngestError(ValueError):
    """A file (or delivery) that was refused; nothing of it was stored."""


@dataclass
class FileResult:
    path: str
    source_format: str | None
    table: str | None
    rows_in_file: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    billed_cost: dict[str, Decimal] = field(default_factory=dict)
    effective_cost: dict[str, Decimal] = field(default_factory=dict)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)  # values derived where the file does not say: rows per note
    skipped: bool = False
    error: str | None = None
    message: str = ""
    file_sha256: str = ""
    delivery_id: str | None = None

    def as_json(self) -> dict:
        data = asdict(self)
        data["billed_cost"] = {k: str(v) for k, v in self.billed_cost.items()}
        data["effective_cost"] = {k: str(v) for k, v in self.effective_cost.items()}
        return data


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_aws_manifest(path: Path) -> bool:
    return path.suffix == ".json" and path.name.lower().endswith("manifest.json") and path.name != "manifest.json"


METADATA_MAX_BYTES = 1 << 20


def is_export_metadata(path: Path) -> bool:
    """A file an export writes about its data, never data itself (left out of every ingest).

    - AWS manifests (``<report>-Manifest.json`` of the legacy CUR, ``Manifest.json`` of Data Exports);
    - a ``manifest.json`` that is not an S3 Inventory manifest (no ``fileSchema``), e.g. the one an
      Azure Cost Management export writes in its run folder;
    - a FOCUS schema metadata file (a JSON object with ``FocusVersion`` or ``SchemaId`` and a
      ``Columns`` list, as the FinOps toolkit's ``FocusCost_<version>.json``).
    """
    if isinstance(path, RefusedLink) or path.suffix.lower() != ".json":
        return False
    if _is_aws_manifest(path):
        return True
    try:
        small = path.stat().st_size <= METADATA_MAX_BYTES
    except OSError:
        return False
    data = _read_json(path) if small else None
    if path.name.lower() == "manifest.json":
        return data is not None and "fileSchema" not in data
    return data is not None and isinstance(data.get("Columns"), list) and ("FocusVersion" in data or "SchemaId" in data)


class RefusedLink(type(Path())):  # type: ignore[misc]
    """A symbolic link in a folder being ingested that points outside it: listed, never followed."""

    reason: str


def _walk(folder: Path) -> list[Path]:
    """The files under ``folder``; links that point outside it come back as RefusedLink."""
    root = folder.resolve()
    found: list[Path] = []
    for current, dirs, names in os.walk(folder, followlinks=False):
        for name in sorted(dirs + names):
            entry = Path(current) / name
            if entry.is_symlink():
                target = entry.resolve()
                if not target.is_relative_to(root):
                    refused = RefusedLink(entry)
                    refused.reason = f"{entry}: refused: a symbolic link that points outside {folder}; not followed"
                    found.append(refused)
                elif target.is_file():
                    found.append(entry)  # a link to a file inside the folder (a linked folder is walked as itself)
            elif entry.is_file():
                found.append(entry)
    return sorted(found)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files under the given paths, in a stable order, without export metadata (``is_export_metadata``:
    manifests, FOCUS schema metadata) and without the data parts of S3 Inventory manifests.

    The folders given are a boundary: a symbolic link in one that points outside it is not followed
    but returned as a RefusedLink (``resolve_format`` refuses it by name).
    """
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise IngestError(f"{path}: no such file or folder")
        candidates = _walk(path) if path.is_dir() else [path]
        files.extend(p for p in candidates if not p.name.lower().startswith(SKIPPED_NAMES))
    inventory_parts: set[Path] = set()
    for f in files:
        if f.name == "manifest.json" and not isinstance(f, RefusedLink):
            from flows.readers import s3_inventory_data_files

            try:
                inventory_parts.update(p.resolve() for p in s3_inventory_data_files(f))
            except (UnreadableFile, KeyError, TypeError):
                pass
    return [
        f for f in files
        if isinstance(f, RefusedLink) or (not is_export_metadata(f) and f.resolve() not in inventory_parts)
    ]


@dataclass(frozen=True)
class AwsAssembly:
    """The AWS CUR assembly a part belongs to, read from the manifests beside it."""

    assembly_id: str
    manifest: Path
    report: str
    account: str | None
    period_start: datetime | None
    listed: tuple[str, ...]  # part file names the assembly's manifest lists
    current_id: str | None  # the assemblyId the period's top-level manifest names, if there is one

    @property
    def delivery_id(self) -> str:
        return f"aws-assembly-{self.assembly_id}"

    @property
    def export(self) -> str:
        return f"aws-cur|{self.report}|{self.account}|{self.period_start}"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON, bad text, a too-long number
        return None
    return data if isinstance(data, dict) else None


def _aws_manifests(folder: Path) -> Iterator[tuple[Path, dict]]:
    for manifest in sorted(folder.glob("*anifest.json")):
        if _is_aws_manifest(manifest) and (data := _read_json(manifest)) and data.get("assemblyId"):
            yield manifest, data


def _aws_period(data: dict) -> datetime | None:
    start = (data.get("billingPeriod") or {}).get("start")
    try:
        return datetime.strptime(start, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC) if start else None
    except ValueError:
        return None


def aws_assembly(path: Path) -> AwsAssembly | None:
    """The AWS CUR assembly whose manifest, beside ``path`` (or one folder up), lists it."""
    for folder in (path.parent, path.parent.parent):
        for manifest, data in _aws_manifests(folder):
            keys = [str(k) for k in data.get("reportKeys", [])]
            listed = tuple(Path(k).name for k in keys)
            own = f"{data['assemblyId']}/{path.name}"
            if path.name not in listed or (folder != path.parent and not any(k.endswith(own) for k in keys)):
                continue
            current = None
            # the period's top-level manifest: the other manifest of the same report and period,
            # one folder above the assembly folder (or the only one, when AWS overwrites in place)
            for top_folder in (manifest.parent.parent, manifest.parent):
                for top, top_data in _aws_manifests(top_folder):
                    same = top_data.get("reportName") == data.get("reportName") and _aws_period(top_data) == _aws_period(data)
                    if same and top != manifest:
                        current = str(top_data["assemblyId"])
                        break
                if current:
                    break
            return AwsAssembly(
                assembly_id=str(data["assemblyId"]), manifest=manifest, report=str(data.get("reportName") or ""),
                account=data.get("account"), period_start=_aws_period(data), listed=listed, current_id=current,
            )
    return None


def aws_assembly_id(path: Path) -> str | None:
    """The delivery id of the AWS CUR assembly whose manifest lists ``path``, if any."""
    assembly = aws_assembly(path)
    return assembly.delivery_id if assembly else None


def resolve_format(path: Path, fmt: str) -> SourceFormat:
    """The named format, or the one the file's header shows; IngestError naming the file if none."""
    if isinstance(path, RefusedLink):
        raise IngestError(path.reason)
    formats = load_all()
    if fmt != "auto":
        if fmt not in formats:
            raise IngestError(f"{path}: unknown format {fmt!r}; known formats: {', '.join(sorted(formats))}")
        return formats[fmt]
    sniffed = sniff(path)
    found = detect(sniffed)
    if found is None:
        # never quote the header: the file may be anything (a key file, a password list)
        header = f"its first line has {len(sniffed.columns)} fields" if sniffed.columns else "no header"
        near = closest_match(sniffed) if sniffed.columns else None
        closest = (
            f"; closest: {near[0].name}, which also needs {', '.join(near[1])}" if near and near[1]
            else f"; closest: {near[0].name} (its columns are all there, its layout is not)" if near
            else "; no known format's columns are in it"
        )
        raise IngestError(
            f"{path}: not a recognised billing export or usage log ({header}, none of them a known format's); "
            f"formats tried: {', '.join(sorted(formats))}{closest}; name the format with --format if it is one of them"
        )
    return found


def _load_instances() -> pl.DataFrame:
    """Instance type -> GPUs (config/instances.csv, read by its one loader)."""
    from flows.config import load_instances

    return load_instances(INSTANCES_CSV).select("instance_type", "gpu_count")


def _enrich_billing(frame: pl.DataFrame, instances: pl.DataFrame) -> pl.DataFrame:
    """Fill the GPU count from the instance reference table where the bill does not carry it."""
    joined = frame.join(instances, left_on="x_instance_type", right_on="instance_type", how="left")
    return joined.with_columns(pl.coalesce("x_gpu_count", "gpu_count").alias("x_gpu_count")).drop("gpu_count")


@dataclass
class StagedFile:
    """A file read and mapped ahead of storing, kept as Parquet parts with its counts and totals.

    Mapping happens outside the warehouse transaction (in this process or on a Dask worker), so the
    transaction itself only copies Parquet into DuckDB: memory stays flat however large the file.
    """

    path: str
    good_parts: list[str] = field(default_factory=list)
    bad_parts: list[str] = field(default_factory=list)
    records: int = 0
    loaded: int = 0
    rejected: int = 0
    billed: dict[str, Decimal] = field(default_factory=dict)
    effective: dict[str, Decimal] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)  # values the mapping derived (``_note``): rows per note
    error: str | None = None


def map_batches(
    path: Path,
    fmt: SourceFormat,
    column_defaults: dict[str, str] | None = None,
    instances: pl.DataFrame | None = None,
    max_row_cost: Decimal | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, int, dict[str, int]]]:
    """Read and map a file batch by batch: (good rows, rejected source_row/reason, records read, notes).

    Billing rows are checked for plausibility after mapping (``transforms.plausibility``): a cost
    beyond ``max_row_cost`` (default: the ``AICOST_MAX_ROW_COST`` setting) or a period outside
    2000-01-01 .. a year from now rejects its row.
    """
    from transforms import schema
    from transforms.plausibility import reject_implausible

    billing = fmt.table == "billing_line_items"
    columns = schema.BILLING_COLUMNS if billing else schema.USAGE_TABLES[fmt.table]
    if billing and max_row_cost is None:
        from flows.settings import get_settings

        max_row_cost = get_settings().max_row_cost
    now = datetime.now(UTC)
    for raw in read_raw(path, fmt):
        if column_defaults:
            raw = raw.with_columns(
                pl.lit(value, dtype=pl.String).alias(name)
                for name, value in column_defaults.items()
                if name not in raw.columns
            )
        mapped = fmt.to_table(raw.lazy())
        if billing:
            mapped = reject_implausible(mapped, max_row_cost, now)
        mapped = mapped.collect()
        bad = mapped.filter(pl.col("_reject_reason").is_not_null()).select(
            "source_row", pl.col("_reject_reason").alias("reason")
        )
        good = mapped.filter(pl.col("_reject_reason").is_null()).drop("_reject_reason")
        # what the mapping derived where the file does not say (an optional ``_note``): rows per note
        notes = dict(good["_note"].drop_nulls().value_counts().iter_rows()) if "_note" in good.columns else {}
        if billing:
            good = _enrich_billing(good, instances if instances is not None else _load_instances())
        # A record is a raw row, except in line-based formats, where headers and comments are not
        # records: there the records are the source rows the mapping recognised.
        records = raw.height if fmt.reader not in ("text", "document") else mapped["source_row"].n_unique()
        yield good.select(list(columns)), bad, records, notes


def prepare_file(
    path: str, fmt_name: str, staging_dir: str, column_defaults: dict[str, str] | None = None
) -> StagedFile:
    """Map a file into Parquet parts under ``staging_dir``; errors are returned, not raised.

    The billed and effective totals per currency are exact (``transforms.plausibility.money_totals``,
    added up in ``Decimal`` without rounding): they cannot wrap however large the file.
    """
    from transforms.plausibility import EXACT, money_totals

    staged = StagedFile(path=path)
    billed: dict[str, Decimal] = {}
    effective: dict[str, Decimal] = {}
    reasons: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    try:
        fmt = load_all()[fmt_name]
        instances = _load_instances()
        stem = hashlib.sha256(path.encode()).hexdigest()[:16]
        for i, (good, bad, records, batch_notes) in enumerate(map_batches(Path(path), fmt, column_defaults, instances)):
            staged.records += records
            notes.update(batch_notes)
            # counted in source records: one record may give several rows (a job on several machines)
            staged.loaded += good["source_row"].n_unique()
            staged.rejected += bad["source_row"].n_unique()
            if fmt.table == "billing_line_items":
                for currency, sums in money_totals(good, "billing_currency", ("billed_cost", "effective_cost")).items():
                    billed[currency] = EXACT.add(billed.get(currency, Decimal(0)), sums["billed_cost"])
                    effective[currency] = EXACT.add(effective.get(currency, Decimal(0)), sums["effective_cost"])
            if good.height:
                staged.good_parts.append(str(Path(staging_dir) / f"{stem}-{i:05d}-good.parquet"))
                good.write_parquet(staged.good_parts[-1])
            if bad.height:
                staged.bad_parts.append(str(Path(staging_dir) / f"{stem}-{i:05d}-bad.parquet"))
                bad.write_parquet(staged.bad_parts[-1])
                reasons.update(dict(bad["reason"].value_counts().iter_rows()))
    except Exception as exc:  # one file's failure stops no other file; the message never quotes its content
        staged.error = failure_message(path, exc)
    staged.billed, staged.effective = billed, effective
    staged.reasons = dict(reasons.most_common(20))
    staged.notes = dict(notes)
    return staged


def notes_text(notes: dict[str, int]) -> str:
    """The derivation notes of a file as one sentence part: ``note (N rows); ...``."""
    return "; ".join(f"{note} ({count} rows)" for note, count in sorted(notes.items()))


def _store_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: SourceFormat,
    result: FileResult,
    ingest_id: str,
    staged: StagedFile,
) -> None:
    """Copy one staged file into its table inside the caller's transaction; fills ``result``.

    Rows of append-only billing sources (GCP) get a ``row_key``; rows already stored under the same
    key (the same rows delivered again in another file) are not inserted again.
    """
    if staged.error:
        raise IngestError(staged.error)
    lineage = {
        "source_format": fmt.name,
        "source_file": str(path),
        "file_sha256": result.file_sha256,
        "ingest_id": ingest_id,
    }
    good_parts, loaded, billed, effective = staged.good_parts, staged.loaded, staged.billed, staged.effective
    if fmt.table == "billing_line_items":
        lineage["delivery_id"] = result.delivery_id
        if fmt.period_policy == "append" and good_parts:
            keyed = with_row_keys(pl.read_parquet(good_parts))
            stored = con.execute(sql_text("existing_row_keys"), {"keys": keyed["row_key"].to_list()}).fetchall()
            fresh = keyed.filter(~pl.col("row_key").is_in([k for (k,) in stored]))
            if stored:
                result.message = (
                    f"{fresh['source_row'].n_unique()} rows loaded, {staged.rejected} rejected as {fmt.name}; "
                    f"{keyed.height - fresh.height} rows already stored from another file (same row identity) "
                    "were not added again"
                )
            good_parts = []
            if fresh.height:
                good_parts = [str(Path(staged.good_parts[0]).with_name(f"{result.file_sha256[:16]}-keyed.parquet"))]
                fresh.write_parquet(good_parts[0])
            loaded = fresh["source_row"].n_unique()
            totals = fresh.group_by("billing_currency").agg(pl.col("billed_cost").sum(), pl.col("effective_cost").sum())
            billed = {c: b for c, b, _ in totals.iter_rows()}
            effective = {c: e for c, _, e in totals.iter_rows()}
    insert_parquet(con, fmt.table, good_parts, lineage)
    insert_parquet(
        con, "rejected_rows", staged.bad_parts,
        {"file_sha256": result.file_sha256, "source_file": str(path), "ingest_id": ingest_id},
    )
    result.rows_in_file, result.rows_loaded, result.rows_rejected = staged.records, loaded, staged.rejected
    result.billed_cost, result.effective_cost = billed, effective
    result.rejected_reasons = staged.reasons
    result.notes = staged.notes
    now = datetime.now(UTC)
    con.execute(
        sql_text("insert_manifest"),
        {
            "file_sha256": result.file_sha256,
            "source_file": str(path),
            "source_format": fmt.name,
            "target_table": fmt.table,
            "delivery_id": result.delivery_id,
            "ingest_id": ingest_id,
            "rows_in_file": result.rows_in_file,
            "rows_loaded": result.rows_loaded,
            "rows_rejected": result.rows_rejected,
            "ingested_at": now,
        },
    )


def _replace_older_deliveries(
    con: duckdb.DuckDBPyConnection, delivery_id: str, hashes: list[str], ingest_id: str | None = None,
    delivery: Candidate | None = None,
) -> None:
    """Make this delivery the holder of every provider/account/period it contains.

    Rows that other deliveries loaded in earlier runs hold of those periods are deleted; deliveries
    given in the same run (different exports found together) add up.
    """
    params = {"delivery_id": delivery_id, "hashes": hashes, "ingest_id": ingest_id}
    con.execute(sql_text("replace_older_deliveries"), params)
    con.execute(
        sql_text("record_deliveries"),
        {
            **params, "now": datetime.now(UTC),
            "delivery_time": delivery.delivered_at if delivery else None,
            "time_source": delivery.time_source if delivery else None,
        },
    )


class _PassedOver(Exception):
    """A delivery older than the one an earlier run stored for the same period (rolled back)."""

    def __init__(self, reason: str, keys: list[tuple]):
        super().__init__(reason)
        self.reason, self.keys = reason, keys


Member = tuple[Path, SourceFormat, FileResult]


@dataclass
class _Delivery:
    """The files of one delivery found in this run, and what is known of it before storing."""

    candidate: Candidate
    members: list[Member]
    hints: dict = field(default_factory=dict)  # provider / account / period read from a manifest


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _gather_deliveries(
    con: duckdb.DuckDBPyConnection, billing: list[Member], failed: dict[Path, str]
) -> list[_Delivery]:
    """Group this run's new billing files into deliveries (see ``transforms/deliveries.py``)."""
    found: dict[str, _Delivery] = {}
    for path, source_format, result in billing:
        assembly = aws_assembly(path) if source_format.name.startswith("aws_cur") else None
        if assembly:
            delivery_id, export, run = assembly.delivery_id, assembly.export, assembly.assembly_id
        else:
            identity = export_identity(path.resolve().parts)
            delivery_id, export, run = delivery_id_for(source_format.name, identity), identity.export, identity.run
        if delivery_id not in found:
            if assembly:
                # AWS CUR manifests carry no creation time: the assembly's manifest file time stands for it
                when, source = _mtime(assembly.manifest), "the assembly manifest's file time"
                hints = {"provider": "aws", "billing_account_id": assembly.account,
                         "billing_period_start": assembly.period_start}
            else:
                when, source, hints = _mtime(path), "file time", {}
            candidate = Candidate(delivery_id=delivery_id, export=export, run=run, delivered_at=when,
                                  time_source=source, files=[],
                                  current_run=assembly.current_id if assembly else None)
            found[delivery_id] = _Delivery(candidate, [], hints)
        delivery = found[delivery_id]
        delivery.members.append((path, source_format, result))
        delivery.candidate.files.append(str(path))
        if not assembly:
            delivery.candidate.delivered_at = max(delivery.candidate.delivered_at, _mtime(path))

    for delivery in found.values():
        candidate = delivery.candidate
        stored = con.execute(sql_text("delivery_stored_files"), {"delivery_id": candidate.delivery_id}).fetchall()
        assembly = aws_assembly(delivery.members[0][0]) if candidate.delivery_id.startswith("aws-assembly-") else None
        if assembly:
            here = {p.name for p, _, _ in delivery.members}
            stored_names = {Path(f).name for d, f, _, _ in stored if d == candidate.delivery_id}
            folder = delivery.members[0][0].parent
            for name in assembly.listed:
                if name in here or name in stored_names:
                    continue
                unreadable = folder / name in failed
                (candidate.unreadable if unreadable else candidate.missing).append(
                    f"{name} ({failed[folder / name]})" if unreadable else name
                )
        elif stored:
            # Parts add up across runs; a part name already stored with other content means the
            # export was written again (overwritten in place): a new delivery of the same export.
            current = stored[0][0]
            stored_names = {Path(f).name for d, f, _, _ in stored if d == current}
            if stored_names & {p.name for p, _, _ in delivery.members}:
                hashes = "".join(sorted(r.file_sha256 for _, _, r in delivery.members))
                base = candidate.delivery_id
                candidate.delivery_id = f"{base}~{hashlib.sha256(hashes.encode()).hexdigest()[:8]}"
            else:
                candidate.delivery_id = current
        for _, _, result in delivery.members:
            result.delivery_id = candidate.delivery_id
    return list(found.values())


def _record_decision(
    con: duckdb.DuckDBPyConnection, ingest_id: str, delivery: _Delivery, decision: str, reason: str,
    keys: list[tuple] | None = None,
) -> None:
    """Record a decision (one row per provider / account / period where known), in one transaction.

    A passed-over delivery's files also go to ``passed_over_files``: later runs skip them, so a rerun
    of the same landing folder changes nothing. Held-back deliveries are not recorded there: they are
    decided again on every run (a missing part may have arrived). If the warehouse cannot take the
    record (the disk that failed the delivery is still full), it is logged, not raised.
    """
    candidate = delivery.candidate
    hint = delivery.hints
    rows = keys or sorted(candidate.holds, key=str) or [
        (hint.get("provider"), hint.get("billing_account_id"), hint.get("billing_period_start"))
    ]
    now = datetime.now(UTC)
    try:
        with transaction(con):
            for provider, account, period in rows:
                con.execute(
                    sql_text("record_delivery_decision"),
                    {
                        "ingest_id": ingest_id, "provider": provider, "billing_account_id": account,
                        "billing_period_start": period, "delivery_id": candidate.delivery_id, "decision": decision,
                        "reason": reason, "files": candidate.files, "delivery_time": candidate.delivered_at,
                        "time_source": candidate.time_source, "decided_at": now,
                    },
                )
            if decision == "passed_over":
                for path, _, result in delivery.members:
                    con.execute(sql_text("record_passed_over_file"), {
                        "file_sha256": result.file_sha256, "source_file": str(path),
                        "delivery_id": candidate.delivery_id, "reason": reason, "ingest_id": ingest_id,
                        "decided_at": now,
                    })
    except duckdb.Error as exc:
        log.error("delivery %s (%s): the decision %s could not be recorded: %s",
                  candidate.delivery_id, ", ".join(candidate.files), decision, exc)


def _periods_held(files: Iterator[StagedFile]) -> frozenset[tuple]:
    """The distinct (provider, billing_account_id, billing_period_start) of staged billing files' rows.

    A part that cannot be read is left out here: storing the delivery fails on it and holds it back.
    """
    held: set[tuple] = set()
    for part in (part for f in files for part in f.good_parts):
        try:
            keys = pl.scan_parquet(part).select("provider", "billing_account_id", "billing_period_start").unique()
            held.update(keys.collect().iter_rows())
        except (OSError, pl.exceptions.PolarsError):
            continue
    return frozenset(held)


def _decided_not_to_load(con: duckdb.DuckDBPyConnection, ingest_id: str, delivery: _Delivery, decision) -> None:
    """Record a delivery passed over or held back, and say so on each of its files' results."""
    _record_decision(con, ingest_id, delivery, decision.decision, decision.reason)
    label = "passed over" if decision.decision == "passed_over" else "held back"
    for path, _, result in delivery.members:
        if decision.refused:
            result.error = f"{path}: refused (delivery {decision.delivery_id}): {decision.reason}"
            continue
        result.skipped = True
        result.message = f"{label} (delivery {decision.delivery_id}): {decision.reason}"
        log.warning("%s: %s", result.path, result.message)


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    fmt: str = "auto",
    *,
    column_defaults: dict[str, str] | None = None,
    raise_on_error: bool = False,
    staged: dict[str, StagedFile] | None = None,
) -> list[FileResult]:
    """Load every file under ``paths`` exactly once; a result per file (errors included, not raised).

    Billing files are grouped into deliveries and decided first (``transforms/deliveries.py``): of
    several runs of one export only the current is loaded, the others are passed over; a delivery
    whose manifest lists parts that are missing or unreadable is held back whole. Every decision is
    recorded in ``delivery_decisions``.

    ``column_defaults`` fills columns a file lacks (e.g. ``{"BillingCurrency": "USD"}`` for an
    export of one account that leaves the currency out); a column the file has is never changed.
    """
    ingest_id = uuid.uuid4().hex
    results: list[FileResult] = []
    billing: list[Member] = []
    failed: dict[Path, str] = {}
    seen_hashes: set[str] = set()
    usage: list[Member] = []
    for path in expand_paths(paths):
        result = FileResult(path=str(path), source_format=None, table=None)
        results.append(result)
        try:
            source_format = resolve_format(path, fmt)
            result.file_sha256 = sha256_of(path)
        except Exception as exc:  # one file's failure, whatever it is, stops no other file
            result.error = failed[path] = failure_message(path, exc, (IngestError,))
            if not result.file_sha256 and not isinstance(path, RefusedLink):
                try:  # identify the refused file by its content too (a link outside is never read)
                    result.file_sha256 = sha256_of(path)
                except OSError:
                    pass
            continue
        result.source_format, result.table = source_format.name, source_format.table
        known = next(iter(con.execute(sql_text("manifest_entry"), {"h": result.file_sha256}).fetchall()), None)
        if known or result.file_sha256 in seen_hashes:
            result.skipped = True
            result.message = (
                f"already loaded from {known[0]} on {known[1]:%Y-%m-%d %H:%M} UTC" if known else "same file given twice"
            )
            continue
        passed = next(iter(con.execute(sql_text("passed_over_entry"), {"h": result.file_sha256}).fetchall()), None)
        if passed:
            result.skipped, result.delivery_id = True, passed[1]
            result.message = (
                f"passed over in an earlier run (delivery {passed[1]}, {passed[3]:%Y-%m-%d %H:%M} UTC): {passed[2]}"
            )
            continue
        seen_hashes.add(result.file_sha256)
        if source_format.table == "billing_line_items":
            billing.append((path, source_format, result))
        else:
            usage.append((path, source_format, result))

    deliveries = _gather_deliveries(con, billing, failed)
    by_id = {d.candidate.delivery_id: d for d in deliveries}
    with tempfile.TemporaryDirectory(prefix="aicost-staging-", dir=current_staging()) as staging:
        prepared = dict(staged or {})
        to_load: dict[str, str] = {}
        for decision in decide([d.candidate for d in deliveries]):
            delivery = by_id[decision.delivery_id]
            if decision.decision == "load":
                to_load[decision.delivery_id] = decision.reason
            else:
                _decided_not_to_load(con, ingest_id, delivery, decision)
        # Deliveries of different exports holding rows of the same provider / account / billing
        # period compete (a restated month beside the first): the period is known once mapped.
        competing = []
        for delivery_id in to_load:
            delivery = by_id[delivery_id]
            for path, source_format, _ in delivery.members:
                if str(path) not in prepared:
                    prepared[str(path)] = prepare_file(str(path), source_format.name, staging, column_defaults)
            if delivery.members[0][1].period_policy == "replace":
                delivery.candidate.holds = _periods_held(prepared[str(p)] for p, _, _ in delivery.members)
                competing.append(delivery.candidate)
        outcome = {d.delivery_id: d for d in compete(competing)}
        for delivery_id, reason in to_load.items():
            delivery = by_id[delivery_id]
            decision = outcome.get(delivery_id)
            if decision and decision.decision != "load":
                _decided_not_to_load(con, ingest_id, delivery, decision)
                continue
            _store_group(
                con, delivery.members, ingest_id, delivery_id=delivery_id, column_defaults=column_defaults,
                staged=prepared, delivery=delivery, reason=reason + (decision.reason if decision else ""),
            )

    for member in usage:
        _store_group(
            con, [member], ingest_id, delivery_id=None, column_defaults=column_defaults, staged=staged or {}
        )
    if any(f.table == "gpu_metrics" and not (r.error or r.skipped) for _, f, r in usage):
        from flows.settings import get_settings
        from flows.telemetry import prune_raw_samples  # rolled up as stored; raw kept for the retention only

        prune_raw_samples(con, get_settings().gpu_raw_retention_weeks)

    for result in results:
        if result.error:
            log.error("%s", result.error)
        elif not result.skipped:
            result.message = result.message or (
                f"{result.rows_loaded} rows loaded, {result.rows_rejected} rejected as {result.source_format}"
            )
            if result.notes:
                result.message += f"; derived: {notes_text(result.notes)}"
            log.info("%s: %s", result.path, result.message)
    if raise_on_error and (errors := [r.error for r in results if r.error]):
        raise IngestError("; ".join(errors))
    return results


UNCHANGED = "nothing of this {unit} was stored: the warehouse is unchanged"


def _store_group(
    con: duckdb.DuckDBPyConnection,
    members: list[Member],
    ingest_id: str,
    *,
    delivery_id: str | None,
    column_defaults: dict[str, str] | None,
    staged: dict[str, StagedFile],
    delivery: _Delivery | None = None,
    reason: str = "",
) -> None:
    """Map the files (unless already staged), then store them in one transaction: all or none.

    A billing delivery older than the one an earlier run stored for the same period is rolled back
    and recorded as passed over; one that cannot be stored is recorded as held back.
    """
    candidate = delivery.candidate if delivery else None
    hashes = [r.file_sha256 for _, _, r in members]
    with tempfile.TemporaryDirectory(prefix="aicost-staging-", dir=current_staging()) as staging:
        prepared = {
            str(path): staged.get(str(path))
            or prepare_file(str(path), source_format.name, staging, column_defaults)
            for path, source_format, _ in members
        }
        current: Path | None = None
        committing = False
        try:
            try:
                with transaction(con):
                    for path, source_format, result in members:
                        current = path
                        _store_file(con, path, source_format, result, ingest_id, prepared[str(path)])
                    current = None
                    if delivery_id and members[0][1].period_policy == "replace":
                        params = {"delivery_id": delivery_id, "hashes": hashes, "ingest_id": ingest_id,
                                  "delivery_time": candidate.delivered_at if candidate else None}
                        if candidate and (newer := con.execute(sql_text("newer_stored_deliveries"), params).fetchall()):
                            holder = newer[0]
                            raise _PassedOver(
                                f"{holder[3]}, stored by an earlier run, is newer ({holder[4]:%Y-%m-%d %H:%M:%S} UTC "
                                f"by {holder[5]}) than this one ({candidate.delivered_at:%Y-%m-%d %H:%M:%S} UTC "
                                f"by {candidate.time_source})",
                                [row[:3] for row in newer],
                            )
                        _replace_older_deliveries(con, delivery_id, hashes, ingest_id, candidate)
                    if candidate:
                        derived = [notes_text(prepared[str(p)].notes) for p, _, _ in members if prepared[str(p)].notes]
                        con.execute(sql_text("record_loaded_decisions"), {
                            "ingest_id": ingest_id, "delivery_id": delivery_id, "hashes": hashes,
                            "reason": "; ".join([reason, *(f"derived: {d}" for d in derived)]) if derived else reason, "files": candidate.files, "delivery_time": candidate.delivered_at,
                            "time_source": candidate.time_source, "decided_at": datetime.now(UTC),
                        })
                    committing = True  # nothing left but the COMMIT
            except duckdb.Error as exc:
                # an IO error while storing (a full disk, a staged part gone) or at commit
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the transaction was already rolled back
                where = current or members[0][0]
                fmt_name = next(f.name for p, f, _ in members if p == where)
                stage = "the commit failed: " if committing else ""
                raise IngestError(f"{where}: could not be stored as {fmt_name}: {stage}{exc}") from exc
        except _PassedOver as passed:
            for _, _, result in members:
                result.skipped = True
                result.rows_loaded = result.rows_rejected = 0
                result.billed_cost, result.effective_cost = {}, {}
                result.message = f"passed over (delivery {delivery_id}): {passed.reason}"
            _record_decision(con, ingest_id, delivery, "passed_over", passed.reason, passed.keys)
        except IngestError as exc:
            unchanged = UNCHANGED.format(unit="delivery" if delivery_id else "file")
            for path, _, result in members:
                failed_here = str(path) in str(exc)
                result.error = f"{exc}; {unchanged}" if failed_here or len(members) == 1 else (
                    f"{path}: not stored, because another part of the same delivery failed: {exc}; {unchanged}"
                )
                result.rows_loaded = result.rows_rejected = 0
                result.billed_cost, result.effective_cost = {}, {}
            if delivery:
                _record_decision(con, ingest_id, delivery, "held_back", f"could not be stored: {exc}")


def pending_files(con: duckdb.DuckDBPyConnection, paths: list[Path], fmt: str = "auto") -> list[tuple[Path, str]]:
    """Files under ``paths`` the warehouse has neither loaded nor passed over, with their format (unreadable ones left out)."""
    pending = []
    for path in expand_paths(paths):
        try:
            source_format = resolve_format(path, fmt)
            digest = sha256_of(path)
        except Exception:  # noqa: BLE001  (ingest_files reports it, by name)
            continue
        known = con.execute(sql_text("manifest_entry"), {"h": digest}).fetchone()
        if known is None and con.execute(sql_text("passed_over_entry"), {"h": digest}).fetchone() is None:
            pending.append((path, source_format.name))
    return pending
