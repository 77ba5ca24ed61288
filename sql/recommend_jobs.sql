-- recommend_jobs: one row per job and machine whose run overlaps [$week_start, $week_end) (running jobs have no end).
SELECT job_id, kind, team, project, model, user_name, resource_id, start_ts, end_ts, gpus, nodes, state, pricing_model
FROM jobs
WHERE start_ts < $week_end AND (end_ts IS NULL OR end_ts > $week_start)
ORDER BY job_id, resource_id
