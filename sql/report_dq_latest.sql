-- report_dq_latest: one row per scope, table, expectation and column: its latest result validated before $cutoff.
SELECT scope, target_table, expectation, column_name, success, unexpected_count, details, validated_at
FROM dq_results
WHERE validated_at < $cutoff
QUALIFY row_number() OVER (
    PARTITION BY scope, target_table, expectation, coalesce(column_name, '')
    ORDER BY validated_at DESC
) = 1
ORDER BY success, unexpected_count DESC NULLS LAST, target_table, expectation, column_name
