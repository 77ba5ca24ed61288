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
