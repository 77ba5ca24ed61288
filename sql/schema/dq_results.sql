-- dq_results: one row per great-expectations expectation evaluated on one ingest or week.
CREATE TABLE IF NOT EXISTS dq_results (
    run_id VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,          -- the file or the week validated
    target_table VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    success BOOLEAN NOT NULL,
    unexpected_count BIGINT,
    details VARCHAR,
    validated_at TIMESTAMPTZ NOT NULL
);
