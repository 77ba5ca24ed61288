"""Azure cost details CSV (Cost Management exports): EA and MCA, actual and amortised.

Header names are matched case-insensitively (a byte-order mark is ignored), so the EA spelling
(``Cost``, ``BillingCurrency``, ``Date``, ``MeterCategory``), the MCA spelling
(``CostInBillingCurrency``, ``BillingCurrencyCode``) and the camelCase of newer exports
(``costInBillingCurrency``, ``billingCurrencyCode``, ``date``, ``meterCategory``) all read the
same. Dates are ``MM/DD/YYYY`` (``9/2/2023`` too) or ISO 8601. The older pay-as-you-go usage
details schema (``SubscriptionGuid``, ``UsageDateTime``, ``PreTaxCost``, ``UsageQuantity``,
``ResourceRate``, ``InstanceId``, ``Currency``; PascalCase or camelCase) reads through the same
mapping. The file is read with an explicit dialect (comma, double quote, header), never sniffed.

Derived where the file does not say, and said so in the row's ``_note`` (the ingest result and the
delivery decision list each note with its row count): a missing or empty billing period is the
charge date's calendar month; ``Currency`` is the billing currency; a file with no billing account
or profile column bills per subscription (pay-as-you-go), so the subscription is the account.

Costs, after Microsoft's own FOCUS conversion (learn.microsoft.com, "Convert Cost Management
data to FOCUS", finops-toolkit), row by row, so that actual and amortised exports both map right:

====================================================  ===========  ==============
row (ChargeType, PricingModel)                        billed_cost  effective_cost
====================================================  ===========  ==============
Usage, OnDemand / Spot / none                         Cost         Cost
Usage, Reservation / SavingsPlan (amortised usage)    0            Cost
UnusedReservation / UnusedSavingsPlan                 0            Cost
Purchase or Refund, Reservation / SavingsPlan         Cost         0
Purchase or Refund, other (marketplace, support)      Cost         Cost
Tax, Credit, RoundingAdjustment, other                Cost         Cost
====================================================  ===========  ==============

(An actual-cost export carries commitment purchases at full price and covered usage at 0, so
its billed total is the invoice; an amortised export spreads the commitment over the usage it
covered and the unused remainder, billed at purchase, so those rows bill 0.) ``Cost`` is the
first of ``CostInBillingCurrency``, ``Cost``, ``PreTaxCost`` the file has.

Other columns: ChargeType Usage / Purchase / Credit / Tax → same category, Unused* → Usage,
Refund → Purchase with class Correction, anything else → Adjustment; PricingModel OnDemand →
Standard, Spot → Dynamic, Reservation / SavingsPlan → Committed; commitment id / name from
``benefitId`` / ``benefitName`` (else ``ReservationId`` / ``ReservationName``), status Unused for
Unused* rows and Used for covered usage; ``list_cost`` = ``PayGPrice`` × ``Quantity``,
``contracted_cost`` = ``UnitPrice`` × ``Quantity`` where present; billing account = the billing
profile where the file has one (MCA), else the billing account (EA); charge period = ``Date``
to the next day; billing period = ``BillingPeriodStartDate`` to the day after
``BillingPeriodEndDate`` (Azure's end date is inclusive); tags = ``Tags`` as a JSON object (EA
writes it without the outer braces); instance type from ``AdditionalInfo.ServiceType``, else
from a Virtual Machines meter name (``D2 v3/D2s v3`` → ``Standard_D2_v3``).
"""

from __future__ import annotations

import polars as pl

from transforms.billing import transfer
from transforms.formats import FormatError, Sniff, SourceFormat, register
from transforms.parsing import (
    first_match,
    parse_decimal,
    parse_timestamp,
    reject_if_missing,
    reject_if_unparsed,
    reject_unknown_currency,
    text,
)
from transforms.schema import BILLING_COLUMNS, MONEY, QUANTITY, conform

FORMAT_NAME = "azure_cost_details"

