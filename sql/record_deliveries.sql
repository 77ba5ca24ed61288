-- record_deliveries: one row per provider / account / billing period: the delivery holding it now.
INSERT INTO billing_deliveries
    (provider, billing_account_id, billing_period_start, delivery_id, delivered_at, replaced_delivery_id,
     delivery_time, time_source, ingest_id)
SELECT DISTINCT provider, billing_account_id, billing_period_start, $delivery_id, $now, NULL,
       $delivery_time, $time_source, $ingest_id
FROM billing_line_items
WHERE delivery_id = $delivery_id AND list_contains($hashes, file_sha256)
ON CONFLICT (provider, billing_account_id, billing_period_start) DO UPDATE SET
    replaced_delivery_id = CASE
        WHEN billing_deliveries.delivery_id <> excluded.delivery_id
             AND billing_deliveries.ingest_id IS DISTINCT FROM excluded.ingest_id
        THEN billing_deliveries.delivery_id
        ELSE billing_deliveries.replaced_delivery_id END,
    delivery_time = CASE
        WHEN billing_deliveries.delivery_id = excluded.delivery_id
        THEN greatest(billing_deliveries.delivery_time, excluded.delivery_time)
        ELSE excluded.delivery_time END,
    time_source = excluded.time_source,
    delivery_id = excluded.delivery_id,
    delivered_at = excluded.delivered_at,
    ingest_id = excluded.ingest_id
