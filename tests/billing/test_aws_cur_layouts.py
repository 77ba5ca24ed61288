"""The same AWS line items in the three CUR layouts (legacy CSV, Athena Parquet, CUR 2.0) load identically.

The rows come from the sample generator through the benchmark's writers (benchmarks/make_billing.py),
the files the ingest benchmark measures; the expected totals are the generator's own micro-unit sums.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from benchmarks.make_billing import aws_items, write_all
from flows.ingest import ingest_files
from flows.warehouse import connect

ROWS = 3_000  # enough for every line item type the generator writes (RIs, Savings Plans, tax, credit)
LAYOUTS = ("aws_cur_csv", "aws_cur_parquet", "aws_cur2_parquet")
COMPARED = (
    "billed_cost, effective_cost, list_cost, billing_period_start, charge_period_start, charge_period_end, "
    "billing_currency, charge_category, pricing_category, commitment_discount_id, commitment_discount_status, "
    "resource_id, region_id, x_instance_type, x_gpu_count, x_storage_class, x_transfer_direction, x_line_item_type"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Each layout's file ingested into its own warehouse: format -> (FileResult, rows by source_row, tags)."""
    folder = tmp_path_factory.mktemp("aws-layouts")
    paths = write_all(ROWS, folder / "files", kinds=LAYOUTS)
    out = {}
    for fmt in LAYOUTS:
        con = connect(folder / f"{fmt}.duckdb")
        try:
            [result] = ingest_files(con, [Path(paths[fmt])], fmt=fmt)
            rows = {r[0]: r[1:] for r in con.sql(f"SELECT source_row, {COMPARED} FROM billing_line_items").fetchall()}
            tags = dict(con.sql("SELECT source_row, tags FROM billing_line_items").fetchall())
            totals = con.sql(
                "SELECT strftime(billing_period_start, '%Y-%m'), billing_currency, sum(billed_cost), sum(effective_cost) "
                "FROM billing_line_items GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        finally:
            con.close()
        out[fmt] = (result, rows, tags, totals)
    return out


def _generator_totals() -> list[tuple]:
    items = pl.concat(list(aws_items(ROWS)))
    sums = (
        items.group_by(pl.col("billing_period_start").dt.strftime("%Y-%m"), "currency")
        .agg(pl.col("unblended_cost").sum(), pl.col("effective_cost").sum())
        .sort(pl.all())
    )
    micro = Decimal("0.000001")
    return [(period, cur, Decimal(billed) * micro, Decimal(eff) * micro) for period, cur, billed, eff in sums.rows()]


@pytest.mark.slow
def test_every_layout_loads_every_row(loaded):
    for fmt, (result, rows, _, _) in loaded.items():
        assert result.error is None, (fmt, result.error)
        assert (result.source_format, result.rows_in_file, result.rows_loaded, result.rows_rejected) == (
            fmt,
            ROWS,
            ROWS,
            0,
        )
        assert sorted(rows) == list(range(1, ROWS + 1))


def test_the_three_layouts_give_identical_canonical_totals(loaded):
    expected = _generator_totals()
    assert expected
    for fmt, (result, _, _, totals) in loaded.items():
        assert totals == expected, fmt
        assert result.billed_cost == {cur: billed for _, cur, billed, _ in expected}, fmt
        assert result.effective_cost == {cur: effective for _, cur, _, effective in expected}, fmt


def test_the_three_layouts_give_identical_rows(loaded):
    _, legacy, _, _ = loaded["aws_cur_csv"]
    commitments = {row[9] for row in legacy.values()} - {None}
    assert len(commitments) >= 2  # the RI and the Savings Plan: the ARN columns are read in every layout
    for fmt in ("aws_cur_parquet", "aws_cur2_parquet"):
        _, rows, _, _ = loaded[fmt]
        differing = [(n, legacy[n], rows[n]) for n in legacy if legacy[n] != rows[n]]
        assert not differing, (fmt, differing[:3])


def test_tags_carry_the_same_values_under_each_layouts_key_spelling(loaded):
    _, _, legacy, _ = loaded["aws_cur_csv"]
    assert any(t is not None for t in legacy.values()) and any(t is None for t in legacy.values())
    as_snake = {n: t and {k.replace("user:", "user_"): v for k, v in json.loads(t).items()} for n, t in legacy.items()}
    for fmt in ("aws_cur_parquet", "aws_cur2_parquet"):
        _, _, tags, _ = loaded[fmt]
        assert {n: t and json.loads(t) for n, t in tags.items()} == as_snake, fmt
