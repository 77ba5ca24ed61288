-- forecast_history: one row per week and category for weeks $first_week..$week_start: spend in the reporting currency and its recurring commitment fees (charge category Purchase).
SELECT
    week_start,
    category,
    sum(effective_cost_reporting) AS cost,
    coalesce(sum(effective_cost_reporting) FILTER (WHERE charge_category = 'Purchase'), 0) AS recurring
FROM attributed_cost
WHERE week_start BETWEEN $first_week AND $week_start
  AND effective_cost_reporting IS NOT NULL
GROUP BY ALL
ORDER BY week_start, category
