-- recommend_gpu_metrics: one row per GPU sample taken in [$week_start, $week_end).
SELECT ts, interval_s, resource_id, gpu_index, utilization_pct
FROM gpu_metrics
WHERE ts >= $week_start AND ts < $week_end AND resource_id IS NOT NULL
ORDER BY resource_id, ts, gpu_index
