"""Shared fixtures: an isolated Prefect home and data folder, one Prefect server per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Before Prefect is imported anywhere: keep its database, results and settings out of the user's.
_PREFECT_HOME = tempfile.mkdtemp(prefix="paperflow-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PAPERFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="paperflow-data-")
# Test servers (papers, arXiv, webhooks) listen on loopback; tests of the refusal turn it off.
os.environ["PAPERFLOW_ALLOW_PRIVATE_URLS"] = "true"
# `paperflow process` subprocesses run cold and leave no warm process (tests/cli/test_warm.py
# turns it on where it is tested).
os.environ["PAPERFLOW_WARM_PROCESS"] = "false"

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The evaluation papers beside the checkout (../shared/eval), or where PAPERFLOW_EVAL_DIR says.
EVAL_DIR = Path(os.environ.get("PAPERFLOW_EVAL_DIR") or ROOT.parent / "shared" / "eval")
SAMPLE_PDF = ROOT / "samples" / "webb2017-vespa-peerjcs.pdf"


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect server (SQLite) for the whole session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PAPERFLOW_DATA_DIR for one test, with settings re-read."""
    from paperflow.settings import reload_settings

    folder = tmp_path / "data"
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(folder))
    reload_settings()
    yield folder
    monkeypatch.undo()
    reload_settings()


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not EVAL_DIR.is_dir():
        pytest.skip(f"evaluation papers not found at {EVAL_DIR}")
    return EVAL_DIR
