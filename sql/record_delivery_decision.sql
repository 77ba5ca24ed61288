-- record_delivery_decision: records one decision on a delivery (one row; provider / account / period where known).
INSERT INTO delivery_decisions
    (ingest_id, provider, billing_account_id, billing_period_start, delivery_id, decision, reason, files,
     delivery_time, time_source, decided_at)
VALUES
    ($ingest_id, $provider, $billing_account_id, $billing_period_start, $delivery_id, $decision, $reason, $files,
     $delivery_time, $time_source, $decided_at)
