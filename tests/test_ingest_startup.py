"""``aicost ingest`` in a fresh process: what it costs before the first row (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

PROBE = """
import json, sys
from flows.cli import main
code = main(["--db", sys.argv[1], "ingest", "--json", sys.argv[2]])
print("PROBE " + json.dumps({"code": code, "prefect": "prefect" in sys.modules}))
"""


def test_ingest_in_process_never_imports_prefect(shared_data, tmp_path):
    """Without Dask configured, ``aicost ingest`` loads the file without importing Prefect (~3 s of CPU)."""
    sample = shared_data / "aws" / "koku_test_cur.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("AICOST_DASK_ADDRESS", "AICOST_DASK_LOCAL_WORKERS")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "w.duckdb"), str(sample)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout[: proc.stdout.index("PROBE ")])
    probe = json.loads(proc.stdout.split("PROBE ", 1)[1])
    assert probe == {"code": 0, "prefect": False}
    assert [(r["source_format"], r["error"]) for r in results] == [("aws_cur_csv", None)]
    assert (results[0]["rows_in_file"], results[0]["rows_loaded"], results[0]["rows_rejected"]) == (19, 19, 0)
