"""Every notebook's code runs top to bottom against the session's Prefect server."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _display_stub() -> types.ModuleType:
    """IPython is not a dependency: record what the notebook would display."""
    shown: list[object] = []
    display = types.ModuleType("IPython.display")
    display.display = shown.append  # type: ignore[attr-defined]
    display.Image = lambda data=None, **kw: ("image", data)  # type: ignore[attr-defined]
    display.Markdown = lambda text: ("markdown", text)  # type: ignore[attr-defined]
    display.shown = shown  # type: ignore[attr-defined]
    return display


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, prefect_server: str, data_dir: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = json.loads(path.read_text())
    display = _display_stub()
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.chdir(ROOT / "notebooks")
    namespace: dict[str, object] = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    result = namespace["result"]
    assert result.page_count == 16  # type: ignore[attr-defined]
    assert len(namespace["timings"]) >= 8  # type: ignore[arg-type]
    shown = display.shown  # type: ignore[attr-defined]
    assert shown and shown[0][0] == "image" and shown[0][1][:4] == b"RIFF"
