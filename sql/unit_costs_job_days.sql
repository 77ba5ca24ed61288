-- unit_costs_job_days: one row per week, day, resource, team, project and model of the training category's busy (not idle) attributed cost for weeks $first_week..$week_start: the cost the jobs of that day share.
SELECT
    week_start,
    day,
    resource_id,
    coalesce(team, 'unattributed') AS team,
    coalesce(project, 'unattributed') AS project,
    coalesce(model, 'unattributed') AS model,
    sum(effective_cost_reporting) AS cost,
    sum(coalesce(gpu_hours, 0)) AS gpu_hours
FROM attributed_cost
WHERE week_start BETWEEN $first_week AND $week_start
  AND category = 'training'
  AND NOT coalesce(is_idle, false)
  AND effective_cost_reporting IS NOT NULL
  AND resource_id IS NOT NULL
GROUP BY ALL
ORDER BY week_start, day, resource_id, team, project, model
