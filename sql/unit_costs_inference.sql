-- unit_costs_inference: one row per week, endpoint, model and resource for weeks $first_week..$week_start: requests and tokens in and out from the inference logs; resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (
    SELECT * FROM machine_aliases(CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC',
                                  CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC')
)
SELECT
    CAST(date_trunc('week', ts AT TIME ZONE 'UTC') AS DATE) AS week_start,
    coalesce(endpoint, 'unknown') AS endpoint,
    coalesce(model, 'unknown') AS model,
    coalesce(a.resource_id, s.resource_id, i.resource_id) AS resource_id,
    sum(requests) AS requests,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out
FROM inference_requests AS i
LEFT JOIN aliases AS a ON a.alias = lower(i.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(i.resource_id, '.', 1))
WHERE ts >= CAST($first_week AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND ts < CAST($week_start + INTERVAL 7 DAY AS TIMESTAMP) AT TIME ZONE 'UTC'
GROUP BY ALL
ORDER BY week_start, endpoint, model, resource_id
