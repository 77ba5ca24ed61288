-- recommend_week_rows: one row per stored recommendation of the week starting $week_start.
SELECT *
FROM recommendations
WHERE week_start = CAST($week_start AS DATE)
