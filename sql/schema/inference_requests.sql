-- inference_requests: one row per request, or per endpoint and hour for aggregated logs.
CREATE TABLE IF NOT EXISTS inference_requests (
    ts TIMESTAMPTZ,
    interval_s DOUBLE,
    endpoint VARCHAR,
    model VARCHAR,
    resource_id VARCHAR,
    requests BIGINT,
    tokens_in BIGINT,
    tokens_out BIGINT,
    batch_size DOUBLE,
    latency_ms DOUBLE,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    ingest_id VARCHAR
);
