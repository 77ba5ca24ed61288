-- record_loaded_decisions: records a loaded delivery, one row per provider / account / billing period its files ($hashes) hold.
INSERT INTO delivery_decisions
    (ingest_id, provider, billing_account_id, billing_period_start, delivery_id, decision, reason, files,
     delivery_time, time_source, decided_at,
     export_manifest, export_name, export_id, export_type, data_version, export_run_id, export_billing_period)
SELECT DISTINCT $ingest_id, provider, billing_account_id, billing_period_start, $delivery_id, 'loaded', $reason,
       $files, $delivery_time, $time_source, $decided_at,
       $export_manifest, $export_name, $export_id, $export_type, $data_version, $export_run_id, $export_billing_period
FROM billing_line_items
WHERE delivery_id = $delivery_id AND list_contains($hashes, file_sha256)
