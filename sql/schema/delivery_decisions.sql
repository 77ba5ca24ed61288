-- delivery_decisions: one row per billing delivery decided in an ingest run (per provider / account / billing period where known).
CREATE TABLE IF NOT EXISTS delivery_decisions (
    ingest_id VARCHAR NOT NULL,
    provider VARCHAR,
    billing_account_id VARCHAR,
    billing_period_start TIMESTAMPTZ,
    delivery_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,            -- loaded | passed_over | held_back
    reason VARCHAR NOT NULL,
    files VARCHAR[] NOT NULL,
    delivery_time TIMESTAMPTZ,            -- the provider's time of the delivery
    time_source VARCHAR,                  -- where delivery_time comes from
    decided_at TIMESTAMPTZ NOT NULL
);
