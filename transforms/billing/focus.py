"""FOCUS 1.0 / 1.1 / 1.2 / 1.3 / 1.4 cost and usage exports (CSV plain or gzip, Parquet) -> canonical billing.

FOCUS is the FinOps Foundation's open billing format; AWS, Azure, GCP and OCI all export it. Its
columns already carry the canonical meanings, so the plan is mostly a rename. Header names are
matched without regard to case or underscores (``BilledCost`` and ``billed_cost`` are the same
column). Literal ``NULL`` strings are nulls; timestamps with or without a zone (none means UTC);
``Tags`` as JSON text or a MAP.

Versions (``detect_version``, stored per row in ``x_focus_version``): read from the columns the
file has, or from the provider's metadata file beside the export (``version_from_metadata``):
- 1.2 adds InvoiceId, BillingAccountType, SubAccountType and PricingCurrency* (kept: the pricing
  currency may be virtual, credits or tokens, and is never added to billed or effective cost);
- 1.3 adds ServiceProviderName / HostProviderName (ProviderName / PublisherName deprecated), the
  split cost allocation columns Allocated* and ContractApplied;
- 1.4 removes ProviderName / PublisherName and adds InvoiceDetailId and
  CommitmentProgramEligibilityDetails.
The canonical ``provider`` is the first of ProviderName, HostProviderName, ServiceProviderName a
row has (the cloud, also for marketplace rows whose service provider is the vendor).

Split cost allocation (1.3): allocated charges replace their *origin charge*; their summable
columns add up to the origin's and their dimensions equal it (the spec's "Data Generator-Calculated
Split Cost Allocation Handling"). A file that also carries the origin charge would count it twice:
a row without AllocatedMethodId whose dimensions (resource, charge period, SKU price, category,
currency) match a group of allocated rows and whose BilledCost and EffectiveCost equal their sums
is rejected with a reason naming the allocation method.

``SkuPriceDetails`` (JSON) is parsed: its FOCUS-defined ``GpuCount`` gives ``x_gpu_count`` where the
file has no ``x_GpuCount``. Where ConsumedUnit counts tokens (``Tokens``, ``1K Tokens``, ``1000000
Tokens``) ``x_token_count`` is ConsumedQuantity times that multiple. The provider's own extension
columns (``x_*``; OCI's ``oci_*``) that are not mapped are kept as one JSON object in
``x_extensions``; unknown columns never block a load.

Required columns: BilledCost, EffectiveCost, BillingCurrency, ChargePeriodStart, ChargePeriodEnd,
ChargeCategory, BillingAccountId, BillingPeriodStart, and one of ProviderName /
HostProviderName / ServiceProviderName.
"""

from __future__ import annotations

import re

import polars as pl

from transforms.billing import transfer
from transforms.formats import FormatError, Sniff, SourceFormat, register
from transforms.parsing import (
    json_object_from_columns,
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
    "invoice_id": "InvoiceId",
    "invoice_detail_id": "InvoiceDetailId",
    "billing_account_type": "BillingAccountType",
    "sub_account_type": "SubAccountType",
    "service_provider_name": "ServiceProviderName",
    "host_provider_name": "HostProviderName",
    "pricing_currency": "PricingCurrency",
    "allocated_method_id": "AllocatedMethodId",
    "allocated_resource_id": "AllocatedResourceId",
    "allocated_resource_name": "AllocatedResourceName",
}
# JSON columns: text as the file has it, or a MAP / struct encoded as JSON (Parquet)
JSON_COLUMNS = {
    "sku_price_details": "SkuPriceDetails",
    "allocated_method_details": "AllocatedMethodDetails",
    "allocated_tags": "AllocatedTags",
    "contract_applied": "ContractApplied",
    "commitment_program_eligibility_details": "CommitmentProgramEligibilityDetails",
}
# amounts in the pricing currency (possibly virtual): kept apart from money in the billing currency
PRICING_CURRENCY_COLUMNS = {
    "pricing_currency_effective_cost": "PricingCurrencyEffectiveCost",
    "pricing_currency_list_unit_price": "PricingCurrencyListUnitPrice",
    "pricing_currency_contracted_unit_price": "PricingCurrencyContractedUnitPrice",
}
# Columns that first appear in each version (the first match, newest first, names the version).
VERSION_MARKERS = (
    ("1.4", ("InvoiceDetailId", "CommitmentProgramEligibilityDetails")),
    (
        "1.3",
        (
            "HostProviderName",
            "ServiceProviderName",
            "AllocatedMethodId",
            "AllocatedMethodDetails",
            "AllocatedResourceId",
            "AllocatedResourceName",
            "AllocatedTags",
            "ContractApplied",
        ),
    ),
    # not BillingAccountType / SubAccountType: Microsoft's FocusCost 1.0 schema already has them
    (
        "1.2",
        (
            "InvoiceId",
            "PricingCurrency",
            "PricingCurrencyEffectiveCost",
            "PricingCurrencyListUnitPrice",
            "PricingCurrencyContractedUnitPrice",
        ),
    ),
    (
        "1.1",
        (
            "CapacityReservationId",
            "CapacityReservationStatus",
            "CommitmentDiscountQuantity",
            "CommitmentDiscountUnit",
            "ServiceSubcategory",
            "SkuMeter",
            "SkuPriceDetails",
        ),
    ),
)
SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4")
# FOCUS 1.0-preview names, still written by OCI's FOCUS cost reports: used where the 1.0 name is absent.
PREVIEW_NAMES = {
    "ProviderName": "Provider",
    "PublisherName": "Publisher",
    "InvoiceIssuerName": "InvoiceIssuer",
    "RegionId": "Region",
    "ConsumedQuantity": "UsageQuantity",
    "ConsumedUnit": "UsageUnit",
}
EXTENSION_PREFIXES = ("x_", "oci_")
TOKEN_UNIT = r"(?i)^\s*(?:(\d+(?:\.\d+)?)\s*([km]?)\s+)?tokens?\s*$"
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
    """FOCUS spelling -> the file's own spelling, for every column the file has (a 1.0-preview name
    stands for its 1.0 name where the file lacks that)."""
    spelled = {_key(c): c for c in columns}
    for name, preview in PREVIEW_NAMES.items():
        if _key(name) not in spelled and _key(preview) in spelled:
            spelled[_key(name)] = spelled[_key(preview)]
    return spelled


