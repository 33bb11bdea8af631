"""The Prefect layer: group tasks cached per model, prompt version and paper; enrich in a flow."""

from __future__ import annotations

import pytest
from prefect import flow

from paperflow.llm.settings import reload_llm_settings
from paperflow.models import Figure, LLMReport, PaperMetadataExtraction
from paperflow.pdf import parse_layout
from paperflow.pipeline import FieldGroup, PaperKey, assemble
from tasks.llm import enrich
from tests.llm_server import Recorded, Reply, ScriptedLLM
from tests.paperflow.llm.test_groups import ANSWERS, TITLE, by_schema
from tests.pdfs import make_paper

pytestmark = pytest.mark.slow


@flow
def _enrich_flow(data: bytes, figures: list[Figure]) -> PaperMetadataExtraction:
    key = PaperKey.of(data)
    doc = parse_layout(data)
    heuristic = [FieldGroup("title_authors_abstract", {"title": None, "authors": []})]
    groups, report = enrich(key, doc, heuristic, figures)
    result = assemble(key, doc, groups)
    result.llm = report
    return result


def test_enrich_in_a_flow_is_cached_per_model(prefect_server: str, llm_server: ScriptedLLM,
                                             data_dir: object,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("PAPERFLOW_LLM_MODEL", "scripted")
    monkeypatch.setenv("PAPERFLOW_LLM_BACKOFF_BASE_SECONDS", "0.01")
    reload_llm_settings()
    llm_server.responder = by_schema
    data = make_paper(nonce="tasks-llm")
    figures = [Figure(label="Figure 1", number=1, page=1, bbox=(0, 0, 1, 1), kind="raster",
                      width=1, height=1, caption="Figure 1: Overview of the extraction pipeline.",
                      caption_source="pdf")]
    try:
        first = _enrich_flow(data, figures)
        assert first.title == TITLE and first.provenance["title"] == "llm"
        assert first.figures[0].description == ANSWERS["CaptionsAnswer"]["figures"][0][
            "description"]
        report: LLMReport = first.llm  # type: ignore[assignment]
        assert len(report.calls) == 6 and not any(c.cached for c in report.calls)
        assert report.prompt_tokens == 3000
        sent = len(llm_server.chat_requests())

        second = _enrich_flow(data, figures)
        assert len(llm_server.chat_requests()) == sent  # every group answered from the cache
        assert second.title == TITLE and all(c.cached for c in second.llm.calls)  # type: ignore[union-attr]
        assert second.llm.prompt_tokens == 0  # type: ignore[union-attr]

        monkeypatch.setenv("PAPERFLOW_LLM_MODEL", "another-model")
        reload_llm_settings()
        _enrich_flow(data, figures)
        assert len(llm_server.chat_requests()) == sent + 6  # a new model is a new cache key
    finally:
        monkeypatch.undo()
        reload_llm_settings()


def test_global_limit_caps_calls_across_the_process(prefect_server: str, llm_server: ScriptedLLM,
                                                    data_dir: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With the server's "llm" limit at 1 slot, the six groups never overlap at the endpoint."""
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    import tasks.llm as llm_tasks

    monkeypatch.setenv("PAPERFLOW_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("PAPERFLOW_LLM_MODEL", "scripted-limited")
    monkeypatch.setenv("PAPERFLOW_LLM_MAX_CONCURRENCY", "8")
    monkeypatch.setenv("PAPERFLOW_LLM_REQUESTS_PER_MINUTE", "0")
    reload_llm_settings()

    def slow(request: Recorded) -> Reply:
        reply = by_schema(request)
        reply.delay = 0.3
        return reply

    llm_server.responder = slow
    monkeypatch.setattr(llm_tasks, "_limit_exists", None)
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=llm_tasks.CONCURRENCY_LIMIT, limit=1))
    try:
        result = _enrich_flow(make_paper(nonce="global-limit"), [])
        assert result.llm is not None and len(result.llm.calls) == 5
        assert len(llm_server.chat_requests()) == 5
        assert llm_server.peak_in_flight == 1
    finally:
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name(llm_tasks.CONCURRENCY_LIMIT)
        monkeypatch.undo()
        llm_tasks._limit_exists = None
        reload_llm_settings()
