-- record_deliveries: one row per provider / account / billing period: the delivery holding it now.
INSERT INTO billing_deliveries
    (provider, billing_account_id, billing_period_start, delivery_id, delivered_at, replaced_delivery_id)
SELECT DISTINCT provider, billing_account_id, billing_period_start, $delivery_id, $now, NULL
FROM billing_line_items
WHERE delivery_id = $delivery_id AND list_contains($hashes, file_sha256)
ON CONFLICT (provider, billing_account_id, billing_period_start) DO UPDATE SET
    replaced_delivery_id = CASE
        WHEN billing_deliveries.delivery_id <> excluded.delivery_id THEN billing_deliveries.delivery_id
        ELSE billing_deliveries.replaced_delivery_id END,
    delivery_id = excluded.delivery_id,
    delivered_at = excluded.delivered_at
