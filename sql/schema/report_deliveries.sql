-- report_deliveries: one row per weekly report sent by email (the delivery ledger).
CREATE TABLE IF NOT EXISTS report_deliveries (
    week_start DATE NOT NULL,
    recipients VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    html_path VARCHAR,
    eml_path VARCHAR
);
