-- insert_manifest: records one loaded file (one row per file content hash).
INSERT INTO ingest_manifest
    (file_sha256, source_file, source_format, target_table, delivery_id, ingest_id,
     rows_in_file, rows_loaded, rows_rejected, ingested_at)
VALUES
    ($file_sha256, $source_file, $source_format, $target_table, $delivery_id, $ingest_id,
     $rows_in_file, $rows_loaded, $rows_rejected, $ingested_at)
