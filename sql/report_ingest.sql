-- report_ingest: one row per target table: files, rows read, loaded and rejected, over files ingested before $cutoff.
SELECT
    target_table,
    count(*) AS files,
    CAST(sum(rows_in_file) AS BIGINT) AS rows_in_file,
    CAST(sum(rows_loaded) AS BIGINT) AS rows_loaded,
    CAST(sum(rows_rejected) AS BIGINT) AS rows_rejected,
    max(ingested_at) AS last_ingested_at
FROM ingest_manifest
WHERE ingested_at < $cutoff
GROUP BY target_table
ORDER BY target_table
