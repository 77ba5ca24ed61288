-- gpu_metrics_prune: deletes the raw gpu_metrics samples of files ingested more than $weeks weeks before $now (ingest_manifest.ingested_at); their hours stay in gpu_hourly.
DELETE FROM gpu_metrics
WHERE file_sha256 IN (
    SELECT file_sha256 FROM ingest_manifest
    WHERE target_table = 'gpu_metrics' AND ingested_at < $now - to_weeks(CAST($weeks AS INTEGER))
)
