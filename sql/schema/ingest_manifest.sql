-- ingest_manifest: one row per file ever loaded, keyed by its content hash.
CREATE TABLE IF NOT EXISTS ingest_manifest (
    file_sha256 VARCHAR PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    source_format VARCHAR NOT NULL,
    target_table VARCHAR NOT NULL,
    delivery_id VARCHAR,
    ingest_id VARCHAR NOT NULL,
    rows_in_file BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);
