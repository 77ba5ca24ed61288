-- attribution_billing_rows: how many billing line items' charge periods touch the week [$week_start, $week_end).
SELECT count(*) AS line_items
FROM billing_week($week_start, $week_end)
