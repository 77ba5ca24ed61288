"""The AWS column names the generator writes, spelled as AWS documents them (not taken from the readers).

Legacy CUR CSV headers: the Cost and Usage Reports data dictionary
(docs.aws.amazon.com/cur/latest/userguide/data-dictionary.html: ``identity/``, ``bill/``, ``lineItem/``,
``product/``, ``pricing/``, ``reservation/``, ``savingsPlan/`` and ``resourceTags/user:<key>`` columns).
CUR 2.0 Parquet columns and their types: the Data Exports table dictionary for the
``COST_AND_USAGE_REPORT`` table (docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html):
snake_case scalar columns, costs and quantities as double, rates as string, timestamps without a zone,
``product`` and ``resource_tags`` as MAP<string, string> (product attributes keyed in snake_case,
tags as ``user_<key>``).

The readers keep their own tables (``transforms.billing.aws_fields.FIELDS``,
``transforms.billing.aws_cur2_columns.CUR2_COLUMNS``); tests/billing/test_generator_columns.py checks
the two agree, so a misspelt column on either side shows.
"""

from __future__ import annotations

import pyarrow as pa

# generator field -> legacy CUR CSV header, in the order written (after the identity columns and
# bill/BillType; a field the line items lack is left out)
LEGACY_IDENTITY: dict[str, str] = {"line_item_id": "identity/LineItemId", "time_interval": "identity/TimeInterval"}
LEGACY_HEADERS: dict[str, str] = {
    "payer_account_id": "bill/PayerAccountId",
    "invoicing_entity": "bill/InvoicingEntity",
    "billing_entity": "bill/BillingEntity",
    "billing_period_start": "bill/BillingPeriodStartDate",
    "billing_period_end": "bill/BillingPeriodEndDate",
    "usage_account_id": "lineItem/UsageAccountId",
    "line_item_type": "lineItem/LineItemType",
    "usage_start": "lineItem/UsageStartDate",
    "usage_end": "lineItem/UsageEndDate",
    "product_code": "lineItem/ProductCode",
    "usage_type": "lineItem/UsageType",
    "operation": "lineItem/Operation",
    "availability_zone": "lineItem/AvailabilityZone",
    "resource_id": "lineItem/ResourceId",
    "usage_amount": "lineItem/UsageAmount",
    "currency": "lineItem/CurrencyCode",
    "unblended_cost": "lineItem/UnblendedCost",
    "description": "lineItem/LineItemDescription",
    "legal_entity": "lineItem/LegalEntity",
    "product_name": "product/ProductName",
    "servicecode": "product/servicecode",
    "region": "product/region",
    "region_code": "product/regionCode",
    "instance_type": "product/instanceType",
    "gpu": "product/gpu",
    "storage_class": "product/storageClass",
    "volume_type": "product/volumeType",
    "volume_api_name": "product/volumeApiName",
    "transfer_type": "product/transferType",
    "from_location": "product/fromLocation",
    "to_location": "product/toLocation",
    "product_family": "product/productFamily",
    "sku": "product/sku",
    "public_on_demand_cost": "pricing/publicOnDemandCost",
    "public_on_demand_rate": "pricing/publicOnDemandRate",
    "rate_code": "pricing/RateCode",
    "term": "pricing/term",
    "pricing_unit": "pricing/unit",
    "reservation_arn": "reservation/ReservationARN",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_unused_upfront": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation_unused_recurring": "reservation/UnusedRecurringFee",
    "savings_plan_arn": "savingsPlan/SavingsPlanARN",
    "savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
    "unblended_rate": "lineItem/UnblendedRate",
}
LEGACY_BILL_TYPE = "bill/BillType"
LEGACY_TAG_PREFIX = "resourceTags/user:"

MONEY_DOUBLE = pa.float64()
TIMESTAMP = pa.timestamp("ms")
TEXT_MAP = pa.map_(pa.string(), pa.string())

