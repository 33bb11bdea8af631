"""Every notebook runs top to bottom in a real Jupyter kernel, against the session's Prefect server.

The kernel is a child process (ipykernel on this interpreter, so the venv's Python), started by
nbclient from a kernel spec written for the test session; it gets its environment explicitly:
the session's PREFECT_HOME and Prefect server, a fresh PAPERFLOW_DATA_DIR and a non-interactive
matplotlib backend. A cell that raises fails the test.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

from tests.conftest import ROOT, SAMPLE_PDF

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "paperflow-tests"
SAMPLE_TITLE = "VESPA: Very large-scale Evolutionary and Selective Pressure Analyses"
CELL_TIMEOUT = 600
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel spec running ipykernel on this interpreter, in a folder of its own, so neither a
    user's `python3` kernel nor a missing `jupyter kernelspec install` can change which Python
    runs the notebooks."""
    from ipykernel.kernelspec import write_kernel_spec

    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(str(kernels / KERNEL), overrides={"display_name": "paperflow tests"})
    spec = json.loads((kernels / KERNEL / "kernel.json").read_text())
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    return kernels


def kernel_env(prefect_server: str, data_dir: Path, scratch: Path,
               **extra: str) -> dict[str, str]:
    env = dict(os.environ)  # PREFECT_HOME and the other settings tests/conftest.py made
    env.update({
        "PREFECT_API_URL": prefect_server,
        "PAPERFLOW_DATA_DIR": str(data_dir),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": str(scratch / "matplotlib"),
        "IPYTHONDIR": str(scratch / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    env.pop("PREFECT_PROFILE", None)
    env.update(extra)
    return env


def execute(path: Path, kernel_dir: Path, env: dict[str, str]) -> Any:
    """The notebook after running every cell in a fresh kernel, outputs filled in."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    notebook = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    manager = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = nbclient.NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT,
                                     startup_timeout=120,
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env)
    finally:  # the executed notebook, outputs and all, to look at when a test fails
        nbformat.write(notebook, Path(env["IPYTHONDIR"]).parent / path.name)
    return notebook


def cell(notebook: Any, cell_id: str) -> Any:
    found = [c for c in notebook.cells if c.get("id") == cell_id]
    assert len(found) == 1, f"no single cell with id {cell_id!r}"
    return found[0]


def text(code_cell: Any) -> str:
    """Everything a cell printed or displayed as text (stdout, text/plain, markdown, HTML)."""
    parts = []
    for output in code_cell.outputs:
        assert output.output_type != "error", output
        if output.output_type == "stream":
            parts.append(output.text)
        for mime in ("text/plain", "text/markdown", "text/html"):
            if mime in output.get("data", {}):
                parts.append(output.data[mime])
    return "\n".join(parts)


def images(code_cell: Any, mime: str = "image/png") -> list[bytes]:
    return [base64.b64decode(o.data[mime]) for o in code_cell.outputs
            if o.output_type in ("display_data", "execute_result") and mime in o.get("data", {})]


def html_table_rows(code_cell: Any) -> int:
    """How many body rows the DataFrame a cell ended with has."""
    html = next(o.data["text/html"] for o in code_cell.outputs
                if o.output_type == "execute_result" and "text/html" in o.get("data", {}))
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr")


def test_there_are_notebooks() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"process_one_paper.ipynb", "bulk_run.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for code_cell in (c for c in notebook.cells if c.cell_type == "code"):
        assert code_cell.outputs == [], f"{path.name}: cell {code_cell.id} has outputs"
        assert code_cell.execution_count is None, f"{path.name}: cell {code_cell.id} ran"


@pytest.mark.slow
def test_process_one_paper_notebook(kernel_dir: Path, prefect_server: str, data_dir: Path,
                                    tmp_path: Path) -> None:
    # Two papers already indexed, so the map has something to place the new one among.
    from paperflow.embeddings import embed_paper, get_embedder, model_id
    from paperflow.vectors import clear_vector_stores, get_vector_store

    embedder = get_embedder()
    store = get_vector_store(model_id())
    neighbours = {
        "a" * 64: ("Protein structure prediction with deep learning",
                   "We predict protein folds from amino acid sequences with neural networks."),
        "b" * 64: ("Dense passage retrieval for open-domain question answering",
                   "Dense vector representations retrieve passages for answering questions."),
    }
    for sha, (title, abstract) in neighbours.items():
        store.add(sha, embed_paper(embedder, title, abstract, [abstract]), {"title": title})
    clear_vector_stores()

    notebook = execute(NOTEBOOK_DIR / "process_one_paper.ipynb", kernel_dir,
                       kernel_env(prefect_server, data_dir, tmp_path,
                                  PAPERFLOW_NOTEBOOK_SOURCE=str(SAMPLE_PDF)))

    assert SAMPLE_TITLE in text(cell(notebook, "process"))
    assert "Webb" in text(cell(notebook, "process"))
    assert html_table_rows(cell(notebook, "references")) == 10
    timings = text(cell(notebook, "timings"))
    assert "parse_pdf" in timings and html_table_rows(cell(notebook, "timings")) >= 8
    preview = cell(notebook, "preview")
    assert [o for o in preview.outputs if "image/webp" in o.get("data", {})
            or "image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {})]
    assert "figures" in text(preview) and "references" in text(preview)

    paper_map = cell(notebook, "pca-map")
    shown = images(paper_map)
    assert len(shown) == 1 and shown[0].startswith(PNG)
    printed = text(paper_map)
    assert "3 papers in local:" in printed
    assert html_table_rows(paper_map) == 3
    for title in [SAMPLE_TITLE[:40], *(t[:40] for t, _ in neighbours.values())]:
        assert title in printed


@pytest.mark.slow
def test_bulk_run_notebook(kernel_dir: Path, prefect_server: str, data_dir: Path,
                           tmp_path: Path) -> None:
    from tests.pdfs import make_paper

    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "a-vespa.pdf").write_bytes(SAMPLE_PDF.read_bytes())
    titles = ["Notebook Bulk Runs of Scientific Papers", "Plotting Extraction Timings Per Task",
              "A Paper The Notebook Limit Leaves Out"]
    for i, title in enumerate(titles):
        (folder / f"{'bcd'[i]}-synthetic.pdf").write_bytes(make_paper(title=title, nonce=str(i)))

    notebook = execute(NOTEBOOK_DIR / "bulk_run.ipynb", kernel_dir,
                       kernel_env(prefect_server, data_dir, tmp_path,
                                  PAPERFLOW_NOTEBOOK_FOLDER=str(folder),
                                  PAPERFLOW_NOTEBOOK_LIMIT="3"))

    assert "3 papers in" in text(cell(notebook, "run"))
    assert "3 processed" in text(cell(notebook, "run")) or "already done" in text(cell(notebook,
                                                                                       "run"))
    summary = cell(notebook, "summary")
    assert html_table_rows(summary) == 3
    table = text(summary)
    for column in ("source", "status", "sha256", "title", "pages", "seconds", "metadata_uri"):
        assert f"<th>{column}</th>" in table
    # pandas shortens long cells to 50 characters
    assert SAMPLE_TITLE[:40] in table and titles[0] in table and titles[1] in table
    assert titles[2] not in table
    assert "failed" not in table.split("<tbody>", 1)[1]
    assert len(list(data_dir.rglob("runs/*/summary.parquet"))) == 1  # in the test's data folder

    papers = cell(notebook, "papers")
    assert html_table_rows(papers) == 3
    for column in ("pages", "authors", "references", "figures"):
        assert f"<th>{column}</th>" in text(papers)
    # paper, status, pages, authors, references, figures, seconds: the sample's 16 pages and
    # 3 authors, and references from its stored metadata.json
    assert re.search(r"VESPA[^<]*</td>\s*<td>(completed|cached)</td>\s*<td>16</td>\s*<td>3</td>"
                     r"\s*<td>[1-9]\d*</td>", text(papers))

    for plot in ("plot-counts", "plot-timings"):
        shown = images(cell(notebook, plot))
        assert len(shown) == 1 and shown[0].startswith(PNG), plot

    per_task = cell(notebook, "task-runs")
    assert html_table_rows(per_task) >= 5
    for task in ("parse_pdf", "store_metadata", "embed_paper"):
        assert re.search(rf"\n{task}\s+3\s", text(per_task)), task  # once per paper
