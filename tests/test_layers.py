"""Dependencies point down only: cli -> deployments -> flows -> tasks -> paperflow (the core)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

ABOVE = {
    "paperflow": {"prefect", "prefect_aws", "tasks", "flows", "deployments", "cli"},
    "tasks": {"flows", "deployments", "cli"},
    "flows": {"cli"},
    "deployments": {"cli"},
}
ENTRY_POINTS = {Path("paperflow/__main__.py")}
"""`python -m paperflow` reaches up to the command line; nothing imports it."""


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports, anywhere in it (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_layer_imports_one_above_it(layer: str) -> None:
    wrong = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & ABOVE[layer])
             for path in sorted((ROOT / layer).rglob("*.py"))
             if path.relative_to(ROOT) not in ENTRY_POINTS}
    assert not {path: names for path, names in wrong.items() if names}


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from prefect import flow\n    import cli.main\n")
    assert imported_packages(module) == {"os", "prefect", "cli"}
