-- replace_older_deliveries: removes the rows that other deliveries, loaded in earlier runs, hold of every
-- provider / account / billing period that the new delivery (the files $hashes of $delivery_id) holds.
DELETE FROM billing_line_items AS b
USING (
    SELECT DISTINCT provider, billing_account_id, billing_period_start
    FROM billing_line_items
    WHERE delivery_id = $delivery_id AND list_contains($hashes, file_sha256)
) AS k
WHERE b.provider = k.provider
  AND b.billing_account_id = k.billing_account_id
  AND b.billing_period_start = k.billing_period_start
  AND b.delivery_id <> $delivery_id
  AND b.ingest_id IS DISTINCT FROM $ingest_id