# CUR 2.0 column -> (generator field or None, type), in the order the generator writes them.
# ``bill_bill_type`` is a constant, ``product`` and ``resource_tags`` are the MAPs below.
CUR2_COLUMNS: dict[str, tuple[str | None, pa.DataType]] = {
    "identity_line_item_id": ("line_item_id", pa.string()),
    "identity_time_interval": ("time_interval", pa.string()),
    "bill_invoice_id": (None, pa.string()),
    "bill_invoicing_entity": ("invoicing_entity", pa.string()),
    "bill_billing_entity": ("billing_entity", pa.string()),
    "bill_bill_type": (None, pa.string()),
    "bill_payer_account_id": ("payer_account_id", pa.string()),
    "bill_payer_account_name": ("payer_account_name", pa.string()),
    "bill_billing_period_start_date": ("billing_period_start", TIMESTAMP),
    "bill_billing_period_end_date": ("billing_period_end", TIMESTAMP),
    "line_item_usage_account_id": ("usage_account_id", pa.string()),
    "line_item_usage_account_name": ("usage_account_name", pa.string()),
    "line_item_line_item_type": ("line_item_type", pa.string()),
    "line_item_usage_start_date": ("usage_start", TIMESTAMP),
    "line_item_usage_end_date": ("usage_end", TIMESTAMP),
    "line_item_product_code": ("product_code", pa.string()),
    "line_item_usage_type": ("usage_type", pa.string()),
    "line_item_operation": ("operation", pa.string()),
    "line_item_availability_zone": ("availability_zone", pa.string()),
    "line_item_resource_id": ("resource_id", pa.string()),
    "line_item_usage_amount": ("usage_amount", pa.float64()),
    "line_item_currency_code": ("currency", pa.string()),
    "line_item_unblended_rate": ("unblended_rate", pa.string()),
    "line_item_unblended_cost": ("unblended_cost", MONEY_DOUBLE),
    "line_item_line_item_description": ("description", pa.string()),
    "line_item_legal_entity": ("legal_entity", pa.string()),
    "pricing_public_on_demand_cost": ("public_on_demand_cost", MONEY_DOUBLE),
    "pricing_public_on_demand_rate": ("public_on_demand_rate", pa.string()),
    "pricing_rate_code": ("rate_code", pa.string()),
    "pricing_term": ("term", pa.string()),
    "pricing_unit": ("pricing_unit", pa.string()),
    "reservation_reservation_a_r_n": ("reservation_arn", pa.string()),
    "reservation_effective_cost": ("reservation_effective_cost", MONEY_DOUBLE),
    "reservation_unused_amortized_upfront_fee_for_billing_period": ("reservation_unused_upfront", MONEY_DOUBLE),
    "reservation_unused_recurring_fee": ("reservation_unused_recurring", MONEY_DOUBLE),
    "savings_plan_savings_plan_a_r_n": ("savings_plan_arn", pa.string()),
    "savings_plan_savings_plan_effective_cost": ("savings_plan_effective_cost", MONEY_DOUBLE),
    "savings_plan_total_commitment_to_date": ("savings_plan_total_commitment", MONEY_DOUBLE),
    "savings_plan_used_commitment": ("savings_plan_used_commitment", MONEY_DOUBLE),
    "product": (None, TEXT_MAP),
    "resource_tags": (None, TEXT_MAP),
}
CUR2_SCHEMA = pa.schema([(name, typ) for name, (_, typ) in CUR2_COLUMNS.items()])

# generator field -> key of the CUR 2.0 ``product`` MAP
CUR2_PRODUCT_KEYS: dict[str, str] = {
    "product_name": "product_name",
    "servicecode": "servicecode",
    "region": "region",
    "region_code": "region_code",
    "instance_type": "instance_type",
    "gpu": "gpu",
    "storage_class": "storage_class",
    "volume_type": "volume_type",
    "volume_api_name": "volume_api_name",
    "transfer_type": "transfer_type",
    "from_location": "from_location",
    "to_location": "to_location",
    "product_family": "product_family",
    "sku": "sku",
}
CUR2_TAG_PREFIX = "user_"
