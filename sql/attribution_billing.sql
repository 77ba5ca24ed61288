-- attribution_billing: the columns attribution uses, one row per billing line item whose charge period
-- touches the week [$week_start, $week_end) and whose resource falls in partition $part of $parts
-- (hash of resource_id: a resource's rows are always in one partition). Unordered: attribution
-- numbers the rows by source_file, source_row itself.
SELECT
    provider, billing_account_id, sub_account_id, charge_period_start, charge_period_end, charge_category,
    charge_description, service_name, resource_id, resource_type, region_id, sku_id, billing_currency,
    billed_cost, effective_cost, list_cost, commitment_discount_status, tags, x_instance_type, x_gpu_count,
    x_storage_class, x_usage_type, x_operation, x_transfer_direction, x_line_item_type, source_file, source_row
FROM billing_week($week_start, $week_end)
WHERE hash(coalesce(resource_id, '')) % $parts = $part
