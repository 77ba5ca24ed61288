-- recommend_inference: one row per inference log row (request or hour) in [$week_start, $week_end); resource_id is the bill's id of the machine the log names (machine_aliases).
WITH aliases AS (SELECT * FROM machine_aliases($week_start, $week_end))
SELECT
    i.ts, i.interval_s, i.endpoint, i.model, coalesce(a.resource_id, s.resource_id, i.resource_id) AS resource_id,
    i.requests, i.tokens_in, i.tokens_out, i.batch_size, i.latency_ms
FROM inference_requests AS i
LEFT JOIN aliases AS a ON a.alias = lower(i.resource_id)
LEFT JOIN aliases AS s ON s.alias = lower(split_part(i.resource_id, '.', 1))
WHERE i.ts >= $week_start AND i.ts < $week_end
ORDER BY i.endpoint, i.ts
