-- unit_costs_gpu_utilisation: one row per week and resource for weeks $first_week..$week_start: GPU-hours sampled by telemetry and their utilisation weighted by sample length; resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (
    SELECT * FROM machine_aliases(CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC',
                                  CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC')
)
SELECT
    CAST(date_trunc('week', ts AT TIME ZONE 'UTC') AS DATE) AS week_start,
    coalesce(a.resource_id, s.resource_id, g.resource_id) AS resource_id,
    sum(coalesce(interval_s, 0)) / 3600.0 AS sampled_gpu_hours,
    sum(utilization_pct * coalesce(interval_s, 0)) / nullif(sum(CASE WHEN utilization_pct IS NOT NULL THEN coalesce(interval_s, 0) END), 0) AS utilisation_pct
FROM gpu_metrics AS g
LEFT JOIN aliases AS a ON a.alias = lower(g.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(g.resource_id, '.', 1))
WHERE ts >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND ts < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND g.resource_id IS NOT NULL
GROUP BY ALL
ORDER BY week_start, resource_id
