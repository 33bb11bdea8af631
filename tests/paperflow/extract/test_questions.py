"""Starter questions built from the paper's own contributions, methods and limitations."""

from __future__ import annotations

import pytest

from paperflow.extract.questions import starter_questions
from paperflow.pdf import ParsedDocument, parse_layout
from tests.conftest import EVAL_DIR
from tests.paperflow.extract.test_summary import PAGES, make_pdf

EVAL = EVAL_DIR


@pytest.fixture(scope="module")
def paper() -> ParsedDocument:
    return parse_layout(make_pdf(PAGES))


def test_questions_are_specific_and_distinct(paper: ParsedDocument) -> None:
    title = "GraphWeaver: Citation-Aware Ranking of Scientific Papers"
    questions = starter_questions(paper, title, count=5)
    assert len(questions) == 5
    assert len({q.lower() for q in questions}) == 5
    assert all(q.endswith("?") and q[0].isupper() for q in questions)
    joined = " ".join(questions)
    assert "GraphWeaver" in joined
    assert "citation-aware" in joined  # the contribution's own noun phrase
    assert any(q.startswith("What are the limitations of GraphWeaver") for q in questions)
    assert any(q.startswith("What evidence supports the claim that") for q in questions)
    assert not any("  " in q or " ," in q for q in questions)


def test_question_count(paper: ParsedDocument) -> None:
    assert len(starter_questions(paper, None, count=2)) == 2
    assert starter_questions(paper, None, count=0) == []


@pytest.mark.skipif(not (EVAL / "V07_acl2020_specter.pdf").exists(), reason="no eval papers")
def test_questions_on_real_paper_name_its_system() -> None:
    doc = parse_layout((EVAL / "V07_acl2020_specter.pdf").read_bytes())
    questions = starter_questions(doc, None, 5)
    assert len(questions) == 5
    assert sum("SPECTER" in q for q in questions) >= 2
