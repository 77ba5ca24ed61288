"""Prefect flows and everything with side effects: files, DuckDB, email.

Importing this package applies the offline Prefect defaults the project needs (without overriding
anything the user has set), so a first run on a fresh machine never times out.
"""

import os
import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
# The folder holding sql/, templates/ and config/: the project checkout (also under an editable
# install), else flows/share/, where a wheel installs them (pyproject's package-dir).
INSTALLED = not (_CHECKOUT / "sql").is_dir()
PROJECT_ROOT = Path(__file__).resolve().parent / "share" if INSTALLED else _CHECKOUT

_PREFECT_DEFAULTS = {
    # installed, Prefect's state goes beside the data (the working folder), never into site-packages
    "PREFECT_HOME": str((Path.cwd() if INSTALLED else PROJECT_ROOT) / ".prefect"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
}
for _key, _value in _PREFECT_DEFAULTS.items():
    os.environ.setdefault(_key, _value)


def on_dask() -> bool:
    """Whether the current Prefect flow run submits its tasks to a Dask cluster.

    False without a flow run, and without importing Prefect when nothing has loaded it (an in-process
    ``aicost ingest`` never pays Prefect's import).
    """
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.task_runner is None:
        return False
    from prefect_dask import DaskTaskRunner

    return isinstance(context.task_runner, DaskTaskRunner)
