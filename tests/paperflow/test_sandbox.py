"""The sandbox's children: they never re-run the caller's main module (in a flow-run process,
a script or the `paperflow` command that module imports all of Prefect, about 2 s of CPU a
child), and the figures and the preview render in them under the parse's limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paperflow import sandbox
from paperflow.errors import ResourceLimitError
from paperflow.figures import extract_figures
from paperflow.pdf import parse_layout
from paperflow.preview import render_preview
from paperflow.settings import Settings
from tests.conftest import ROOT, SAMPLE_PDF

MAIN = """
import heavy_dependency  # stands for Prefect, which a flow-run process's main module imports
from paperflow.sandbox import parse_layout_limited, run_limited


def doubled(value):  # defined in the main module: this child must load it
    return 2 * value


if __name__ == "__main__":
    data = open({pdf!r}, "rb").read()
    for _ in range(3):
        assert parse_layout_limited(data, 1).pages
    assert run_limited(doubled, 21, cpu_seconds=30, memory_bytes=2**31, wall_seconds=60) == 42
"""


@pytest.mark.parametrize("how", ["module", "script"])
def test_children_do_not_import_the_main_modules_imports(tmp_path: Path, how: str) -> None:
    """`python -m NAME` or `python path/to/script.py` making three sandboxed parses: the heavy
    module the main module imports is imported by the program, by no parse child; a function
    defined in the main module still runs in a child (which loads the main module for it)."""
    imports = tmp_path / "imports.txt"
    (tmp_path / "heavy_dependency.py").write_text(
        f"import os\nwith open({str(imports)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n")
    script = tmp_path / "sandboxed_main.py"
    script.write_text(MAIN.format(pdf=str(SAMPLE_PDF)))
    command = ["-m", "sandboxed_main"] if how == "module" else [str(script)]
    done = subprocess.run([sys.executable, *command], cwd=ROOT, timeout=300,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    pids = imports.read_text().split()
    assert len(pids) == 2 == len(set(pids)), pids  # the program and the `doubled` child only


def test_figures_and_preview_render_in_a_limited_child() -> None:
    """The figure crops and the preview render the untrusted PDF under the sandbox's limits
    (here a wall-clock limit no render meets), named in the error; within the limits they give
    what the in-process renderers give."""
    data = SAMPLE_PDF.read_bytes()
    doc = parse_layout(data)
    hasty = Settings(parse_wall_seconds=0.001)
    with pytest.raises(ResourceLimitError, match=r"^Rendering the figures of the PDF took more"):
        sandbox.extract_figures_limited(data, doc, hasty)
    with pytest.raises(ResourceLimitError, match=r"^Rendering the first page .* wall-clock"):
        sandbox.render_preview_limited(data, hasty)
    settings = Settings()
    figures = sandbox.extract_figures_limited(data, doc, settings)
    assert [f.png for f in figures] == [f.png for f in extract_figures(
        data, doc, settings.max_figures, settings.figure_dpi)] and figures
    assert sandbox.render_preview_limited(data, settings).preview.webp == \
        render_preview(data, settings.preview_width).preview.webp
