"""Where each CUR field lives in the three AWS layouts, and staging a raw frame into those fields.

Staging turns a raw frame of any layout into one frame of *logical* fields, all text (nulls for
empty values, Parquet doubles through their shortest text form, timestamps as ISO text in UTC),
plus ``tags`` (JSON object text) and ``source_row``. The mapping plan (``aws_cur``) then reads only
logical fields, so the three layouts share one plan.

Layouts:
- ``legacy``: CUR CSV headers (``lineItem/UnblendedCost``, ``resourceTags/user:team``), matched
  without regard to case (AWS spells ``savingsPlan/SavingsPlanARN`` both ways).
- ``athena``: the Parquet CUR for Athena, flattened snake_case (``line_item_unblended_cost``,
  ``resource_tags_user_team``).
- ``cur2``: CUR 2.0 (Data Exports): snake_case columns; ``product.<key>`` fields are keys of the
  ``product`` MAP unless the file has the top-level column ``product_<key>``; tags are the
  ``resource_tags`` MAP.

Tag keys are kept as the source names them: ``user:team`` (legacy), ``user_team`` (Athena, the
column name without ``resource_tags_``), the MAP key as is (CUR 2.0). Empty tag values are left out;
a row with no tag is null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from transforms.formats import FormatError
from transforms.parsing import json_object_from_columns, json_object_from_pairs, text

LAYOUTS = ("legacy", "athena", "cur2")

# logical field: (legacy CSV, Athena Parquet, CUR 2.0); None where the layout has no such column.
FIELDS: dict[str, tuple[str | None, str | None, str | None]] = {
    "payer_account_id": ("bill/PayerAccountId", "bill_payer_account_id", "bill_payer_account_id"),
    "payer_account_name": (None, None, "bill_payer_account_name"),
    "invoicing_entity": ("bill/InvoicingEntity", "bill_invoicing_entity", "bill_invoicing_entity"),
    "billing_entity": ("bill/BillingEntity", "bill_billing_entity", "bill_billing_entity"),
    "billing_period_start": (
        "bill/BillingPeriodStartDate",
        "bill_billing_period_start_date",
        "bill_billing_period_start_date",
    ),
    "billing_period_end": ("bill/BillingPeriodEndDate", "bill_billing_period_end_date", "bill_billing_period_end_date"),
    "usage_account_id": ("lineItem/UsageAccountId", "line_item_usage_account_id", "line_item_usage_account_id"),
    "usage_account_name": (None, None, "line_item_usage_account_name"),
    "line_item_type": ("lineItem/LineItemType", "line_item_line_item_type", "line_item_line_item_type"),
    "usage_start": ("lineItem/UsageStartDate", "line_item_usage_start_date", "line_item_usage_start_date"),
    "usage_end": ("lineItem/UsageEndDate", "line_item_usage_end_date", "line_item_usage_end_date"),
    "product_code": ("lineItem/ProductCode", "line_item_product_code", "line_item_product_code"),
    "usage_type": ("lineItem/UsageType", "line_item_usage_type", "line_item_usage_type"),
    "operation": ("lineItem/Operation", "line_item_operation", "line_item_operation"),
    "availability_zone": ("lineItem/AvailabilityZone", "line_item_availability_zone", "line_item_availability_zone"),
    "resource_id": ("lineItem/ResourceId", "line_item_resource_id", "line_item_resource_id"),
    "usage_amount": ("lineItem/UsageAmount", "line_item_usage_amount", "line_item_usage_amount"),
    "currency": ("lineItem/CurrencyCode", "line_item_currency_code", "line_item_currency_code"),
    "unblended_cost": ("lineItem/UnblendedCost", "line_item_unblended_cost", "line_item_unblended_cost"),
    "description": (
        "lineItem/LineItemDescription",
        "line_item_line_item_description",
        "line_item_line_item_description",
    ),
    "legal_entity": ("lineItem/LegalEntity", "line_item_legal_entity", "line_item_legal_entity"),
    "product_name": ("product/ProductName", "product_product_name", "product.product_name"),
    "servicecode": ("product/servicecode", "product_servicecode", "product.servicecode"),
    "region": ("product/region", "product_region", "product.region"),
    "region_code": ("product/regionCode", "product_region_code", "product.region_code"),
    "instance_type": ("product/instanceType", "product_instance_type", "product.instance_type"),
    "gpu": ("product/gpu", "product_gpu", "product.gpu"),
    "storage_class": ("product/storageClass", "product_storage_class", "product.storage_class"),
    "volume_type": ("product/volumeType", "product_volume_type", "product.volume_type"),
    "volume_api_name": ("product/volumeApiName", "product_volume_api_name", "product.volume_api_name"),
    "transfer_type": ("product/transferType", "product_transfer_type", "product.transfer_type"),
    "from_location": ("product/fromLocation", "product_from_location", "product.from_location"),
    "to_location": ("product/toLocation", "product_to_location", "product.to_location"),
    "product_family": ("product/productFamily", "product_product_family", "product.product_family"),
    "sku": ("product/sku", "product_sku", "product.sku"),
    "public_on_demand_cost": (
        "pricing/publicOnDemandCost",
        "pricing_public_on_demand_cost",
        "pricing_public_on_demand_cost",
    ),
    "public_on_demand_rate": (
        "pricing/publicOnDemandRate",
        "pricing_public_on_demand_rate",
        "pricing_public_on_demand_rate",
    ),
    "rate_code": ("pricing/RateCode", "pricing_rate_code", "pricing_rate_code"),
    "term": ("pricing/term", "pricing_term", "pricing_term"),
    "pricing_unit": ("pricing/unit", "pricing_unit", "pricing_unit"),
    "reservation_arn": ("reservation/ReservationARN", "reservation_reservation_a_r_n", "reservation_reservation_a_r_n"),
    "reservation_effective_cost": (
        "reservation/EffectiveCost",
        "reservation_effective_cost",
        "reservation_effective_cost",
    ),
    "reservation_unused_upfront": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    ),
    "reservation_unused_recurring": (
        "reservation/UnusedRecurringFee",
        "reservation_unused_recurring_fee",
        "reservation_unused_recurring_fee",
    ),
    "savings_plan_arn": (
        "savingsPlan/SavingsPlanARN",
        "savings_plan_savings_plan_a_r_n",
        "savings_plan_savings_plan_a_r_n",
    ),
    "savings_plan_effective_cost": (
        "savingsPlan/SavingsPlanEffectiveCost",
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_savings_plan_effective_cost",
    ),
    "savings_plan_total_commitment": (
        "savingsPlan/TotalCommitmentToDate",
        "savings_plan_total_commitment_to_date",
        "savings_plan_total_commitment_to_date",
    ),
    "savings_plan_used_commitment": (
        "savingsPlan/UsedCommitment",
        "savings_plan_used_commitment",
        "savings_plan_used_commitment",
    ),
}

# The logical fields every file must carry (the file is refused whole without them).
REQUIRED_FIELDS = (
    "payer_account_id",
    "billing_period_start",
    "line_item_type",
    "usage_start",
    "usage_end",
    "currency",
    "unblended_cost",
)

TAG_PREFIX = {"legacy": "resourcetags/", "athena": "resource_tags_"}


@dataclass(frozen=True)
class Staged:
    """A raw frame as logical text fields, and what each field is called in the file."""

    frame: pl.LazyFrame
    source_names: dict[str, str]


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A raw column as text: datetimes as ISO text in UTC, numbers through their shortest form."""
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        utc = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else col
        return utc.dt.to_string("%Y-%m-%dT%H:%M:%S%.f")
    return text(col)


