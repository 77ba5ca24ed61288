-- gpu_rollup_backlog: one row: pending = gpu_hourly is empty while gpu_metrics holds samples (a warehouse from before the rollup); each side stops at its first row.
SELECT NOT EXISTS (SELECT 1 FROM gpu_hourly) AND EXISTS (SELECT 1 FROM gpu_metrics WHERE ts IS NOT NULL) AS pending
