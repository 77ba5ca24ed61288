"""The CUR 2.0 (AWS Data Exports) Parquet columns the ``aws_cur2_parquet`` reader uses.

Names and types follow AWS's table dictionary for the ``COST_AND_USAGE_REPORT`` table
(docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html): snake_case scalar columns,
money and quantities as doubles, rates as strings, timestamps without a zone (UTC), and the
nested ``product`` and ``resource_tags`` columns as MAP<VARCHAR, VARCHAR>. A real export has
more columns; the reader ignores the rest. AWS also writes a few product attributes as top-level
columns (``product_instance_type``, ``product_region_code``, ``product_servicecode``, ``product_sku``,
``product_from_location``, ``product_to_location``, ...): where present they win over the map.
"""

from __future__ import annotations

import pyarrow as pa

MONEY_DOUBLE = pa.float64()
TIMESTAMP = pa.timestamp("ms")
TEXT_MAP = pa.map_(pa.string(), pa.string())

# The columns a CUR 2.0 file must have for the reader to accept it.
CUR2_REQUIRED: tuple[str, ...] = (
    "bill_payer_account_id",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_currency_code",
    "line_item_unblended_cost",
)

# Every column the reader reads (name -> pyarrow type); all but CUR2_REQUIRED may be absent.
CUR2_COLUMNS: dict[str, pa.DataType] = {
    "identity_line_item_id": pa.string(),
    "identity_time_interval": pa.string(),
    "bill_invoice_id": pa.string(),
    "bill_invoicing_entity": pa.string(),
    "bill_billing_entity": pa.string(),
    "bill_bill_type": pa.string(),
    "bill_payer_account_id": pa.string(),
    "bill_payer_account_name": pa.string(),
    "bill_billing_period_start_date": TIMESTAMP,
    "bill_billing_period_end_date": TIMESTAMP,
    "line_item_usage_account_id": pa.string(),
    "line_item_usage_account_name": pa.string(),
    "line_item_line_item_type": pa.string(),
    "line_item_usage_start_date": TIMESTAMP,
    "line_item_usage_end_date": TIMESTAMP,
    "line_item_product_code": pa.string(),
    "line_item_usage_type": pa.string(),
    "line_item_operation": pa.string(),
    "line_item_availability_zone": pa.string(),
    "line_item_resource_id": pa.string(),
    "line_item_usage_amount": pa.float64(),
    "line_item_currency_code": pa.string(),
    "line_item_unblended_rate": pa.string(),
    "line_item_unblended_cost": MONEY_DOUBLE,
    "line_item_line_item_description": pa.string(),
    "line_item_legal_entity": pa.string(),
    "pricing_public_on_demand_cost": MONEY_DOUBLE,
    "pricing_public_on_demand_rate": pa.string(),
    "pricing_rate_code": pa.string(),
    "pricing_term": pa.string(),
    "pricing_unit": pa.string(),
    "reservation_reservation_a_r_n": pa.string(),
    "reservation_effective_cost": MONEY_DOUBLE,
    "reservation_unused_amortized_upfront_fee_for_billing_period": MONEY_DOUBLE,
    "reservation_unused_recurring_fee": MONEY_DOUBLE,
    "savings_plan_savings_plan_a_r_n": pa.string(),
    "savings_plan_savings_plan_effective_cost": MONEY_DOUBLE,
    "savings_plan_total_commitment_to_date": MONEY_DOUBLE,
    "savings_plan_used_commitment": MONEY_DOUBLE,
    "product": TEXT_MAP,
    "resource_tags": TEXT_MAP,
}

# The keys the reader looks up in the ``product`` MAP (a missing key reads as null).
CUR2_PRODUCT_KEYS: tuple[str, ...] = (
    "product_name",
    "servicecode",
    "region",
    "region_code",
    "instance_type",
    "gpu",
    "storage_class",
    "volume_type",
    "volume_api_name",
    "transfer_type",
    "from_location",
    "to_location",
    "product_family",
    "sku",
)
# ``resource_tags`` keys are kept as AWS writes them (``user_team``, ``aws_created_by``, ...).
