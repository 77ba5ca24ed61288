"""Google Cloud billing export (the BigQuery export schema) as CSV, JSON lines or Parquet.

Three formats share one mapping:

- ``gcp_billing_csv``: the export flattened to CSV, dotted headers (``service.description``,
  ``sku.id``, ``project.id``, ``location.region``, ``invoice.month``, ``usage.amount``, ...);
  ``labels``, ``system_labels`` and ``credits`` are list texts in Python or JSON spelling, e.g.
  ``[{'name': 'FreeTrial:Credit-1', 'amount': -5e-06, 'full_name': None, 'type': 'PROMOTION'}]``.
- ``gcp_billing_jsonl`` / ``gcp_billing_parquet``: the nested export, one record per line / row,
  with exactly the fields of ``GCP_EXPORT_SCHEMA`` below (structs and lists of structs):

  ========================  ===================================================================
  billing_account_id        string (required)
  service                   struct{id, description: string}
  sku                       struct{id, description: string}
  usage_start_time          timestamp UTC, or ISO 8601 text (required)
  usage_end_time            timestamp UTC, or ISO 8601 text (required)
  project                   struct{id, number, name: string, labels: list<struct{key, value}>,
                            ancestry_numbers: string}
  labels, system_labels     list<struct{key, value: string}>
  location                  struct{location, country, region, zone: string}
  resource                  struct{name, global_name: string} (detailed export only)
  export_time               timestamp UTC
  cost                      decimal(38,10) (required); also accepted as text or as a double
  cost_at_list              decimal(38,10), optional
  currency                  string, ISO 4217 (required)
  currency_conversion_rate  double
  usage                     struct{amount: decimal, unit: string, amount_in_pricing_units:
                            decimal, pricing_unit: string}
  credits                   list<struct{name: string, amount: decimal(38,10), full_name, id,
                            type: string}>; amounts are negative
  invoice                   struct{month: string 'YYYYMM'} (required)
  cost_type                 string: regular | tax | adjustment | rounding_error
  price                     struct{effective_price: decimal, tier_start_amount: decimal, unit:
                            string, pricing_unit_quantity: decimal} (detailed export only)
  seller_name               string
  ========================  ===================================================================

  Money fields are exact when given as decimals or text. A JSON number that DuckDB reads as a
  double is turned into its shortest round-trip text first (exact for up to 15 significant
  digits, which covers every value BigQuery exports), never summed as a float.

Mapping: provider ``gcp``; sub account = ``project.id``; billing period = the ``invoice.month``
(first of the month 00:00 UTC to the first of the next month); charge period = usage start/end;
``billed_cost`` = ``cost`` (before credits); ``x_credit_amount`` = the sum of the row's credit
amounts (negative); ``effective_cost`` = ``cost`` + credits; ``list_cost`` = ``cost_at_list``
where given, else ``cost``; ``cost_type`` regular → Usage, tax → Tax, adjustment and
rounding_error → Adjustment; tags = ``labels`` as a JSON object; ``x_instance_type`` from the
system label ``compute.googleapis.com/machine_spec``; GPU count where the machine type names it
(``a2-highgpu-8g`` → 8); storage class and transfer direction from the SKU description.

Committed use discounts (FOCUS commitment columns, type ``Committed Use Discount``): usage with a
``COMMITTED_USAGE_DISCOUNT`` credit (resource-based, category Usage) or a
``COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE`` credit (spend-based, category Spend) is Committed, status
Used, its commitment id the credit's ``id`` (else ``full_name``, else ``name``); a commitment fee
SKU (``Commitment v1: ...``, ``Commitment - dollar based v1: ...``) is a recurring Purchase, its id
``subscription.instance_id``. Its cost stays in effective cost: GCP bills the fee monthly and the
credits take the covered usage down, so nothing is counted twice. Adjustments
(``adjustment_info``): a ``*_CORRECTION`` type or a ``PARTIAL_CORRECTION`` / ``COMPLETE_NEGATION``
mode is charge class Correction; ``GOODWILL``, ``SALES_BASED_GOODWILL`` and ``SLA_VIOLATION`` are
Credit; other adjustments Adjustment.
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
from transforms.schema import BILLING_COLUMNS, MONEY, QUANTITY, UTC_TS, conform

_KEY_VALUES = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))

# The nested export schema the JSONL and Parquet formats accept (see the module docstring).
GCP_EXPORT_SCHEMA: dict[str, pl.DataType] = {
    "billing_account_id": pl.String,
    "service": pl.Struct({"id": pl.String, "description": pl.String}),
    "sku": pl.Struct({"id": pl.String, "description": pl.String}),
    "usage_start_time": UTC_TS,
    "usage_end_time": UTC_TS,
    "project": pl.Struct(
        {
            "id": pl.String,
            "number": pl.String,
            "name": pl.String,
            "labels": _KEY_VALUES,
            "ancestry_numbers": pl.String,
        }
    ),
    "labels": _KEY_VALUES,
    "system_labels": _KEY_VALUES,
    "location": pl.Struct({"location": pl.String, "country": pl.String, "region": pl.String, "zone": pl.String}),
    "resource": pl.Struct({"name": pl.String, "global_name": pl.String}),
    "export_time": UTC_TS,
    "cost": MONEY,
    "cost_at_list": MONEY,
    "currency": pl.String,
    "currency_conversion_rate": pl.Float64,
    "usage": pl.Struct(
        {"amount": QUANTITY, "unit": pl.String, "amount_in_pricing_units": QUANTITY, "pricing_unit": pl.String}
    ),
    "credits": pl.List(
        pl.Struct({"name": pl.String, "amount": MONEY, "full_name": pl.String, "id": pl.String, "type": pl.String})
    ),
    "invoice": pl.Struct({"month": pl.String}),
    "cost_type": pl.String,
    "price": pl.Struct(
        {"effective_price": MONEY, "tier_start_amount": QUANTITY, "unit": pl.String, "pricing_unit_quantity": QUANTITY}
    ),
    "seller_name": pl.String,
    "adjustment_info": pl.Struct({"id": pl.String, "description": pl.String, "mode": pl.String, "type": pl.String}),
    "subscription": pl.Struct({"instance_id": pl.String}),
}

# Fields (dotted paths) a file must carry, flat (CSV) or nested (JSONL, Parquet).
GCP_REQUIRED_FIELDS = ("billing_account_id", "usage_start_time", "usage_end_time", "cost", "currency", "invoice.month")

CHARGE_CATEGORY_BY_COST_TYPE = {
    "regular": "Usage",
    "tax": "Tax",
    "adjustment": "Adjustment",
    "rounding_error": "Adjustment",
}

SERVICE_CATEGORY_BY_SERVICE = {
    "Compute Engine": "Compute",
    "Kubernetes Engine": "Compute",
    "Cloud Run": "Compute",
    "Cloud Run Functions": "Compute",
    "Cloud Functions": "Compute",
    "App Engine": "Compute",
    "Batch": "Compute",
    "Cloud Storage": "Storage",
    "Filestore": "Storage",
    "Backup and DR Service": "Storage",
    "Vertex AI": "AI and Machine Learning",
    "Cloud AI Platform": "AI and Machine Learning",
    "AI Platform": "AI and Machine Learning",
    "Cloud TPU": "AI and Machine Learning",
    "Cloud AutoML": "AI and Machine Learning",
    "Gemini API": "AI and Machine Learning",
    "Generative Language API": "AI and Machine Learning",
    "Document AI": "AI and Machine Learning",
    "Dialogflow": "AI and Machine Learning",
    "Cloud Vision API": "AI and Machine Learning",
    "Cloud Natural Language API": "AI and Machine Learning",
    "Cloud Speech API": "AI and Machine Learning",
    "Cloud Translation": "AI and Machine Learning",
    "BigQuery": "Analytics",
    "BigQuery Storage API": "Analytics",
    "BigQuery Reservation API": "Analytics",
    "BigQuery BI Engine": "Analytics",
    "Dataflow": "Analytics",
    "Cloud Dataflow": "Analytics",
    "Dataproc": "Analytics",
    "Cloud Dataproc": "Analytics",
    "Cloud Composer": "Analytics",
    "Looker": "Analytics",
    "Cloud SQL": "Databases",
    "Cloud Spanner": "Databases",
    "Cloud Bigtable": "Databases",
    "Cloud Firestore": "Databases",
    "Firestore": "Databases",
    "Cloud Memorystore for Redis": "Databases",
    "AlloyDB": "Databases",
    "Networking": "Networking",
    "Cloud CDN": "Networking",
    "Cloud DNS": "Networking",
    "Cloud Load Balancing": "Networking",
    "Cloud NAT": "Networking",
    "Cloud VPN": "Networking",
    "Cloud Interconnect": "Networking",
    "Network Intelligence Center": "Networking",
    "Cloud Logging": "Management and Governance",
    "Stackdriver Logging": "Management and Governance",
    "Cloud Monitoring": "Management and Governance",
    "Stackdriver Monitoring": "Management and Governance",
    "Cloud Trace": "Management and Governance",
    "Security Command Center": "Security",
    "Cloud Key Management Service (KMS)": "Security",
    "Secret Manager": "Security",
    "Cloud Armor": "Security",
    "Cloud Pub/Sub": "Integration",
    "Cloud Tasks": "Integration",
    "Cloud Scheduler": "Integration",
    "Eventarc": "Integration",
    "Cloud Build": "Developer Tools",
    "Artifact Registry": "Developer Tools",
    "Container Registry": "Developer Tools",
    "Support": "Other",
}

# Fallbacks for services not named above, tried in order on the service description.
SERVICE_CATEGORY_PATTERNS = (
    (r"(?i)\b(vertex|ai|ml|tpu|gemini|automl)\b", "AI and Machine Learning"),
    (r"(?i)network|cdn|dns|vpn|interconnect", "Networking"),
    (r"(?i)storage|disk", "Storage"),
    (r"(?i)compute|kubernetes|run\b", "Compute"),
    (r"(?i)sql|spanner|bigtable|firestore|datastore|memorystore", "Databases"),
    (r"(?i)bigquery|dataflow|dataproc|composer|looker", "Analytics"),
)

# Cloud Storage SKU description → storage class (the GCS API's own names).
STORAGE_CLASS_PATTERNS = (
    (r"(?i)\barchive\b", "ARCHIVE"),
    (r"(?i)\bcoldline\b", "COLDLINE"),
    (r"(?i)\bnearline\b", "NEARLINE"),
    (r"(?i)durable reduced availability|\bDRA\b", "DURABLE_REDUCED_AVAILABILITY"),
    (r"(?i)\bstandard\b|multi-regional storage|regional storage|dual-region storage", "STANDARD"),
)

# Committed use discounts (FOCUS commitment columns). Usage a commitment covers carries a credit of
# one of these types; its id (else full name, else name) is the commitment. The commitment's own
# monthly fee is a SKU "Commitment v1: ... for 1 Year" (resource-based) or "Commitment - dollar
# based v1: ..." (spend-based): a recurring purchase, its id the row's ``subscription.instance_id``.
CUD_CREDIT_CATEGORY = {"COMMITTED_USAGE_DISCOUNT": "Usage", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE": "Spend"}
CUD_TYPE = "Committed Use Discount"
_COMMITMENT_FEE = r"(?i)^commitment\b"
_SPEND_BASED_FEE = r"(?i)dollar[ -]based|spend[ -]based"

# Adjustments (``adjustment_info.type`` / ``.mode``): corrections of earlier usage are charge class
# Correction; goodwill and SLA credits are Credit; any other adjustment stays Adjustment.
CORRECTION_MODES = ("PARTIAL_CORRECTION", "COMPLETE_NEGATION")
CREDIT_ADJUSTMENT_TYPES = ("GOODWILL", "SALES_BASED_GOODWILL", "SLA_VIOLATION")

MACHINE_SPEC_LABEL = "compute.googleapis.com/machine_spec"
_GPU_COUNT_IN_MACHINE_TYPE = r"^(?:a2|a3|a4|a4x)-[a-z]+-(\d+)g$"

_ENTRY = r"\{[^{}]*\}"


def _field_types(schema: pl.Schema) -> dict[str, pl.DataType]:
    """Every field the raw frame carries, by dotted path (flat CSV names or nested struct fields)."""
    fields: dict[str, pl.DataType] = {}

    def walk(prefix: str, dtype: pl.DataType) -> None:
        fields[prefix] = dtype
        if isinstance(dtype, pl.Struct):
            for f in dtype.fields:
                walk(f"{prefix}.{f.name}", f.dtype)

    for name, dtype in schema.items():
        walk(name, dtype)
    return fields


def _field_expr(path: str, fields: dict[str, pl.DataType], flat_names: set[str]) -> pl.Expr | None:
    """The expression for a dotted field, or None when the file does not carry it."""
    if path in flat_names:
        return pl.col(path)
    if path not in fields:
        return None
    head, *rest = path.split(".")
    expr = pl.col(head)
    for part in rest:
        expr = expr.struct.field(part)
    return expr


def _timestamp(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """UTC timestamp from a datetime (naive means UTC) or from text."""
    if isinstance(dtype, pl.Datetime):
        zoned = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
        return zoned.cast(UTC_TS)
    return parse_timestamp(expr, formats=_GCP_TS_FORMATS)


_GCP_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%d %H:%M:%S%.f UTC",
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
)


def _dict_value(entry: pl.Expr, key: str) -> pl.Expr:
    """The value of ``key`` in one ``{'key': value, ...}`` text (Python or JSON spelling)."""
    quoted = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,}\s]+"""
    raw = entry.str.extract(rf"""['"]{key}['"]\s*:\s*({quoted})""", 1)
    return text(raw.str.replace(r"""^'(.*)'$|^"(.*)"$""", "${1}${2}"))


