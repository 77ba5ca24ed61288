-- gpu_metrics: one row per GPU and sample interval.
CREATE TABLE IF NOT EXISTS gpu_metrics (
    ts TIMESTAMPTZ,
    interval_s DOUBLE,
    resource_id VARCHAR,
    gpu_index INTEGER,
    gpu_uuid VARCHAR,
    gpu_model VARCHAR,
    utilization_pct DOUBLE,
    memory_used_mib DOUBLE,
    memory_total_mib DOUBLE,
    power_w DOUBLE,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    ingest_id VARCHAR
);
