-- unit_costs_resources: one row per week, resource, team, project, model, category and idle flag for weeks $first_week..$week_start: cost in the reporting currency (converted rows only), GPU-hours and the resource's instance type from the bill.
WITH instance_types AS (
    SELECT resource_id, max(x_instance_type) AS instance_type
    FROM billing_line_items
    WHERE x_instance_type IS NOT NULL AND resource_id IS NOT NULL
    GROUP BY resource_id
)
SELECT
    a.week_start,
    a.resource_id,
    coalesce(a.team, 'unattributed') AS team,
    coalesce(a.project, 'unattributed') AS project,
    coalesce(a.model, 'unattributed') AS model,
    a.category,
    coalesce(a.is_idle, false) AS is_idle,
    coalesce(i.instance_type, 'unknown') AS instance_type,
    sum(a.effective_cost_reporting) AS cost,
    sum(coalesce(a.gpu_hours, 0)) AS gpu_hours
FROM attributed_cost a
LEFT JOIN instance_types i USING (resource_id)
WHERE a.week_start BETWEEN $first_week AND $week_start
  AND a.resource_id IS NOT NULL
  AND a.effective_cost_reporting IS NOT NULL
GROUP BY ALL
ORDER BY a.week_start, a.resource_id, team, project, model, a.category, is_idle
