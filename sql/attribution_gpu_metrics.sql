-- attribution_gpu_metrics: one row per GPU machine and UTC day with samples in the week [$week_start, $week_end):
-- resource_id, day, gpus_seen (distinct gpu_index over the week, a missing index counting as one GPU),
-- gpu_model (of the machine's earliest sample that names one), mean_utilization_pct (over the week's
-- samples) and power_joules (the day's sum of power_w * interval_s; null if no sample carries both).
-- Read from the hourly rollup gpu_hourly (sums and counts per GPU and hour, maintained at ingest), never
-- from the raw samples. resource_id is the bill's id of the machine the log names (machine_aliases:
-- GCP host names, Azure VM names).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end)),
hours AS (
    SELECT h.* REPLACE (coalesce(a.resource_id, s.resource_id, h.resource_id) AS resource_id)
    FROM gpu_hourly AS h
    LEFT JOIN aliases AS a ON a.alias = lower(h.resource_id)
    LEFT JOIN aliases AS s ON s.alias = lower(split_part(h.resource_id, '.', 1))
    WHERE h.hour >= $week_start AND h.hour < $week_end
),
per_gpu_day AS (
    SELECT
        resource_id,
        (hour AT TIME ZONE 'UTC')::DATE AS day,
        gpu_index,
        arg_min(gpu_model, model_ts) FILTER (WHERE gpu_model IS NOT NULL) AS gpu_model,
        min(model_ts) FILTER (WHERE gpu_model IS NOT NULL) AS model_ts,
        sum(util_sum) AS utilization_sum,
        sum(util_samples) AS utilization_samples,
        sum(energy_j) AS power_joules
    FROM hours
    GROUP BY resource_id, day, gpu_index
),
per_machine AS (
    SELECT
        resource_id,
        (count(DISTINCT gpu_index) + CASE WHEN bool_or(gpu_index IS NULL) THEN 1 ELSE 0 END)::INTEGER AS gpus_seen,
        arg_min(gpu_model, (model_ts, coalesce(gpu_index, -1))) FILTER (WHERE gpu_model IS NOT NULL) AS gpu_model,
        sum(utilization_sum) / nullif(sum(utilization_samples), 0) AS mean_utilization_pct
    FROM per_gpu_day
    GROUP BY resource_id
),
per_day AS (
    SELECT resource_id, day, sum(power_joules) AS power_joules
    FROM per_gpu_day
    GROUP BY resource_id, day
)
SELECT d.resource_id, d.day, m.gpus_seen, m.gpu_model, m.mean_utilization_pct, d.power_joules
FROM per_day AS d
JOIN per_machine AS m ON d.resource_id IS NOT DISTINCT FROM m.resource_id
ORDER BY d.resource_id, d.day
