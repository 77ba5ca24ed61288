"""The DuckDB warehouse: opening it, its schema, SQL files, transactions and frame I/O."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from flows import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
# DuckDB spills to disk beyond this; a large ingest transaction must not take the machine's memory.
MEMORY_LIMIT = os.environ.get("AICOST_DUCKDB_MEMORY_LIMIT", "1GB")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file."""


class WarehouseUnreadable(RuntimeError):
    """The warehouse file is not a DuckDB database this version can open (damaged, truncated, foreign)."""

    def __init__(self, path: Path):
        super().__init__(
            f"the warehouse {path} is not a readable DuckDB database (damaged, truncated or another kind of "
            "file); nothing was changed: restore it from a backup, or point --db (AICOST_DB) at another file"
        )
        self.path = path


@cache
def sql_text(name: str) -> str:
    """The text of ``sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text()


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table of ``sql/schema`` that does not exist yet."""
    for ddl in sorted((SQL_DIR / "schema").glob("*.sql")):
        con.execute(ddl.read_text())


def _check_is_duckdb(path: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB opens it (and may write to it).

    A DuckDB file starts with a 4096-byte block whose bytes 8..11 are ``DUCK``, followed by two
    4096-byte database headers; anything shorter or without the magic is someone else's file or a
    truncated copy.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return  # a new warehouse
    if size == 0:
        return  # an empty file: DuckDB makes it a new database
    with open(path, "rb") as fh:
        head = fh.read(12)
    if size < 3 * 4096 or head[8:12] != b"DUCK":
        raise WarehouseUnreadable(path)


def connect(path: Path | str, *, read_only: bool = False, lock_timeout_s: float = 600.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating it and its schema), waiting while another process holds it.

    A file that is not a readable DuckDB database raises ``WarehouseUnreadable`` naming it; the
    file is left as it was.
    """
    path = Path(path)
    _check_is_duckdb(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise _unreadable_or(path, exc) from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"warehouse {path} is in use by another process and stayed locked for {lock_timeout_s:.0f}s: {exc}"
                ) from exc
            time.sleep(0.5)
        except duckdb.Error as exc:
            raise _unreadable_or(path, exc) from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            create_schema(con)
            from flows.telemetry import backfill

            backfill(con)  # GPU samples stored before the hourly rollup existed, rolled up once
    except duckdb.Error as exc:
        con.close()
        raise _unreadable_or(path, exc) from exc
    return con


def _unreadable_or(path: Path, exc: duckdb.Error) -> Exception:
    """The error to raise for a failure opening ``path``: the file's fault, or the original one."""
    text = str(exc).lower()
    if any(cause in text for cause in ("permission denied", "no space left", "read-only file system")):
        return exc  # the file system's fault, said as DuckDB says it
    return WarehouseUnreadable(path)


@contextmanager
def opened(path: Path | str, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect`` as a context manager that always closes."""
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything inside commits together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict | list | None = None) -> pl.DataFrame:
    """Run ``sql/<name>.sql`` with bound parameters and return a polars frame."""
    return con.sql(sql_text(name), params=params).pl()


def insert_parquet(
    con: duckdb.DuckDBPyConnection, table: str, parts: list[str], constants: dict[str, object] | None = None
) -> None:
    """Append Parquet parts to a table by column name, setting ``constants`` columns on every row.

    DuckDB streams the parts, so a large file costs the same memory as a small one.
    """
    if not parts:
        return
    known = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if table not in known:
        raise ValueError(f"unknown warehouse table {table!r}")
    constants = constants or {}
    names = list(constants)
    in_parts = {
        row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet($parts)", {"parts": parts}).fetchall()
    }
    replaced = [name for name in names if name in in_parts]
    kept = f"* EXCLUDE ({', '.join(replaced)})" if replaced else "*"
    select = ", ".join([kept, *(f"$c{i} AS {name}" for i, name in enumerate(names))])
    source = f"SELECT {select}"
    con.execute(
        f"INSERT INTO {table} BY NAME {source} FROM read_parquet($parts)",
        {"parts": parts, **{f"c{i}": constants[name] for i, name in enumerate(names)}},
    )
    if table == "gpu_metrics":  # the hourly rollup, in the same transaction (flows/telemetry.py)
        from flows.telemetry import roll_up

        roll_up(con, parts)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append a frame to a table by column name; returns the rows written."""
    if frame.height == 0:
        return 0
    view = f"_incoming_{table}"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)
    if table == "gpu_metrics":  # the hourly rollup, in the same transaction (flows/telemetry.py)
        from flows.telemetry import roll_up

        roll_up(con, frame.lazy())
    return frame.height


@contextmanager
def exclusive_run(db_path: Path | str, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold the warehouse for a whole run: a second run on this machine waits, then fails clearly.

    DuckDB lets one process write a file; a run opens and closes it several times, so the file
    lock alone would let two runs interleave their steps. This advisory lock beside the file
    serialises whole runs (Prefect's global concurrency limit does the same across machines).
    """
    import fcntl
    import logging

    lock_path = Path(f"{db_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "w") as handle:
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"warehouse {db_path} is held by another run for more than {timeout_s:.0f}s; "
                        "try again when it has finished"
                    ) from None
                if not waited:
                    logging.getLogger(__name__).warning("warehouse %s is in use by another run: waiting", db_path)
                    waited = True
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Staging: where ingest keeps mapped Parquet parts until they are copied into the warehouse
# --------------------------------------------------------------------------------------------
STAGING_OWNER = "owner.json"  # in each run's staging folder: the host, pid and start of its process
_run_staging: dict[Path, Path] = {}  # staging root -> this process's folder under it
_current_staging: Path | None = None


def staging_root(db: Path | str, configured: Path | str | None = None) -> Path:
    """``AICOST_STAGING`` when set (shared storage for a remote Dask), else ``staging/`` beside the warehouse."""
    return Path(configured) if configured else Path(db).resolve().parent / "staging"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def _owner_alive(owner: dict) -> bool:
    """Whether the run that wrote ``owner`` may still be running (unknown counts as alive)."""
    if owner.get("host") != socket.gethostname():
        return True  # another machine's run (shared staging): its liveness cannot be seen from here
    pid = int(owner["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    if _process_state(pid) in ("Z", "X"):
        return False  # exited, not yet reaped
    started = _process_start(pid)
    return not (owner.get("started") and started and started != owner["started"])  # a reused pid


def clean_stale_staging(root: Path) -> list[Path]:
    """Remove the staging folders under ``root`` whose run is no longer alive; returns them.

    A folder without a readable owner file (being created, or not ours) is left alone, and so is
    every folder of a live run or of a run on another machine.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder in _run_staging.values():
            continue
        try:
            owner = json.loads((folder / STAGING_OWNER).read_text())
            alive = _owner_alive(owner)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not alive:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run_staging(root: Path) -> Path:
    """This process's staging folder under ``root`` (created with its owner file; removed at exit)."""
    global _current_staging
    folder = _run_staging.get(root)
    if folder is None or not folder.is_dir():
        folder = root / f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid())}
        partial = folder / f"{STAGING_OWNER}.partial"
        partial.write_text(json.dumps(owner))
        os.replace(partial, folder / STAGING_OWNER)
        _run_staging[root] = folder
        atexit.register(shutil.rmtree, folder, True)
    _current_staging = folder
    return folder


def current_staging() -> str | None:
    """The staging folder of this process's current run, or None (the system's temporary folder)."""
    if _current_staging is not None and _current_staging.is_dir():
        return str(_current_staging)
    return None
