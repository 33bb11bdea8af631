"""End to end against a real model: llama.cpp's server with SmolLM2-135M on the sample paper."""

from __future__ import annotations

import time

import pytest

from paperflow.extract.quotes import locate_quote
from paperflow.llm.enrich import enrich_paper
from paperflow.llm.settings import LLMSettings
from paperflow.llm.verify import text_supports
from paperflow.pdf import parse_layout
from paperflow.pipeline import PaperKey, assemble, run_groups
from paperflow.settings import get_settings
from tests.conftest import SAMPLE_PDF
from tests.paperflow.llm.conftest import REAL_MODEL_CONTEXT

pytestmark = pytest.mark.slow


async def test_smollm2_structured_output_is_verified(llama_server: str) -> None:
    data = SAMPLE_PDF.read_bytes()
    doc = parse_layout(data)
    heuristic = run_groups(doc, get_settings())
    heuristic_title = next(g.fields["title"] for g in heuristic if "title" in g.fields)
    settings = LLMSettings(
        base_url=llama_server, model="smollm2", context_window_tokens=REAL_MODEL_CONTEXT,
        max_output_tokens=384, max_concurrency=1, requests_per_minute=0, timeout_seconds=600,
        max_retries=1,
    )
    started = time.perf_counter()
    groups, report = await enrich_paper(doc, heuristic, [], settings=settings)
    seconds = time.perf_counter() - started
    result = assemble(PaperKey.of(data), doc, groups)
    result.llm = report

    calls = {call.group: call for call in report.calls}
    print(f"\nLLM phase {seconds:.1f} s; slowest call "
          f"{max(c.seconds for c in report.calls):.1f} s; calls {len(report.calls)}; tokens "
          f"{report.prompt_tokens} in + {report.completion_tokens} out; quotes rejected "
          f"{report.quotes_rejected}/{report.quotes_checked}; errors {report.errors}")
    for call in report.calls:
        print(f"  {call.group}: {call.seconds:.1f} s, {call.prompt_tokens}+"
              f"{call.completion_tokens} tokens, {call.attempts} attempts, "
              f"{call.response_format}, truncated={call.truncated_input}, error={call.error}")
    for disagreement in report.disagreements:
        print(f"  disagreement {disagreement.field}: llm={disagreement.llm!r:.80} "
              f"-> {disagreement.chosen} ({disagreement.reason})")

    # The structured-output path: llama.cpp refuses json_schema (HTTP 500), so "auto" falls
    # back to json_object with the schema, which its grammar enforces.
    assert set(calls) == {"title_authors_abstract", "institutions_keywords",
                          "summary_citations", "starter_questions", "highlights"}
    assert calls["title_authors_abstract"].error is None
    assert all(call.response_format == "json_object" for call in report.calls)
    assert report.prompt_tokens > 0 and report.completion_tokens > 0
    # Every request fits the window; a call's tokens add up over its attempts (a repair).
    assert all(call.prompt_tokens <= REAL_MODEL_CONTEXT * call.attempts for call in report.calls)
    assert any(call.truncated_input for call in report.calls)  # the paper is ~9000 tokens

    # Verification: the final title is printed on the page, and it is the heuristic's whenever
    # the model's title is not supported by the text.
    llm_titles = [d.llm for d in report.disagreements if d.field == "title"]
    assert text_supports(result.title, doc)
    if heuristic_title and text_supports(heuristic_title, doc):
        assert result.title == heuristic_title
    for title in llm_titles:
        if not text_supports(title, doc):
            assert result.title != title
    # Every quote the model gave that survived is in the paper; what it invented was counted.
    page_texts = doc.page_texts()
    kept = 0
    for field, quotes in (("summary", [c.quote for c in result.summary_citations]),
                          ("highlights", [h.quote for h in result.highlights])):
        if result.provenance.get(field) == "llm":
            kept += len(quotes)
            assert all(locate_quote(quote, page_texts) for quote in quotes)
    assert report.quotes_checked == kept + report.quotes_rejected
