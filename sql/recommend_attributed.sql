-- recommend_attributed: one row per attributed_cost row of the week starting $week_start.
SELECT *
FROM attributed_cost
WHERE week_start = CAST($week_start AS DATE)
