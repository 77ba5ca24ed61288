-- rejected_rows: one row per source row that could not be loaded, with the reason.
CREATE TABLE IF NOT EXISTS rejected_rows (
    file_sha256 VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    ingest_id VARCHAR NOT NULL
);
