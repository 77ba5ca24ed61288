-- quality_billing_week: the canonical billing rows charged in the ISO week starting $week_start (one row per line item; billing_week).
SELECT provider, billing_account_id, billing_period_start, charge_period_start, charge_period_end,
       charge_category, billing_currency, billed_cost, effective_cost, source_file, source_row
FROM billing_week(CAST($week_start AS DATE), CAST($week_start AS DATE) + INTERVAL 7 DAY)
