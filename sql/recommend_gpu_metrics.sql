-- recommend_gpu_metrics: one row per GPU sample taken in [$week_start, $week_end); resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end))
SELECT g.ts, g.interval_s, coalesce(a.resource_id, s.resource_id, g.resource_id) AS resource_id, g.gpu_index, g.utilization_pct
FROM gpu_metrics AS g
LEFT JOIN aliases AS a ON a.alias = lower(g.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(g.resource_id, '.', 1))
WHERE g.ts >= $week_start AND g.ts < $week_end AND g.resource_id IS NOT NULL
ORDER BY resource_id, g.ts, g.gpu_index
