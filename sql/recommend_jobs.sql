-- recommend_jobs: one row per job and machine whose run overlaps [$week_start, $week_end) (running jobs have no end); resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end))
SELECT
    j.job_id, j.kind, j.team, j.project, j.model, j.user_name,
    coalesce(a.resource_id, s.resource_id, j.resource_id) AS resource_id,
    j.start_ts, j.end_ts, j.gpus, j.nodes, j.state, j.pricing_model
FROM jobs AS j
LEFT JOIN aliases AS a ON a.alias = lower(j.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(j.resource_id, '.', 1))
WHERE j.start_ts < $week_end AND (j.end_ts IS NULL OR j.end_ts > $week_start)
ORDER BY j.job_id, resource_id
