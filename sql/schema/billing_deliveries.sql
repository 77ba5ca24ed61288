-- billing_deliveries: one row per provider, account and billing period: the delivery that holds it now.
CREATE TABLE IF NOT EXISTS billing_deliveries (
    provider VARCHAR NOT NULL,
    billing_account_id VARCHAR NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    delivery_id VARCHAR NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    replaced_delivery_id VARCHAR,
    delivery_time TIMESTAMPTZ,
    time_source VARCHAR,
    ingest_id VARCHAR,
    PRIMARY KEY (provider, billing_account_id, billing_period_start)
);
-- delivered_at is when it was loaded; delivery_time the provider's own time of the delivery
-- (manifest or file modification time, see time_source), which later deliveries are compared with.
ALTER TABLE billing_deliveries ADD COLUMN IF NOT EXISTS delivery_time TIMESTAMPTZ;
ALTER TABLE billing_deliveries ADD COLUMN IF NOT EXISTS time_source VARCHAR;
ALTER TABLE billing_deliveries ADD COLUMN IF NOT EXISTS ingest_id VARCHAR;
