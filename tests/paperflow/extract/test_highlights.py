"""Highlights: the known contribution, result and limitation sentences, quoted exactly."""

from __future__ import annotations

import re

import pytest

from paperflow.extract.highlights import annotate, classify, extract_highlights
from paperflow.extract.quotes import locate_quote
from paperflow.pdf import ParsedDocument, parse_layout
from tests.conftest import EVAL_DIR
from tests.paperflow.extract.test_summary import (
    CONTRIBUTION,
    DEFINITION,
    LIMITATION,
    PAGES,
    RESULT,
    make_pdf,
)

EVAL = EVAL_DIR


@pytest.fixture(scope="module")
def paper() -> ParsedDocument:
    return parse_layout(make_pdf(PAGES))


def test_highlights_find_known_sentences_by_type(paper: ParsedDocument) -> None:
    highlights = extract_highlights(paper, count=6)
    by_quote = {h.quote: h for h in highlights}
    assert by_quote[CONTRIBUTION].type == "contribution"
    assert by_quote[RESULT].type == "result"
    assert by_quote[LIMITATION].type == "limitation"
    assert by_quote[DEFINITION].type == "definition"
    assert len(by_quote) == len(highlights)
    assert len({h.type for h in highlights}) >= 4
    pages = paper.page_texts()
    for h in highlights:
        assert h.verified and h.page == locate_quote(h.quote, pages)
        assert h.quote in re.sub(r"\s+", " ", pages[h.page - 1])
        assert h.annotation.lower().startswith(h.type)
    assert not any("99.9%" in h.quote for h in highlights)  # from the reference list


def test_annotations_name_what_matters() -> None:
    assert annotate("result", RESULT) == "Result: reports a quantitative improvement (12.3%)"
    assert annotate("contribution", CONTRIBUTION).startswith(
        "Contribution: proposes GraphWeaver, a citation-aware method"
    )
    definition = annotate("definition", DEFINITION)
    assert definition == "Definition: fixes the meaning of “a citation chain”"
    assert "future work" in annotate("limitation", LIMITATION)


def test_classify_separates_types() -> None:
    assert max(classify(RESULT), key=classify(RESULT).get) == "result"
    assert "limitation" in classify(LIMITATION)
    assert classify("The sky was blue over the laboratory that morning.") == {}


def test_count_limits_and_zero(paper: ParsedDocument) -> None:
    assert len(extract_highlights(paper, count=2)) == 2
    assert extract_highlights(paper, count=0) == []


@pytest.mark.skipif(not (EVAL / "V13_cvpr2022_xylayoutlm.pdf").exists(), reason="no eval papers")
def test_highlights_on_real_paper() -> None:
    doc = parse_layout((EVAL / "V13_cvpr2022_xylayoutlm.pdf").read_bytes())
    highlights = extract_highlights(doc, 6)
    assert len(highlights) == 6
    assert all(h.verified for h in highlights)
    assert {"contribution", "result"} <= {h.type for h in highlights}
    result = next(h for h in highlights if h.type == "result")
    assert re.search(r"\d", result.quote) and "%" in result.annotation
