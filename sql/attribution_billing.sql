-- attribution_billing: one row per billing line item whose charge period touches the week [$week_start, $week_end).
SELECT *
FROM billing_line_items
WHERE charge_period_start < $week_end
  AND (
      charge_period_start >= $week_start
      OR coalesce(charge_period_end, charge_period_start) > $week_start
  )
ORDER BY source_file, source_row
