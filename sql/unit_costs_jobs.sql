-- unit_costs_jobs: one row per job and machine of the training kinds (training, evaluation, development) that ran during weeks $first_week..$week_start (no end: still running); resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (
    SELECT * FROM machine_aliases(CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC',
                                  CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC')
)
SELECT job_id, kind, coalesce(team, 'unattributed') AS team, coalesce(project, 'unattributed') AS project,
       coalesce(model, 'unattributed') AS model, user_name, coalesce(a.resource_id, s.resource_id, j.resource_id) AS resource_id, start_ts, end_ts, gpus, nodes, state
FROM jobs AS j
LEFT JOIN aliases AS a ON a.alias = lower(j.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(j.resource_id, '.', 1))
WHERE lower(kind) IN ('training', 'evaluation', 'development')
  AND start_ts < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND (end_ts IS NULL OR end_ts > CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC')
ORDER BY 7, start_ts, job_id
