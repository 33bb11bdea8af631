"""Verification of quotes and printed fields, and the merge of LLM answers onto heuristics."""

from __future__ import annotations

from paperflow.llm.verify import (
    abstract_supported,
    apply_figure_descriptions,
    author_supported,
    find_quote,
    merge,
    text_supports,
)
from paperflow.models import Author, Figure, Highlight, SummaryCitation
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import FieldGroup, PaperKey, assemble

TITLE = "Structured Extraction of Scientific Papers at Scale"
REAL_QUOTE = "Our experiments show that the approach improves accuracy by 12.5% over the baseline."
INVENTED = "Our approach reaches 99% accuracy on every benchmark ever published."


def test_find_quote_tolerates_layout_and_typography() -> None:
    pages = ["Intro text.", "The model im-\nproves recall [12] by a wide margin, as “shown” "
             "in Table 2 (Smith et al., 2020) and elsewhere."]
    assert find_quote("The model improves recall by a wide margin", pages) == 2
    assert find_quote('"as "shown" in Table 2 and elsewhere."', pages) == 2
    assert find_quote("The model improves recall ... as \"shown\" in Table 2", pages) == 2
    assert find_quote("The model improves precision by a wide margin", pages) is None
    assert find_quote("recall", pages) is None  # too short to be evidence


def test_printed_fields_are_supported_only_when_printed(paper_doc: ParsedDocument) -> None:
    assert text_supports(TITLE, paper_doc)
    assert text_supports(TITLE.upper() + " ", paper_doc)
    assert not text_supports("Unstructured Chaos in Scientific Papers", paper_doc)
    assert author_supported("Ada Lovelace", paper_doc)
    assert author_supported("A. Lovelace", paper_doc)
    assert not author_supported("Grace Hopper", paper_doc)
    assert abstract_supported("We study metadata extraction from scientific PDFs.", paper_doc)
    assert not abstract_supported("This paper studies protein folding in yeast cells.",
                                  paper_doc)


def _heuristic(title: str | None = TITLE) -> list[FieldGroup]:
    return [
        FieldGroup("title_authors_abstract", {
            "title": title, "authors": [Author(name="Ada Lovelace"), Author(name="Alan Turing")],
            "abstract": "We study metadata extraction from scientific PDFs.",
            "publish_date": None, "year": None,
        }),
        FieldGroup("institutions_keywords", {
            "affiliations": [], "keywords": ["extraction"], "keywords_printed": False}),
        FieldGroup("summary_citations", {"summary": None, "summary_citations": []}),
        FieldGroup("starter_questions", {"starter_questions": []}),
        FieldGroup("highlights", {"highlights": []}),
    ]


def _llm(title: str, authors: list[str]) -> list[FieldGroup]:
    return [
        FieldGroup("title_authors_abstract", {
            "title": title, "authors": [Author(name=n) for n in authors],
            "abstract": "An abstract the paper never printed about something else entirely.",
            "publish_date": None, "year": 2031}, source="llm"),
        FieldGroup("institutions_keywords", {
            "affiliations": ["University of Somewhere", "Invented Institute of Nowhere"],
            "keywords": ["metadata extraction", "PDF"]}, source="llm"),
        FieldGroup("summary_citations", {
            "summary": "The method structures papers [1]. It is perfect [2].",
            "summary_citations": [SummaryCitation(marker=1, quote=REAL_QUOTE),
                                  SummaryCitation(marker=2, quote=INVENTED)]}, source="llm"),
        FieldGroup("starter_questions", {"starter_questions": ["Why does it work?"]},
                   source="llm"),
        FieldGroup("highlights", {"highlights": [
            Highlight(quote=REAL_QUOTE, annotation="Main result", type="result"),
            Highlight(quote=INVENTED, annotation="Invented", type="claim")]}, source="llm"),
    ]


