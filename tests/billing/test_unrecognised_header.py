"""A file no format recognises is refused naming the formats tried and the closest one's missing
columns, never echoing the file's own header or content."""

from __future__ import annotations

from flows.ingest import ingest_files
from transforms.formats import load_all


def test_unknown_header_names_the_formats_tried_and_the_closest_missing_columns(tmp_path, warehouse):
    # an Azure-like export that lost its cost and currency columns; its own names must not be echoed
    path = tmp_path / "export.csv"
    path.write_text(
        "UsageDateTime,MeterCategory,SubscriptionGuid,secret_header_xyz\n2026-11-01,Storage,s-1,hunter2\n",
        encoding="utf-8",
    )

    [result] = ingest_files(warehouse, [path])

    assert result.error == (
        f"{path}: not a recognised billing export or usage log (its first line has 4 fields, none of them a known "
        f"format's); formats tried: {', '.join(sorted(load_all()))}; closest: azure_cost_details, which also needs "
        "CostInBillingCurrency or Cost or PreTaxCost, BillingCurrencyCode or BillingCurrency or Currency; "
        "name the format with --format if it is one of them"
    )
    for own in ("secret_header_xyz", "hunter2", "SubscriptionGuid", "UsageDateTime"):
        assert own not in result.error
    assert warehouse.execute("SELECT count(*) FROM billing_line_items").fetchone()[0] == 0


def test_header_with_no_known_column_says_so(tmp_path, warehouse):
    path = tmp_path / "keys.csv"
    path.write_text("user,password\nroot,hunter2\n", encoding="utf-8")
    [result] = ingest_files(warehouse, [path])
    assert result.error.endswith(
        "; no known format's columns are in it; name the format with --format if it is one of them"
    )
    assert "password" not in result.error and "hunter2" not in result.error
