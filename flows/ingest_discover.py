"""Ingest, step 1: what there is to load.

Expanding the paths given into files (folders walked without leaving them, export metadata and
S3 Inventory data parts left out), resolving each file's format, reading the AWS CUR manifests
beside a part, and grouping a run's billing files into deliveries (``transforms/deliveries.py``
documents the layouts). Nothing here writes to the warehouse; ``_gather_deliveries`` only reads
which parts of a delivery earlier runs stored. The whole story is in ``flows/ingest.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.readers import UnreadableFile, sniff
from flows.warehouse import sql_text
from transforms.deliveries import Candidate, delivery_id_for, export_identity
from transforms.formats import SourceFormat, closest_match, detect, load_all

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
        f
        for f in files
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
                    same = top_data.get("reportName") == data.get("reportName") and _aws_period(
                        top_data
                    ) == _aws_period(data)
                    if same and top != manifest:
                        current = str(top_data["assemblyId"])
                        break
                if current:
                    break
            return AwsAssembly(
                assembly_id=str(data["assemblyId"]),
                manifest=manifest,
                report=str(data.get("reportName") or ""),
                account=data.get("account"),
                period_start=_aws_period(data),
                listed=listed,
                current_id=current,
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
            f"; closest: {near[0].name}, which also needs {', '.join(near[1])}"
            if near and near[1]
            else f"; closest: {near[0].name} (its columns are all there, its layout is not)"
            if near
            else "; no known format's columns are in it"
        )
        raise IngestError(
            f"{path}: not a recognised billing export or usage log ({header}, none of them a known format's); "
            f"formats tried: {', '.join(sorted(formats))}{closest}; name the format with --format if it is one of them"
        )
    return found


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
                hints = {
                    "provider": "aws",
                    "billing_account_id": assembly.account,
                    "billing_period_start": assembly.period_start,
                }
            else:
                when, source, hints = _mtime(path), "file time", {}
            candidate = Candidate(
                delivery_id=delivery_id,
                export=export,
                run=run,
                delivered_at=when,
                time_source=source,
                files=[],
                current_run=assembly.current_id if assembly else None,
            )
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
