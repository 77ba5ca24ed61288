-- recommendations_week: one row per stored recommendation of the week starting $week_start, largest savings first (read by the report and by the next week's tracking).
SELECT *
FROM recommendations
WHERE week_start = CAST($week_start AS DATE)
ORDER BY monthly_savings DESC NULLS LAST, rec_id
