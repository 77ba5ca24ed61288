"""Loading files into the warehouse exactly once, losing nothing.

- Each file is recorded in ``ingest_manifest`` by its SHA-256: the same file again changes nothing.
- Billing files given together (per format), or the parts one AWS manifest lists, form one
  *delivery*. A delivery is stored in one transaction: if any part cannot be read, nothing of it
  is stored. For formats whose period policy is ``replace``, the delivery then replaces every
  older delivery's rows of the same provider / account / billing period.
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
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from flows import PROJECT_ROOT
from flows.readers import UnreadableFile, read_raw, sniff
from flows.warehouse import insert_parquet, sql_text, transaction
from transforms.formats import FormatError, SourceFormat, detect, load_all

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


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files under the given paths, in a stable order, without AWS manifests and inventory data parts."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise IngestError(f"{path}: no such file or folder")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        files.extend(p for p in candidates if not p.name.lower().startswith(SKIPPED_NAMES))
    inventory_parts: set[Path] = set()
    for f in files:
        if f.name == "manifest.json":
            from flows.readers import s3_inventory_data_files

            try:
                inventory_parts.update(p.resolve() for p in s3_inventory_data_files(f))
            except (UnreadableFile, KeyError, json.JSONDecodeError):
                pass
    return [f for f in files if not _is_aws_manifest(f) and f.resolve() not in inventory_parts]


def aws_assembly_id(path: Path) -> str | None:
    """The assembly id of the AWS CUR manifest beside ``path`` that lists it, if any."""
    for folder in (path.parent, path.parent.parent):
        for manifest in folder.glob("*anifest.json"):
            if manifest.name == "manifest.json":
                continue
            try:
                data = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            keys = [Path(k).name for k in data.get("reportKeys", [])]
            if path.name in keys and data.get("assemblyId"):
                return f"aws-assembly-{data['assemblyId']}"
    return None


def resolve_format(path: Path, fmt: str) -> SourceFormat:
    """The named format, or the one the file's header shows; IngestError naming the file if none."""
    formats = load_all()
    if fmt != "auto":
        if fmt not in formats:
            raise IngestError(f"{path}: unknown format {fmt!r}; known formats: {', '.join(sorted(formats))}")
        return formats[fmt]
    found = detect(sniff(path))
    if found is None:
        header = ", ".join(sniff(path).columns[:6]) or "(no header)"
        raise IngestError(
            f"{path}: not a recognised billing export or usage log (header starts: {header}); "
            f"name the format with --format (one of {', '.join(sorted(formats))})"
        )
    return found


def _load_instances() -> pl.DataFrame:
    return pl.read_csv(INSTANCES_CSV, columns=["instance_type", "gpu_count"], schema_overrides={"gpu_count": pl.Float64})


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
    error: str | None = None


def map_batches(
    path: Path,
    fmt: SourceFormat,
    column_defaults: dict[str, str] | None = None,
    instances: pl.DataFrame | None = None,
    max_row_cost: Decimal | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, int]]:
    """Read and map a file batch by batch: (good rows, rejected source_row/reason, records read).

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
        if billing:
            good = _enrich_billing(good, instances if instances is not None else _load_instances())
        # A record is a raw row, except in line-based formats, where headers and comments are not
        # records: there the records are the source rows the mapping recognised.
        records = raw.height if fmt.reader not in ("text", "document") else mapped["source_row"].n_unique()
        yield good.select(list(columns)), bad, records


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
    try:
        fmt = load_all()[fmt_name]
        instances = _load_instances()
        stem = hashlib.sha256(path.encode()).hexdigest()[:16]
        for i, (good, bad, records) in enumerate(map_batches(Path(path), fmt, column_defaults, instances)):
            staged.records += records
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
    except (FormatError, UnreadableFile) as exc:
        message = str(exc)
        staged.error = message if path in message else f"{path}: {message}"
    except (pl.exceptions.PolarsError, duckdb.Error, OSError) as exc:
        staged.error = f"{path}: cannot be loaded as {fmt_name}: {exc}"
    staged.billed, staged.effective = billed, effective
    staged.reasons = dict(reasons.most_common(20))
    return staged


def _store_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: SourceFormat,
    result: FileResult,
    ingest_id: str,
    staged: StagedFile,
) -> None:
    """Copy one staged file into its table inside the caller's transaction; fills ``result``."""
    if staged.error:
        raise IngestError(staged.error)
    lineage = {
        "source_format": fmt.name,
        "source_file": str(path),
        "file_sha256": result.file_sha256,
        "ingest_id": ingest_id,
    }
    if fmt.table == "billing_line_items":
        lineage["delivery_id"] = result.delivery_id
    insert_parquet(con, fmt.table, staged.good_parts, lineage)
    insert_parquet(
        con, "rejected_rows", staged.bad_parts,
        {"file_sha256": result.file_sha256, "source_file": str(path), "ingest_id": ingest_id},
    )
    result.rows_in_file, result.rows_loaded, result.rows_rejected = staged.records, staged.loaded, staged.rejected
    result.billed_cost, result.effective_cost = staged.billed, staged.effective
    result.rejected_reasons = staged.reasons
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


