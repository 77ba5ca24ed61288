-- recommend_tagged_costs: one row per tagged resource, tag set, usage type, unit and currency billed in [$week_start, $week_end).
-- consumed_* are the usage as the provider measures it, pricing_* as it prices it (GCP persistent disks:
-- byte-seconds consumed, gibibyte months priced); x_usage_type names the SKU or meter (Azure disk tiers).
SELECT
    resource_id, provider, any_value(region_id) AS region_id, billing_currency, tags, consumed_unit, pricing_unit,
    x_usage_type, sum(effective_cost) AS effective_cost, sum(consumed_quantity) AS consumed_quantity,
    sum(pricing_quantity) AS pricing_quantity
FROM billing_week($week_start, $week_end)
WHERE starts_in_week
  AND tags IS NOT NULL
GROUP BY resource_id, provider, billing_currency, tags, consumed_unit, pricing_unit, x_usage_type
ORDER BY resource_id, consumed_unit, pricing_unit, x_usage_type