def test_invented_values_lose_and_quotes_are_checked(paper_doc: ParsedDocument) -> None:
    groups, report = merge(_heuristic(), _llm("A Grand Unified Theory", ["Grace Hopper"]),
                           paper_doc)
    result = assemble(PaperKey("0" * 64, 1), paper_doc, groups)
    assert result.title == TITLE and result.provenance["title"] == "pdf"
    assert [a.name for a in result.authors] == ["Ada Lovelace", "Alan Turing"]
    assert result.abstract == "We study metadata extraction from scientific PDFs."
    assert result.year is None  # 2031 is not printed
    fields = {d.field: d for d in report.disagreements}
    assert fields["title"].chosen == "pdf" and fields["title"].llm == "A Grand Unified Theory"
    assert "not in the paper's text" in fields["title"].reason
    assert {"title", "authors", "abstract"} <= set(fields)

    assert report.quotes_checked == 4 and report.quotes_rejected == 2
    assert report.rejected_quotes == [INVENTED, INVENTED]
    assert result.summary == "The method structures papers [1]. It is perfect."
    assert [(c.marker, c.page, c.verified) for c in result.summary_citations] == [(1, 1, True)]
    assert [(h.quote, h.page, h.verified) for h in result.highlights] == [(REAL_QUOTE, 1, True)]
    assert result.provenance["summary"] == "llm" and result.provenance["highlights"] == "llm"
    assert result.starter_questions == ["Why does it work?"]
    assert result.keywords == ["metadata extraction", "PDF"] and not result.keywords_printed
    assert result.provenance["keywords"] == "llm"
    assert result.affiliations == ["University of Somewhere"]  # the invented one is dropped


def test_supported_llm_title_fills_a_missing_heuristic(paper_doc: ParsedDocument) -> None:
    groups, report = merge(_heuristic(title=None), _llm(TITLE, ["Ada Lovelace"]), paper_doc)
    result = assemble(PaperKey("0" * 64, 1), paper_doc, groups)
    assert result.title == TITLE and result.provenance["title"] == "llm"
    assert "title" not in {d.field for d in report.disagreements}


def test_printed_keywords_win_and_disagreement_is_kept(paper_doc: ParsedDocument) -> None:
    heuristic = _heuristic()
    heuristic[1].fields.update(keywords=["printed one"], keywords_printed=True)
    groups, report = merge(heuristic, _llm(TITLE, []), paper_doc)
    result = assemble(PaperKey("0" * 64, 1), paper_doc, groups)
    assert result.keywords == ["printed one"] and result.provenance["keywords"] == "pdf"
    assert any(d.field == "keywords" and d.chosen == "pdf" for d in report.disagreements)


def test_summary_without_a_verified_quote_is_dropped(paper_doc: ParsedDocument) -> None:
    llm = _llm(TITLE, [])
    llm[2].fields["summary_citations"] = [SummaryCitation(marker=1, quote=INVENTED)]
    groups, report = merge(_heuristic(), llm, paper_doc)
    result = assemble(PaperKey("0" * 64, 1), paper_doc, groups)
    assert result.summary is None and report.quotes_rejected == 2
    assert any("LLM summary dropped" in w for w in result.warnings)


def test_figure_descriptions_fill_missing_captions_only() -> None:
    figures = [Figure(page=1, bbox=(0, 0, 1, 1), kind="raster", width=1, height=1,
                      caption="Figure 1: Printed.", caption_source="pdf"),
               Figure(page=2, bbox=(0, 0, 1, 1), kind="raster", width=1, height=1)]
    group = FieldGroup("figure_captions", {"figure_descriptions": {0: "A chart.", 1: "A map."}},
                       source="llm")
    first, second = apply_figure_descriptions(figures, [group])
    assert (first.caption, first.caption_source, first.description) == (
        "Figure 1: Printed.", "pdf", "A chart.")
    assert (second.caption, second.caption_source, second.description) == (
        "A map.", "llm", "A map.")

