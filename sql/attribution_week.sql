-- attribution_week: one row per attributed_cost row of the week starting $week_start (its grain: day, category, team, project, model, resource, provider, service, currency, idle flag); read by attribution's summary, the detectors and the FOCUS export.
SELECT *
FROM attributed_cost
WHERE week_start = CAST($week_start AS DATE)
