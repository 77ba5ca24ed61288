-- attribution_billing_rows: how many billing line items' charge periods touch the week [$week_start, $week_end).
SELECT count(*) AS line_items
FROM billing_line_items
WHERE charge_period_start < $week_end
  AND (
      charge_period_start >= $week_start
      OR coalesce(charge_period_end, charge_period_start) > $week_start
  )
