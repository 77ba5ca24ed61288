-- unit_costs_jobs: one row per job and machine of the training kinds (training, evaluation, development) that ran during weeks $first_week..$week_start (no end: still running).
SELECT job_id, kind, coalesce(team, 'unattributed') AS team, coalesce(project, 'unattributed') AS project,
       coalesce(model, 'unattributed') AS model, user_name, resource_id, start_ts, end_ts, gpus, nodes, state
FROM jobs
WHERE lower(kind) IN ('training', 'evaluation', 'development')
  AND start_ts < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND (end_ts IS NULL OR end_ts > CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC')
ORDER BY resource_id, start_ts, job_id
