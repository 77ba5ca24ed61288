-- gpu_metrics_between: one row per stored gpu_metrics sample taken in [$start, $end).
SELECT * FROM gpu_metrics WHERE ts >= $start AND ts < $end