def _map_value(map_column: str, key: str) -> pl.Expr:
    """The value of ``key`` in a MAP column read as a list of {key, value} structs (as stored, not trimmed)."""
    entries = pl.col(map_column).list.eval(
        pl.element().filter(pl.element().struct.field("key") == key).struct.field("value")
    )
    return entries.list.first()


def _tags(layout: str, schema: pl.Schema) -> pl.Expr:
    """Tags as JSON object text: the ``resource_tags`` MAP (CUR 2.0) or one column per tag key."""
    if layout == "cur2":
        if "resource_tags" not in schema:
            return pl.lit(None, dtype=pl.String)
        return json_object_from_pairs(pl.col("resource_tags"))
    prefix = TAG_PREFIX[layout]
    columns = {c[len(prefix) :]: c for c in schema.names() if c.lower().startswith(prefix)}
    return json_object_from_columns({key: text(col) for key, col in columns.items()})


KEY_VALUE_LIST = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))
MAP_COLUMNS = ("product", "resource_tags")
MAP_VALUE_PREFIX = "__map_"


def _maps_as_key_value_lists(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The CUR 2.0 MAP columns as lists of {key, value} structs, however the reader typed them."""
    schema = raw.collect_schema()
    return raw.with_columns(
        pl.col(name).cast(KEY_VALUE_LIST) for name in MAP_COLUMNS if isinstance(schema.get(name), pl.Map)
    )


def source_column(layout: str, field: str, present: dict[str, str]) -> str | None:
    """The file's own column for a logical field (``present`` maps lower-cased names to names)."""
    spelled = FIELDS[field][LAYOUTS.index(layout)]
    if spelled is None:
        return None
    if layout == "cur2" and spelled.startswith("product."):
        return present.get(f"product_{spelled.removeprefix('product.')}")
    return present.get(spelled.lower())


def stage(raw: pl.LazyFrame, layout: str, fmt_name: str) -> Staged:
    """Logical text fields of a raw frame; FormatError naming any required column the file lacks."""
    raw = _maps_as_key_value_lists(raw)
    schema = raw.collect_schema()
    present = {name.lower(): name for name in schema.names()}
    required = [FIELDS[f][LAYOUTS.index(layout)] or f for f in REQUIRED_FIELDS]
    missing = [name for name in required if name.lower() not in present]
    if missing:
        raise FormatError(f"{fmt_name}: missing required column(s) {', '.join(missing)}")
    exprs, source_names, lookups = [], {}, {}
    for field, spellings in FIELDS.items():
        spelled = spellings[LAYOUTS.index(layout)]
        own = source_column(layout, field, present)
        if own is not None:
            exprs.append(_as_text(own, schema[own]).alias(field))
            source_names[field] = own
        elif spelled is not None and spelled.startswith("product.") and "product" in schema:
            key = spelled.removeprefix("product.")
            # looked up once into its own column: text() reads its input twice
            lookups[MAP_VALUE_PREFIX + field] = _map_value("product", key)
            exprs.append(text(pl.col(MAP_VALUE_PREFIX + field)).alias(field))
            source_names[field] = f"product[{json.dumps(key)}]"
        else:
            exprs.append(pl.lit(None, dtype=pl.String).alias(field))
            source_names[field] = spelled or field
    raw = raw.with_columns(expr.alias(name) for name, expr in lookups.items())
    frame = raw.select(pl.col("source_row").cast(pl.Int64), *exprs, _tags(layout, schema).alias("tags"))
    return Staged(frame=frame, source_names=source_names)
