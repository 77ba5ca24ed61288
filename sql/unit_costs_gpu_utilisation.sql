-- unit_costs_gpu_utilisation: one row per week and resource for weeks $first_week..$week_start: GPU-hours sampled by telemetry and their utilisation weighted by sample length, from the hourly rollup gpu_hourly (never the raw samples, which retention prunes); resource_id is the bill's id of the machine the log names (machine_aliases).
-- Per GPU and hour the rollup keeps Σ interval_s (interval_s_sum), and over samples with a utilisation
-- Σ interval_s (util_interval_s) and Σ utilisation × interval_s (util_weighted_sum): their sums over the
-- week are the sums over its samples. Week bounds are whole hours, so an hour is in the range exactly
-- when its samples are.
WITH aliases AS (
    SELECT * FROM machine_aliases(CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC',
                                  CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC')
)
SELECT
    CAST(date_trunc('week', h.hour AT TIME ZONE 'UTC') AS DATE) AS week_start,
    coalesce(a.resource_id, s.resource_id, h.resource_id) AS resource_id,
    sum(coalesce(h.interval_s_sum, 0)) / 3600.0 AS sampled_gpu_hours,
    sum(h.util_weighted_sum) / nullif(sum(CASE WHEN h.util_samples > 0 THEN coalesce(h.util_interval_s, 0) END), 0) AS utilisation_pct
FROM gpu_hourly AS h
LEFT JOIN aliases AS a ON a.alias = lower(h.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(h.resource_id, '.', 1))
WHERE h.hour >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND h.hour < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND h.resource_id IS NOT NULL
GROUP BY ALL
ORDER BY week_start, resource_id
