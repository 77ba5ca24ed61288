"""The warehouse's tables, named and typed in one place.

Every reader produces frames with exactly these columns, the DDL files in ``sql/schema/`` create
the tables with them, and tests/test_schema_ddl.py checks that the two agree (a fresh DuckDB's
``DESCRIBE`` of each table against its schema here). Money is DECIMAL(38, 12): twelve places (CUR
carries up to ten, FOCUS exports eleven decimal places; rounding happens only for display).
Timestamps are UTC.
"""

from __future__ import annotations

import polars as pl

MONEY = pl.Decimal(38, 12)
QUANTITY = pl.Decimal(38, 16)
UTC_TS = pl.Datetime("us", "UTC")

# ---------------------------------------------------------------------------------------------
# Canonical billing: one row per source line item, FOCUS column meanings in snake_case, plus
# x_ extension columns attribution needs and lineage.
# ---------------------------------------------------------------------------------------------
BILLING_COLUMNS: dict[str, pl.DataType] = {
    "provider": pl.String,  # aws | gcp | azure | oracle | other (lower case)
    "billing_account_id": pl.String,
    "billing_account_name": pl.String,
    "sub_account_id": pl.String,
    "sub_account_name": pl.String,
    "invoice_issuer": pl.String,
    "billing_period_start": UTC_TS,
    "billing_period_end": UTC_TS,
    "charge_period_start": UTC_TS,
    "charge_period_end": UTC_TS,
    "charge_category": pl.String,  # Usage | Purchase | Tax | Credit | Adjustment
    "charge_class": pl.String,  # null | Correction
    "charge_description": pl.String,
    "charge_frequency": pl.String,  # One-Time | Recurring | Usage-Based
    "pricing_category": pl.String,  # Standard | Dynamic | Committed | Other
    "pricing_quantity": QUANTITY,
    "pricing_unit": pl.String,
    "service_name": pl.String,
    "service_category": pl.String,  # FOCUS ServiceCategory (AI and Machine Learning, Compute, ...)
    "publisher_name": pl.String,
    "resource_id": pl.String,
    "resource_name": pl.String,
    "resource_type": pl.String,
    "region_id": pl.String,
    "availability_zone": pl.String,
    "sku_id": pl.String,
    "sku_price_id": pl.String,
    "consumed_quantity": QUANTITY,
    "consumed_unit": pl.String,
    "billing_currency": pl.String,  # ISO 4217
    "billed_cost": MONEY,
    "effective_cost": MONEY,  # amortised: the cost basis of every report
    "list_cost": MONEY,
    "contracted_cost": MONEY,
    "list_unit_price": MONEY,
    "contracted_unit_price": MONEY,
    "commitment_discount_id": pl.String,
    "commitment_discount_name": pl.String,
    "commitment_discount_category": pl.String,  # Spend | Usage
    "commitment_discount_type": pl.String,  # Reserved Instance | Savings Plan | Committed Use ...
    "commitment_discount_status": pl.String,  # Used | Unused
    "tags": pl.String,  # JSON object text, keys and values as the source has them; null if none
    # --- extensions (x_) that attribution and the detectors need ---
    "x_instance_type": pl.String,  # p5.48xlarge, a3-highgpu-8g, Standard_ND96asr_v4, ...
    "x_gpu_count": pl.Float64,  # GPUs of the instance where known (fractional for shared GPUs)
    "x_storage_class": pl.String,  # STANDARD, STANDARD_IA, GLACIER, Hot, Cool, NEARLINE, ...
    "x_usage_type": pl.String,  # the provider's usage type / meter (lineItem/UsageType, ...)
    "x_operation": pl.String,
    "x_transfer_direction": pl.String,  # internet_out | inter_region | intra_region | in | null
    "x_credit_amount": MONEY,  # credits carried inside the row (GCP); already in effective_cost
    "x_line_item_type": pl.String,  # the provider's own line item type (CUR LineItemType, ...)
    # --- FOCUS 1.2 / 1.3 / 1.4 columns (null where the source has no such column) ---
    "invoice_id": pl.String,  # FOCUS 1.2 InvoiceId
    "invoice_detail_id": pl.String,  # FOCUS 1.4 InvoiceDetailId
    "billing_account_type": pl.String,  # FOCUS 1.2 BillingAccountType
    "sub_account_type": pl.String,  # FOCUS 1.2 SubAccountType
    "service_provider_name": pl.String,  # FOCUS 1.3 ServiceProviderName (who sells the service)
    "host_provider_name": pl.String,  # FOCUS 1.3 HostProviderName (who hosts it)
    "sku_price_details": pl.String,  # FOCUS 1.1 SkuPriceDetails, JSON object text
    # Prices and cost in the pricing currency, which may be virtual (credits, tokens): never money,
    # never added to billed or effective cost.
    "pricing_currency": pl.String,
    "pricing_currency_effective_cost": MONEY,
    "pricing_currency_list_unit_price": MONEY,
    "pricing_currency_contracted_unit_price": MONEY,
    # FOCUS 1.3 split cost allocation: set on allocated charges, which replace their origin charge
    "allocated_method_id": pl.String,
    "allocated_method_details": pl.String,  # JSON
    "allocated_resource_id": pl.String,
    "allocated_resource_name": pl.String,
    "allocated_tags": pl.String,  # JSON object text
    "contract_applied": pl.String,  # FOCUS 1.3 ContractApplied, JSON
    "commitment_program_eligibility_details": pl.String,  # FOCUS 1.4, JSON
    "x_focus_version": pl.String,  # FOCUS version of the delivery: 1.0 | 1.1 | 1.2 | 1.3 | 1.4
    "x_token_count": pl.Float64,  # tokens consumed where ConsumedUnit counts tokens
    "x_extensions": pl.String,  # the provider's own extension columns (x_*, oci_*) as a JSON object
    # --- lineage ---
    "source_format": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,  # 1-based data row number in the source file (header not counted)
    "file_sha256": pl.String,
    "delivery_id": pl.String,
    "ingest_id": pl.String,
    # append-only sources (GCP): hash of the row's canonical content : its occurrence in the file
    # (transforms.deliveries.with_row_keys); null for sources whose deliveries replace.
    "row_key": pl.String,
}

