-- attribution_billing_groups: one row per group of identical line items of the week [$week_start, $week_end): identical in every column attribution reads, amounts included, and in their charge period's UTC day and length (a period longer than a day: the period itself).
-- The columns are attribution_billing.sql's, money being ONE line item's amounts; line_items counts the
-- group's rows (attribution cuts one line item exactly and multiplies the parts by it), periods lists their
-- charge period starts (a machine's billed hours; repeats kept, attribution counts each once),
-- charge_period_start/_end are the group's first period, source_file/source_row its first line item in
-- source order (nulls last). An hourly machine's line items of one day become one row. The UTC day is
-- computed on epoch microseconds (floored: DuckDB's % keeps the dividend's sign), not with AT TIME ZONE.
WITH week_rows AS (
    SELECT
        *,
        epoch_us(charge_period_start) AS start_us,
        epoch_us(charge_period_end) - epoch_us(charge_period_start) AS period_us,
        coalesce(epoch_us(charge_period_end) - epoch_us(charge_period_start) > 86400000000, false) AS spread
    FROM billing_week($week_start, $week_end)
)
SELECT
    provider, billing_account_id, sub_account_id,
    min(charge_period_start) AS charge_period_start,
    min(charge_period_start) + to_microseconds(period_us) AS charge_period_end,
    charge_category, charge_description, service_name, resource_id, resource_type, region_id, sku_id,
    billing_currency, billed_cost, effective_cost, list_cost, commitment_discount_status, tags, x_instance_type,
    x_gpu_count, x_storage_class, x_usage_type, x_operation, x_transfer_direction, x_line_item_type,
    min({'file': source_file, 'row': source_row}).file AS source_file,
    min({'file': source_file, 'row': source_row}).row AS source_row,
    count(*) AS line_items,
    list(charge_period_start) AS periods
FROM week_rows
GROUP BY
    provider, billing_account_id, sub_account_id, charge_category, charge_description, service_name, resource_id,
    resource_type, region_id, sku_id, billing_currency, billed_cost, effective_cost, list_cost,
    commitment_discount_status, tags, x_instance_type, x_gpu_count, x_storage_class, x_usage_type, x_operation,
    x_transfer_direction, x_line_item_type, period_us,
    CASE WHEN spread THEN start_us ELSE (start_us - (start_us % 86400000000 + 86400000000) % 86400000000) END
