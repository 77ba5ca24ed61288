-- unit_costs_inference: one row per week, endpoint, model and resource for weeks $first_week..$week_start: requests and tokens in and out from the inference logs.
SELECT
    CAST(date_trunc('week', ts AT TIME ZONE 'UTC') AS DATE) AS week_start,
    coalesce(endpoint, 'unknown') AS endpoint,
    coalesce(model, 'unknown') AS model,
    resource_id,
    sum(requests) AS requests,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out
FROM inference_requests
WHERE ts >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND ts < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
GROUP BY ALL
ORDER BY week_start, endpoint, model, resource_id