# Canonical role -> header spellings (lower case), the first one the file has wins.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "cost": ("costinbillingcurrency", "cost", "pretaxcost"),
    "currency": ("billingcurrencycode", "billingcurrency", "currency"),
    "date": ("date", "usagedatetime"),
    "billing_period_start": ("billingperiodstartdate",),
    "billing_period_end": ("billingperiodenddate",),
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "billing_profile_id": ("billingprofileid",),
    "billing_profile_name": ("billingprofilename",),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "frequency": ("frequency",),
    "product": ("productname", "product"),
    "meter_category": ("metercategory",),
    "meter_subcategory": ("metersubcategory",),
    "meter_name": ("metername",),
    "meter_id": ("meterid",),
    "part_number": ("productid", "partnumber"),
    "quantity": ("quantity", "usagequantity"),
    "unit": ("unitofmeasure",),
    "payg_price": ("paygprice",),
    "unit_price": ("unitprice", "resourcerate"),
    "consumed_service": ("consumedservice",),
    "resource_id": ("resourceid", "instanceid"),
    "resource_name": ("resourcename",),
    "location": ("resourcelocation",),
    "zone": ("availabilityzone",),
    "tags": ("tags",),
    "additional_info": ("additionalinfo",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "reservation_id": ("reservationid",),
    "reservation_name": ("reservationname",),
    "publisher_name": ("publishername",),
}

# Roles a file must have. A billing account may come from either account column; a file with
# neither (the older pay-as-you-go usage details) bills per subscription, so the subscription is
# the account. A missing or empty billing period is the charge date's calendar month.
REQUIRED_ROLES = ("cost", "currency", "date")
ACCOUNT_ROLES = ("billing_profile_id", "billing_account_id")

COMMITMENT_MODELS = ("Reservation", "SavingsPlan")
UNUSED_CHARGE_TYPES = ("UnusedReservation", "UnusedSavingsPlan")

CHARGE_CATEGORY_BY_CHARGE_TYPE = {
    "Usage": "Usage",
    "Purchase": "Purchase",
    "Credit": "Credit",
    "Tax": "Tax",
    "UnusedReservation": "Usage",
    "UnusedSavingsPlan": "Usage",
    "Refund": "Purchase",
}
CHARGE_FREQUENCY_BY_FREQUENCY = {"OneTime": "One-Time", "Recurring": "Recurring", "UsageBased": "Usage-Based"}
PRICING_CATEGORY_BY_MODEL = {
    "OnDemand": "Standard",
    "Spot": "Dynamic",
    "Reservation": "Committed",
    "SavingsPlan": "Committed",
}

SERVICE_CATEGORY_BY_METER_CATEGORY = {
    "Virtual Machines": "Compute",
    "Virtual Machines Licenses": "Compute",
    "Azure App Service": "Compute",
    "Functions": "Compute",
    "Container Instances": "Compute",
    "Azure Container Apps": "Compute",
    "Azure Kubernetes Service": "Compute",
    "Cloud Services": "Compute",
    "Batch": "Compute",
    "Storage": "Storage",
    "Backup": "Storage",
    "Azure NetApp Files": "Storage",
    "Machine Learning": "AI and Machine Learning",
    "Azure Machine Learning": "AI and Machine Learning",
    "Machine Learning Studio": "AI and Machine Learning",
    "Cognitive Services": "AI and Machine Learning",
    "Azure Cognitive Services": "AI and Machine Learning",
    "Azure OpenAI": "AI and Machine Learning",
    "Azure OpenAI Service": "AI and Machine Learning",
    "Foundry Models": "AI and Machine Learning",
    "Azure AI services": "AI and Machine Learning",
    "Bandwidth": "Networking",
    "Virtual Network": "Networking",
    "Load Balancer": "Networking",
    "VPN Gateway": "Networking",
    "Application Gateway": "Networking",
    "Azure DNS": "Networking",
    "Content Delivery Network": "Networking",
    "Azure Front Door Service": "Networking",
    "ExpressRoute": "Networking",
    "Azure Firewall": "Networking",
    "Network Watcher": "Networking",
    "NAT Gateway": "Networking",
    "Azure Bastion": "Networking",
    "SQL Database": "Databases",
    "SQL Managed Instance": "Databases",
    "Azure Database for MySQL": "Databases",
    "Azure Database for PostgreSQL": "Databases",
    "Azure Cosmos DB": "Databases",
    "Redis Cache": "Databases",
    "Azure Synapse Analytics": "Analytics",
    "Azure Databricks": "Analytics",
    "HDInsight": "Analytics",
    "Azure Data Explorer": "Analytics",
    "Stream Analytics": "Analytics",
    "Azure Data Factory v2": "Integration",
    "Azure Data Factory": "Integration",
    "Event Hubs": "Integration",
    "Service Bus": "Integration",
    "Logic Apps": "Integration",
    "Log Analytics": "Management and Governance",
    "Azure Monitor": "Management and Governance",
    "Advanced Threat Protection": "Security",
    "Advanced Data Security": "Security",
    "Microsoft Defender for Cloud": "Security",
    "Key Vault": "Security",
}

