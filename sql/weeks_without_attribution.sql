-- weeks_without_attribution: one row per ISO week (Monday) in [$first, $last) that has billing rows
-- charged in it but no attributed cost yet.
WITH weeks AS (
    SELECT CAST(w AS DATE) AS week_start
    FROM range(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP), INTERVAL 7 DAY) AS t(w)
)
SELECT week_start
FROM weeks
WHERE EXISTS (
        SELECT 1 FROM billing_line_items b
        WHERE b.charge_period_start < week_start + INTERVAL 7 DAY AND b.charge_period_end > week_start
    )
  AND NOT EXISTS (SELECT 1 FROM attributed_cost a WHERE a.week_start = weeks.week_start)
ORDER BY week_start
