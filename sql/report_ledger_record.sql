-- report_ledger_record: append one delivery to the ledger report_deliveries.
INSERT INTO report_deliveries (week_start, recipients, message_id, sent_at, html_path, eml_path)
VALUES ($week_start, $recipients, $message_id, $sent_at, $html_path, $eml_path)
