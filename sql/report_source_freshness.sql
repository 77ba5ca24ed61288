-- report_source_freshness: one row per table and source (provider and account for billing, format for usage logs): the newest data time before $week_end.
SELECT 'billing_line_items' AS target_table,
       coalesce(provider, 'unknown') || ' account ' || coalesce(billing_account_id, 'unknown') AS source,
       max(charge_period_start) AS latest
FROM billing_line_items WHERE charge_period_start < $week_end GROUP BY ALL
UNION ALL
SELECT 'gpu_metrics', coalesce(source_format, 'unknown'), max(ts)
FROM gpu_metrics WHERE ts < $week_end GROUP BY ALL
UNION ALL
SELECT 'jobs', coalesce(source_format, 'unknown'), max(start_ts)
FROM jobs WHERE start_ts < $week_end GROUP BY ALL
UNION ALL
SELECT 'inference_requests', coalesce(source_format, 'unknown'), max(ts)
FROM inference_requests WHERE ts < $week_end GROUP BY ALL
UNION ALL
SELECT 'storage_inventory', coalesce(source_format, 'unknown'), max(CAST(snapshot_date AS TIMESTAMPTZ))
FROM storage_inventory WHERE CAST(snapshot_date AS TIMESTAMPTZ) < $week_end GROUP BY ALL
UNION ALL
SELECT 'network_flows', coalesce(source_format, 'unknown'), max(interval_start)
FROM network_flows WHERE interval_start < $week_end GROUP BY ALL
ORDER BY 1, 2
