-- report_recommendations: one row per recommendation of the week $week_start, largest savings first.
SELECT *
FROM recommendations
WHERE week_start = $week_start
ORDER BY monthly_savings DESC NULLS LAST, rec_id
