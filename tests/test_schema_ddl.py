"""The Python schema (transforms/schema.py) and the DDL (sql/schema/*.sql) agree, table by table.

The schema is created in a fresh DuckDB exactly as the warehouse creates it; ``DESCRIBE`` of each
table must list the Python schema's columns, in its order, with the DuckDB type of each polars type,
and an empty read of the table must come back to polars with exactly the Python schema's types.
"""

import duckdb
import polars as pl
import pytest

from flows.warehouse import create_schema
from transforms.gpu_rollup import HOURLY_COLUMNS
from transforms.schema import (
    ATTRIBUTED_COST_COLUMNS,
    BILLING_COLUMNS,
    DQ_RESULTS_COLUMNS,
    RECOMMENDATION_COLUMNS,
    USAGE_TABLES,
)

PYTHON_SCHEMAS = {
    "billing_line_items": BILLING_COLUMNS,
    **USAGE_TABLES,
    "attributed_cost": ATTRIBUTED_COST_COLUMNS,
    "recommendations": RECOMMENDATION_COLUMNS,
    "gpu_hourly": HOURLY_COLUMNS,
    "dq_results": DQ_RESULTS_COLUMNS,
}
# Bookkeeping tables the flows write with SQL or small frames of their own: no Python schema to agree with.
BOOKKEEPING = {
    "billing_deliveries",
    "cost_forecasts",
    "delivery_decisions",
    "ingest_manifest",
    "ingest_refusals",
    "passed_over_files",
    "rejected_rows",
    "report_deliveries",
}
SIMPLE_TYPES = {
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB type a column of this polars type is declared with."""
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        assert dtype.time_zone == "UTC", f"timestamps are UTC, got {dtype}"
        return "TIMESTAMP WITH TIME ZONE"
    return SIMPLE_TYPES[dtype.base_type()]


@pytest.fixture(scope="module")
def fresh():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    create_schema(con)
    yield con
    con.close()


def test_every_table_of_the_ddl_is_either_typed_in_python_or_bookkeeping(fresh):
    tables = {r[0] for r in fresh.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(PYTHON_SCHEMAS) | BOOKKEEPING


@pytest.mark.parametrize("table", sorted(PYTHON_SCHEMAS))
def test_the_ddl_has_exactly_the_python_schemas_columns_and_types(fresh, table):
    columns = PYTHON_SCHEMAS[table]
    described = [(name, kind) for name, kind, *_ in fresh.execute(f"DESCRIBE {table}").fetchall()]
    assert described == [(name, duckdb_type(dtype)) for name, dtype in columns.items()]
    assert dict(fresh.sql(f"SELECT * FROM {table}").pl().schema) == columns
