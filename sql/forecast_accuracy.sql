-- forecast_accuracy: one row per target week in ($first_week, $week_start]: the total's one-week-ahead forecast stored the week before and the spend that came (null if the week has no attributed cost).
WITH actuals AS (
    SELECT week_start, sum(effective_cost_reporting) AS actual
    FROM attributed_cost
    WHERE week_start > $first_week AND week_start <= $week_start AND effective_cost_reporting IS NOT NULL
    GROUP BY week_start
)
SELECT f.target_week, f.made_week, f.mean, f.lower, f.upper, a.actual
FROM cost_forecasts f
LEFT JOIN actuals a ON a.week_start = f.target_week
WHERE f.category = 'total'
  AND f.target_week = f.made_week + INTERVAL 7 DAY
  AND f.target_week > $first_week AND f.target_week <= $week_start
ORDER BY f.target_week
