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

The steps live in their own modules: ``flows/ingest_discover.py`` (paths, formats, manifests,
deliveries), ``flows/ingest_stage.py`` (mapping into staged Parquet parts) and
``flows/ingest_store.py`` (what runs inside the transaction, and the decisions recorded). This
module runs them in order (``ingest_files``) and opens each delivery's transaction (``_store_group``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flows import on_dask
from flows.ingest_discover import (
    FileResult,
    IngestError,
    Member,
    RefusedLink,
    _Delivery,
    _gather_deliveries,
    aws_assembly,
    aws_assembly_id,
    expand_paths,
    is_export_metadata,
    resolve_format,
    sha256_of,
)
from flows.ingest_stage import StagedFile, _load_instances, map_batches, notes_text, prepare_file  # noqa: F401  (_load_instances: read by tests/test_config.py)
from flows.ingest_store import (
    UNCHANGED,
    _decided_not_to_load,
    _PassedOver,
    _periods_held,
    _record_decision,
    _replace_older_deliveries,  # called by name from _store_group: tests replace it here to stop a run mid-transaction
    _store_file,
)
from flows.readers import failure_message
from flows.warehouse import (
    clean_stale_staging,
    current_staging,
    insert_frame,
    run_staging,
    sql_text,
    staging_root,
    transaction,
)
from transforms.deliveries import compete, decide

__all__ = [
    "FileResult",
    "begin_staging",
    "ingest_into",
    "ingest_paths",
    "record_refusals",
    "run_ingest",
    "IngestError",
    "RefusedLink",
    "StagedFile",
    "aws_assembly",
    "aws_assembly_id",
    "expand_paths",
    "ingest_files",
    "is_export_metadata",
    "map_batches",
    "notes_text",
    "pending_files",
    "prepare_file",
    "resolve_format",
    "sha256_of",
]

log = logging.getLogger(__name__)


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
            delivery.check_row_counts(prepared)  # rows read against the manifest's counts: truncated parts refused
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
                con,
                delivery.members,
                ingest_id,
                delivery_id=delivery_id,
                column_defaults=column_defaults,
                staged=prepared,
                delivery=delivery,
                reason=reason + (decision.reason if decision else ""),
            )

    for member in usage:
        _store_group(con, [member], ingest_id, delivery_id=None, column_defaults=column_defaults, staged=staged or {})
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
            str(path): staged.get(str(path)) or prepare_file(str(path), source_format.name, staging, column_defaults)
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
                        params = {
                            "delivery_id": delivery_id,
                            "hashes": hashes,
                            "ingest_id": ingest_id,
                            "delivery_time": candidate.delivered_at if candidate else None,
                        }
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
                        con.execute(
                            sql_text("record_loaded_decisions"),
                            {
                                "ingest_id": ingest_id,
                                "delivery_id": delivery_id,
                                "hashes": hashes,
                                "reason": "; ".join([reason, *(f"derived: {d}" for d in derived)])
                                if derived
                                else reason,
                                "files": candidate.files,
                                "delivery_time": candidate.delivered_at,
                                "time_source": candidate.time_source,
                                "decided_at": datetime.now(UTC),
                                **(delivery.record() if delivery else {}),  # what its export manifest says
                            },
                        )
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
                result.error = (
                    f"{exc}; {unchanged}"
                    if failed_here or len(members) == 1
                    else (f"{path}: not stored, because another part of the same delivery failed: {exc}; {unchanged}")
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


# ------------------------------------------------------------------ the one ingest code path
# Prefect is imported only when a Dask runner is configured or a flow run is current: an in-process
# ``aicost ingest`` never pays its import (about 3 s of CPU here, more than reading a 6 MiB file).


def record_refusals(con, refusals: list[tuple[str, str | None, str]]) -> int:
    """Store the files an ingest refused whole: (file, sha256 or None, reason), for the report."""
    from datetime import UTC, datetime

    import polars as pl

    now = datetime.now(UTC)
    frame = pl.DataFrame(
        [{"source_file": f, "file_sha256": h or None, "reason": r, "refused_at": now} for f, h, r in refusals],
        schema={
            "source_file": pl.String,
            "file_sha256": pl.String,
            "reason": pl.String,
            "refused_at": pl.Datetime("us", "UTC"),
        },
    )
    return insert_frame(con, "ingest_refusals", frame)


def begin_staging(db: Path | str, configured: Path | str | None = None) -> Path:
    """Call at the start of an ingest: remove staging left by runs no longer alive, make this run's.

    A run killed hard (kill -9, power loss) cannot remove its staged Parquet parts; the next run on
    the same staging root does. Returns this run's staging folder.
    """
    root = staging_root(db, configured)
    for folder in clean_stale_staging(root):
        log.warning("removed staging folder %s left by a run that is no longer alive", folder)
    return run_staging(root)


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path | str],
    settings,
    fmt: str = "auto",
    column_defaults: dict[str, str] | None = None,
) -> list[FileResult]:
    """Load the files under ``paths`` into the warehouse ``con`` holds: the one ingest code path.

    Inside a flow run on Dask, every pending file is first read and mapped on the workers
    (``flows.ingest_flow.prepare``, into the shared staging folder); the writes to DuckDB then happen
    here, serially, in the same delivery transactions as an in-process ingest (which maps each file as
    it stores it), so the tables come out the same. Refused files are recorded in ``ingest_refusals``.
    """
    paths = [Path(p) for p in paths]
    run_dir = begin_staging(settings.db, settings.staging)
    staged: dict[str, StagedFile] = {}
    staging: Path | None = None
    try:
        if on_dask():
            from prefect import get_run_logger

            from flows.ingest_flow import prepare

            pending = pending_files(con, paths, fmt)
            staging = run_dir / uuid.uuid4().hex
            staging.mkdir(parents=True, exist_ok=True)
            futures = [prepare.submit(str(path), name, str(staging), column_defaults) for path, name in pending]
            staged = {s.path: s for s in (f.result() for f in futures)}
            get_run_logger().info("prepared %d files on Dask", len(staged))
        results = ingest_files(con, paths, fmt, column_defaults=column_defaults, staged=staged)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    record_refusals(con, [(r.path, r.file_sha256, r.error) for r in results if r.error])
    return results


def ingest_into(
    settings, paths: list[str], fmt: str = "auto", column_defaults: dict[str, str] | None = None
) -> list[FileResult]:
    """The ``ingest-files`` flow's body: open the settings' warehouse and ``ingest_paths`` into it."""
    from flows.warehouse import opened

    with opened(settings.db, lock_timeout_s=settings.lock_timeout_s) as con:
        return ingest_paths(con, paths, settings, fmt, column_defaults)


def run_ingest(
    paths: list[str], settings, fmt: str = "auto", column_defaults: dict[str, str] | None = None
) -> list[FileResult]:
    """``aicost ingest``: the ``ingest-files`` flow on Dask when configured, else its body in-process.

    In-process needs no Prefect API (no ~10 s ephemeral start for a command that gains nothing from
    it) and does not import Prefect at all.
    """
    paths = [str(p) for p in paths]
    if not settings.dask_address and settings.dask_local_workers <= 0:
        return ingest_into(settings, paths, fmt, column_defaults)
    from flows.ingest_flow import dask_task_runner, ingest_flow

    return ingest_flow.with_options(task_runner=dask_task_runner(settings))(
        paths=paths, db=str(settings.db), fmt=fmt, column_defaults=column_defaults
    )
