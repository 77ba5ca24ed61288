-- gpu_hourly_existing: one row per stored gpu_hourly row whose machine, GPU and hour the registered frame gpu_hourly_incoming also holds (hours in [$first_hour, $last_hour]).
SELECT h.*
FROM gpu_hourly AS h
SEMI JOIN gpu_hourly_incoming AS i
    ON h.hour = i.hour AND h.resource_id IS NOT DISTINCT FROM i.resource_id AND h.gpu_index IS NOT DISTINCT FROM i.gpu_index
WHERE h.hour >= $first_hour AND h.hour <= $last_hour
