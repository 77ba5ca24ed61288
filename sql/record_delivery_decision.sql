-- record_delivery_decision: records one decision on a delivery (one row; provider / account / period where known).
INSERT INTO delivery_decisions
    (ingest_id, provider, billing_account_id, billing_period_start, delivery_id, decision, reason, files,
     delivery_time, time_source, decided_at,
     export_manifest, export_name, export_id, export_type, data_version, export_run_id, export_billing_period)
VALUES
    ($ingest_id, $provider, $billing_account_id, $billing_period_start, $delivery_id, $decision, $reason, $files,
     $delivery_time, $time_source, $decided_at,
     $export_manifest, $export_name, $export_id, $export_type, $data_version, $export_run_id, $export_billing_period)
