-- recommend_bucket_regions: one row per storage resource (bucket) billed in [$week_start, $week_end) with its region.
SELECT resource_id, any_value(region_id) AS region_id
FROM billing_line_items
WHERE charge_period_start >= $week_start
  AND charge_period_start < $week_end
  AND x_storage_class IS NOT NULL
  AND resource_id IS NOT NULL
  AND region_id IS NOT NULL
GROUP BY resource_id
ORDER BY resource_id
