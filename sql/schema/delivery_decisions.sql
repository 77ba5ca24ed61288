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
-- what the export's own manifest says (AWS Data Exports, Azure Cost Management exports), null without one
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_manifest VARCHAR;        -- the manifest file read
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_name VARCHAR;
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_id VARCHAR;              -- AWS export ARN, Azure export resource id
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_type VARCHAR;            -- Azure FocusCost / ActualCost / AmortizedCost
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS data_version VARCHAR;           -- Azure dataVersion (1.0r2, 1.2-preview)
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_run_id VARCHAR;          -- AWS executionId, Azure runId
ALTER TABLE delivery_decisions ADD COLUMN IF NOT EXISTS export_billing_period VARCHAR;  -- AWS YYYY-MM, Azure start/end dates
