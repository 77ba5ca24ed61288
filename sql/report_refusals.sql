-- report_refusals: one row per file refused between $since and $cutoff (its latest refusal) and not loaded since.
SELECT source_file, file_sha256, reason, refused_at
FROM ingest_refusals AS r
WHERE refused_at >= $since
  AND refused_at < $cutoff
  AND NOT EXISTS (
      SELECT 1 FROM ingest_manifest AS m
      WHERE m.file_sha256 = r.file_sha256 AND m.ingested_at > r.refused_at AND m.ingested_at < $cutoff
  )
QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY refused_at DESC) = 1
ORDER BY source_file
