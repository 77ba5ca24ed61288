"""The wheel carries everything a non-editable install reads at run time."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from tests.conftest import PROJECT_ROOT


def _checkout_files(folder: str, patterns: tuple[str, ...]) -> set[str]:
    root = PROJECT_ROOT / folder
    return {p.relative_to(root).as_posix() for pattern in patterns for p in root.rglob(pattern)}


@pytest.mark.slow
def test_wheel_carries_sample_data_sql_templates_and_config(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is expected on PATH (the project is run with `uv run`)"
    # the sdist first, then the wheel from it (uv build's default): no stale build/ of the checkout in it
    subprocess.run(
        [uv, "build", "--out-dir", str(tmp_path), str(PROJECT_ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("aicost-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    def under(prefix: str) -> set[str]:
        return {n.removeprefix(prefix) for n in names if n.startswith(prefix)}

    assert {p.name for p in (PROJECT_ROOT / "sample_data").glob("*.py")} == under("sample_data/")
    assert "sample_data/__init__.py" in names and "flows/cli.py" in names and "transforms/weeks.py" in names
    # flows/__init__.py finds them here when installed (PROJECT_ROOT = flows/share)
    sql = _checkout_files("sql", ("*.sql",))
    assert "schema/billing_line_items.sql" in sql and "report_cost.sql" in sql
    assert under("flows/share/sql/") == sql
    templates = _checkout_files("templates", ("*.j2", "*.css"))
    assert "report.html.j2" in templates and "partials/footer.html.j2" in templates
    assert under("flows/share/templates/") == templates
    config = _checkout_files("config", ("*.toml", "*.csv"))
    assert {"instances.csv", "fx_rates.csv", "recommendations.toml"} <= config
    assert under("flows/share/config/") == config
    # nothing of the project outside its packages (no tests, benchmarks or top-level sql/)
    assert not {n for n in names if n.split("/")[0] in {"tests", "benchmarks", "sql", "templates", "config"}}
