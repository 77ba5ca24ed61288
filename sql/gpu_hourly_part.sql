-- gpu_hourly_part: one row per machine (resource_id), GPU (gpu_index) and UTC hour of the samples in gpu_rollup_samples (rows of gpu_metrics, a view flows/telemetry.py sets up): their sums, counts, minima and maxima (columns as transforms/gpu_rollup.py documents them); samples without a time are left out.
SELECT
    resource_id,
    gpu_index,
    date_trunc('hour', ts) AS hour,
    arg_min(gpu_uuid, ts) FILTER (WHERE gpu_uuid IS NOT NULL) AS gpu_uuid,
    arg_min(gpu_model, ts) FILTER (WHERE gpu_model IS NOT NULL) AS gpu_model,
    min(ts) FILTER (WHERE gpu_model IS NOT NULL) AS model_ts,
    min(ts) AS first_ts,
    max(ts) AS last_ts,
    count(*) AS samples,
    count(utilization_pct) AS util_samples,
    sum(utilization_pct) AS util_sum,
    max(utilization_pct) AS util_max,
    sum(interval_s) FILTER (WHERE utilization_pct IS NOT NULL) AS util_interval_s,
    sum(utilization_pct * interval_s) AS util_weighted_sum,
    count(memory_used_mib) AS memory_samples,
    sum(memory_used_mib) AS memory_used_sum,
    max(memory_used_mib) AS memory_used_max,
    max(memory_total_mib) AS memory_total_max,
    count(power_w) AS power_samples,
    sum(power_w) AS power_sum,
    max(power_w) AS power_max,
    sum(power_w * interval_s) AS energy_j,
    count(interval_s) AS interval_samples,
    sum(interval_s) AS interval_s_sum,
    min(interval_s) AS interval_s_min,
    max(interval_s) AS interval_s_max
FROM gpu_rollup_samples
WHERE ts IS NOT NULL
GROUP BY ALL
