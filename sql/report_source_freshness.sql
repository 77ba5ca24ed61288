-- report_source_freshness: one row per table and source (provider and account for billing, format for usage logs): the newest data time before $week_end.
-- GPU telemetry is read from the hourly rollup gpu_hourly (raw samples are pruned after the retention):
-- its newest sample is the latest last_ts of the hours before $week_end (a whole hour, so those hours
-- hold exactly the samples before it). The rollup does not keep the format, so telemetry is one
-- source named by the telemetry formats ever loaded (ingest_manifest).
SELECT 'billing_line_items' AS target_table,
       coalesce(provider, 'unknown') || ' account ' || coalesce(billing_account_id, 'unknown') AS source,
       max(charge_period_start) AS latest
FROM billing_line_items WHERE charge_period_start < $week_end GROUP BY ALL
UNION ALL
SELECT 'gpu_metrics',
       coalesce((SELECT string_agg(DISTINCT source_format, ', ' ORDER BY source_format)
                 FROM ingest_manifest WHERE target_table = 'gpu_metrics'), 'unknown'),
       max(last_ts)
FROM gpu_hourly WHERE hour < $week_end
HAVING count(*) > 0
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
