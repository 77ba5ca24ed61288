"""Pure polars transforms: frames in, frames out. No Prefect, DuckDB, jinja2 or file I/O here."""
