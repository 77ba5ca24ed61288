-- recommend_commitment_lookback: one row per usage or commitment line item charged in [$lookback_start, $week_end) that is on-demand instance usage or carries a commitment, in no order (a 4-week lookback of a large fleet is millions of lines: sorting them all took more time and memory than reading them; the detector sorts the few commitment lines it takes names from).
SELECT
    provider, billing_currency, resource_id, charge_period_start, charge_period_end, charge_category, pricing_category,
    effective_cost, x_instance_type, region_id, commitment_discount_id, commitment_discount_name,
    commitment_discount_type, commitment_discount_status, x_line_item_type
FROM billing_week($lookback_start, $week_end)
WHERE starts_in_week
  AND (
      commitment_discount_id IS NOT NULL
      OR (charge_category = 'Usage' AND pricing_category = 'Standard' AND x_instance_type IS NOT NULL)
  )
