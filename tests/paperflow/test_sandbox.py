"""The parse sandbox's fork server imports the caller's main module once, so a child does not
import it again (in a flow-run process that was all of Prefect, about 2 s of CPU a paper)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from paperflow import sandbox
from tests.conftest import ROOT, SAMPLE_PDF

MAIN = """
import heavy_dependency  # stands for Prefect, which a flow-run process's main module imports
from paperflow.sandbox import parse_layout_limited

if __name__ == "__main__":
    data = open({pdf!r}, "rb").read()
    for _ in range(3):
        assert parse_layout_limited(data, 1).pages
"""


@pytest.mark.parametrize(("spec_name", "file", "preloaded"), [
    ("prefect.engine", None, ["prefect.engine"]),        # python -m prefect.engine
    ("pytest.__main__", None, []),                       # children skip *.__main__ modules
    (None, "/usr/bin/paperflow", ["__main__"]),          # a script, e.g. a console script
    (None, None, []),                                    # python -c, the REPL
])
def test_main_module_preload(monkeypatch: pytest.MonkeyPatch, spec_name: str | None,
                             file: str | None, preloaded: list[str]) -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name=spec_name) if spec_name else None  # type: ignore
    if file:
        main.__file__ = file
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert sandbox.main_module_preload() == preloaded


def test_children_find_the_main_modules_imports_loaded(tmp_path: Path) -> None:
    """A `python -m` program making three sandboxed calls: the heavy module its main module
    imports is imported by the program and once by the fork server, never by a child."""
    imports = tmp_path / "imports.txt"
    (tmp_path / "heavy_dependency.py").write_text(
        f"import os\nwith open({str(imports)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n")
    (tmp_path / "sandboxed_main.py").write_text(MAIN.format(pdf=str(SAMPLE_PDF)))
    done = subprocess.run([sys.executable, "-m", "sandboxed_main"], cwd=ROOT, timeout=300,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    pids = imports.read_text().split()
    assert len(pids) == 2 == len(set(pids)), pids  # the program and the fork server only
