-- attribution_week: one row per attributed_cost row of the week (its grain: day, category, team, project, model, resource, provider, service, currency, idle flag).
SELECT *
FROM attributed_cost
WHERE week_start = $week_start
