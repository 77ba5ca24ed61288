"""FOCUS 1.0 / 1.1 / 1.2 cost and usage exports (CSV plain or gzip, Parquet) -> canonical billing.

FOCUS is the FinOps Foundation's open billing format; AWS, Azure, GCP and OCI all export it. Its
columns already carry the canonical meanings, so the plan is mostly a rename. Header names are
matched without regard to case or underscores (``BilledCost`` and ``billed_cost`` are the same
column). Literal ``NULL`` strings are nulls; timestamps with or without a zone (none means UTC);
``Tags`` as JSON text or a MAP. FOCUS 1.2 may name the provider ``ServiceProviderName`` instead of
``ProviderName``.

Required columns: BilledCost, EffectiveCost, BillingCurrency, ChargePeriodStart, ChargePeriodEnd,
ChargeCategory, BillingAccountId, BillingPeriodStart, and one of ProviderName /
ServiceProviderName.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.billing import transfer
from transforms.formats import FormatError, SourceFormat, Sniff, register
from transforms.parsing import (
    parse_decimal,
    parse_int,
    parse_timestamp,
    reject_if_missing,
    reject_if_unparsed,
    reject_unknown_currency,
    tags_json,
    text,
    timestamp_formats,
)
from transforms.schema import BILLING_COLUMNS, CHARGE_CATEGORIES, QUANTITY, conform

# canonical column <- FOCUS column (as FOCUS spells it)
TEXT_COLUMNS = {
    "billing_account_id": "BillingAccountId",
    "billing_account_name": "BillingAccountName",
    "sub_account_id": "SubAccountId",
    "sub_account_name": "SubAccountName",
    "invoice_issuer": "InvoiceIssuerName",
    "charge_category": "ChargeCategory",
    "charge_class": "ChargeClass",
    "charge_description": "ChargeDescription",
    "charge_frequency": "ChargeFrequency",
    "pricing_category": "PricingCategory",
    "pricing_unit": "PricingUnit",
    "service_name": "ServiceName",
    "service_category": "ServiceCategory",
    "publisher_name": "PublisherName",
    "resource_id": "ResourceId",
    "resource_name": "ResourceName",
    "resource_type": "ResourceType",
    "region_id": "RegionId",
    "availability_zone": "AvailabilityZone",
    "sku_id": "SkuId",
    "sku_price_id": "SkuPriceId",
    "consumed_unit": "ConsumedUnit",
    "billing_currency": "BillingCurrency",
    "commitment_discount_id": "CommitmentDiscountId",
    "commitment_discount_name": "CommitmentDiscountName",
    "commitment_discount_category": "CommitmentDiscountCategory",
    "commitment_discount_type": "CommitmentDiscountType",
    "commitment_discount_status": "CommitmentDiscountStatus",
    "x_usage_type": "x_UsageType",
    "x_operation": "x_Operation",
}
MONEY_COLUMNS = {
    "billed_cost": "BilledCost",
    "effective_cost": "EffectiveCost",
    "list_cost": "ListCost",
    "contracted_cost": "ContractedCost",
    "list_unit_price": "ListUnitPrice",
    "contracted_unit_price": "ContractedUnitPrice",
}
QUANTITY_COLUMNS = {"consumed_quantity": "ConsumedQuantity", "pricing_quantity": "PricingQuantity"}
TIME_COLUMNS = {
    "billing_period_start": "BillingPeriodStart",
    "billing_period_end": "BillingPeriodEnd",
    "charge_period_start": "ChargePeriodStart",
    "charge_period_end": "ChargePeriodEnd",
}
REQUIRED = (
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "BillingAccountId",
    "BillingPeriodStart",
)
PROVIDERS = {
    "aws": "aws",
    "amazon web services": "aws",
    "microsoft": "azure",
    "azure": "azure",
    "microsoft azure": "azure",
    "google cloud": "gcp",
    "google": "gcp",
    "gcp": "gcp",
    "oracle": "oracle",
    "oci": "oracle",
}
# Azure's FOCUS export names the meter in these (the transfer direction is read from them).
METER_COLUMNS = ("x_SkuMeterCategory", "x_SkuMeterSubcategory", "x_SkuMeterName")
SERVICE_CATEGORY_STORAGE_CLASS = r"(?i)\b(glacier deep archive|glacier|intelligent-tiering|standard-ia|one zone-ia|archive|cool|cold|hot|nearline|coldline)\b"
INSTANCE_TYPE = r"\b([a-z][a-z0-9]*\d[a-z0-9-]*\.(?:nano|micro|small|medium|large|metal|\d*xlarge)|Standard_[A-Za-z0-9_]+|[a-z]\d-[a-z]+-\d+g?)\b"


def _key(name: str) -> str:
    return re.sub(r"[_\s]", "", name).lower()


def _resolve(columns: list[str]) -> dict[str, str]:
    """FOCUS spelling -> the file's own spelling, for every column the file has."""
    return {_key(c): c for c in columns}


def matches(sniff: Sniff) -> bool:
    keys = {_key(c) for c in sniff.columns}
    return {"billedcost", "effectivecost", "chargeperiodstart", "billingcurrency"} <= keys


