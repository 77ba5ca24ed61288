-- recommendations: one row per week and savings opportunity.
CREATE TABLE IF NOT EXISTS recommendations (
    week_start DATE,
    rec_id VARCHAR,
    kind VARCHAR,
    strategy VARCHAR,
    resource_id VARCHAR,
    team VARCHAR,
    project VARCHAR,
    model VARCHAR,
    monthly_savings DECIMAL(38, 12),
    standalone_monthly_savings DECIMAL(38, 12),
    cost_basis VARCHAR,
    plan_step VARCHAR,
    plan_order INTEGER,
    plan_note VARCHAR,
    plan_effect VARCHAR,
    currency VARCHAR,
    formula VARCHAR,
    evidence VARCHAR,
    evidence_text VARCHAR,
    confidence VARCHAR,
    confidence_reason VARCHAR,
    action VARCHAR,
    overlap_group VARCHAR,
    counted BOOLEAN,
    status VARCHAR,
    first_seen_week DATE,
    realised_savings DECIMAL(38, 12)
);
-- Warehouses created before the savings plan existed get its columns (appended at the end).
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS standalone_monthly_savings DECIMAL(38, 12);
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS cost_basis VARCHAR;
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS plan_step VARCHAR;
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS plan_order INTEGER;
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS plan_note VARCHAR;
ALTER TABLE recommendations ADD COLUMN IF NOT EXISTS plan_effect VARCHAR;
