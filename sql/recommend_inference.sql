-- recommend_inference: one row per inference log row (request or hour) in [$week_start, $week_end).
SELECT ts, interval_s, endpoint, model, resource_id, requests, tokens_in, tokens_out, batch_size, latency_ms
FROM inference_requests
WHERE ts >= $week_start AND ts < $week_end
ORDER BY endpoint, ts
