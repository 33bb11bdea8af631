"""Key phrases: repeated multi-word terms first, generic words and duplicates out."""

from __future__ import annotations

import pytest

from paperflow.extract.keyphrases import key_phrases
from paperflow.pdf import parse_layout
from tests.conftest import EVAL_DIR
from tests.paperflow.extract.test_summary import PAGES, make_pdf

EVAL = EVAL_DIR


def test_key_phrases_rank_the_papers_terms() -> None:
    doc = parse_layout(make_pdf(PAGES))
    phrases = key_phrases(doc, count=6)
    assert 1 <= len(phrases) <= 6
    assert "citation chains" in phrases or "citation chain" in phrases
    assert "GraphWeaver" in phrases  # a coined name keeps its case
    lowered = [p.lower() for p in phrases]
    assert len(set(lowered)) == len(lowered)
    assert not {"paper", "method", "results", "the"} & set(lowered)
    for a in phrases:
        for b in phrases:
            assert a == b or a.lower() not in b.lower().split(" ")


def test_zero_count() -> None:
    assert key_phrases(parse_layout(make_pdf(PAGES)), count=0) == []


@pytest.mark.skipif(not (EVAL / "V15_emnlp2020_dpr.pdf").exists(), reason="no eval papers")
def test_key_phrases_on_real_paper() -> None:
    phrases = key_phrases(parse_layout((EVAL / "V15_emnlp2020_dpr.pdf").read_bytes()), 8)
    assert len(phrases) == 8
    assert "DPR" in phrases or "BM25" in phrases
    assert any(" " in p for p in phrases)


def test_every_count_is_chosen_from_one_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    # The keywords group and the starter questions ask for different counts of one paper.
    from paperflow.extract import keyphrases

    data = make_pdf(PAGES)
    alone = {count: key_phrases(parse_layout(data), count) for count in (3, 6, 8)}
    counted: list[object] = []
    score = keyphrases._score
    monkeypatch.setattr(keyphrases, "_score", lambda body: counted.append(body) or score(body))
    doc = parse_layout(data)
    assert [key_phrases(doc, count) for count in (8, 3, 6)] == [alone[8], alone[3], alone[6]]
    assert len(counted) == 1