def _replace_older_deliveries(con: duckdb.DuckDBPyConnection, delivery_id: str, hashes: list[str]) -> None:
    """Make this delivery the holder of every provider/account/period it contains."""
    params = {"delivery_id": delivery_id, "hashes": hashes}
    con.execute(sql_text("replace_older_deliveries"), params)
    con.execute(sql_text("record_deliveries"), {**params, "now": datetime.now(UTC)})


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

    ``column_defaults`` fills columns a file lacks (e.g. ``{"BillingCurrency": "USD"}`` for an
    export of one account that leaves the currency out); a column the file has is never changed.
    """
    ingest_id = uuid.uuid4().hex
    results: list[FileResult] = []
    billing_groups: dict[str, list[tuple[Path, SourceFormat, FileResult]]] = defaultdict(list)
    seen_hashes: set[str] = set()
    usage: list[tuple[Path, SourceFormat, FileResult]] = []
    for path in expand_paths(paths):
        result = FileResult(path=str(path), source_format=None, table=None)
        results.append(result)
        try:
            result.file_sha256 = sha256_of(path)
            source_format = resolve_format(path, fmt)
        except (IngestError, UnreadableFile, OSError) as exc:
            result.error = str(exc)
            continue
        result.source_format, result.table = source_format.name, source_format.table
        known = con.execute(sql_text("manifest_entry"), {"h": result.file_sha256}).fetchone()
        if known or result.file_sha256 in seen_hashes:
            result.skipped = True
            result.message = (
                f"already loaded from {known[0]} on {known[1]:%Y-%m-%d %H:%M} UTC" if known else "same file given twice"
            )
            continue
        seen_hashes.add(result.file_sha256)
        if source_format.table == "billing_line_items":
            group = aws_assembly_id(path) or f"{source_format.name}"
            billing_groups[group].append((path, source_format, result))
        else:
            usage.append((path, source_format, result))

    for group, members in billing_groups.items():
        hashes = sorted(r.file_sha256 for _, _, r in members)
        delivery_id = group if group.startswith("aws-assembly-") else f"{group}-{hashlib.sha256(''.join(hashes).encode()).hexdigest()[:16]}"
        for _, _, result in members:
            result.delivery_id = delivery_id
        _store_group(
            con, members, ingest_id, delivery_id=delivery_id, column_defaults=column_defaults, staged=staged or {}
        )

    for member in usage:
        _store_group(
            con, [member], ingest_id, delivery_id=None, column_defaults=column_defaults, staged=staged or {}
        )

    for result in results:
        if result.error:
            log.error("%s", result.error)
        elif not result.skipped:
            result.message = result.message or (
                f"{result.rows_loaded} rows loaded, {result.rows_rejected} rejected as {result.source_format}"
            )
            log.info("%s: %s", result.path, result.message)
    if raise_on_error and (errors := [r.error for r in results if r.error]):
        raise IngestError("; ".join(errors))
    return results


def _store_group(
    con: duckdb.DuckDBPyConnection,
    members: list[tuple[Path, SourceFormat, FileResult]],
    ingest_id: str,
    *,
    delivery_id: str | None,
    column_defaults: dict[str, str] | None,
    staged: dict[str, StagedFile],
) -> None:
    """Map the files (unless already staged), then store them in one transaction: all or none."""
    with tempfile.TemporaryDirectory(prefix="aicost-staging-") as staging:
        prepared = {
            str(path): staged.get(str(path))
            or prepare_file(str(path), source_format.name, staging, column_defaults)
            for path, source_format, _ in members
        }
        try:
            with transaction(con):
                for path, source_format, result in members:
                    try:
                        _store_file(con, path, source_format, result, ingest_id, prepared[str(path)])
                    except duckdb.Error as exc:
                        raise IngestError(f"{path}: cannot be loaded as {source_format.name}: {exc}") from exc
                if delivery_id and members[0][1].period_policy == "replace":
                    _replace_older_deliveries(con, delivery_id, [r.file_sha256 for _, _, r in members])
        except IngestError as exc:
            for path, _, result in members:
                failed_here = str(path) in str(exc)
                result.error = str(exc) if failed_here or len(members) == 1 else (
                    f"{path}: not stored, because another part of the same delivery failed: {exc}"
                )
                result.rows_loaded = result.rows_rejected = 0
                result.billed_cost, result.effective_cost = {}, {}


def pending_files(con: duckdb.DuckDBPyConnection, paths: list[Path], fmt: str = "auto") -> list[tuple[Path, str]]:
    """Files under ``paths`` the warehouse has not loaded yet, with their format (unreadable ones left out)."""
    pending = []
    for path in expand_paths(paths):
        try:
            source_format = resolve_format(path, fmt)
            digest = sha256_of(path)
        except (IngestError, UnreadableFile, OSError):
            continue  # ingest_files reports it
        if con.execute(sql_text("manifest_entry"), {"h": digest}).fetchone() is None:
            pending.append((path, source_format.name))
    return pending
