-- passed_over_files: one row per billing file passed over (never loaded), keyed by its content hash: a later run skips it.
CREATE TABLE IF NOT EXISTS passed_over_files (
    file_sha256 VARCHAR PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    delivery_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    ingest_id VARCHAR NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);
