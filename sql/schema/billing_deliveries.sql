-- billing_deliveries: one row per provider, account and billing period: the delivery that holds it now.
CREATE TABLE IF NOT EXISTS billing_deliveries (
    provider VARCHAR NOT NULL,
    billing_account_id VARCHAR NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    delivery_id VARCHAR NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    replaced_delivery_id VARCHAR,
    PRIMARY KEY (provider, billing_account_id, billing_period_start)
);