def to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Map a raw FOCUS frame onto the canonical billing columns, with a reason for each bad row."""
    schema = raw.collect_schema()
    spelled = _resolve(schema.names())
    missing = [c for c in REQUIRED if _key(c) not in spelled]
    if missing:
        raise FormatError(f"FOCUS: missing required column(s) {', '.join(missing)}")
    provider_col = spelled.get("providername") or spelled.get("serviceprovidername")
    if provider_col is None:
        raise FormatError("FOCUS: missing required column ProviderName (or ServiceProviderName)")

    def col(focus_name: str) -> pl.Expr | None:
        own = spelled.get(_key(focus_name))
        return pl.col(own) if own else None

    out: dict[str, pl.Expr] = {}
    for canonical, focus_name in TEXT_COLUMNS.items():
        if (c := col(focus_name)) is not None:
            out[canonical] = text(c)
    for canonical, focus_name in MONEY_COLUMNS.items():
        if (c := col(focus_name)) is not None:
            out[canonical] = parse_decimal(c)
    for canonical, focus_name in QUANTITY_COLUMNS.items():
        if (c := col(focus_name)) is not None:
            out[canonical] = parse_decimal(c, QUANTITY)
    times = {canonical: c for canonical, focus_name in TIME_COLUMNS.items() if (c := col(focus_name)) is not None}
    used_formats = timestamp_formats(raw, times)
    for canonical, c in times.items():
        out[canonical] = parse_timestamp(c, used_formats[canonical])
    provider_text = text(pl.col(provider_col))
    out["provider"] = provider_text.str.to_lowercase().replace_strict(
        PROVIDERS, default=provider_text.str.to_lowercase()
    )
    out["billing_currency"] = out["billing_currency"].str.to_uppercase()
    if (tags := spelled.get("tags")) is not None:
        out["tags"] = tags_json(pl.col(tags), schema[tags])
    description = out.get("charge_description", pl.lit(None, dtype=pl.String))
    category = out.get("service_category", pl.lit(None, dtype=pl.String))
    out["x_instance_type"] = description.str.extract(INSTANCE_TYPE, 1)
    out["x_storage_class"] = pl.when(category == "Storage").then(
        description.str.extract(SERVICE_CATEGORY_STORAGE_CLASS, 1)
    )
    meter = pl.concat_str(
        [text(c) for name in METER_COLUMNS if (c := col(name)) is not None] or [pl.lit(None, dtype=pl.String)],
        separator=" ", ignore_nulls=True,
    )
    out["x_transfer_direction"] = transfer.direction(
        out["provider"], out.get("x_usage_type", pl.lit(None, dtype=pl.String)), meter, description, category
    )
    if (gpus := spelled.get("xgpucount")) is not None:
        out["x_gpu_count"] = parse_int(pl.col(gpus), pl.Int32)

    # Parse once: the values are materialised first, and the reasons below read them back.
    staged = raw.with_columns(*(expr.alias(f"__{name}") for name, expr in out.items()))
    value = {name: pl.col(f"__{name}") for name in out}
    checks = {
        focus_name: (text(col(focus_name)), value[canonical], expected)
        for canonical, focus_name, expected in [
            *((k, v, "a decimal number") for k, v in MONEY_COLUMNS.items() if col(v) is not None),
            *((k, v, "a decimal number") for k, v in QUANTITY_COLUMNS.items() if col(v) is not None),
            *((k, v, "a timestamp (ISO 8601)") for k, v in TIME_COLUMNS.items() if col(v) is not None),
        ]
    }
    reason = pl.coalesce(
        reject_if_missing({name: text(col(name)) for name in REQUIRED}),
        reject_if_unparsed(checks),
        reject_unknown_currency(value["billing_currency"], "BillingCurrency"),
        pl.when(~value["charge_category"].is_in(CHARGE_CATEGORIES)).then(
            pl.format(
                "column ChargeCategory: expected one of {}, got '{}'",
                pl.lit(", ".join(CHARGE_CATEGORIES)),
                value["charge_category"],
            )
        ),
        pl.when(value["charge_period_end"] < value["charge_period_start"]).then(
            pl.lit("column ChargePeriodEnd: expected a time after ChargePeriodStart")
        ),
    )
    mapped = staged.select(
        pl.col("source_row"),
        *(expr.alias(name) for name, expr in value.items()),
        reason.alias("_reject_reason"),
    )
    return conform(mapped, {**BILLING_COLUMNS, "_reject_reason": pl.String})


FOCUS_CSV = register(
    SourceFormat(
        name="focus",
        table="billing_line_items",
        reader="csv",
        matches=lambda s: matches(s) and not s.name.lower().endswith(".parquet"),
        to_table=to_canonical,
        description="FOCUS 1.0-1.2 cost and usage export, CSV (plain or gzip)",
        priority=10,
    )
)
FOCUS_PARQUET = register(
    SourceFormat(
        name="focus_parquet",
        table="billing_line_items",
        reader="parquet",
        matches=lambda s: matches(s) and s.head == "",
        to_table=to_canonical,
        description="FOCUS 1.0-1.2 cost and usage export, Parquet",
        priority=11,
    )
)
