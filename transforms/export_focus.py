"""The week's attributed cost as a FOCUS 1.2 or 1.3 cost and usage dataset (pure polars).

Grain: one row per source billing line, day slice of the week and attribution part (a GPU
machine's day split among jobs by GPU-hours, its idle remainder): the rows attribution computes
before it aggregates (``attribute_costs(..., keep_source=True)``), so per currency the export adds up
to the week's ``attributed_cost`` exactly.

Each row keeps its source line's FOCUS dimensions (account, service, resource, SKU, commitment,
tags) and carries the slice's own cost: BilledCost, EffectiveCost and ListCost are the slice's
(ListCost falls back to BilledCost where the source had none; ContractedCost is BilledCost, the
cost at the negotiated rate before amortisation). ChargePeriodStart / End are the source line's
charge period cut to the slice's UTC day. Quantities are left null: a slice of a line has no
quantity of its own that the bill states, so their units are null too (FOCUS 1.2).

What FOCUS 1.2 requires beyond the source line (checked by focus-validator in a test): one
ServiceCategory per ServiceName and its ServiceSubcategory (``one_category_per_service``); an
invoice the provider issued itself named by ProviderName (``PROVIDER_ENTITIES``); a commitment's
recurring fee as a Purchase at EffectiveCost 0 plus a Usage row for its unused part
(``split_commitment_purchases``). InvoiceId is the source's: null where the bill has none yet.

The attribution is carried in ``x_`` extension columns (``x_category``, ``x_team``, ``x_project``,
``x_model``, ``x_idle_gpu``, ``x_attribution_method``) and, in 1.3, in the split cost allocation
columns: every row is an allocated charge of its source line (AllocatedMethodId
``aicost-<method>``); AllocatedResourceId names the team / project / model it is allocated to, and
is null for idle GPU time, the unallocated portion of the origin charge (as the spec requires).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from transforms.parsing import json_object_from_columns
from transforms.schema import MONEY, UTC_TS

VERSIONS = ("1.2", "1.3")
PROVIDER_NAMES = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud", "oracle": "Oracle"}
# How each provider's own billing entities are named on its bills (CUR ``bill/InvoicingEntity``
# "Amazon Web Services EMEA SARL", GCP "Google", ...): an invoice issued by one of them is the
# provider's own, not a third party's, and is named by ProviderName (FOCUS 1.2 BilledCost: a
# charge whose payment a third party receives has BilledCost 0; focus-validator tells the two
# apart by InvoiceIssuerName differing from ProviderName).
PROVIDER_ENTITIES = {
    "aws": ("Amazon Web Services", "AWS"),
    "azure": ("Microsoft",),
    "gcp": ("Google",),
    "oracle": ("Oracle",),
}
EXTENSION_COLUMNS = ("x_category", "x_team", "x_project", "x_model", "x_idle_gpu", "x_attribution_method")

# FOCUS columns in the order written, with their types; 1.3 adds the columns after them.
FOCUS_1_2_COLUMNS: dict[str, pl.DataType] = {
    "AvailabilityZone": pl.String,
    "BilledCost": MONEY,
    "BillingAccountId": pl.String,
    "BillingAccountName": pl.String,
    "BillingAccountType": pl.String,
    "BillingCurrency": pl.String,
    "BillingPeriodEnd": UTC_TS,
    "BillingPeriodStart": UTC_TS,
    "ChargeCategory": pl.String,
    "ChargeClass": pl.String,
    "ChargeDescription": pl.String,
    "ChargeFrequency": pl.String,
    "ChargePeriodEnd": UTC_TS,
    "ChargePeriodStart": UTC_TS,
    "CommitmentDiscountCategory": pl.String,
    "CommitmentDiscountId": pl.String,
    "CommitmentDiscountName": pl.String,
    "CommitmentDiscountStatus": pl.String,
    "CommitmentDiscountType": pl.String,
    "ConsumedQuantity": pl.Decimal(38, 16),
    "ConsumedUnit": pl.String,
    "ContractedCost": MONEY,
    "ContractedUnitPrice": MONEY,
    "EffectiveCost": MONEY,
    "InvoiceId": pl.String,
    "InvoiceIssuerName": pl.String,
    "ListCost": MONEY,
    "ListUnitPrice": MONEY,
    "PricingCategory": pl.String,
    "PricingCurrency": pl.String,
    "PricingQuantity": pl.Decimal(38, 16),
    "PricingUnit": pl.String,
    "ProviderName": pl.String,
    "PublisherName": pl.String,
    "RegionId": pl.String,
    "ResourceId": pl.String,
    "ResourceName": pl.String,
    "ResourceType": pl.String,
    "ServiceCategory": pl.String,
    "ServiceName": pl.String,
    "ServiceSubcategory": pl.String,
    "SkuId": pl.String,
    "SkuPriceDetails": pl.String,
    "SkuPriceId": pl.String,
    "SubAccountId": pl.String,
    "SubAccountName": pl.String,
    "SubAccountType": pl.String,
    "Tags": pl.String,
}
FOCUS_1_3_ADDED: dict[str, pl.DataType] = {
    "ServiceProviderName": pl.String,
    "HostProviderName": pl.String,
    "AllocatedMethodId": pl.String,
    "AllocatedMethodDetails": pl.String,
    "AllocatedResourceId": pl.String,
    "AllocatedResourceName": pl.String,
    "AllocatedTags": pl.String,
    "ContractApplied": pl.String,
}


def focus_columns(version: str) -> dict[str, pl.DataType]:
    if version not in VERSIONS:
        raise ValueError(f"FOCUS export: version {version!r} is not written; choose one of {', '.join(VERSIONS)}")
    focus = {**FOCUS_1_2_COLUMNS, **(FOCUS_1_3_ADDED if version == "1.3" else {})}
    return {
        **focus,
        **dict.fromkeys(EXTENSION_COLUMNS[:-2], pl.String),
        "x_idle_gpu": pl.Boolean,
        "x_attribution_method": pl.String,
    }


def invoice_issuer_name(provider_name: pl.Expr) -> pl.Expr:
    """InvoiceIssuerName: ``provider_name`` where the provider issued the invoice itself (or none is named).

    An issuer that is one of the provider's own billing entities (``PROVIDER_ENTITIES``) is the
    provider, not a third party; any other (a reseller) is kept as the bill names it.
    """
    issuer = pl.col("invoice_issuer")
    own = (
        issuer.is_null()
        | (issuer == provider_name)
        | pl.any_horizontal(
            (pl.col("provider") == provider) & issuer.str.starts_with(prefix)
            for provider, prefixes in PROVIDER_ENTITIES.items()
            for prefix in prefixes
        )
    )
    return pl.when(own).then(provider_name).otherwise(issuer)


def to_focus(slices: pl.DataFrame, lines: pl.DataFrame, version: str) -> pl.DataFrame:
    """FOCUS rows of ``version`` from the week's attributed slices and their source lines.

    ``slices``: attributed rows with ``source_file`` and ``source_row`` (ATTRIBUTED_COST_COLUMNS plus
    those two); ``lines``: the week's billing rows (sql/export_focus_lines.sql). A slice whose source
    line is missing is an error: the export would lose its dimensions.
    """
    columns = focus_columns(version)
    joined = slices.join(lines, on=["source_file", "source_row"], how="left", suffix="_line")
    missing = joined.filter(pl.col("charge_period_start").is_null())
    if missing.height:
        first = missing.row(0, named=True)
        raise ValueError(
            f"FOCUS export: {missing.height} attributed row(s) have no billing line "
            f"(first: file {first['source_file']}, row {first['source_row']}); re-run the week's attribution"
        )
    day_start = pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    provider_name = pl.col("provider").replace_strict(PROVIDER_NAMES, default=pl.col("provider"))
    idle = pl.col("is_idle").fill_null(False)
    allocated_to = pl.concat_str([pl.col("team"), pl.col("project"), pl.col("model")], separator="/")
    out = {
        "AvailabilityZone": pl.col("availability_zone"),
        "BilledCost": pl.col("billed_cost"),
        "BillingAccountId": pl.col("billing_account_id"),
        "BillingAccountName": pl.col("billing_account_name"),
        "BillingAccountType": pl.col("billing_account_type"),
        "BillingCurrency": pl.col("billing_currency"),
        "BillingPeriodStart": pl.col("billing_period_start"),
        "BillingPeriodEnd": pl.coalesce(
            pl.col("billing_period_end"), pl.col("billing_period_start").dt.offset_by("1mo")
        ),
        "ChargeCategory": pl.col("charge_category"),
        "ChargeClass": pl.col("charge_class"),
        "ChargeDescription": pl.col("charge_description"),
        "ChargeFrequency": pl.coalesce(pl.col("charge_frequency"), pl.lit("Usage-Based")),
        "ChargePeriodStart": pl.max_horizontal(pl.col("charge_period_start"), day_start),
        "ChargePeriodEnd": pl.min_horizontal(
            pl.coalesce(pl.col("charge_period_end"), pl.col("charge_period_start")), day_start.dt.offset_by("1d")
        ),
        "CommitmentDiscountCategory": pl.col("commitment_discount_category"),
        "CommitmentDiscountId": pl.col("commitment_discount_id"),
        "CommitmentDiscountName": pl.col("commitment_discount_name"),
        "CommitmentDiscountStatus": pl.col("commitment_discount_status"),
        "CommitmentDiscountType": pl.col("commitment_discount_type"),
        # ConsumedUnit / PricingUnit "MUST be null when ConsumedQuantity / PricingQuantity is null"
        # (FOCUS 1.2): a slice's quantities are null, so are its units
        "ConsumedUnit": pl.lit(None),
        "ContractedCost": pl.col("billed_cost"),
        "ContractedUnitPrice": pl.col("contracted_unit_price"),
        "EffectiveCost": pl.col("effective_cost"),
        "InvoiceId": pl.col("invoice_id"),
        "InvoiceIssuerName": invoice_issuer_name(provider_name),
        "ListCost": pl.coalesce(pl.col("list_cost"), pl.col("billed_cost")),
        "ListUnitPrice": pl.col("list_unit_price"),
        "PricingCategory": pl.col("pricing_category"),
        "PricingCurrency": pl.coalesce(pl.col("pricing_currency"), pl.col("billing_currency")),
        "PricingUnit": pl.lit(None),
        "ProviderName": provider_name,
        "PublisherName": pl.coalesce(pl.col("publisher_name"), provider_name),
        "RegionId": pl.col("region_id"),
        "ResourceId": pl.col("resource_id"),
        "ResourceName": pl.col("resource_name"),
        "ResourceType": pl.col("resource_type"),
        "ServiceCategory": pl.coalesce(pl.col("service_category"), pl.lit("Other")),
        "ServiceName": pl.coalesce(pl.col("service_name"), pl.col("service_name_line"), pl.lit("Unknown")),
        "SkuId": pl.col("sku_id"),
        "SkuPriceDetails": pl.col("sku_price_details"),
        "SkuPriceId": pl.col("sku_price_id"),
        "SubAccountId": pl.col("sub_account_id"),
        "SubAccountName": pl.col("sub_account_name"),
        "SubAccountType": pl.col("sub_account_type"),
        "Tags": pl.col("tags"),
        "ServiceProviderName": pl.coalesce(pl.col("service_provider_name"), provider_name),
        "HostProviderName": pl.coalesce(pl.col("host_provider_name"), provider_name),
        "AllocatedMethodId": pl.lit("aicost-") + pl.col("attribution_method"),
        "AllocatedMethodDetails": json_object_from_columns(
            {
                "Method": pl.col("attribution_method"),
                "Category": pl.col("category"),
                "Basis": pl.when(pl.col("attribution_method") == "usage").then(pl.lit("GPU-hours")),
            }
        ),
        "AllocatedResourceId": pl.when(~idle).then(allocated_to),
        "AllocatedResourceName": pl.when(~idle).then(pl.col("team")),
        "AllocatedTags": json_object_from_columns(
            {
                "team": pl.col("team"),
                "project": pl.col("project"),
                "model": pl.col("model"),
                "category": pl.col("category"),
            }
        ),
        "x_category": pl.col("category"),
        "x_team": pl.col("team"),
        "x_project": pl.col("project"),
        "x_model": pl.col("model"),
        "x_idle_gpu": idle,
        "x_attribution_method": pl.col("attribution_method"),
    }
    rows = joined.select(
        [(out[name] if name in out else pl.lit(None)).cast(dtype).alias(name) for name, dtype in columns.items()]
    )
    return split_commitment_purchases(one_category_per_service(rows)).select(list(columns))


def one_category_per_service(rows: pl.DataFrame) -> pl.DataFrame:
    """One ServiceCategory per ServiceName, and its ServiceSubcategory.

    FOCUS: a ServiceName "MUST have one and only one ServiceCategory that best aligns with its
    primary purpose". Bills categorise some lines of a service by what the line is (EC2 or S3 data
    transfer as Networking); the service's primary purpose is taken as the category of most of its
    cost in the export (absolute BilledCost, ties by name). Nothing finer than the category is
    known, so the subcategory is the category's "Other (<category>)" (FOCUS 1.2 allowed values).
    """
    primary = (
        rows.group_by("ServiceName", "ServiceCategory")
        .agg(pl.col("BilledCost").abs().sum().alias("weight"))
        .sort(["ServiceName", "weight", "ServiceCategory"], descending=[False, True, False])
        .unique("ServiceName", keep="first", maintain_order=True)
        .select("ServiceName", pl.col("ServiceCategory").alias("primary_category"))
    )
    return (
        rows.join(primary, on="ServiceName", how="left", maintain_order="left")
        .with_columns(pl.col("primary_category").alias("ServiceCategory"))
        .with_columns(ServiceSubcategory=pl.lit("Other (") + pl.col("ServiceCategory") + pl.lit(")"))
        .drop("primary_category")
    )


def split_commitment_purchases(rows: pl.DataFrame) -> pl.DataFrame:
    """A commitment's recurring fee as the spec lays it out: the Purchase at EffectiveCost 0, its unused part apart.

    FOCUS 1.2: EffectiveCost "MUST be 0 when ChargeCategory is Purchase and the purchase is intended
    to cover future eligible charges"; the part of a commitment left unused is a Usage row with
    CommitmentDiscountStatus "Unused", BilledCost 0 and the unused amount as EffectiveCost (the
    spec's zero-utilisation worked example). Bills (CUR ``SavingsPlanRecurringFee``, ``RIFee``)
    carry that unused amount as the fee line's amortised cost; such a row becomes two, so every
    total is unchanged.
    """
    fee = (
        (pl.col("ChargeCategory") == "Purchase")
        & pl.col("CommitmentDiscountId").is_not_null()
        & (pl.col("EffectiveCost") != 0)
    )
    zero = pl.lit(0).cast(MONEY)
    unused = rows.filter(fee).with_columns(
        ChargeCategory=pl.lit("Usage"),
        ChargeFrequency=pl.lit("Usage-Based"),
        CommitmentDiscountStatus=pl.lit("Unused"),
        BilledCost=zero,
        ContractedCost=zero,
        ListCost=zero,
    )
    purchases = rows.with_columns(
        EffectiveCost=pl.when(fee).then(zero).otherwise(pl.col("EffectiveCost")),
        CommitmentDiscountStatus=pl.when(fee).then(None).otherwise(pl.col("CommitmentDiscountStatus")),
    )
    return pl.concat([purchases, unused])


def currency_totals(
    frame: pl.DataFrame, currency: str, billed: str, effective: str
) -> dict[str, tuple[Decimal, Decimal]]:
    """{currency: (billed total, effective total)} of a frame (a currency whose costs are all null: zeros)."""
    rows = frame.group_by(currency).agg(pl.col(billed).sum(), pl.col(effective).sum()).iter_rows()
    return {cur: (b or Decimal(0), e or Decimal(0)) for cur, b, e in rows}


def check_stored_week(slices: pl.DataFrame, stored: pl.DataFrame, week_start: date) -> None:
    """Refuse to export a week whose stored ``attributed_cost`` is missing or differs from its inputs now.

    ``slices`` is the week attributed again at the source-line grain, ``stored`` the week's stored
    rows; per currency their billed and effective totals must be equal.
    """
    if stored.height == 0:
        raise ValueError(
            f"FOCUS export: the week of {week_start.isoformat()} has no attributed cost; run `aicost run --week {week_start.isoformat()}` first"
        )
    recomputed = currency_totals(slices, "billing_currency", "billed_cost", "effective_cost")
    expected = currency_totals(stored, "billing_currency", "billed_cost", "effective_cost")
    if recomputed != expected:
        raise ValueError(
            f"FOCUS export: the stored attribution of the week of {week_start.isoformat()} ({expected}) differs from "
            f"its inputs now ({recomputed}); re-run the week (`aicost run --week {week_start.isoformat()}`) and export again"
        )
