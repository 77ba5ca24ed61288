"""Rendering and delivery import one way: flows.deliver uses flows.report, never the reverse."""

from __future__ import annotations

import ast

from tests.conftest import PROJECT_ROOT


def _imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):  # also the imports inside functions
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_report_does_not_import_deliver():
    assert "flows.deliver" not in _imported_modules(PROJECT_ROOT / "flows" / "report.py")
    assert "flows.report" in _imported_modules(PROJECT_ROOT / "flows" / "deliver.py")