def detect_version(columns: list[str] | tuple[str, ...]) -> str:
    """The FOCUS version a header belongs to: the newest version whose own columns it has.

    A 1.3 file that drops the deprecated ProviderName / PublisherName is still 1.3 unless it has a
    1.4 column; a file with none of the later columns is 1.0.
    """
    keys = {_key(c) for c in columns}
    for version, markers in VERSION_MARKERS:
        if any(_key(m) in keys for m in markers):
            return version
    if "providername" not in keys and "provider" in keys:
        return "1.0-preview"
    return "1.0"


def version_from_metadata(document: dict) -> str | None:
    """The FOCUS version a provider's metadata file states (``FocusVersion``, e.g. Microsoft's
    FocusCost metadata), as ``major.minor``; None when it states none."""
    stated = document.get("FocusVersion") or document.get("focusVersion") or document.get("FOCUSVersion")
    if stated is None:
        return None
    match = re.match(r"^\s*(\d+)\.(\d+)", str(stated))
    if match is None:
        raise FormatError(f"FOCUS metadata: FocusVersion {stated!r} is not a version like 1.2")
    version = f"{match.group(1)}.{match.group(2)}"
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(f"FOCUS metadata: FocusVersion {stated!r}; supported are {', '.join(SUPPORTED_VERSIONS)}")
    return version


