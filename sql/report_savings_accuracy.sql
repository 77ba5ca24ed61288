-- report_savings_accuracy: one row per recommendation resolved in the weeks ($first_week, $week_start]: the monthly saving predicted for it (its last incremental figure in the plan) and the drop in its scope's monthly cost that followed.
SELECT
    week_start,
    rec_id,
    kind,
    action,
    currency,
    monthly_savings AS predicted,
    realised_savings AS realised,
    overlap_group
FROM recommendations
WHERE status = 'resolved'
  AND week_start > CAST($first_week AS DATE)
  AND week_start <= CAST($week_start AS DATE)
ORDER BY week_start DESC, monthly_savings DESC NULLS LAST, rec_id
