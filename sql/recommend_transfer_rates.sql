-- recommend_transfer_rates: one row per provider, transfer direction and currency billed in [$week_start, $week_end) in GB.
SELECT
    provider,
    x_transfer_direction AS direction,
    billing_currency,
    sum(effective_cost) AS effective_cost,
    sum(consumed_quantity) AS gb
FROM billing_line_items
WHERE charge_period_start >= $week_start
  AND charge_period_start < $week_end
  AND charge_category = 'Usage'
  AND x_transfer_direction IN ('internet_out', 'inter_region')
  AND upper(consumed_unit) IN ('GB', 'GIB', 'GIBIBYTE', 'GIGABYTE', 'GIGABYTES')
GROUP BY provider, x_transfer_direction, billing_currency
ORDER BY provider, direction, billing_currency
