"""The context window against the real llama.cpp server (llama-cpp-python, `--n_ctx 2048`)."""

from __future__ import annotations

import time

import httpx
import pytest

from paperflow.llm.enrich import enrich_paper
from paperflow.llm.settings import LLMSettings
from paperflow.llm.tokens import count_tokens
from paperflow.llm.window import SERVING_KEYS, TRAINING_KEYS
from paperflow.pdf import parse_layout
from tests.conftest import SAMPLE_PDF
from tests.paperflow.llm.conftest import REAL_MODEL_CONTEXT

pytestmark = pytest.mark.slow


async def test_the_default_setting_learns_the_servers_window(llama_server: str) -> None:
    # llama-cpp-python's /v1/models names no length, so the window is learnt from its refusal.
    listing = httpx.get(f"{llama_server}/models", timeout=10).json()
    assert not set(listing["data"][0]) & {*SERVING_KEYS, *TRAINING_KEYS, "meta"}
    doc = parse_layout(SAMPLE_PDF.read_bytes())
    assert count_tokens(doc.text) > 4 * REAL_MODEL_CONTEXT
    settings = LLMSettings(base_url=llama_server, model="smollm2", max_output_tokens=384,
                           max_concurrency=1, requests_per_minute=0, timeout_seconds=600,
                           max_retries=1)
    assert settings.context_window_tokens == 128_000  # the default, not the server's

    started = time.perf_counter()
    _, report = await enrich_paper(doc, [], [], settings=settings)
    print(f"\nLLM phase {time.perf_counter() - started:.1f} s; window "
          f"{report.context_window_tokens} ({report.context_window_source}); errors "
          f"{report.errors}")
    for call in report.calls:
        print(f"  {call.group}: {call.prompt_tokens}+{call.completion_tokens} tokens, "
              f"{call.attempts} attempts, truncated={call.truncated_input}, error={call.error}")

    assert report.context_window_tokens == REAL_MODEL_CONTEXT
    assert report.context_window_source == "refusal"
    assert {c.group for c in report.calls} == {
        "title_authors_abstract", "institutions_keywords", "summary_citations",
        "starter_questions", "highlights"}
    # Every group fits, the title group included: none failed on the window. The header
    # pages sent whole at first fit 2048 tokens but may leave the answer too little; a cut
    # answer teaches the window like a refusal, and the prompt is re-fitted, not repaired.
    assert not any("context" in (c.error or "") for c in report.calls), report.errors
    calls = {c.group: c for c in report.calls}
    assert calls["title_authors_abstract"].error is None, report.errors
    assert all(c.truncated_input for c in report.calls if c.group != "title_authors_abstract")
    assert all(0 < c.prompt_tokens <= REAL_MODEL_CONTEXT * c.attempts
               for c in report.calls if c.error is None)
    # The one refused (or cut) request belongs to the first call sent; the others re-fitted
    # unsent.
    assert sum(c.attempts for c in report.calls) <= len(report.calls) + 2 + sum(
        c.repaired for c in report.calls)
