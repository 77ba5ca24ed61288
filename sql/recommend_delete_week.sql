-- recommend_delete_week: removes the stored recommendations of the week starting $week_start.
DELETE FROM recommendations WHERE week_start = CAST($week_start AS DATE)
