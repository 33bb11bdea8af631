"""Checking the LLM's answers against the paper's text, and merging them with the heuristics.

Rules (pdf = heuristic value, llm = model's value):
- Quotes (summary citations, highlights) must occur in the extracted text (`find_quote`: case,
  white space, hyphenation, typography and inline citation markers are tolerated); the others are
  dropped and counted, and a dropped citation's marker is removed from the summary.
- Title and abstract: a printed (text-supported) pdf value wins; else a supported llm value; an
  unsupported llm value never wins. Authors: the pdf list unless the text does not support it;
  llm authors are kept only when their names are printed on the first pages.
- Affiliations, date: the pdf value when there is one (authors' affiliation indices point into
  it); otherwise supported llm values. Keywords: printed keywords win; otherwise llm key phrases.
- Summary, highlights: the llm's when at least one of its quotes is verified (an llm summary with
  no verified citation is dropped, with a warning); otherwise the heuristic ones. Questions: the
  llm's when it gave any.
Every differing title, abstract, author list or printed keyword list is kept as a `Disagreement`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz

from paperflow.extract.quotes import locate_quote, normalise_for_matching
from paperflow.models import Disagreement, Figure, Highlight, LLMReport, SummaryCitation
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import FieldGroup

HEADER_PAGES = 2
_CITATION_MARK = re.compile(
    r"\s?\[\d+(?:\s*[-–,]\s*\d+)*\]|\s?\((?:[A-Z][\w'-]+(?: et al\.?| and [A-Z][\w'-]+)?,? "
    r"\d{4}[a-z]?(?:; )?)+\)"
)
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
MAX_REJECTED_LISTED = 50


def _without_citation_marks(text: str) -> str:
    return _CITATION_MARK.sub("", text)


def find_quote(quote: str, page_texts: list[str]) -> int | None:
    """The 1-based page where `quote` occurs (tolerating what `locate_quote` does, inline
    citation marks and elisions "..."), or None."""
    cleaned = quote.strip().strip("\"'“”‘’").strip()
    cleaned = _ELLIPSIS.sub(" … ", cleaned).strip(" …")
    parts = [part for part in cleaned.split(" … ") if part.strip()]
    if len(parts) > 1:
        pages = [find_quote(part, page_texts) for part in parts]
        if all(pages) and max(pages) - min(pages) <= 1:  # type: ignore[type-var,operator]
            return min(pages)  # type: ignore[type-var]
        return None
    page = locate_quote(cleaned, page_texts)
    if page is None:
        unmarked = [_without_citation_marks(text) for text in page_texts]
        page = locate_quote(_without_citation_marks(cleaned), unmarked)
    return page


def _header_text(doc: ParsedDocument, pages: int = HEADER_PAGES) -> str:
    return normalise_for_matching("\n".join(doc.page_texts()[:pages]))


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalise_for_matching(text))


def text_supports(value: str | None, doc: ParsedDocument, pages: int = HEADER_PAGES,
                  threshold: float = 95.0) -> bool:
    """True when `value` is printed on the first `pages` pages (near-exactly)."""
    if not value or not value.strip():
        return False
    needle = normalise_for_matching(value)
    haystack = _header_text(doc, pages)
    if needle in haystack or _squash(needle) in _squash(haystack):
        return True
    return len(needle) >= 8 and fuzz.partial_ratio(needle, haystack) >= threshold


def author_supported(name: str, doc: ParsedDocument) -> bool:
    """True when every word of the name (initials aside) is printed on the first pages."""
    words = [w for w in re.split(r"[\s.,]+", normalise_for_matching(name)) if len(w) > 1]
    if not words:
        return False
    haystack = set(re.findall(r"\w+", _header_text(doc)))
    return all(word in haystack for word in words)


def abstract_supported(abstract: str | None, doc: ParsedDocument) -> bool:
    """True when at least 70% of the abstract's sentences are printed in the paper."""
    if not abstract:
        return False
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", abstract) if len(s) >= 20]
    if not sentences:
        return text_supports(abstract, doc, pages=3)
    page_texts = doc.page_texts()[:3]
    found = sum(1 for s in sentences if find_quote(s, page_texts) is not None)
    return found / len(sentences) >= 0.7


