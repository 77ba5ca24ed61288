-- storage_inventory: one row per object (or prefix) in an inventory snapshot.
CREATE TABLE IF NOT EXISTS storage_inventory (
    snapshot_date DATE,
    provider VARCHAR,
    bucket VARCHAR,
    key VARCHAR,
    size_bytes BIGINT,
    storage_class VARCHAR,
    last_modified TIMESTAMPTZ,
    last_accessed TIMESTAMPTZ,
    source_format VARCHAR,
    source_file VARCHAR,
    source_row BIGINT,
    file_sha256 VARCHAR,
    ingest_id VARCHAR
);
