-- network_flows: one row per source, destination and interval.
CREATE TABLE IF NOT EXISTS network_flows (
    interval_start TIMESTAMPTZ,
    interval_s DOUBLE,
    source_resource_id VARCHAR,
    source_region VARCHAR,
    destination VARCHAR,
    destination_region VARCHAR,
    bytes BIGINT,
    content_key VARCHAR,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    ingest_id VARCHAR
);
