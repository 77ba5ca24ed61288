-- gpu_hourly_merged: one row per machine, GPU and hour of gpu_hourly_incoming (the part of a file being stored, from gpu_hourly_part.sql): that part combined with the row gpu_hourly already holds for it (another file's part of the hour; hours in [$first_hour, $last_hour]): counts and sums add up, minima and maxima stay, the uuid and model are those of the earliest sample naming one.
WITH parts AS (
    SELECT * FROM gpu_hourly_incoming
    UNION ALL BY NAME
    SELECT h.*
    FROM gpu_hourly AS h
    SEMI JOIN gpu_hourly_incoming AS i
        ON h.hour = i.hour AND h.resource_id IS NOT DISTINCT FROM i.resource_id AND h.gpu_index IS NOT DISTINCT FROM i.gpu_index
    WHERE h.hour >= $first_hour AND h.hour <= $last_hour
)
SELECT
    resource_id,
    gpu_index,
    hour,
    arg_min(gpu_uuid, first_ts) FILTER (WHERE gpu_uuid IS NOT NULL) AS gpu_uuid,
    arg_min(gpu_model, model_ts) FILTER (WHERE gpu_model IS NOT NULL) AS gpu_model,
    min(model_ts) AS model_ts,
    min(first_ts) AS first_ts,
    max(last_ts) AS last_ts,
    sum(samples)::BIGINT AS samples,
    sum(util_samples)::BIGINT AS util_samples,
    sum(util_sum) AS util_sum,
    max(util_max) AS util_max,
    sum(util_interval_s) AS util_interval_s,
    sum(util_weighted_sum) AS util_weighted_sum,
    sum(memory_samples)::BIGINT AS memory_samples,
    sum(memory_used_sum) AS memory_used_sum,
    max(memory_used_max) AS memory_used_max,
    max(memory_total_max) AS memory_total_max,
    sum(power_samples)::BIGINT AS power_samples,
    sum(power_sum) AS power_sum,
    max(power_max) AS power_max,
    sum(energy_j) AS energy_j,
    sum(interval_samples)::BIGINT AS interval_samples,
    sum(interval_s_sum) AS interval_s_sum,
    min(interval_s_min) AS interval_s_min,
    max(interval_s_max) AS interval_s_max
FROM parts
GROUP BY resource_id, gpu_index, hour
