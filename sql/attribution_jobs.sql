-- attribution_jobs: one row per job and machine that ran during the week [$week_start, $week_end) (no end: still running).
SELECT *
FROM jobs
WHERE start_ts < $week_end
  AND (end_ts IS NULL OR end_ts > $week_start)
ORDER BY resource_id, start_ts, job_id
