-- report_rejections: one row per rejection reason (the offending value stripped), with a first example file and row, most frequent first.
WITH reasons AS (
    SELECT
        regexp_replace(r.reason, ', got ''.*''$', '') AS reason,
        r.source_file,
        r.source_row,
        r.file_sha256
    FROM rejected_rows AS r
    JOIN ingest_manifest AS m USING (file_sha256)
    WHERE m.ingested_at < $cutoff
)
SELECT
    reason,
    count(*) AS rows_rejected,
    count(DISTINCT file_sha256) AS files,
    first(source_file ORDER BY source_file, source_row) AS example_file,
    first(source_row ORDER BY source_file, source_row) AS example_row
FROM reasons
GROUP BY reason
ORDER BY rows_rejected DESC, reason
LIMIT $limit
