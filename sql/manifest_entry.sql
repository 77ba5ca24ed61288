-- manifest_entry: the file already loaded with this content hash, if any (one row or none).
SELECT source_file, ingested_at FROM ingest_manifest WHERE file_sha256 = $h