def _entries(expr: pl.Expr, dtype: pl.DataType | None, keys: tuple[str, ...]) -> pl.Expr:
    """A list of structs with text ``keys`` from a nested list or from its CSV list text."""
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        present = {f.name for f in dtype.inner.fields}
        return expr.list.eval(
            pl.struct(
                [
                    (text(pl.element().struct.field(k)) if k in present else pl.lit(None, pl.String)).alias(k)
                    for k in keys
                ]
            )
        )
    if dtype is not None and dtype not in (pl.String, pl.Null):
        # e.g. a JSON ``[]`` in every row, which DuckDB types as a list of text: no entries
        return pl.lit(None, dtype=pl.List(pl.Struct({k: pl.String for k in keys})))
    return (
        text(expr).str.extract_all(_ENTRY).list.eval(pl.struct([_dict_value(pl.element(), k).alias(k) for k in keys]))
    )


def _json_string(expr: pl.Expr) -> pl.Expr:
    """A text value as a JSON string literal (or JSON null)."""
    escaped = (
        expr.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
    )
    return pl.when(expr.is_null()).then(pl.lit("null")).otherwise(pl.concat_str([pl.lit('"'), escaped, pl.lit('"')]))


def _labels_json(entries: pl.Expr) -> pl.Expr:
    """``[{key, value}, ...]`` as a JSON object text; null when there are no labels."""
    pairs = entries.list.eval(
        pl.concat_str(
            [
                _json_string(pl.element().struct.field("key")),
                pl.lit(":"),
                _json_string(pl.element().struct.field("value")),
            ]
        )
    )
    return pl.when(pairs.list.len() > 0).then(pl.concat_str([pl.lit("{"), pairs.list.join(","), pl.lit("}")]))


