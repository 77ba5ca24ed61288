-- passed_over_entry: the earlier decision that passed over the file with this content hash, if any (one row or none).
SELECT source_file, delivery_id, reason, decided_at FROM passed_over_files WHERE file_sha256 = $h
