-- report_delivery_decisions: one row per billing delivery and decision (per provider / account / period where known) made from $since up to $cutoff, the latest of each; held back first, then passed over, then loaded, newest first.
WITH latest AS (
    SELECT *
    FROM delivery_decisions
    WHERE decided_at >= $since AND decided_at < $cutoff
    QUALIFY row_number() OVER (
        PARTITION BY delivery_id, decision, provider, billing_account_id, billing_period_start
        ORDER BY decided_at DESC
    ) = 1
)
SELECT
    decision,
    delivery_id,
    provider,
    billing_account_id,
    billing_period_start,
    reason,
    CAST(len(files) AS BIGINT) AS files,
    files[1] AS first_file,
    delivery_time,
    time_source,
    decided_at,
    count(*) OVER (PARTITION BY decision) AS decision_count
FROM latest
ORDER BY CASE decision WHEN 'held_back' THEN 0 WHEN 'passed_over' THEN 1 ELSE 2 END, decided_at DESC, delivery_id
LIMIT $limit