# ConsumedService (lower case) -> category where the meter category does not tell. AI
# services win over the meter: a disk or IP billed to an Azure ML workspace is AI spend.
AI_CONSUMED_SERVICES = ("microsoft.machinelearningservices", "microsoft.machinelearning", "microsoft.cognitiveservices")
SERVICE_CATEGORY_BY_CONSUMED_SERVICE = {
    "microsoft.compute": "Compute",
    "microsoft.containerservice": "Compute",
    "microsoft.web": "Compute",
    "microsoft.storage": "Storage",
    "microsoft.network": "Networking",
    "microsoft.sql": "Databases",
    "microsoft.dbformysql": "Databases",
    "microsoft.dbforpostgresql": "Databases",
    "microsoft.documentdb": "Databases",
    "microsoft.datafactory": "Integration",
    "microsoft.eventhub": "Integration",
    "microsoft.databricks": "Analytics",
    "microsoft.synapse": "Analytics",
    "microsoft.keyvault": "Security",
    "microsoft.operationalinsights": "Management and Governance",
}

# Blob / file storage tier from the meter's words, first match wins.
STORAGE_CLASS_PATTERNS = (
    (r"(?i)\barchive\b", "Archive"),
    (r"(?i)\bcold\b", "Cold"),
    (r"(?i)\bcool\b", "Cool"),
    (r"(?i)\bhot\b", "Hot"),
)

# AdditionalInfo's ServiceType names the VM size (only sizes are taken, not other service types).
_SERVICE_TYPE = r'"ServiceType"\s*:\s*"((?:Standard|Basic)_[^"]+)"'


