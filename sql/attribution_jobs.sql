-- attribution_jobs: one row per job and machine that ran during the week [$week_start, $week_end) (no end: still running); resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end))
SELECT j.* REPLACE (coalesce(a.resource_id, s.resource_id, j.resource_id) AS resource_id)
FROM jobs AS j
LEFT JOIN aliases AS a ON a.alias = lower(j.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(j.resource_id, '.', 1))
WHERE j.start_ts < $week_end
  AND (j.end_ts IS NULL OR j.end_ts > $week_start)
ORDER BY resource_id, j.start_ts, j.job_id
