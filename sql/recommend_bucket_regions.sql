-- recommend_bucket_regions: one row per storage bucket (resource_id = the bucket's own name) billed before $week_end, with the region of its latest billed row.
-- The bill names a bucket as the CUR / FOCUS do (ml-data, arn:aws:s3:::ml-data), as GCP does
-- (//storage.googleapis.com/projects/_/buckets/ml-data) or as Azure does (.../storageAccounts/mldata);
-- storage rows are those with a storage class or in the Storage service category (FOCUS S3 rows
-- often name no class). A bucket keeps its region, so rows before the week count too.
WITH storage_rows AS (
    SELECT
        coalesce(
            nullif(regexp_extract(resource_id, '(?i)(?:/buckets/|/storageaccounts/|^arn:aws:s3:::)([^/]+)', 1), ''),
            resource_id
        ) AS bucket,
        region_id,
        charge_period_start
    FROM billing_line_items
    WHERE charge_period_start < $week_end
      AND (x_storage_class IS NOT NULL OR service_category = 'Storage')
      AND resource_id IS NOT NULL
      AND region_id IS NOT NULL
)
SELECT bucket AS resource_id, arg_max(region_id, strftime(charge_period_start, '%Y%m%d%H%M%S') || region_id) AS region_id
FROM storage_rows
GROUP BY bucket
ORDER BY bucket
