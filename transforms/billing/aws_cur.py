r"""AWS Cost and Usage Report -> canonical billing: legacy CSV, Athena Parquet and CUR 2.0 Parquet.

Three formats share one plan. ``aws_fields.stage`` turns each layout into the same logical text
fields; ``PLAN`` below maps those onto canonical columns (canonical <- expression of logical
fields); ``aws_rules`` holds the tables (line item types, amortised cost, service categories,
transfer direction). Money is parsed exactly from text (Parquet doubles through their shortest
text form), never through float arithmetic.

Formats:
- ``aws_cur_csv``: legacy CUR CSV (plain or gzip), headers ``lineItem/UnblendedCost`` ...
- ``aws_cur_parquet``: the Athena-style CUR Parquet, columns ``line_item_unblended_cost`` ...,
  tags as ``resource_tags_*`` columns.
- ``aws_cur_athena_csv`` / ``aws_cur_hive_text``: the same Athena snake_case columns (one mapping,
  other containers) in a CSV, or in Hive text (``\x01`` between fields, no quoting, ``\N`` for
  null, a header line naming the columns).
- ``aws_cur_hive_text_headerless``: Hive text without a header line; the names are the ``columns``
  ({category, name}) of the CUR manifest that lists the file, as ``category/Name``: the legacy mapping.
- ``aws_cur2_parquet``: CUR 2.0 (Data Exports) Parquet: the columns of
  ``aws_cur2_columns.CUR2_COLUMNS`` (required: ``CUR2_REQUIRED``), product attributes in the
  ``product`` MAP (keys ``CUR2_PRODUCT_KEYS``), tags in the ``resource_tags`` MAP.

Required columns (the file is refused whole without them): payer account, billing period start,
line item type, usage start and end, currency code and unblended cost. A row is rejected, with
the source column named, when a present money / quantity / time value does not parse, a required
value is missing (including the column the row's amortised cost comes from), or the currency is
not ISO 4217.
"""

from __future__ import annotations

import polars as pl

from transforms.billing import aws_rules as rules
from transforms.billing.aws_cur2_columns import CUR2_COLUMNS, CUR2_PRODUCT_KEYS, CUR2_REQUIRED
from transforms.billing.aws_fields import FIELDS, LAYOUTS, REQUIRED_FIELDS, Staged, stage
from transforms.formats import Sniff, SourceFormat, register
from transforms.parsing import (
    parse_decimal,
    parse_int,
    parse_timestamp,
    reject_if_missing,
    reject_if_unparsed,
    reject_unknown_currency,
    timestamp_formats,
)
from transforms.schema import BILLING_COLUMNS, MONEY, QUANTITY, conform

__all__ = ["CUR2_COLUMNS", "CUR2_PRODUCT_KEYS", "CUR2_REQUIRED", "to_canonical"]

MONEY_FIELDS = (
    "unblended_cost",
    "public_on_demand_cost",
    "public_on_demand_rate",
    "reservation_effective_cost",
    "reservation_unused_upfront",
    "reservation_unused_recurring",
    "savings_plan_effective_cost",
    "savings_plan_total_commitment",
    "savings_plan_used_commitment",
)
TIME_FIELDS = ("billing_period_start", "billing_period_end", "usage_start", "usage_end")
QUANTITY_FIELDS = ("usage_amount",)


def _parsed(f: dict[str, pl.Expr], time_formats: dict[str, tuple[str, ...]] | None = None) -> dict[str, pl.Expr]:
    """Typed values of the money, quantity and time fields."""
    out = {name: parse_decimal(f[name]) for name in MONEY_FIELDS}
    out |= {name: parse_decimal(f[name], QUANTITY) for name in QUANTITY_FIELDS}
    out |= {
        name: parse_timestamp(f[name], time_formats[name]) if time_formats else parse_timestamp(f[name])
        for name in TIME_FIELDS
    }
    return out


def _amortised_cost(kind: pl.Expr, v: dict[str, pl.Expr]) -> pl.Expr:
    """effective_cost by aws_rules.AMORTISED_COST; the unblended cost for every other kind."""
    expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=MONEY))
    for type_name, terms in rules.AMORTISED_COST.items():
        total = pl.lit(0, dtype=MONEY)
        for sign, field in terms:
            total = total + v[field] if sign > 0 else total - v[field]
        expr = expr.when(kind == type_name).then(total.cast(MONEY))
    return expr.otherwise(v["unblended_cost"])


