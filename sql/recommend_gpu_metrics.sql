-- recommend_gpu_metrics: one row per machine and UTC hour with GPU samples in [$week_start, $week_end), from the hourly rollup gpu_hourly (never the raw samples); resource_id is the bill's id of the machine the log names (gpu_hourly_machines). The grain of transforms.detectors.common.machine_hours:
-- ts = the hour; util_sum / util_samples / util_max over every sample of the machine's GPUs in the hour (they
-- combine hours exactly); gpu_indexes and gpu_utils = each GPU with a utilisation sample in the hour, by
-- index (a missing index is one GPU), and its mean over the hour's samples. A fleet's week is 8x fewer rows
-- than its GPU-hours.
WITH per_name AS (  -- gpu_hourly holds one row per name, GPU and hour: grouped by the stored name first (fast)
    SELECT
        resource_id AS log_id,
        hour,
        sum(util_sum) AS util_sum,
        sum(util_samples) AS util_samples,
        max(util_max) AS util_max,
        list({'gpu_index': gpu_index, 'util_sum': util_sum, 'util_samples': util_samples}) AS gpus
    FROM gpu_hourly
    WHERE hour >= $week_start AND hour < $week_end AND resource_id IS NOT NULL
    GROUP BY resource_id, hour
),
per_machine AS (
    SELECT
        m.resource_id,
        p.hour,
        sum(p.util_sum) AS util_sum,
        sum(p.util_samples) AS util_samples,
        max(p.util_max) AS util_max,
        flatten(list(p.gpus)) AS gpus,
        count(*) AS names
    FROM per_name AS p
    JOIN gpu_hourly_machines($week_start, $week_end) AS m USING (log_id)
    GROUP BY m.resource_id, p.hour
),
combined AS (  -- a machine two logs name in the same hour: each GPU's sums over both names
    SELECT resource_id, hour, list({'gpu_index': gpu_index, 'util_sum': util_sum, 'util_samples': util_samples}) AS gpus
    FROM (
        SELECT resource_id, hour, g.gpu_index, sum(g.util_sum) AS util_sum, sum(g.util_samples) AS util_samples
        FROM (SELECT resource_id, hour, unnest(gpus) AS g FROM per_machine WHERE names > 1)
        GROUP BY resource_id, hour, g.gpu_index
    )
    GROUP BY resource_id, hour
),
gpus AS (
    SELECT * EXCLUDE (names) FROM per_machine WHERE names = 1
    UNION ALL BY NAME
    SELECT pm.* EXCLUDE (names, gpus), c.gpus
    FROM per_machine AS pm
    JOIN combined AS c USING (resource_id, hour)
),
sampled AS (
    SELECT * EXCLUDE (gpus), list_filter(list_sort(gpus), lambda g: g.util_samples > 0) AS sampled FROM gpus
)
SELECT
    hour AS ts,
    resource_id,
    util_sum,
    util_samples::BIGINT AS util_samples,
    util_max,
    list_transform(sampled, lambda g: g.gpu_index) AS gpu_indexes,
    list_transform(sampled, lambda g: g.util_sum / g.util_samples) AS gpu_utils
FROM sampled
ORDER BY resource_id, ts
