-- attribution_gpu_metrics: one row per GPU machine and UTC day with samples in the week [$week_start, $week_end):
-- resource_id, day, gpus_seen (distinct gpu_index over the week, a missing index counting as one GPU),
-- gpu_model (of the machine's earliest sample that names one), mean_utilization_pct (over the week's
-- samples) and power_joules (the day's sum of power_w * interval_s; null if no sample carries both).
-- Read from the hourly rollup gpu_hourly (sums and counts per GPU and hour, maintained at ingest), never
-- from the raw samples. resource_id is the bill's id of the machine the log names (gpu_hourly_machines:
-- GCP host names, Azure VM names).
WITH per_name_day AS (  -- gpu_hourly holds one row per name, GPU and hour: grouped by the stored name first (fast)
    SELECT
        resource_id AS log_id,
        (hour AT TIME ZONE 'UTC')::DATE AS day,
        gpu_index,
        arg_min(gpu_model, model_ts) FILTER (WHERE gpu_model IS NOT NULL) AS gpu_model,
        min(model_ts) FILTER (WHERE gpu_model IS NOT NULL) AS model_ts,
        sum(util_sum) AS utilization_sum,
        sum(util_samples) AS utilization_samples,
        sum(energy_j) AS power_joules
    FROM gpu_hourly
    WHERE hour >= $week_start AND hour < $week_end
    GROUP BY resource_id, day, gpu_index
),
per_gpu_day AS (  -- the names of one machine combined
    SELECT
        coalesce(m.resource_id, n.log_id) AS resource_id,
        n.day,
        n.gpu_index,
        arg_min(n.gpu_model, n.model_ts) FILTER (WHERE n.gpu_model IS NOT NULL) AS gpu_model,
        min(n.model_ts) FILTER (WHERE n.gpu_model IS NOT NULL) AS model_ts,
        sum(n.utilization_sum) AS utilization_sum,
        sum(n.utilization_samples) AS utilization_samples,
        sum(n.power_joules) AS power_joules
    FROM per_name_day AS n
    LEFT JOIN gpu_hourly_machines($week_start, $week_end) AS m USING (log_id)
    GROUP BY 1, n.day, n.gpu_index
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
