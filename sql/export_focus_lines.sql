-- export_focus_lines: one row per billing line item whose charge period touches the week [$week_start, $week_end): the FOCUS columns the export carries over from each source line.
SELECT
    source_file, source_row, provider, billing_account_id, billing_account_name, billing_account_type, sub_account_id,
    sub_account_name, sub_account_type, invoice_issuer, invoice_id, billing_period_start, billing_period_end,
    charge_period_start, charge_period_end, charge_class, charge_description, charge_frequency, pricing_category,
    pricing_unit, service_name, service_category, publisher_name, service_provider_name, host_provider_name,
    resource_id, resource_name, resource_type, region_id, availability_zone, sku_id, sku_price_id, sku_price_details,
    consumed_unit, list_unit_price, contracted_unit_price, commitment_discount_id, commitment_discount_name,
    commitment_discount_category, commitment_discount_type, commitment_discount_status, pricing_currency, tags
FROM billing_week($week_start, $week_end)
