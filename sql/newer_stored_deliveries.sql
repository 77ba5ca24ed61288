-- newer_stored_deliveries: one row per provider / account / billing period of the new delivery ($hashes of
-- $delivery_id) held by another delivery, loaded in an earlier run, whose own time is later than $delivery_time.
SELECT d.provider, d.billing_account_id, d.billing_period_start, d.delivery_id, d.delivery_time, d.time_source
FROM billing_deliveries AS d
JOIN (
    SELECT DISTINCT provider, billing_account_id, billing_period_start
    FROM billing_line_items
    WHERE delivery_id = $delivery_id AND list_contains($hashes, file_sha256)
) AS k USING (provider, billing_account_id, billing_period_start)
WHERE d.delivery_id <> $delivery_id
  AND d.ingest_id IS DISTINCT FROM $ingest_id
  AND d.delivery_time > $delivery_time
ORDER BY ALL