def _same(a: str | None, b: str | None) -> bool:
    return _squash(a or "") == _squash(b or "")


def _values(groups: Iterable[FieldGroup]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group in groups:
        values.update(group.fields)
    return values


class _Merger:
    def __init__(self, pdf: dict[str, Any], llm: dict[str, Any], doc: ParsedDocument) -> None:
        self.pdf, self.llm, self.doc = pdf, llm, doc
        self.page_texts = doc.page_texts()
        self.chosen: dict[str, Any] = {}
        self.report = LLMReport()
        self.warnings: list[str] = []

    def disagree(self, name: str, pdf: Any, llm: Any, chosen: str, reason: str) -> None:
        self.report.disagreements.append(Disagreement(
            field=name, pdf=_text(pdf), llm=_text(llm), chosen=chosen, reason=reason))  # type: ignore[arg-type]

    def reject(self, quote: str) -> None:
        self.report.quotes_rejected += 1
        if len(self.report.rejected_quotes) < MAX_REJECTED_LISTED:
            self.report.rejected_quotes.append(quote[:300])

    def printed_field(self, name: str, supported: Any) -> None:
        pdf, llm = self.pdf.get(name), self.llm.get(name)
        if not llm or _same(pdf, llm):
            return
        pdf_ok, llm_ok = supported(pdf, self.doc), supported(llm, self.doc)
        if pdf and pdf_ok:
            self.disagree(name, pdf, llm, "pdf", "both differ; the heuristic value is printed"
                          if llm_ok else "the LLM's value is not in the paper's text")
        elif llm_ok:
            self.chosen[name] = llm
            if pdf:
                self.disagree(name, pdf, llm, "llm", "the heuristic value is not in the text")
        else:
            self.disagree(name, pdf, llm, "pdf", "the LLM's value is not in the paper's text")

    def authors(self) -> None:
        pdf, llm = self.pdf.get("authors") or [], self.llm.get("authors") or []
        if not llm:
            return
        kept = [a for a in llm if author_supported(a.name, self.doc)]
        dropped = [a.name for a in llm if a not in kept]
        pdf_names, llm_names = [a.name for a in pdf], [a.name for a in llm]
        pdf_ok = pdf and sum(author_supported(n, self.doc) for n in pdf_names) * 2 >= len(pdf)
        if pdf_ok or not kept:
            if [_squash(n) for n in pdf_names] != [_squash(n) for n in llm_names]:
                reason = ("the heuristic authors are printed" if pdf_ok
                          else "the LLM's authors are not printed")
                self.disagree("authors", "; ".join(pdf_names), "; ".join(llm_names), "pdf",
                              reason)
            return
        self.chosen["authors"] = kept
        if pdf or dropped:
            self.disagree("authors", "; ".join(pdf_names), "; ".join(llm_names), "llm",
                          f"not printed, dropped: {', '.join(dropped)}" if dropped
                          else "the heuristic authors are not printed")

    def dates_and_affiliations(self) -> None:
        year = self.llm.get("year")
        if year and not self.pdf.get("year") and str(year) in "\n".join(self.page_texts[:3]):
            self.chosen["year"] = year
            if self.llm.get("publish_date") and not self.pdf.get("publish_date"):
                self.chosen["publish_date"] = self.llm["publish_date"]
        if not self.pdf.get("affiliations") and self.llm.get("affiliations"):
            kept = [a for a in self.llm["affiliations"]
                    if text_supports(a, self.doc, pages=3, threshold=90.0)]
            if kept:
                self.chosen["affiliations"] = kept

    def keywords(self) -> None:
        llm = self.llm.get("keywords") or []
        if not llm:
            return
        pdf = self.pdf.get("keywords") or []
        if self.pdf.get("keywords_printed") and pdf:
            if {_squash(k) for k in pdf} != {_squash(k) for k in llm}:
                self.disagree("keywords", ", ".join(pdf), ", ".join(llm), "pdf",
                              "the paper prints its keywords")
            return
        self.chosen["keywords"] = llm
        self.chosen["keywords_printed"] = False

    def summary(self) -> None:
        summary = self.llm.get("summary")
        citations: list[SummaryCitation] = self.llm.get("summary_citations") or []
        if not summary:
            return
        verified: list[SummaryCitation] = []
        for citation in citations:
            self.report.quotes_checked += 1
            page = find_quote(citation.quote, self.page_texts)
            if page is None:
                self.reject(citation.quote)
            else:
                verified.append(citation.model_copy(update={"page": page, "verified": True}))
        markers = {c.marker for c in verified}
        text = re.sub(r"\s?\[(\d+)\]",
                      lambda m: m.group(0) if int(m.group(1)) in markers else "", summary)
        text = re.sub(r"\s+([.,;:])", r"\1", text).strip()
        if verified:
            self.chosen["summary"] = text
            self.chosen["summary_citations"] = verified
        else:
            self.warnings.append("LLM summary dropped: none of its quotes was found in the "
                                 "paper's text.")

    def highlights(self) -> None:
        found: list[Highlight] = []
        for highlight in self.llm.get("highlights") or []:
            self.report.quotes_checked += 1
            page = find_quote(highlight.quote, self.page_texts)
            if page is None:
                self.reject(highlight.quote)
            else:
                found.append(highlight.model_copy(update={"page": page, "verified": True}))
        if found:
            self.chosen["highlights"] = found

    def questions(self) -> None:
        if self.llm.get("starter_questions"):
            self.chosen["starter_questions"] = self.llm["starter_questions"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def merge(heuristic_groups: list[FieldGroup], llm_groups: list[FieldGroup],
          doc: ParsedDocument) -> tuple[list[FieldGroup], LLMReport]:
    """Verified LLM fields on top of the heuristic ones; each group split by provenance."""
    merger = _Merger(_values(heuristic_groups), _values(llm_groups), doc)
    merger.printed_field("title", text_supports)
    merger.printed_field("abstract", abstract_supported)
    merger.authors()
    merger.dates_and_affiliations()
    merger.keywords()
    merger.summary()
    merger.highlights()
    merger.questions()
    chosen = merger.chosen
    llm_warnings = [w for group in llm_groups for w in group.warnings] + merger.warnings
    merged: list[FieldGroup] = []
    placed: set[str] = set()
    for group in heuristic_groups:
        pdf_fields = {k: v for k, v in group.fields.items() if k not in chosen}
        llm_fields = {k: v for k, v in chosen.items() if k in group.fields}
        placed.update(llm_fields)
        merged.append(FieldGroup(group.name, pdf_fields, "pdf", list(group.warnings)))
        if llm_fields:
            merged.append(FieldGroup(group.name, llm_fields, "llm"))
    rest = {k: v for k, v in chosen.items() if k not in placed}
    if rest or llm_warnings:
        merged.append(FieldGroup("llm", rest, "llm", llm_warnings))
    return merged, merger.report


def apply_figure_descriptions(figures: list[Figure], llm_groups: list[FieldGroup]) -> list[Figure]:
    """Figures with the LLM's descriptions; a figure with no printed caption gets it as caption."""
    descriptions: dict[int, str] = {}
    for group in llm_groups:
        descriptions.update(group.fields.get("figure_descriptions") or {})
    out: list[Figure] = []
    for index, figure in enumerate(figures):
        text = descriptions.get(index)
        if not text:
            out.append(figure)
            continue
        update: dict[str, Any] = {"description": text}
        if not figure.caption:
            update.update(caption=text, caption_source="llm")
        out.append(figure.model_copy(update=update))
    return out
