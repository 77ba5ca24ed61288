-- recommend_gpu_metrics: one row per machine, GPU and UTC hour with samples in [$week_start, $week_end), from the hourly rollup gpu_hourly (never the raw samples): ts = the hour, utilization_pct = the GPU's mean over the hour's samples, util_sum / util_samples / util_max to combine hours exactly (transforms.detectors.common.hourly_util), interval_s = the mean sampling interval; resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end)),
hours AS (
    SELECT coalesce(a.resource_id, s.resource_id, h.resource_id) AS resource_id, h.gpu_index, h.hour,
           h.util_sum, h.util_samples, h.util_max, h.interval_s_sum, h.interval_samples, h.samples
    FROM gpu_hourly AS h
    LEFT JOIN aliases AS a ON a.alias = lower(h.resource_id)
    LEFT JOIN aliases AS s ON s.alias = lower(split_part(h.resource_id, '.', 1))
    WHERE h.hour >= $week_start AND h.hour < $week_end AND h.resource_id IS NOT NULL
)
SELECT
    hour AS ts,
    sum(interval_s_sum) / nullif(sum(interval_samples), 0) AS interval_s,
    resource_id,
    gpu_index,
    sum(util_sum) / nullif(sum(util_samples), 0) AS utilization_pct,
    sum(util_sum) AS util_sum,
    sum(util_samples)::BIGINT AS util_samples,
    max(util_max) AS util_max,
    sum(samples)::BIGINT AS samples
FROM hours
GROUP BY resource_id, gpu_index, hour
ORDER BY resource_id, ts, gpu_index
