-- report_ledger_last: the latest delivery of the week $week_start, if any (one row at most).
SELECT week_start, recipients, message_id, sent_at, html_path, eml_path
FROM report_deliveries
WHERE week_start = $week_start
ORDER BY sent_at DESC
LIMIT 1
