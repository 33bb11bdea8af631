"""Extractive summary over a synthetic paper with known key sentences, and over a real paper."""

from __future__ import annotations

import re

import pymupdf
import pytest

from paperflow.extract.quotes import locate_quote
from paperflow.extract.sentences import read_body, split_sentences
from paperflow.extract.summary import extract_summary
from paperflow.pdf import ParsedDocument, parse_layout
from tests.conftest import EVAL_DIR

EVAL = EVAL_DIR

CONTRIBUTION = (
    "In this paper, we propose GraphWeaver, a citation-aware method for ranking scientific "
    "papers by their relevance to a research question."
)
RESULT = (
    "GraphWeaver outperforms the strongest baseline by 12.3% nDCG on the CiteBench ranking "
    "benchmark while using half the training data."
)
LIMITATION = (
    "A limitation of GraphWeaver is that it does not handle papers without citation links, "
    "which we leave for future work."
)
DEFINITION = "We define a citation chain as a sequence of papers in which each cites the next."
METHOD = (
    "We train the citation-aware ranking encoder with a contrastive loss over citation chains "
    "sampled from the CiteBench graph."
)
FILLER = [
    "Ranking scientific papers is a routine task for researchers who survey a new field.",
    "Search engines for scientific literature usually rely on keyword matching of titles.",
    "Keyword matching misses papers that use different words for the same research question.",
    "Citation links between papers carry a signal of relatedness that text alone lacks.",
    "The CiteBench graph contains forty thousand papers from computer science and biology.",
    "Each paper in the graph is represented by its title, abstract and outgoing citations.",
    "Earlier ranking methods treat citation links as a fixed feature of each paper.",
    "The encoder reads the title and abstract of every paper in a citation chain.",
    "Training runs for ten epochs on a single graphics card with a batch size of 64.",
    "Ranking quality is measured by nDCG at ten over held-out research questions.",
]

PAGES = [
    [
        ("title", "GraphWeaver: Citation-Aware Ranking of Scientific Papers"),
        ("heading", "Abstract"),
        ("text", "Researchers need to rank scientific papers by relevance to a research "
                 "question. We present a citation-aware ranking method that uses citation "
                 "chains and report gains on a ranking benchmark."),
        ("heading", "1 Introduction"),
        ("text", " ".join([FILLER[0], FILLER[1], FILLER[2], FILLER[3], CONTRIBUTION])),
        ("text", " ".join([FILLER[6], DEFINITION])),
    ],
    [
        ("heading", "2 Method"),
        ("text", " ".join([FILLER[4], FILLER[5], METHOD, FILLER[7], FILLER[8]])),
        ("heading", "3 Results"),
        ("text", " ".join([FILLER[9], RESULT])),
        ("heading", "4 Limitations"),
        ("text", LIMITATION + " Papers with few citations are ranked by their text alone."),
        ("heading", "References"),
        ("text", "[1] A. Author. We propose a baseline ranking method that outperforms "
                 "everything by 99.9% on all benchmarks. Journal of Results, 2020."),
    ],
]


def make_pdf(pages: list[list[tuple[str, str]]], footer: str | None = "Preprint. Page") -> bytes:
    """A PDF with a large bold title, bold headings and 10 pt running text, one column."""
    doc = pymupdf.open()
    for number, items in enumerate(pages, start=1):
        page = doc.new_page(width=595, height=842)
        y = 72.0
        for kind, text in items:
            size, font = {"title": (16, "hebo"), "heading": (12, "hebo")}.get(kind, (10, "helv"))
            height = 14 + 13 * (len(text) // 85 + 1) * size / 10
            rect = pymupdf.Rect(72, y, 523, y + height)
            left = page.insert_textbox(rect, text, fontsize=size, fontname=font)
            assert left >= 0, f"text did not fit: {text[:40]}"
            y += height + 8
        if footer:
            page.insert_text((260, 815), f"{footer} {number}", fontsize=8, fontname="helv")
    return doc.tobytes()


@pytest.fixture(scope="module")
def paper() -> ParsedDocument:
    return parse_layout(make_pdf(PAGES))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_split_sentences_keeps_abbreviations_decimals_and_citations() -> None:
    text = (
        "As Smith et al. (2019) note, e.g. in Fig. 3 the gain is 3.5% [12]. "
        "Cells grew.12 Then J. Doe tested it (see Sec. 2). Does it work? Yes."
    )
    assert split_sentences(text) == [
        "As Smith et al. (2019) note, e.g. in Fig. 3 the gain is 3.5% [12].",
        "Cells grew.12",
        "Then J. Doe tested it (see Sec. 2).",
        "Does it work?",
        "Yes.",
    ]


def test_body_skips_headings_footers_and_references(paper: ParsedDocument) -> None:
    body = read_body(paper)
    texts = [s.text for s in body.sentences]
    assert CONTRIBUTION in texts and RESULT in texts and LIMITATION in texts
    assert not any("99.9%" in t or "Preprint" in t for t in texts)
    assert [h for _, h in body.headings][:4] == ["Introduction", "Method", "Results", "Limitations"]
    assert body.abstract and body.abstract.startswith("Researchers need")
    assert {s.section for s in body.sentences if s.text == RESULT} == {"results"}


def test_summary_picks_key_sentences_with_verified_citations(paper: ParsedDocument) -> None:
    summary, citations = extract_summary(paper, None, sentences=4)
    assert summary is not None
    assert len(citations) == 4
    quotes = [c.quote for c in citations]
    assert CONTRIBUTION in quotes
    assert RESULT in quotes
    assert len(set(quotes)) == len(quotes)
    assert [c.marker for c in citations] == [1, 2, 3, 4]
    assert re.findall(r"\[(\d+)\]", summary) == ["1", "2", "3", "4"]
    pages = paper.page_texts()
    for citation in citations:
        assert citation.verified
        assert f"{citation.quote} [{citation.marker}]" in summary
        assert citation.page == locate_quote(citation.quote, pages)
        assert citation.quote in _flat(pages[citation.page - 1])
    # Paper order: the introduction's contribution comes before the results.
    assert quotes.index(CONTRIBUTION) < quotes.index(RESULT)
    # The abstract is shown on its own; the summary digests the body.
    assert "Researchers need" not in summary


def test_summary_handles_empty_and_zero() -> None:
    doc = parse_layout(make_pdf([[("title", "Nothing Here At All")]], footer=None))
    assert extract_summary(doc, None) == (None, [])
    assert extract_summary(doc, "An abstract.", sentences=0) == (None, [])


@pytest.mark.skipif(not (EVAL / "V07_acl2020_specter.pdf").exists(), reason="eval papers absent")
def test_summary_on_real_paper_is_verified() -> None:
    doc = parse_layout((EVAL / "V07_acl2020_specter.pdf").read_bytes())
    summary, citations = extract_summary(doc, None, 5)
    assert summary and len(citations) == 5
    assert all(c.verified and c.page for c in citations)
    assert any(re.search(r"\bwe (?:introduce|present|propose)\b", c.quote, re.I) for c in citations)
    assert not any("et al." in c.quote and "(" in c.quote for c in citations[:1])
