-- gpu_metrics_prune: deletes the raw gpu_metrics samples older than $weeks weeks before the newest hour rolled up (or now, if that is earlier); their hours stay in gpu_hourly.
DELETE FROM gpu_metrics
WHERE ts < least(now(), (SELECT max(hour) + INTERVAL 1 HOUR FROM gpu_hourly)) - to_weeks(CAST($weeks AS INTEGER))
