"""Ingest, step 3: what happens inside a delivery's transaction, and the decisions recorded.

Copying a staged file into its table with its ``ingest_manifest`` row (``_store_file``: append-only
sources keyed by ``row_key``), making a delivery the holder of its periods (``_replace_older_deliveries``),
and recording every decision in ``delivery_decisions`` / ``passed_over_files``. The transaction
itself is opened by ``flows.ingest._store_group``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.ingest_discover import FileResult, IngestError, _Delivery
from flows.ingest_stage import STAGED_COMPRESSION, StagedFile
from flows.settings import get_settings
from flows.telemetry import roll_up
from flows.warehouse import insert_parquet, sql_text, transaction
from transforms.deliveries import Candidate, with_row_keys
from transforms.formats import SourceFormat

log = logging.getLogger("flows.ingest")

UNCHANGED = "nothing of this {unit} was stored: the warehouse is unchanged"


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
                fresh.write_parquet(good_parts[0], compression=STAGED_COMPRESSION)
            loaded = fresh["source_row"].n_unique()
            totals = fresh.group_by("billing_currency").agg(pl.col("billed_cost").sum(), pl.col("effective_cost").sum())
            billed = {c: b for c, b, _ in totals.iter_rows()}
            effective = {c: e for c, _, e in totals.iter_rows()}
    if fmt.table == "gpu_metrics" and not get_settings().gpu_raw_retention_weeks:
        roll_up(con, good_parts)  # raw samples not kept (retention 0): their hours only
    else:
        insert_parquet(con, fmt.table, good_parts, lineage)
    insert_parquet(
        con,
        "rejected_rows",
        staged.bad_parts,
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
    con: duckdb.DuckDBPyConnection,
    delivery_id: str,
    hashes: list[str],
    ingest_id: str | None = None,
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
            **params,
            "now": datetime.now(UTC),
            "delivery_time": delivery.delivered_at if delivery else None,
            "time_source": delivery.time_source if delivery else None,
        },
    )


class _PassedOver(Exception):
    """A delivery older than the one an earlier run stored for the same period (rolled back)."""

    def __init__(self, reason: str, keys: list[tuple]):
        super().__init__(reason)
        self.reason, self.keys = reason, keys


def _record_decision(
    con: duckdb.DuckDBPyConnection,
    ingest_id: str,
    delivery: _Delivery,
    decision: str,
    reason: str,
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
    rows = (
        keys
        or sorted(candidate.holds, key=str)
        or [(hint.get("provider"), hint.get("billing_account_id"), hint.get("billing_period_start"))]
    )
    now = datetime.now(UTC)
    try:
        with transaction(con):
            for provider, account, period in rows:
                con.execute(
                    sql_text("record_delivery_decision"),
                    {
                        "ingest_id": ingest_id,
                        "provider": provider,
                        "billing_account_id": account,
                        "billing_period_start": period,
                        "delivery_id": candidate.delivery_id,
                        "decision": decision,
                        "reason": reason,
                        "files": candidate.files,
                        "delivery_time": candidate.delivered_at,
                        "time_source": candidate.time_source,
                        "decided_at": now,
                        **delivery.record(),  # what the export's manifest says, if it has one
                    },
                )
            if decision == "passed_over":
                for path, _, result in delivery.members:
                    con.execute(
                        sql_text("record_passed_over_file"),
                        {
                            "file_sha256": result.file_sha256,
                            "source_file": str(path),
                            "delivery_id": candidate.delivery_id,
                            "reason": reason,
                            "ingest_id": ingest_id,
                            "decided_at": now,
                        },
                    )
    except duckdb.Error as exc:
        log.error(
            "delivery %s (%s): the decision %s could not be recorded: %s",
            candidate.delivery_id,
            ", ".join(candidate.files),
            decision,
            exc,
        )


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
