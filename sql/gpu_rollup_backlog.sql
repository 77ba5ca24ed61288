-- gpu_rollup_backlog: one row: the first and last day of the stored gpu_metrics samples when gpu_hourly is still empty (a warehouse from before the rollup), else nulls.
SELECT CAST(min(ts AT TIME ZONE 'UTC') AS DATE) AS first_day, CAST(max(ts AT TIME ZONE 'UTC') AS DATE) AS last_day
FROM gpu_metrics
WHERE NOT EXISTS (SELECT 1 FROM gpu_hourly)
