"""Ingest, step 1: what there is to load.

Expanding the paths given into files (folders walked without leaving them, export metadata and
S3 Inventory data parts left out), resolving each file's format, reading the export manifests
beside a part (AWS CUR, AWS Data Exports, Azure Cost Management exports), and grouping a run's
billing files into deliveries (``transforms/deliveries.py`` documents the layouts). Nothing here writes to the warehouse; ``_gather_deliveries`` only reads
which parts of a delivery earlier runs stored. The whole story is in ``flows/ingest.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.readers import UnreadableFile, read_head, sniff
from flows.warehouse import sql_text
from transforms.billing.aws_cur import HIVE_DELIMITER
from transforms.deliveries import Candidate, ExportIdentity, delivery_id_for, export_identity
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
    if found.read_options.get("names_from") == "aws_cur_manifest":
        cur_manifest_header(path)  # refused here, by name, when no manifest gives its columns
    elif found.table == "billing_line_items" and (manifest := _data_exports_manifest(path)) and manifest.columns:
        present = {c.strip().lower() for c in sniffed.columns}
        lacking = [c for c in manifest.columns if c.lower() not in present]
        if lacking:
            more = f" and {len(lacking) - 10} more" if len(lacking) > 10 else ""
            raise IngestError(
                f"{path}: its AWS Data Exports manifest {manifest.manifest} lists {len(manifest.columns)} columns "
                f"and the file lacks {len(lacking)} of them ({', '.join(lacking[:10])}{more}); refused: not the "
                "file the manifest describes (a partial or damaged part), and its delivery is held back"
            )
    return found


def cur_manifest_header(path: Path) -> list[str]:
    """The column names of a headerless AWS CUR Hive text part: the ``columns`` of the CUR manifest
    that lists it (``{"category": "lineItem", "name": "UnblendedCost"}`` in file order), as the
    ``category/Name`` header the legacy CUR reader knows.

    IngestError naming the file (and the manifest, where there is one) when no CUR manifest beside it
    lists the file, the manifest has no usable ``columns``, or their number differs from the number of
    fields in the file's first row.
    """
    what = f"{path}: AWS CUR Hive text without a header line (\\x01 between fields)"
    assembly = aws_assembly(path)
    if assembly is None:
        raise IngestError(
            f"{what}: its column names are in the CUR manifest of its assembly, and no AWS CUR manifest "
            "(<report>-Manifest.json with assemblyId and reportKeys) beside it or one folder up lists it; "
            "refused: put the assembly's manifest beside the file"
        )
    columns = (_read_json(assembly.manifest) or {}).get("columns")
    names = [
        f"{c['category']}/{c['name']}"
        for c in (columns if isinstance(columns, list) else [])
        if isinstance(c, dict) and isinstance(c.get("category"), str) and isinstance(c.get("name"), str)
    ]
    if not names or len(names) != len(columns):
        raise IngestError(
            f"{what}: its manifest {assembly.manifest} has no usable columns list "
            "([{category, name, type}, ...] in file order); refused"
        )
    first = read_head(path).split("\n", 1)[0].rstrip("\r")
    fields = first.count(HIVE_DELIMITER) + 1
    if fields != len(names):
        raise IngestError(
            f"{what}: its manifest {assembly.manifest} lists {len(names)} columns but the file's first row "
            f"has {fields} fields; refused: the manifest is not this file's"
        )
    return names


@dataclass(frozen=True)
class ExportManifest:
    """What an export's own manifest says about the delivery a data file belongs to.

    AWS Data Exports (CUR 2.0, FOCUS with AWS columns): ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/
    [<executionId>/]<export>-Manifest.json`` beside ``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/...``;
    fields ``executionId``, ``exportArn``, ``columns``, ``dataFiles`` (full S3 URIs). Azure Cost
    Management exports: ``manifest.json`` in the run folder ``<export>/<YYYYMMDD-YYYYMMDD>/<runId>/``;
    fields ``exportConfig`` {exportName, type, dataVersion, resourceId}, ``runInfo`` {runId,
    startDate, endDate, submittedTime}, ``blobs`` [{blobName, byteCount, dataRowCount}]. (A
    ``manifest.json`` with ``fileSchema`` is an S3 Inventory manifest, never this.)
    """

    manifest: Path
    folder: Path  # where the data files it lists are
    listed: tuple[str, ...]  # the names of the data files it lists
    provider: str
    export_name: str | None = None
    export_id: str | None = None  # AWS: the export's ARN; Azure: the export's resource id
    export_type: str | None = None  # Azure: FocusCost, ActualCost, AmortizedCost, ...
    data_version: str | None = None  # Azure: 1.0r2, 1.2-preview, ...
    run_id: str | None = None  # AWS executionId, Azure runInfo.runId
    billing_period: str | None = None  # AWS: YYYY-MM (the partition); Azure: startDate/endDate (YYYY-MM-DD)
    period_start: datetime | None = None
    submitted: datetime | None = None  # Azure runInfo.submittedTime: the provider's time of the run
    row_counts: tuple[tuple[str, int], ...] = ()  # Azure: (file name, dataRowCount) per blob
    columns: tuple[str, ...] = ()  # AWS: the names of the manifest's ``columns``, which every data file has

    def record(self) -> dict:
        """The delivery record's columns about the export (``delivery_decisions.export_*``)."""
        values = (
            str(self.manifest),
            self.export_name,
            self.export_id,
            self.export_type,
            self.data_version,
            self.run_id,
            self.billing_period,
        )
        return dict(zip(EXPORT_RECORD_COLUMNS, values, strict=True))


