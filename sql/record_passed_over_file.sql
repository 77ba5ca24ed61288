-- record_passed_over_file: records one passed-over file (one row; the first decision on a file is kept).
INSERT INTO passed_over_files (file_sha256, source_file, delivery_id, reason, ingest_id, decided_at)
VALUES ($file_sha256, $source_file, $delivery_id, $reason, $ingest_id, $decided_at)
ON CONFLICT (file_sha256) DO NOTHING