def _label_value(entries: pl.Expr, key: str) -> pl.Expr:
    """The value of one label, or null."""
    return entries.list.eval(
        pl.element().filter(pl.element().struct.field("key") == key).struct.field("value")
    ).list.first()


def _month_start(month: pl.Expr) -> pl.Expr:
    """``YYYYMM`` (or ``YYYY-MM``) → the first of that month, 00:00 UTC."""
    digits = month.str.replace("-", "", literal=True)
    parsed = pl.concat_str([digits, pl.lit("01")]).str.strptime(pl.Datetime("us"), "%Y%m%d", strict=False, exact=True)
    return pl.when(digits.str.contains(r"^\d{6}$")).then(parsed.dt.replace_time_zone("UTC").cast(UTC_TS))


def _service_category(service: pl.Expr) -> pl.Expr:
    """FOCUS service category of a GCP service description."""
    exact = service.replace_strict(SERVICE_CATEGORY_BY_SERVICE, default=None, return_dtype=pl.String)
    return pl.coalesce(exact, first_match(service, SERVICE_CATEGORY_PATTERNS), pl.lit("Other"))


def _credit_sum(credits: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(exact sum of credit amounts, the first amount text that did not parse)."""
    amount = pl.element().struct.field("amount")
    # per credit, on the value's own evidence: a batch function in list.eval would run once per row
    amounts = credits.list.eval(parse_decimal(amount, column_evidence=False))
    bad = credits.list.eval(
        amount.filter(text(amount).is_not_null() & parse_decimal(amount, column_evidence=False).is_null())
    ).list.first()
    return amounts.list.sum().fill_null(0).cast(MONEY), bad


def gcp_to_canonical(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Map a raw GCP billing export (flat CSV or nested JSONL / Parquet) onto billing_line_items."""
    schema = raw.collect_schema()
    fields = _field_types(schema)
    flat = set(schema.names())
    missing = [p for p in GCP_REQUIRED_FIELDS if p not in flat and p not in fields]
    if missing:
        raise FormatError(f"gcp billing export: missing required column(s) {', '.join(missing)}")

    def col(path: str) -> pl.Expr:
        expr = _field_expr(path, fields, flat)
        return expr if expr is not None else pl.lit(None, dtype=pl.String)

    def dtype(path: str) -> pl.DataType | None:
        return schema.get(path) if path in flat else fields.get(path)

    labels = _entries(col("labels"), dtype("labels"), ("key", "value"))
    system_labels = _entries(col("system_labels"), dtype("system_labels"), ("key", "value"))
    credits = _entries(col("credits"), dtype("credits"), ("name", "amount", "id", "type", "full_name"))
    credit_amount, bad_credit = _credit_sum(credits)
    cud_credit = credits.list.eval(
        pl.element().filter(pl.element().struct.field("type").str.to_uppercase().is_in(list(CUD_CREDIT_CATEGORY)))
    ).list.first()
    cud_credit_id = pl.coalesce(
        cud_credit.struct.field("id"), cud_credit.struct.field("full_name"), cud_credit.struct.field("name")
    )
    cud_credit_category = (
        cud_credit.struct.field("type")
        .str.to_uppercase()
        .replace_strict(CUD_CREDIT_CATEGORY, default=None, return_dtype=pl.String)
    )

    cost_raw = text(col("cost"))
    cost = parse_decimal(col("cost"))
    list_raw = text(col("cost_at_list"))
    start_raw, end_raw = text(col("usage_start_time")), text(col("usage_end_time"))
    start = _timestamp(col("usage_start_time"), dtype("usage_start_time") or pl.String)
    end = _timestamp(col("usage_end_time"), dtype("usage_end_time") or pl.String)
    month_raw = text(col("invoice.month"))
    period_start = _month_start(month_raw)
    cost_type = text(col("cost_type")).str.to_lowercase()
    service = text(col("service.description"))
    sku_description = text(col("sku.description"))
    adjustment_type = text(col("adjustment_info.type")).str.to_uppercase()
    adjustment_mode = text(col("adjustment_info.mode")).str.to_uppercase()
    is_adjustment = text(col("adjustment_info.id")).is_not_null() | adjustment_type.is_not_null()
    is_fee = (cost_type.is_null() | (cost_type == "regular")) & sku_description.str.contains(_COMMITMENT_FEE)
    from_cost_type = (
        pl.when(cost_type.is_null())
        .then(pl.lit("Usage"))
        .otherwise(cost_type.replace_strict(CHARGE_CATEGORY_BY_COST_TYPE, default=None, return_dtype=pl.String))
    )
    category = (
        pl.when(is_adjustment & (cost_type.is_null() | (cost_type != "tax")))
        .then(
            pl.when(adjustment_type.is_in(CREDIT_ADJUSTMENT_TYPES))
            .then(pl.lit("Credit"))
            .otherwise(pl.lit("Adjustment"))
        )
        .when(is_fee)
        .then(pl.lit("Purchase"))
        .otherwise(from_cost_type)
    )
    charge_class = pl.when(
        is_adjustment & (adjustment_type.str.ends_with("_CORRECTION") | adjustment_mode.is_in(CORRECTION_MODES))
    ).then(pl.lit("Correction"))
    fee_category = (
        pl.when(sku_description.str.contains(_SPEND_BASED_FEE)).then(pl.lit("Spend")).otherwise(pl.lit("Usage"))
    )
    commitment_id = pl.when(is_fee).then(text(col("subscription.instance_id"))).otherwise(cud_credit_id)
    commitment_category = pl.when(is_fee).then(fee_category).otherwise(cud_credit_category)
    is_commitment = is_fee | cud_credit_category.is_not_null()
    currency = text(col("currency")).str.to_uppercase()
    machine_spec = _label_value(system_labels, MACHINE_SPEC_LABEL)

    reason = pl.coalesce(
        reject_if_missing(
            {
                "billing_account_id": text(col("billing_account_id")),
                "cost": cost_raw,
                "currency": currency,
                "usage_start_time": start_raw,
                "usage_end_time": end_raw,
                "invoice.month": month_raw,
            }
        ),
        reject_if_unparsed(
            {
                "cost": (cost_raw, cost, "a decimal number"),
                "cost_at_list": (list_raw, parse_decimal(col("cost_at_list")), "a decimal number"),
                "usage_start_time": (start_raw, start, "an ISO 8601 timestamp"),
                "usage_end_time": (end_raw, end, "an ISO 8601 timestamp"),
                "invoice.month": (month_raw, period_start, "a month as YYYYMM"),
                "cost_type": (cost_type, from_cost_type, "regular, tax, adjustment or rounding_error"),
            }
        ),
        pl.when(bad_credit.is_not_null()).then(
            pl.format("column credits: expected a decimal amount in every credit, got '{}'", bad_credit)
        ),
        reject_unknown_currency(currency, "currency"),
    )

    is_usage = category == "Usage"
    return conform(
        raw.select(
            pl.lit("gcp").alias("provider"),
            text(col("billing_account_id")).alias("billing_account_id"),
            text(col("project.id")).alias("sub_account_id"),
            text(col("project.name")).alias("sub_account_name"),
            pl.lit("Google").alias("invoice_issuer"),
            period_start.alias("billing_period_start"),
            period_start.dt.offset_by("1mo").alias("billing_period_end"),
            start.alias("charge_period_start"),
            end.alias("charge_period_end"),
            category.alias("charge_category"),
            charge_class.alias("charge_class"),
            sku_description.alias("charge_description"),
            pl.when(is_usage)
            .then(pl.lit("Usage-Based"))
            .when(is_fee)
            .then(pl.lit("Recurring"))
            .alias("charge_frequency"),
            pl.when(is_commitment)
            .then(pl.lit("Committed"))
            .when(~is_usage)
            .then(None)
            .when(sku_description.str.contains(r"(?i)\b(spot|preemptible)\b"))
            .then(pl.lit("Dynamic"))
            .otherwise(pl.lit("Standard"))
            .alias("pricing_category"),
            parse_decimal(col("usage.amount_in_pricing_units"), QUANTITY).alias("pricing_quantity"),
            text(col("usage.pricing_unit")).alias("pricing_unit"),
            service.alias("service_name"),
            _service_category(service).alias("service_category"),
            pl.coalesce(text(col("seller_name")), pl.lit("Google")).alias("publisher_name"),
            pl.coalesce(text(col("resource.global_name")), text(col("resource.name"))).alias("resource_id"),
            text(col("resource.name")).alias("resource_name"),
            text(col("location.region")).alias("region_id"),
            text(col("location.zone")).alias("availability_zone"),
            text(col("sku.id")).alias("sku_id"),
            parse_decimal(col("usage.amount"), QUANTITY).alias("consumed_quantity"),
            text(col("usage.unit")).alias("consumed_unit"),
            currency.alias("billing_currency"),
            cost.alias("billed_cost"),
            (cost + credit_amount).cast(MONEY).alias("effective_cost"),
            pl.coalesce(parse_decimal(col("cost_at_list")), cost).alias("list_cost"),
            cost.alias("contracted_cost"),
            parse_decimal(col("price.effective_price")).alias("contracted_unit_price"),
            commitment_id.alias("commitment_discount_id"),
            commitment_category.alias("commitment_discount_category"),
            pl.when(is_commitment).then(pl.lit(CUD_TYPE)).alias("commitment_discount_type"),
            pl.when(is_usage & cud_credit_category.is_not_null())
            .then(pl.lit("Used"))
            .alias("commitment_discount_status"),
            _labels_json(labels).alias("tags"),
            machine_spec.alias("x_instance_type"),
            machine_spec.str.extract(_GPU_COUNT_IN_MACHINE_TYPE, 1).cast(pl.Int32, strict=False).alias("x_gpu_count"),
            pl.when(service == "Cloud Storage")
            .then(first_match(sku_description, STORAGE_CLASS_PATTERNS))
            .alias("x_storage_class"),
            sku_description.alias("x_usage_type"),
            transfer.gcp_direction(sku_description).alias("x_transfer_direction"),
            credit_amount.alias("x_credit_amount"),
            cost_type.alias("x_line_item_type"),
            pl.col("source_row").cast(pl.Int64),
            reason.alias("_reject_reason"),
        ),
        {**BILLING_COLUMNS, "_reject_reason": pl.String},
    )


def _lower_columns(sniff: Sniff) -> set[str]:
    return {c.strip().lstrip("\ufeff").lower() for c in sniff.columns}


def _looks_like_gcp_csv(sniff: Sniff) -> bool:
    """Flat BigQuery export headers: dotted service / sku / invoice fields."""
    cols = _lower_columns(sniff)
    return {"billing_account_id", "service.description", "usage_start_time", "cost", "invoice.month"} <= cols


def _looks_like_gcp_nested(sniff: Sniff) -> bool:
    """Nested BigQuery export top-level fields."""
    cols = _lower_columns(sniff)
    return {"billing_account_id", "service", "sku", "usage_start_time", "cost", "invoice"} <= cols


def _is_parquet(sniff: Sniff) -> bool:
    """Parquet: by name, by magic bytes, or a sniff with columns but no text head."""
    return sniff.name.lower().endswith(".parquet") or sniff.head.startswith("PAR1") or not sniff.head


def _is_jsonl(sniff: Sniff) -> bool:
    """JSON lines: a text head that starts with an object."""
    return sniff.head.lstrip().startswith("{")


register(
    SourceFormat(
        name="gcp_billing_csv",
        table="billing_line_items",
        reader="csv",
        matches=_looks_like_gcp_csv,
        columns=("billing_account_id", "service.description", "usage_start_time", "cost", "invoice.month"),
        to_table=gcp_to_canonical,
        description="Google Cloud billing export (BigQuery schema) flattened to CSV",
        period_policy="append",
    )
)
register(
    SourceFormat(
        name="gcp_billing_jsonl",
        table="billing_line_items",
        reader="jsonl",
        matches=lambda sniff: _looks_like_gcp_nested(sniff) and _is_jsonl(sniff) and not _is_parquet(sniff),
        to_table=gcp_to_canonical,
        description="Google Cloud billing export (BigQuery schema) as nested JSON lines",
        period_policy="append",
    )
)
register(
    SourceFormat(
        name="gcp_billing_parquet",
        table="billing_line_items",
        reader="parquet",
        matches=lambda sniff: _looks_like_gcp_nested(sniff) and _is_parquet(sniff),
        to_table=gcp_to_canonical,
        description="Google Cloud billing export (BigQuery schema) as nested Parquet",
        period_policy="append",
    )
)
