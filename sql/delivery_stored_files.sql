-- delivery_stored_files: one row per file already loaded for the delivery $delivery_id or a later run of its
-- export ($delivery_id || '~...'), newest first.
SELECT delivery_id, source_file, file_sha256, ingested_at
FROM ingest_manifest
WHERE delivery_id = $delivery_id OR starts_with(delivery_id, $delivery_id || '~')
ORDER BY ingested_at DESC, source_file
