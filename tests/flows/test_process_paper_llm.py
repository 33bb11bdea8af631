"""The process-paper flow with LLM enrichment switched on, against the scripted server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.process_paper import ProcessOptions, process_paper
from paperflow.llm.settings import reload_llm_settings
from paperflow.settings import forget_learned
from tests.llm_server import ScriptedLLM, scripted_llm
from tests.paperflow.llm.test_groups import ANSWERS, REAL_QUOTE, TITLE, by_schema
from tests.pdfs import make_paper
from tests.prefect_api import artifacts

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


@pytest.fixture
def llm_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with scripted_llm() as server:
        server.responder = by_schema
        monkeypatch.setenv("PAPERFLOW_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("PAPERFLOW_LLM_MODEL", "scripted")
        monkeypatch.setenv("PAPERFLOW_LLM_BACKOFF_BASE_SECONDS", "0.01")
        reload_llm_settings()
        try:
            yield server
        finally:
            monkeypatch.undo()
            reload_llm_settings()


def test_flow_merges_verified_llm_fields(data_dir: Path, tmp_path: Path,
                                         llm_endpoint: ScriptedLLM) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(make_paper(nonce="flow-llm"))
    state = process_paper(str(path), ProcessOptions(preview=False), return_state=True)
    result = state.result()

    report = result.llm
    assert report is not None and report.model == "scripted"
    groups = {call.group for call in report.calls}
    assert {"title_authors_abstract", "institutions_keywords", "summary_citations",
            "starter_questions", "highlights"} <= groups
    assert report.prompt_tokens > 0 and not report.errors
    # The invented highlight is dropped and counted; the real quote is kept with its page.
    assert report.quotes_rejected >= 1
    assert [h.quote for h in result.highlights] == [REAL_QUOTE]
    assert result.provenance["highlights"] == "llm"
    assert result.title == TITLE
    assert result.starter_questions == ANSWERS["QuestionsAnswer"]["questions"]
    assert result.provenance["starter_questions"] == "llm"
    assert any(t.task == "llm" and not t.cached for t in result.timings)

    published = artifacts(state.state_details.flow_run_id)
    paper_report = next(a for a in published if a.key and a.key.startswith("paper-"))
    assert "## LLM" in paper_report.data and "scripted" in paper_report.data

    sent = len(llm_endpoint.chat_requests())
    again = process_paper(str(path), ProcessOptions(preview=False))
    assert len(llm_endpoint.chat_requests()) == sent  # the LLM groups came from the cache
    assert again.llm is not None and all(c.cached for c in again.llm.calls)
    assert again.highlights == result.highlights


def test_key_from_the_secret_block(data_dir: Path, llm_endpoint: ScriptedLLM,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker with no key in its environment uses the `paperflow-llm-api-key` Secret block."""
    import os

    from prefect.blocks.system import Secret

    import tasks.llm as llm_tasks

    for name in ("PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    reload_llm_settings()
    Secret(value="sk-from-the-block").save(llm_tasks.KEY_BLOCK, overwrite=True)
    monkeypatch.setattr(llm_tasks, "_key_looked_up", False)
    try:
        result = process_paper(make_paper(nonce="key-from-block"),
                               ProcessOptions(preview=False, figures=False))
        assert result.llm is not None and result.llm.calls
        sent = {r.headers.get("authorization") for r in llm_endpoint.chat_requests()}
        assert sent == {"Bearer sk-from-the-block"}
        assert "PAPERFLOW_LLM_API_KEY" not in os.environ, "the key is learned, not exported"
    finally:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            client.delete_block_document(Secret.load(llm_tasks.KEY_BLOCK)._block_document_id)
        forget_learned()