# Added after append-only row keys were first stored: left out of the row key's content so that
# the keys of rows already stored stay the same (transforms.deliveries.with_row_keys).
ROW_KEY_EXCLUDED = frozenset(
    name
    for name in BILLING_COLUMNS
    if name
    in {
        "invoice_id",
        "invoice_detail_id",
        "billing_account_type",
        "sub_account_type",
        "service_provider_name",
        "host_provider_name",
        "sku_price_details",
        "pricing_currency",
        "pricing_currency_effective_cost",
        "pricing_currency_list_unit_price",
        "pricing_currency_contracted_unit_price",
        "allocated_method_id",
        "allocated_method_details",
        "allocated_resource_id",
        "allocated_resource_name",
        "allocated_tags",
        "contract_applied",
        "commitment_program_eligibility_details",
        "x_focus_version",
        "x_token_count",
        "x_extensions",
    }
)

# The columns a canonical row must have to be stored (others may be null).
BILLING_REQUIRED = (
    "provider",
    "billing_account_id",
    "billing_period_start",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "billing_currency",
    "billed_cost",
    "effective_cost",
)

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")

# ---------------------------------------------------------------------------------------------
# Usage logs (one table each). Lineage columns are the same for all of them.
# ---------------------------------------------------------------------------------------------
LINEAGE_COLUMNS: dict[str, pl.DataType] = {
    "source_format": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "file_sha256": pl.String,
    "ingest_id": pl.String,
}

GPU_METRICS_COLUMNS: dict[str, pl.DataType] = {
    "ts": UTC_TS,  # sample time
    "interval_s": pl.Float64,  # seconds the sample stands for
    "resource_id": pl.String,  # the machine as billing names it (instance id, node name)
    "gpu_index": pl.Int32,
    "gpu_uuid": pl.String,
    "gpu_model": pl.String,
    "utilization_pct": pl.Float64,  # 0..100
    "memory_used_mib": pl.Float64,
    "memory_total_mib": pl.Float64,
    "power_w": pl.Float64,
    **LINEAGE_COLUMNS,
}

JOBS_COLUMNS: dict[str, pl.DataType] = {
    "job_id": pl.String,
    "kind": pl.String,  # training | inference | preprocessing | evaluation | development
    "team": pl.String,
    "project": pl.String,
    "model": pl.String,
    "user_name": pl.String,
    "resource_id": pl.String,  # one row per job and machine it ran on
    "start_ts": UTC_TS,
    "end_ts": UTC_TS,  # null while running
    "gpus": pl.Int32,  # GPUs the job held on this machine
    "nodes": pl.Int32,  # machines the whole job spanned
    "state": pl.String,
    "pricing_model": pl.String,  # on_demand | spot | reserved, where the scheduler knows
    **LINEAGE_COLUMNS,
}

INFERENCE_COLUMNS: dict[str, pl.DataType] = {
    "ts": UTC_TS,  # request time, or the start of the hour for hourly aggregates
    "interval_s": pl.Float64,  # 0 for a single request, 3600 for an hourly row
    "endpoint": pl.String,
    "model": pl.String,
    "resource_id": pl.String,
    "requests": pl.Int64,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "batch_size": pl.Float64,  # mean batch size
    "latency_ms": pl.Float64,  # mean (or p50) latency
    **LINEAGE_COLUMNS,
}

STORAGE_INVENTORY_COLUMNS: dict[str, pl.DataType] = {
    "snapshot_date": pl.Date,
    "provider": pl.String,
    "bucket": pl.String,
    "key": pl.String,
    "size_bytes": pl.Int64,
    "storage_class": pl.String,
    "last_modified": UTC_TS,
    "last_accessed": UTC_TS,  # null where unknown
    **LINEAGE_COLUMNS,
}

