-- unit_costs_gpu_utilisation: one row per week and resource for weeks $first_week..$week_start: GPU-hours sampled by telemetry and their utilisation weighted by sample length, from the hourly rollup gpu_hourly (never the raw samples, which retention prunes); resource_id is the bill's id of the machine the log names (gpu_hourly_machines).
-- Per GPU and hour the rollup keeps Σ interval_s (interval_s_sum), and over samples with a utilisation
-- Σ interval_s (util_interval_s) and Σ utilisation × interval_s (util_weighted_sum): their sums over the
-- week are the sums over its samples. Week bounds are whole hours, so an hour is in the range exactly
-- when its samples are.
WITH per_name AS (  -- grouped by the name the log stores first (fast), then by the bill's machine
    SELECT
        CAST(date_trunc('week', hour AT TIME ZONE 'UTC') AS DATE) AS week_start,
        resource_id AS log_id,
        sum(coalesce(interval_s_sum, 0)) AS interval_s,
        sum(util_weighted_sum) AS util_weighted_sum,
        sum(CASE WHEN util_samples > 0 THEN coalesce(util_interval_s, 0) END) AS util_interval_s
    FROM gpu_hourly
    WHERE hour >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
      AND hour < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
      AND resource_id IS NOT NULL
    GROUP BY ALL
)
SELECT
    n.week_start,
    m.resource_id,
    sum(n.interval_s) / 3600.0 AS sampled_gpu_hours,
    sum(n.util_weighted_sum) / nullif(sum(n.util_interval_s), 0) AS utilisation_pct
FROM per_name AS n
JOIN gpu_hourly_machines(CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC',
                         CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC') AS m USING (log_id)
GROUP BY n.week_start, m.resource_id
ORDER BY week_start, resource_id
