-- report_cost: one row per week, day, category, team, project, model, provider, service, currency, idle flag and conversion state, for weeks $first_week..$week_start.
SELECT
    week_start,
    day,
    category,
    coalesce(team, 'unattributed') AS team,
    coalesce(project, 'unattributed') AS project,
    coalesce(model, 'unattributed') AS model,
    coalesce(provider, 'unknown') AS provider,
    coalesce(service_name, 'unknown') AS service_name,
    billing_currency,
    coalesce(is_idle, false) AS is_idle,
    effective_cost_reporting IS NOT NULL AS converted,
    sum(effective_cost) AS effective_cost,
    sum(effective_cost_reporting) AS effective_cost_reporting,
    sum(coalesce(gpu_hours, 0)) AS gpu_hours,
    sum(coalesce(energy_kwh, 0)) AS energy_kwh,
    sum(coalesce(co2e_kg, 0)) AS co2e_kg
FROM attributed_cost
WHERE week_start BETWEEN $first_week AND $week_start
GROUP BY ALL
ORDER BY week_start, day, category, team, project, model, provider, service_name, billing_currency
