-- recommend_storage: one row per object of each bucket's latest inventory snapshot taken before $week_end.
WITH latest AS (
    SELECT provider, bucket, max(snapshot_date) AS snapshot_date
    FROM storage_inventory
    WHERE snapshot_date < CAST($week_end AS DATE)
    GROUP BY provider, bucket
)
SELECT s.snapshot_date, s.provider, s.bucket, s.key, s.size_bytes, s.storage_class, s.last_modified, s.last_accessed
FROM storage_inventory AS s
JOIN latest USING (provider, bucket, snapshot_date)
ORDER BY s.provider, s.bucket, s.key
