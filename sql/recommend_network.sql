-- recommend_network: one row per network flow interval starting in [$week_start, $week_end).
SELECT interval_start, interval_s, source_resource_id, source_region, destination, destination_region, bytes, content_key
FROM network_flows
WHERE interval_start >= $week_start AND interval_start < $week_end
ORDER BY interval_start, source_resource_id
