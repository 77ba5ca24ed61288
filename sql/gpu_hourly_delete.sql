-- gpu_hourly_delete: removes the stored gpu_hourly rows of the machines, GPUs and hours of the table gpu_hourly_incoming (hours in [$first_hour, $last_hour]), before their merged rows are inserted.
DELETE FROM gpu_hourly AS h
USING gpu_hourly_incoming AS i
WHERE h.hour >= $first_hour AND h.hour <= $last_hour
  AND h.hour = i.hour AND h.resource_id IS NOT DISTINCT FROM i.resource_id AND h.gpu_index IS NOT DISTINCT FROM i.gpu_index
