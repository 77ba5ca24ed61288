-- cost_forecasts: one row per forecast made (the week whose data it used), target week and category ('total' for the whole spend).
CREATE TABLE IF NOT EXISTS cost_forecasts (
    made_week DATE,
    target_week DATE,
    category VARCHAR,
    model VARCHAR,
    mean DECIMAL(38, 12),
    lower DECIMAL(38, 12),
    upper DECIMAL(38, 12),
    level DOUBLE,
    history_weeks INTEGER,
    known_weekly DECIMAL(38, 12),
    created_at TIMESTAMPTZ
);
