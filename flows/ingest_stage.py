"""Ingest, step 2: reading and mapping a file ahead of storing it.

A file is read batch by batch (``flows/readers.py``), mapped by its format (``transforms/formats.py``),
checked for plausibility and written as Parquet parts in a staging folder, with its counts and exact
money totals (``StagedFile``). This runs outside any warehouse transaction, in this process or on a
Dask worker (``flows/ingest_flow.py``), so storing only copies the parts in.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from flows.readers import failure_message, read_raw
from transforms.formats import SourceFormat, enrich_billing, load_all

# Staged parts live until the warehouse has copied them in: LZ4 writes and reads faster than the
# default zstd (1M canonical rows: 0.95 against 1.42 s of CPU to write, 1.33 against 1.60 s to copy in).
STAGED_COMPRESSION = "lz4"


def _load_instances() -> pl.DataFrame:
    """Instance type -> GPUs (config/instances.csv, read by its one loader)."""
    from flows.config import load_instances

    return load_instances().select("instance_type", "gpu_count")


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
            good = enrich_billing(good, instances if instances is not None else _load_instances())
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
                good.write_parquet(staged.good_parts[-1], compression=STAGED_COMPRESSION)
            if bad.height:
                staged.bad_parts.append(str(Path(staging_dir) / f"{stem}-{i:05d}-bad.parquet"))
                bad.write_parquet(staged.bad_parts[-1], compression=STAGED_COMPRESSION)
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