def _amortisation_missing(kind: pl.Expr, f: dict[str, pl.Expr], names: dict[str, str]) -> pl.Expr:
    """Reason for a row whose amortised cost needs a value the row lacks."""
    reasons = [
        pl.when((kind == type_name) & f[field].is_null()).then(
            pl.lit(f"column {names[field]}: required value is missing (the amortised cost of a {type_name} row)")
        )
        for type_name, terms in rules.AMORTISED_COST.items()
        for _, field in terms
    ]
    return pl.coalesce(reasons)


def _commitment_id(kind_type: pl.Expr, f: dict[str, pl.Expr]) -> pl.Expr:
    expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for commitment, field in rules.COMMITMENT_ARN.items():
        expr = expr.when(kind_type == commitment).then(f[field])
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def plan(f: dict[str, pl.Expr], v: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """canonical column <- expression of the logical fields (``f`` text, ``v`` parsed values)."""
    kind = rules.line_item_kind(f)
    category = rules.charge_attribute(kind, 0)
    commitment_type = rules.charge_attribute(kind, 4)
    is_usage = category == "Usage"
    return {
        "provider": pl.lit("aws"),
        "billing_account_id": f["payer_account_id"],
        "billing_account_name": f["payer_account_name"],
        "sub_account_id": f["usage_account_id"],
        "sub_account_name": f["usage_account_name"],
        "invoice_issuer": pl.coalesce(f["invoicing_entity"], f["legal_entity"]),
        "billing_period_start": v["billing_period_start"],
        "billing_period_end": v["billing_period_end"],
        "charge_period_start": v["usage_start"],
        "charge_period_end": v["usage_end"],
        "charge_category": category,
        "charge_class": rules.charge_attribute(kind, 1),
        "charge_description": f["description"],
        "charge_frequency": rules.charge_attribute(kind, 2),
        "pricing_category": rules.pricing_category(kind, f),
        "pricing_quantity": v["usage_amount"],
        "pricing_unit": f["pricing_unit"],
        "service_name": pl.coalesce(f["product_name"], f["product_code"]),
        "service_category": rules.service_category(f),
        "publisher_name": f["billing_entity"],
        "resource_id": f["resource_id"],
        "region_id": pl.coalesce(f["region_code"], f["region"]),
        "availability_zone": f["availability_zone"],
        "sku_id": f["sku"],
        "sku_price_id": f["rate_code"],
        "consumed_quantity": pl.when(is_usage).then(v["usage_amount"]),
        "consumed_unit": pl.when(is_usage).then(f["pricing_unit"]),
        "billing_currency": f["currency"].str.to_uppercase(),
        "billed_cost": v["unblended_cost"],
        "effective_cost": _amortised_cost(kind, v),
        "list_cost": v["public_on_demand_cost"],
        "list_unit_price": v["public_on_demand_rate"],
        "commitment_discount_id": _commitment_id(commitment_type, f),
        "commitment_discount_category": commitment_type.replace_strict(
            {"Reserved Instance": "Usage", "Savings Plan": "Spend"}, default=None, return_dtype=pl.String
        ),
        "commitment_discount_type": commitment_type,
        "commitment_discount_status": rules.charge_attribute(kind, 5),
        "tags": pl.col("tags"),
        "x_instance_type": f["instance_type"],
        "x_gpu_count": parse_int(f["gpu"], pl.Int32),
        "x_storage_class": rules.storage_class(f),
        "x_usage_type": f["usage_type"],
        "x_operation": f["operation"],
        "x_transfer_direction": rules.transfer_direction(f),
        "x_line_item_type": f["line_item_type"],
    }


def reject_reason(f: dict[str, pl.Expr], v: dict[str, pl.Expr], names: dict[str, str]) -> pl.Expr:
    """The first reason a row cannot be stored, naming the source column; null for a good row."""
    expected = {
        **{name: "a decimal number" for name in (*MONEY_FIELDS, *QUANTITY_FIELDS)},
        **{name: "a timestamp (ISO 8601)" for name in TIME_FIELDS},
    }
    unparsed = {names[name]: (f[name], v[name], what) for name, what in expected.items()}
    required = ("payer_account_id", "billing_period_start", "usage_start", "usage_end", "currency", "unblended_cost")
    return pl.coalesce(
        reject_if_unparsed(unparsed),
        reject_if_missing({names[name]: f[name] for name in (*required, "line_item_type")}),
        reject_unknown_currency(f["currency"], names["currency"]),
        _amortisation_missing(rules.line_item_kind(f), f, names),
        pl.when(v["usage_end"] < v["usage_start"]).then(
            pl.lit(f"column {names['usage_end']}: expected a time not before {names['usage_start']}")
        ),
    )


PARSED_PREFIX = "__parsed_"


def _to_table(staged: Staged) -> pl.LazyFrame:
    """Parse every typed field once into its own column, then map and reject from those columns."""
    fields = {name: pl.col(name) for name in staged.frame.collect_schema().names()}
    time_formats = timestamp_formats(staged.frame, {name: fields[name] for name in TIME_FIELDS})
    parsed = _parsed(fields, time_formats)
    typed = staged.frame.with_columns(expr.alias(PARSED_PREFIX + name) for name, expr in parsed.items())
    values = {name: pl.col(PARSED_PREFIX + name) for name in parsed}
    mapped = typed.select(
        pl.col("source_row"),
        *(expr.alias(name) for name, expr in plan(fields, values).items()),
        reject_reason(fields, values, staged.source_names).alias("_reject_reason"),
    )
    return conform(mapped, {**BILLING_COLUMNS, "_reject_reason": pl.String})


def to_canonical(raw: pl.LazyFrame, layout: str, fmt_name: str) -> pl.LazyFrame:
    """Map a raw CUR frame of ``layout`` (legacy | athena | cur2) onto the canonical columns."""
    return _to_table(stage(raw, layout, fmt_name))


def legacy_csv_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Legacy CUR CSV (``lineItem/UnblendedCost`` headers) -> canonical billing rows."""
    return to_canonical(raw, "legacy", "aws_cur_csv")


def athena_parquet_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Athena-style CUR Parquet (``line_item_unblended_cost`` columns) -> canonical billing rows."""
    return to_canonical(raw, "athena", "aws_cur_parquet")


def cur2_parquet_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """CUR 2.0 Parquet (snake_case columns, ``product`` / ``resource_tags`` MAPs) -> canonical rows."""
    return to_canonical(raw, "cur2", "aws_cur2_parquet")


def _required_columns(layout: str) -> tuple[str, ...]:
    """The layout's names of the required fields (for the closest-match message)."""
    return tuple(FIELDS[f][LAYOUTS.index(layout)] or f for f in REQUIRED_FIELDS)


def _lower(sniff: Sniff) -> set[str]:
    return {c.lower() for c in sniff.columns}


def is_legacy_csv(sniff: Sniff) -> bool:
    """Legacy CUR headers: ``lineItem/...`` and ``bill/...`` columns."""
    return {"lineitem/unblendedcost", "lineitem/lineitemtype", "bill/payeraccountid"} <= _lower(sniff)


SNAKE_CASE_NEEDED = {"line_item_unblended_cost", "line_item_line_item_type", "bill_payer_account_id"}
HIVE_DELIMITER = "\x01"  # Hive's default field delimiter (LazySimpleSerDe), nulls written \N


def is_snake_case_cur(sniff: Sniff) -> bool:
    """Snake-case CUR columns (Athena or CUR 2.0), in a Parquet file."""
    return sniff.head == "" and SNAKE_CASE_NEEDED <= _lower(sniff)


def is_snake_case_csv(sniff: Sniff) -> bool:
    """The Athena snake_case CUR columns as a comma-separated text header."""
    return sniff.head != "" and SNAKE_CASE_NEEDED <= _lower(sniff)


def hive_header(sniff: Sniff) -> list[str]:
    """The names of a Hive text header line (``\x01``-separated), or [] when the first line is none."""
    first = sniff.head.split("\n", 1)[0].rstrip("\r")
    return [c.strip() for c in first.split(HIVE_DELIMITER)] if HIVE_DELIMITER in first else []


def is_hive_text_cur(sniff: Sniff) -> bool:
    """Athena snake_case CUR columns in a Hive text header (``\x01``-separated)."""
    return SNAKE_CASE_NEEDED <= {c.lower() for c in hive_header(sniff)}


def is_headerless_hive_text(sniff: Sniff) -> bool:
    """Hive text (``\x01`` between fields) whose first line is not a header of CUR names: its column
    names are in the CUR manifest that lists the file (read by ``flows/ingest_discover.py``)."""
    names = {c.lower() for c in hive_header(sniff)}
    known = SNAKE_CASE_NEEDED | {"lineitem/unblendedcost", "lineitem/lineitemtype", "bill/payeraccountid"}
    return bool(names) and not names & known  # a first line naming CUR columns is a header, not a row


def athena_csv_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """CUR with the Athena snake_case names in a CSV -> canonical rows (the Parquet mapping)."""
    return to_canonical(raw, "athena", "aws_cur_athena_csv")


def hive_text_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """CUR as Hive text with a header line -> canonical rows (the Athena Parquet mapping)."""
    return to_canonical(raw, "athena", "aws_cur_hive_text")


def headerless_hive_text_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """CUR as Hive text without a header, named ``category/Name`` from its manifest -> canonical rows."""
    return to_canonical(raw, "legacy", "aws_cur_hive_text_headerless")


def is_cur2(sniff: Sniff) -> bool:
    """CUR 2.0: snake-case CUR columns plus the ``product`` or ``resource_tags`` MAP column."""
    return is_snake_case_cur(sniff) and bool({"product", "resource_tags"} & _lower(sniff))


def _register_cur(
    name: str,
    layout: str,
    reader: str,
    matches,
    to_table,
    description: str,
    *,
    read_options: dict | None = None,
    priority: int = 20,
) -> SourceFormat:
    """Register an AWS CUR format: billing rows, recognised by ``layout``'s required columns, a newer
    delivery of a period replacing the older one."""
    return register(
        SourceFormat(
            name=name,
            columns=_required_columns(layout),
            table="billing_line_items",
            reader=reader,
            matches=matches,
            to_table=to_table,
            description=description,
            period_policy="replace",
            read_options=read_options or {},
            priority=priority,
        )
    )


AWS_CUR_CSV = _register_cur(
    "aws_cur_csv",
    "legacy",
    "csv",
    is_legacy_csv,
    legacy_csv_to_canonical,
    "AWS Cost and Usage Report, legacy CSV (plain or gzip), amortised",
    # rows shorter than the header (a trailing empty column left out) read as nulls there
    read_options={"null_padding": True},
)
AWS_CUR_ATHENA_CSV = _register_cur(
    "aws_cur_athena_csv",
    "athena",
    "csv",
    is_snake_case_csv,
    athena_csv_to_canonical,
    "AWS Cost and Usage Report with the Athena snake_case column names, in a CSV, amortised",
    read_options={"explicit_dialect": True, "null_padding": True},
)
AWS_CUR_HIVE_TEXT = _register_cur(
    "aws_cur_hive_text",
    "athena",
    "csv",
    is_hive_text_cur,
    hive_text_to_canonical,
    "AWS Cost and Usage Report as Hive text (\\x01-delimited, \\N for null) with a header line",
    read_options={"explicit_dialect": True, "delim": HIVE_DELIMITER, "quote": "", "nullstr": "\\N"},
)
AWS_CUR_HIVE_TEXT_HEADERLESS = _register_cur(
    "aws_cur_hive_text_headerless",
    "legacy",
    "csv",
    is_headerless_hive_text,
    headerless_hive_text_to_canonical,
    "AWS Cost and Usage Report as Hive text without a header; column names from its CUR manifest",
    read_options={
        "explicit_dialect": True,
        "delim": HIVE_DELIMITER,
        "quote": "",
        "nullstr": "\\N",
        "header": False,
        "names_from": "aws_cur_manifest",  # flows.ingest_discover.cur_manifest_header
    },
    priority=19,
)
AWS_CUR_PARQUET = _register_cur(
    "aws_cur_parquet",
    "athena",
    "parquet",
    lambda s: is_snake_case_cur(s) and not is_cur2(s),
    athena_parquet_to_canonical,
    "AWS Cost and Usage Report, Athena-style Parquet (flattened snake_case), amortised",
)
AWS_CUR2_PARQUET = _register_cur(
    "aws_cur2_parquet",
    "cur2",
    "parquet",
    is_cur2,
    cur2_parquet_to_canonical,
    "AWS CUR 2.0 (Data Exports) Parquet with product / resource_tags MAPs, amortised",
    priority=21,
)