NETWORK_FLOWS_COLUMNS: dict[str, pl.DataType] = {
    "interval_start": UTC_TS,
    "interval_s": pl.Float64,
    "source_resource_id": pl.String,
    "source_region": pl.String,
    "destination": pl.String,  # a resource id, a region, or "internet"
    "destination_region": pl.String,  # null for internet
    "bytes": pl.Int64,
    "content_key": pl.String,  # object / URL prefix served, where known
    **LINEAGE_COLUMNS,
}

USAGE_TABLES: dict[str, dict[str, pl.DataType]] = {
    "gpu_metrics": GPU_METRICS_COLUMNS,
    "jobs": JOBS_COLUMNS,
    "inference_requests": INFERENCE_COLUMNS,
    "storage_inventory": STORAGE_INVENTORY_COLUMNS,
    "network_flows": NETWORK_FLOWS_COLUMNS,
}

# ---------------------------------------------------------------------------------------------
# Attribution output. Grain: one row per week, day, category, team, project, model, resource,
# provider, service, currency and idle flag.
# ---------------------------------------------------------------------------------------------
CATEGORIES = ("training", "inference", "storage", "network", "data_processing", "other")
ATTRIBUTION_METHODS = ("rule", "usage", "service", "other")

ATTRIBUTED_COST_COLUMNS: dict[str, pl.DataType] = {
    "week_start": pl.Date,  # Monday of the ISO week
    "day": pl.Date,
    "category": pl.String,  # one of CATEGORIES
    "team": pl.String,  # "unattributed" where the data cannot tell
    "project": pl.String,
    "model": pl.String,
    "resource_id": pl.String,
    "provider": pl.String,
    "billing_account_id": pl.String,
    "service_name": pl.String,
    "billing_currency": pl.String,
    "is_idle": pl.Boolean,  # GPU hours no job used
    "is_unused_commitment": pl.Boolean,
    "attribution_method": pl.String,  # one of ATTRIBUTION_METHODS
    "charge_category": pl.String,
    "effective_cost": MONEY,
    "billed_cost": MONEY,
    "list_cost": MONEY,
    "reporting_currency": pl.String,
    "effective_cost_reporting": MONEY,  # null where no exchange rate is known
    "gpu_hours": pl.Float64,
    "energy_kwh": pl.Float64,
    "co2e_kg": pl.Float64,
}

# ---------------------------------------------------------------------------------------------
# Recommendations, one row per week and opportunity.
# ---------------------------------------------------------------------------------------------
RECOMMENDATION_COLUMNS: dict[str, pl.DataType] = {
    "week_start": pl.Date,
    "rec_id": pl.String,  # stable: a hash of kind and scope, the same from week to week
    "kind": pl.String,  # idle_gpu, underused_gpu, batching, gpu_to_cpu, ...
    "strategy": pl.String,  # the managers' strategy it answers to
    "resource_id": pl.String,
    "team": pl.String,
    "project": pl.String,
    "model": pl.String,
    "monthly_savings": MONEY,  # reporting currency, 730-hour month: the incremental saving in the plan
    "standalone_monthly_savings": MONEY,  # what it saves alone, before the plan (transforms/plan.py)
    "cost_basis": pl.String,  # JSON {cost key: monthly cost it acts on}: the cost lines it was computed from
    "plan_step": pl.String,  # remove | resize | cheaper | price
    "plan_order": pl.Int32,  # 1-based position in the week's plan
    "plan_note": pl.String,  # how the incremental figure follows from the standalone one
    "plan_effect": pl.String,  # JSON {cost key: incremental saving on it}
    "currency": pl.String,
    "formula": pl.String,
    "evidence": pl.String,  # JSON object of named numbers
    "evidence_text": pl.String,  # one line for people
    "confidence": pl.String,  # high | medium | low
    "confidence_reason": pl.String,
    "action": pl.String,  # one sentence
    "overlap_group": pl.String,  # recommendations on the same cost share a group
    "counted": pl.Boolean,  # true for open recommendations whose incremental saving is above zero
    "status": pl.String,  # new | open | resolved
    "first_seen_week": pl.Date,
    "realised_savings": MONEY,  # for resolved ones: the drop in that scope's cost, monthly
}

# ---------------------------------------------------------------------------------------------
# Data quality results, one row per expectation evaluated on one ingest or week (sql/schema/dq_results.sql).
# ---------------------------------------------------------------------------------------------
DQ_RESULTS_COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.String,
    "scope": pl.String,  # the file or the week validated
    "target_table": pl.String,
    "expectation": pl.String,
    "column_name": pl.String,
    "success": pl.Boolean,
    "unexpected_count": pl.Int64,
    "details": pl.String,
    "validated_at": UTC_TS,
}


def empty_frame(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with exactly these columns and types."""
    return pl.DataFrame(schema=columns)


def conform(frame: pl.LazyFrame, columns: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Select exactly ``columns`` in order, adding missing ones as typed nulls."""
    present = set(frame.collect_schema().names())
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in present else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in columns.items()
        ]
    )
