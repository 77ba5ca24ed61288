-- gpu_metrics_hours: one row per UTC hour holding stored gpu_metrics samples.
SELECT DISTINCT date_trunc('hour', ts) AS hour FROM gpu_metrics WHERE ts IS NOT NULL ORDER BY hour
