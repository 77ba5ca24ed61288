-- jobs: one row per job and machine it ran on.
CREATE TABLE IF NOT EXISTS jobs (
    job_id VARCHAR,
    kind VARCHAR,
    team VARCHAR,
    project VARCHAR,
    model VARCHAR,
    user_name VARCHAR,
    resource_id VARCHAR,
    start_ts TIMESTAMPTZ,
    end_ts TIMESTAMPTZ,
    gpus INTEGER,
    nodes INTEGER,
    state VARCHAR,
    pricing_model VARCHAR,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    ingest_id VARCHAR
);
