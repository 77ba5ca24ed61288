-- quality_billing_week: the canonical billing rows charged in one ISO week (one row per line item).
SELECT provider, billing_account_id, billing_period_start, charge_period_start, charge_period_end,
       charge_category, billing_currency, billed_cost, effective_cost, source_file, source_row
FROM billing_line_items
WHERE charge_period_start < CAST($week_start AS DATE) + INTERVAL 7 DAY
  AND charge_period_end > CAST($week_start AS DATE)