EXPORT_RECORD_COLUMNS = (
    "export_manifest",
    "export_name",
    "export_id",
    "export_type",
    "data_version",
    "export_run_id",
    "export_billing_period",
)


def _text(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _utc(value) -> datetime | None:
    """An ISO time of an export manifest (7 fractional digits, ``Z``, or none: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _data_exports_manifest(path: Path) -> ExportManifest | None:
    """The AWS Data Exports manifest whose ``dataFiles`` list ``path`` (``.../<export>/data/BILLING_PERIOD=...``)."""
    parts = path.parent.parts
    at = next(
        (i for i in range(len(parts) - 2, 0, -1) if parts[i] == "data" and parts[i + 1].startswith("BILLING_PERIOD=")),
        None,
    )
    if at is None:
        return None
    rel = parts[at + 1 :]
    own = "/" + "/".join(("data", *rel, path.name))
    inside = "/" + "/".join(("data", *rel)) + "/"
    for manifest in sorted(Path(*parts[:at], "metadata", *rel).glob("*anifest.json")):
        data = _read_json(manifest)
        files = data.get("dataFiles") if data else None
        if not isinstance(files, list) or not any(str(f).endswith(own) for f in files):
            continue
        listed = tuple(Path(str(f)).name for f in files if inside in str(f))
        period = rel[0].split("=", 1)[1]
        columns = data.get("columns") if isinstance(data.get("columns"), list) else []
        try:
            start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            start = None
        return ExportManifest(
            manifest=manifest,
            folder=path.parent,
            listed=listed,
            provider="aws",
            export_name=parts[at - 1],
            export_id=_text(data.get("exportArn")),
            run_id=_text(data.get("executionId")),
            billing_period=period,
            period_start=start,
            columns=tuple(c["name"] for c in columns if isinstance(c, dict) and isinstance(c.get("name"), str)),
        )
    return None


def _azure_export_manifest(path: Path) -> ExportManifest | None:
    """The Azure Cost Management export ``manifest.json`` in ``path``'s run folder, if its ``blobs`` list it."""
    manifest = path.parent / "manifest.json"
    data = _read_json(manifest) if manifest.is_file() else None
    if not data or "fileSchema" in data or not isinstance(data.get("blobs"), list):
        return None
    blobs = [b for b in data["blobs"] if isinstance(b, dict) and _text(b.get("blobName"))]
    listed = tuple(Path(str(b["blobName"])).name for b in blobs)
    if path.name not in listed:
        return None
    config = data.get("exportConfig") if isinstance(data.get("exportConfig"), dict) else {}
    run = data.get("runInfo") if isinstance(data.get("runInfo"), dict) else {}
    start, end = _utc(run.get("startDate")), _utc(run.get("endDate"))
    counts = tuple(
        (Path(str(b["blobName"])).name, b["dataRowCount"])
        for b in blobs
        if isinstance(b.get("dataRowCount"), int) and not isinstance(b.get("dataRowCount"), bool)
    )
    return ExportManifest(
        manifest=manifest,
        folder=path.parent,
        listed=listed,
        provider="azure",
        export_name=_text(config.get("exportName")),
        export_id=_text(config.get("resourceId")),
        export_type=_text(config.get("type")),
        data_version=_text(config.get("dataVersion")),
        run_id=_text(run.get("runId")),
        billing_period=f"{start:%Y-%m-%d}/{end:%Y-%m-%d}" if start and end else None,
        period_start=start.replace(day=1, hour=0, minute=0, second=0, microsecond=0) if start else None,
        submitted=_utc(run.get("submittedTime")),
        row_counts=counts,
    )


def export_manifest(path: Path) -> ExportManifest | None:
    """The AWS Data Exports or Azure export manifest that lists ``path``, if any."""
    return _data_exports_manifest(path) or _azure_export_manifest(path)


Member = tuple[Path, SourceFormat, FileResult]


@dataclass
class _Delivery:
    """The files of one delivery found in this run, and what is known of it before storing."""

    candidate: Candidate
    members: list[Member]
    hints: dict = field(default_factory=dict)  # provider / account / period read from a manifest
    manifest: ExportManifest | None = None  # the AWS Data Exports / Azure export manifest that lists its files

    def record(self) -> dict:
        """The delivery record's export columns: what its export manifest says, else nulls."""
        return self.manifest.record() if self.manifest else dict.fromkeys(EXPORT_RECORD_COLUMNS)

    def check_row_counts(self, staged: dict) -> None:
        """A file whose rows read (loaded + rejected) differ from its manifest's ``dataRowCount`` is
        truncated (or not the file the manifest lists): its staged result becomes an error, so the
        delivery is stored whole or not at all. ``staged``: path -> StagedFile."""
        counts = dict(self.manifest.row_counts) if self.manifest else {}
        for path, _, _ in self.members:
            part = staged.get(str(path))
            if part is None or part.error or path.name not in counts:
                continue
            read = part.loaded + part.rejected
            if read != counts[path.name]:
                part.error = (
                    f"{path}: refused as truncated: its manifest {self.manifest.manifest} lists {counts[path.name]} "
                    f"data rows for it, {read} were read ({part.loaded} loaded, {part.rejected} rejected)"
                )


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _gather_deliveries(
    con: duckdb.DuckDBPyConnection, billing: list[Member], failed: dict[Path, str]
) -> list[_Delivery]:
    """Group this run's new billing files into deliveries (see ``transforms/deliveries.py``)."""
    found: dict[str, _Delivery] = {}
    for path, source_format, result in billing:
        assembly = aws_assembly(path) if source_format.name.startswith("aws_cur") else None
        manifest = None if assembly else export_manifest(path)
        if assembly:
            delivery_id, export, run = assembly.delivery_id, assembly.export, assembly.assembly_id
        else:
            identity = export_identity(path.resolve().parts)
            if manifest and manifest.provider == "aws" and manifest.run_id:
                # AWS Data Exports: the manifest's executionId is the run, as the assemblyId is for the CUR
                export = manifest.export_id or manifest.export_name
                identity = ExportIdentity(f"aws-data-exports|{export}|{manifest.billing_period}", manifest.run_id)
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
            elif manifest:
                hints = {"provider": manifest.provider, "billing_period_start": manifest.period_start}
                if manifest.submitted:
                    when, source = manifest.submitted, "the export manifest's submittedTime"
                elif manifest.provider == "aws":  # AWS Data Exports manifests carry no time either
                    when, source = _mtime(manifest.manifest), "the export manifest's file time"
                else:
                    when, source = _mtime(path), "file time"
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
                cost_type=manifest.export_type if manifest else None,
            )
            found[delivery_id] = _Delivery(candidate, [], hints, manifest)
        delivery = found[delivery_id]
        delivery.members.append((path, source_format, result))
        delivery.candidate.files.append(str(path))
        if not assembly and (not manifest or delivery.candidate.time_source == "file time"):
            delivery.candidate.delivered_at = max(delivery.candidate.delivered_at, _mtime(path))

    for delivery in found.values():
        candidate = delivery.candidate
        stored = con.execute(sql_text("delivery_stored_files"), {"delivery_id": candidate.delivery_id}).fetchall()
        assembly = aws_assembly(delivery.members[0][0]) if candidate.delivery_id.startswith("aws-assembly-") else None
        if assembly:
            listed, folder = assembly.listed, delivery.members[0][0].parent
        elif delivery.manifest:
            listed, folder = delivery.manifest.listed, delivery.manifest.folder
        else:
            listed, folder = (), None
        if stored and not assembly:
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
        # the parts its manifest lists that are neither here nor stored: the delivery is held back whole
        here = {p.name for p, _, _ in delivery.members}
        stored_names = {Path(f).name for d, f, _, _ in stored if d == candidate.delivery_id}
        for name in listed:
            if name in here or name in stored_names:
                continue
            unreadable = folder / name in failed
            (candidate.unreadable if unreadable else candidate.missing).append(
                f"{name} ({failed[folder / name]})" if unreadable else name
            )
        for _, _, result in delivery.members:
            result.delivery_id = candidate.delivery_id
    return list(found.values())
