-- unit_costs_token_billing: one row per week, provider, service, tags, SKU / usage type, unit and currency of the billing rows priced in tokens (ConsumedUnit, PricingUnit or the usage type names tokens) for weeks $first_week..$week_start.
SELECT
    CAST(date_trunc('week', charge_period_start AT TIME ZONE 'UTC') AS DATE) AS week_start,
    provider,
    coalesce(service_name, 'unknown') AS service_name,
    tags,
    coalesce(x_usage_type, sku_id, charge_description) AS sku,
    charge_description,
    coalesce(consumed_unit, pricing_unit) AS unit,
    billing_currency,
    sum(coalesce(consumed_quantity, pricing_quantity)) AS quantity,
    sum(effective_cost) AS effective_cost
FROM billing_line_items
WHERE charge_period_start >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND charge_period_start < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND coalesce(charge_category, 'Usage') = 'Usage'
  AND (lower(coalesce(consumed_unit, '')) LIKE '%token%'
       OR lower(coalesce(pricing_unit, '')) LIKE '%token%'
       OR lower(coalesce(x_usage_type, '')) LIKE '%token%'
       OR lower(coalesce(sku_id, '')) LIKE '%token%')
GROUP BY ALL
ORDER BY week_start, provider, service_name, sku, tags