def _json_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A JSON column as JSON text: text as it is, a MAP as an object, a struct encoded."""
    if isinstance(dtype, pl.Map | pl.List):
        return tags_json(expr, dtype)
    if isinstance(dtype, pl.Struct):
        return expr.struct.json_encode()
    return text(expr)


def _extension_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Map | pl.List | pl.Struct):
        return _json_text(expr, dtype)
    return text(expr)


def token_count(unit: pl.Expr, quantity: pl.Expr) -> pl.Expr:
    """Tokens consumed where the unit counts tokens (``Tokens``, ``1K Tokens``, ``1000000 Tokens``)."""
    is_tokens = unit.str.contains(TOKEN_UNIT)
    number = unit.str.extract(TOKEN_UNIT, 1).cast(pl.Float64, strict=False).fill_null(1.0)
    scale = (
        unit.str.extract(TOKEN_UNIT, 2)
        .str.to_lowercase()
        .replace_strict({"k": 1e3, "m": 1e6, "": 1.0}, default=1.0, return_dtype=pl.Float64)
        .fill_null(1.0)
    )
    return pl.when(is_tokens).then(quantity.cast(pl.Float64) * number * scale)


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
    provider_cols = [spelled[k] for k in ("providername", "hostprovidername", "serviceprovidername") if k in spelled]
    if not provider_cols:
        raise FormatError(
            "FOCUS: missing required column ProviderName (FOCUS 1.0-1.3) or ServiceProviderName / HostProviderName (1.3+)"
        )
    version = detect_version(schema.names())

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
    for canonical, focus_name in PRICING_CURRENCY_COLUMNS.items():
        if (c := col(focus_name)) is not None:
            out[canonical] = parse_decimal(c)
    for canonical, focus_name in JSON_COLUMNS.items():
        if (own := spelled.get(_key(focus_name))) is not None:
            out[canonical] = _json_text(pl.col(own), schema[own])
    times = {canonical: c for canonical, focus_name in TIME_COLUMNS.items() if (c := col(focus_name)) is not None}
    used_formats = timestamp_formats(raw, times)
    for canonical, c in times.items():
        out[canonical] = parse_timestamp(c, used_formats[canonical])
    provider_text = pl.coalesce([text(pl.col(c)) for c in provider_cols])
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
        separator=" ",
        ignore_nulls=True,
    )
    out["x_transfer_direction"] = transfer.direction(
        out["provider"], out.get("x_usage_type", pl.lit(None, dtype=pl.String)), meter, description, category
    )
    gpu_sources = []
    if (gpus := spelled.get("xgpucount")) is not None:
        gpu_sources.append(parse_int(pl.col(gpus), pl.Int32).cast(pl.Float64))
    if "sku_price_details" in out:
        gpu_sources.append(out["sku_price_details"].str.json_path_match("$.GpuCount").cast(pl.Float64, strict=False))
    if gpu_sources:
        out["x_gpu_count"] = pl.coalesce(gpu_sources)
    if "consumed_unit" in out and "consumed_quantity" in out:
        out["x_token_count"] = token_count(out["consumed_unit"], out["consumed_quantity"])
    mapped_keys = {_key(v) for v in [*TEXT_COLUMNS.values(), *METER_COLUMNS, "x_GpuCount"]}
    extensions = {
        name: _extension_text(pl.col(name), schema[name])
        for name in schema.names()
        if name.lower().startswith(EXTENSION_PREFIXES) and _key(name) not in mapped_keys
    }
    if extensions:
        out["x_extensions"] = json_object_from_columns(extensions)
    out["x_focus_version"] = pl.lit(version)

    # Parse once: the values are materialised first, and the reasons below read them back.
    staged = raw.with_columns(*(expr.alias(f"__{name}") for name, expr in out.items()))
    value = {name: pl.col(f"__{name}") for name in out}
    checks = {
        focus_name: (text(col(focus_name)), value[canonical], expected)
        for canonical, focus_name, expected in [
            *((k, v, "a decimal number") for k, v in MONEY_COLUMNS.items() if col(v) is not None),
            *((k, v, "a decimal number") for k, v in QUANTITY_COLUMNS.items() if col(v) is not None),
            *((k, v, "a decimal number") for k, v in PRICING_CURRENCY_COLUMNS.items() if col(v) is not None),
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
        _origin_of_allocated(value) if "allocated_method_id" in value else pl.lit(None, dtype=pl.String),
    )
    mapped = staged.select(
        pl.col("source_row"),
        *(expr.alias(name) for name, expr in value.items()),
        reason.alias("_reject_reason"),
    )
    return conform(mapped, {**BILLING_COLUMNS, "_reject_reason": pl.String})


# An origin charge and its allocated charges share these dimensions (the spec requires dimensions
# of allocated charges to equal the origin's).
ALLOCATION_KEY = (
    "billing_account_id",
    "sub_account_id",
    "resource_id",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "sku_id",
    "sku_price_id",
    "billing_currency",
)


def _origin_of_allocated(value: dict[str, pl.Expr]) -> pl.Expr:
    """Reason for an origin charge that its allocated charges already carry (see the module doc).

    Null for every other row: allocated charges themselves, and any row whose dimensions or costs
    do not match a group of allocated charges exactly.
    """
    key = [value[k] if k in value else pl.lit(None, dtype=pl.String) for k in ALLOCATION_KEY]
    allocated = value["allocated_method_id"].is_not_null()
    group = pl.struct([k.alias(f"k{i}") for i, k in enumerate(key)])

    def allocated_sum(name: str) -> pl.Expr:
        return pl.when(allocated).then(value[name]).otherwise(None).sum().over(group)

    count = allocated.cast(pl.Int64).sum().over(group)
    method = pl.when(allocated).then(value["allocated_method_id"]).otherwise(None).min().over(group)
    is_origin = (
        ~allocated
        & (count > 0)
        & (value["billed_cost"] == allocated_sum("billed_cost"))
        & (value["effective_cost"] == allocated_sum("effective_cost"))
    )
    return pl.when(is_origin.fill_null(False)).then(
        pl.format(
            "column AllocatedMethodId: origin charge of {} allocated charge(s) (method '{}') that carry its cost; "
            "not loaded, to count it once",
            count,
            method,
        )
    )


FOCUS_CSV = register(
    SourceFormat(
        name="focus",
        table="billing_line_items",
        reader="csv",
        matches=lambda s: matches(s) and not s.name.lower().endswith(".parquet"),
        to_table=to_canonical,
        description="FOCUS 1.0-1.4 cost and usage export, CSV (plain or gzip)",
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
        description="FOCUS 1.0-1.4 cost and usage export, Parquet",
        priority=11,
    )
)
