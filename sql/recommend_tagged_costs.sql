-- recommend_tagged_costs: one row per tagged resource, tag set, unit and currency billed in [$week_start, $week_end).
SELECT
    resource_id, provider, any_value(region_id) AS region_id, billing_currency, tags, consumed_unit,
    sum(effective_cost) AS effective_cost, sum(consumed_quantity) AS consumed_quantity
FROM billing_line_items
WHERE charge_period_start >= $week_start
  AND charge_period_start < $week_end
  AND tags IS NOT NULL
GROUP BY resource_id, provider, billing_currency, tags, consumed_unit
ORDER BY resource_id, consumed_unit
