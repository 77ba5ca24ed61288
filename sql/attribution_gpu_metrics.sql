-- attribution_gpu_metrics: one row per GPU sample taken during the week [$week_start, $week_end).
SELECT *
FROM gpu_metrics
WHERE ts >= $week_start AND ts < $week_end
