-- ingest_refusals: one row per file an ingest run refused whole (nothing of it stored), with the reason.
CREATE TABLE IF NOT EXISTS ingest_refusals (
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR,             -- null when the file could not even be hashed
    reason VARCHAR NOT NULL,
    refused_at TIMESTAMPTZ NOT NULL
);