def _header_map(columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Role -> the file's own header for it, matching names case-insensitively."""
    by_lower = {c.lstrip("\ufeff").strip().lower(): c for c in columns}
    found = {}
    for role, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            if alias in by_lower:
                found[role] = by_lower[alias]
                break
    return found


def _require_headers(headers: dict[str, str]) -> None:
    """FormatError naming every required column the file lacks, with its accepted spellings."""
    missing = [" or ".join(HEADER_ALIASES[r]) for r in REQUIRED_ROLES if r not in headers]
    if not any(r in headers for r in (*ACCOUNT_ROLES, "subscription_id")):
        missing.append(
            " or ".join(
                HEADER_ALIASES["billing_profile_id"]
                + HEADER_ALIASES["billing_account_id"]
                + HEADER_ALIASES["subscription_id"]
            )
        )
    if missing:
        raise FormatError(
            f"{FORMAT_NAME}: missing required column(s) {'; '.join(missing)} (names are case-insensitive)"
        )


def _day(expr: pl.Expr) -> pl.Expr:
    """A date text (MM/DD/YYYY or ISO) as that day's 00:00 UTC."""
    return parse_timestamp(expr).dt.truncate("1d")


def _tags_json(tags: pl.Expr) -> pl.Expr:
    """Azure tags as a JSON object text: EA leaves out the outer braces, so add them."""
    return pl.when(tags.str.starts_with("{")).then(tags).otherwise(pl.concat_str([pl.lit("{"), tags, pl.lit("}")]))


def _vm_size_from_meter(meter_name: pl.Expr) -> pl.Expr:
    """``D2 v3/D2s v3`` or ``DS4 v2 Spot`` → ``Standard_D2_v3`` / ``Standard_DS4_v2``."""
    size = (
        meter_name.str.split("/")
        .list.first()
        .str.replace(r"(?i)\s+(spot|low priority)$", "")
        .str.strip_chars()
        .str.replace_all(r"\s+", "_")
    )
    return pl.concat_str([pl.lit("Standard_"), size])


def _service_category(meter_category: pl.Expr, consumed_service: pl.Expr) -> pl.Expr:
    """FOCUS service category from the meter category and the consumed service."""
    consumed = consumed_service.str.to_lowercase()
    return pl.coalesce(
        pl.when(consumed.is_in(AI_CONSUMED_SERVICES)).then(pl.lit("AI and Machine Learning")),
        meter_category.replace_strict(SERVICE_CATEGORY_BY_METER_CATEGORY, default=None, return_dtype=pl.String),
        consumed.replace_strict(SERVICE_CATEGORY_BY_CONSUMED_SERVICE, default=None, return_dtype=pl.String),
        pl.lit("Other"),
    )


def _derivation_note(headers: dict[str, str], derive_period: pl.Expr, account_from_subscription: bool) -> pl.Expr:
    """What a row's values were derived from where the file does not say (null when nothing was)."""
    date = headers["date"]
    if "billing_period_start" in headers:
        period = (
            f"billing period taken as the calendar month of {date} where {headers['billing_period_start']} is empty"
        )
    else:
        period = f"billing period taken as the calendar month of {date} (the file has no billing period column)"
    fixed = []
    if headers["currency"].strip().lower() == "currency":
        fixed.append(f"billing currency from the {headers['currency']} column")
    if account_from_subscription:
        fixed.append(f"billing account = {headers['subscription_id']} (no billing account column: pay-as-you-go)")
    parts = [pl.when(derive_period).then(pl.lit(period)), *(pl.lit(f) for f in fixed)]
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def azure_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Map a raw Azure cost details CSV (all text) onto billing_line_items."""
    headers = _header_map(raw.collect_schema().names())
    _require_headers(headers)

    def col(role: str) -> pl.Expr:
        return text(headers[role]) if role in headers else pl.lit(None, dtype=pl.String)

    def name(role: str) -> str:
        return headers.get(role, HEADER_ALIASES[role][0])

    cost = parse_decimal(col("cost"))
    quantity = parse_decimal(col("quantity"), QUANTITY)
    payg_price = parse_decimal(col("payg_price"))
    unit_price = parse_decimal(col("unit_price"))
    currency = col("currency").str.to_uppercase()
    charge_start = _day(col("date"))
    given_period_start = _day(col("billing_period_start"))
    # No billing period (the older usage details) or an empty one: the charge date's calendar month.
    derive_period = col("billing_period_start").is_null()
    period_start = pl.when(derive_period).then(charge_start.dt.truncate("1mo")).otherwise(given_period_start)
    period_end_inclusive = pl.when(derive_period).then(None).otherwise(_day(col("billing_period_end")))
    charge_type = col("charge_type")
    pricing_model = col("pricing_model")
    is_commitment = pricing_model.is_in(COMMITMENT_MODELS)
    is_unused = charge_type.is_in(UNUSED_CHARGE_TYPES)
    is_purchase = charge_type.is_in(("Purchase", "Refund"))
    bills_zero = is_commitment & (is_unused | (charge_type == "Usage"))
    commitment_id = pl.coalesce(col("benefit_id"), col("reservation_id"))
    meter_category = col("meter_category")
    meter_words = pl.concat_str(
        [col("product"), col("meter_subcategory"), col("meter_name")], separator=" ", ignore_nulls=True
    )
    account_from_subscription = not any(r in headers for r in ACCOUNT_ROLES)
    account = (
        col("subscription_id")
        if account_from_subscription
        else pl.coalesce(col("billing_profile_id"), col("billing_account_id"))
    )
    account_columns = ("subscription_id",) if account_from_subscription else ACCOUNT_ROLES
    note = _derivation_note(headers, derive_period, account_from_subscription)

    reason = pl.coalesce(
        reject_if_missing(
            {
                name("cost"): col("cost"),
                name("currency"): currency,
                name("date"): col("date"),
                " or ".join(headers[r] for r in account_columns if r in headers): account,
            }
        ),
        reject_if_unparsed(
            {
                name("cost"): (col("cost"), cost, "a decimal number"),
                name("date"): (col("date"), charge_start, "a date as MM/DD/YYYY or YYYY-MM-DD"),
                name("billing_period_start"): (
                    col("billing_period_start"),
                    given_period_start,
                    "a date as MM/DD/YYYY or YYYY-MM-DD",
                ),
                name("billing_period_end"): (
                    col("billing_period_end"),
                    period_end_inclusive,
                    "a date as MM/DD/YYYY or YYYY-MM-DD",
                ),
                name("quantity"): (col("quantity"), quantity, "a decimal number"),
                name("payg_price"): (col("payg_price"), payg_price, "a decimal number"),
                name("unit_price"): (col("unit_price"), unit_price, "a decimal number"),
            }
        ),
        reject_unknown_currency(currency, name("currency")),
    )

    return conform(
        raw.select(
            pl.lit("azure").alias("provider"),
            account.alias("billing_account_id"),
            pl.coalesce(col("billing_profile_name"), col("billing_account_name")).alias("billing_account_name"),
            col("subscription_id").alias("sub_account_id"),
            col("subscription_name").alias("sub_account_name"),
            pl.lit("Microsoft").alias("invoice_issuer"),
            period_start.alias("billing_period_start"),
            pl.coalesce(period_end_inclusive.dt.offset_by("1d"), period_start.dt.offset_by("1mo")).alias(
                "billing_period_end"
            ),
            charge_start.alias("charge_period_start"),
            charge_start.dt.offset_by("1d").alias("charge_period_end"),
            pl.when(charge_type.is_null())
            .then(pl.lit("Usage"))
            .otherwise(charge_type.replace_strict(CHARGE_CATEGORY_BY_CHARGE_TYPE, default="Adjustment"))
            .alias("charge_category"),
            pl.when(charge_type == "Refund").then(pl.lit("Correction")).alias("charge_class"),
            col("product").alias("charge_description"),
            col("frequency")
            .replace_strict(CHARGE_FREQUENCY_BY_FREQUENCY, default=None, return_dtype=pl.String)
            .alias("charge_frequency"),
            pricing_model.replace_strict(PRICING_CATEGORY_BY_MODEL, default="Other").alias("pricing_category"),
            quantity.alias("pricing_quantity"),
            col("unit").alias("pricing_unit"),
            pl.coalesce(meter_category, col("consumed_service")).alias("service_name"),
            _service_category(meter_category, col("consumed_service")).alias("service_category"),
            pl.coalesce(col("publisher_name"), pl.lit("Microsoft")).alias("publisher_name"),
            col("resource_id").alias("resource_id"),
            col("resource_name").alias("resource_name"),
            col("resource_id")
            .str.extract(r"(?i)/providers/([^/]+/[^/]+)", 1)
            .str.to_lowercase()
            .alias("resource_type"),
            col("location").str.to_lowercase().str.replace_all(" ", "", literal=True).alias("region_id"),
            col("zone").alias("availability_zone"),
            col("part_number").alias("sku_id"),
            col("meter_id").alias("sku_price_id"),
            quantity.alias("consumed_quantity"),
            col("unit").alias("consumed_unit"),
            currency.alias("billing_currency"),
            pl.when(bills_zero).then(pl.lit(0, MONEY)).otherwise(cost).alias("billed_cost"),
            pl.when(is_commitment & is_purchase).then(pl.lit(0, MONEY)).otherwise(cost).alias("effective_cost"),
            (payg_price * quantity).cast(MONEY).alias("list_cost"),
            (unit_price * quantity).cast(MONEY).alias("contracted_cost"),
            payg_price.alias("list_unit_price"),
            unit_price.alias("contracted_unit_price"),
            commitment_id.alias("commitment_discount_id"),
            pl.coalesce(col("benefit_name"), col("reservation_name")).alias("commitment_discount_name"),
            pl.when(commitment_id.str.contains(r"(?i)/microsoft\.capacity/"))
            .then(pl.lit("Usage"))
            .when(commitment_id.str.contains(r"(?i)/microsoft\.billingbenefits/"))
            .then(pl.lit("Spend"))
            .when(pricing_model == "Reservation")
            .then(pl.lit("Usage"))
            .when(pricing_model == "SavingsPlan")
            .then(pl.lit("Spend"))
            .alias("commitment_discount_category"),
            pl.when(commitment_id.str.contains(r"(?i)/microsoft\.billingbenefits/") | (pricing_model == "SavingsPlan"))
            .then(pl.lit("Savings Plan"))
            .when(commitment_id.is_not_null() | (pricing_model == "Reservation"))
            .then(pl.lit("Reservation"))
            .alias("commitment_discount_type"),
            pl.when(is_unused)
            .then(pl.lit("Unused"))
            .when(is_commitment & (charge_type == "Usage"))
            .then(pl.lit("Used"))
            .alias("commitment_discount_status"),
            pl.when(col("tags").is_not_null()).then(_tags_json(col("tags"))).alias("tags"),
            pl.coalesce(
                col("additional_info").str.extract(_SERVICE_TYPE, 1),
                pl.when(meter_category == "Virtual Machines").then(_vm_size_from_meter(col("meter_name"))),
            ).alias("x_instance_type"),
            pl.when(meter_category == "Storage")
            .then(first_match(meter_words, STORAGE_CLASS_PATTERNS))
            .alias("x_storage_class"),
            col("meter_name").alias("x_usage_type"),
            transfer.azure_direction(meter_words).alias("x_transfer_direction"),
            charge_type.alias("x_line_item_type"),
            pl.col("source_row").cast(pl.Int64),
            reason.alias("_reject_reason"),
            note.alias("_note"),
        ),
        {**BILLING_COLUMNS, "_reject_reason": pl.String, "_note": pl.String},
    )


def _looks_like_azure(sniff: Sniff) -> bool:
    """Cost details headers: a cost, a date, a meter and a subscription or billing account."""
    cols = {c.lstrip("\ufeff").strip().lower() for c in sniff.columns}
    if "billedcost" in cols or any(c.startswith("lineitem/") or c.startswith("line_item_") for c in cols):
        return False
    has = lambda role: any(a in cols for a in HEADER_ALIASES[role])  # noqa: E731
    return (
        has("cost") and has("date") and has("meter_category") and (has("subscription_id") or has("billing_account_id"))
    )


register(
    SourceFormat(
        name=FORMAT_NAME,
        table="billing_line_items",
        reader="csv",
        matches=_looks_like_azure,
        to_table=azure_to_canonical,
        columns=(
            "CostInBillingCurrency|Cost|PreTaxCost",
            "BillingCurrencyCode|BillingCurrency|Currency",
            "Date|UsageDateTime",
            "MeterCategory",
            "SubscriptionId|SubscriptionGuid|BillingAccountId",
        ),
        description="Azure cost details CSV (EA and MCA, actual and amortised) and the older usage details",
        period_policy="replace",
        # the recognised header read with an explicit dialect, never sniffed; rows that leave out
        # trailing empty fields read as nulls there
        read_options={"explicit_dialect": True, "null_padding": True},
    )
)
