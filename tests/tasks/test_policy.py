from types import SimpleNamespace
from typing import Any

import pytest
from prefect.states import Completed, Failed

from paperflow.errors import EncryptedPdfError, SourceError
from paperflow.pipeline import PaperKey
from paperflow.settings import reload_settings
from tasks.policy import content_cache_key, retry_unless_permanent, timed


def _context(name: str = "parse_pdf", version: str = "1") -> Any:
    return SimpleNamespace(task=SimpleNamespace(name=name, version=version))


def test_cache_key_is_content_task_version_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    key = PaperKey.of(b"%PDF-1.4 paper")
    fn = content_cache_key("max_pages")
    first = fn(_context(), {"key": key, "data": b"ignored"})
    assert key.sha256 in first and first.startswith("parse_pdf-1-")
    assert fn(_context(), {"key": PaperKey.of(b"%PDF-1.4 paper"), "data": b"x"}) == first
    assert fn(_context(version="2"), {"key": key}) != first
    assert fn(_context(), {"key": PaperKey.of(b"%PDF-1.4 other")}) != first
    monkeypatch.setenv("PAPERFLOW_MAX_PAGES", "10")
    reload_settings()
    try:
        assert fn(_context(), {"key": key}) != first
        assert content_cache_key()(_context(), {"key": key}) == f"parse_pdf-1-{key.sha256}"
    finally:
        monkeypatch.delenv("PAPERFLOW_MAX_PAGES")
        reload_settings()


def test_storage_keyed_caches_change_with_the_store(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Any) -> None:
    key = PaperKey.of(b"%PDF-1.4 paper")
    fn = content_cache_key(storage=True)
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "a"))
    reload_settings()
    first = fn(_context("figures"), {"key": key})
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "b"))
    reload_settings()
    assert fn(_context("figures"), {"key": key}) != first
    monkeypatch.undo()
    reload_settings()


def test_retry_only_transient_failures() -> None:
    def failed(exc: Exception) -> Any:
        return Failed(data=exc)

    assert retry_unless_permanent(None, None, failed(SourceError("HTTP 503")))  # type: ignore[arg-type]
    assert not retry_unless_permanent(None, None, failed(EncryptedPdfError("pw")))  # type: ignore[arg-type]
    assert retry_unless_permanent(None, None, Completed(data=1))  # type: ignore[arg-type]


def test_timed_measures() -> None:
    out = timed(sum, [1, 2, 3])
    assert out.value == 6 and out.seconds >= 0 and out.started_at > 1.6e9


def test_async_tasks_with_permanent_errors_are_not_retried() -> None:
    """Prefect calls the condition from the async task's event loop, where `state.result()`
    hands back a coroutine unless told to run synchronously."""
    import asyncio

    from prefect import flow, task

    from paperflow.llm.client import LLMError, LLMOutputError

    decisions: list[bool] = []

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        decisions.append(retry_unless_permanent(task, task_run, state))
        return decisions[-1]

    @task(retries=1, retry_delay_seconds=0, retry_condition_fn=condition)
    async def ask(permanent: bool) -> None:
        raise (LLMOutputError if permanent else LLMError)("no JSON in the answer")

    @flow
    async def both() -> None:
        await ask(True, return_state=True)
        await ask(False, return_state=True)

    asyncio.run(both(return_state=True))  # type: ignore[call-overload]
    assert decisions == [False, True]
