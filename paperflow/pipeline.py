"""The extraction groups as plain functions, and the rejoin into one `PaperMetadataExtraction`.

`tasks/` wraps each group in a cached, retried Prefect task and `flows/` runs them concurrently;
`extract_paper` runs the same groups one after another with no Prefect at all (evaluation,
notebooks, tests of the core).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from paperflow import __version__
from paperflow.extract.header import extract_header
from paperflow.extract.highlights import extract_highlights
from paperflow.extract.keyphrases import key_phrases
from paperflow.extract.questions import starter_questions
from paperflow.extract.references import extract_references
from paperflow.extract.summary import extract_summary
from paperflow.figures import extract_figures
from paperflow.layout import analyse_layout
from paperflow.models import SCHEMA_VERSION, PaperMetadataExtraction, Provenance, TaskTiming
from paperflow.pdf import ParsedDocument, parse_layout
from paperflow.settings import Settings, get_settings

GROUPS = (
    "title_authors_abstract",
    "institutions_keywords",
    "summary_citations",
    "starter_questions",
    "highlights",
    "references",
)


@dataclass
class FieldGroup:
    """Some fields of the result, where they came from, and anything worth warning about."""

    name: str
    fields: dict[str, Any]
    source: Provenance = "pdf"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PaperKey:
    """Identity of a paper's bytes: everything downstream is keyed on the sha256."""

    sha256: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> PaperKey:
        return cls(hashlib.sha256(data).hexdigest(), len(data))


def title_authors_abstract(doc: ParsedDocument) -> FieldGroup:
    """Group 1: title, authors, abstract and bibliographic facts."""
    header = extract_header(doc)
    return FieldGroup(GROUPS[0], {
        "title": header.title,
        "authors": header.authors,
        "abstract": header.abstract,
        "publish_date": header.publish_date,
        "year": header.year,
        "venue": header.venue,
        "doi": header.doi,
        "arxiv_id": header.arxiv_id,
        "license": header.license,
    })


def institutions_keywords(doc: ParsedDocument) -> FieldGroup:
    """Group 2: affiliations and keywords (printed ones, else ranked key phrases)."""
    header = extract_header(doc)
    keywords, printed = header.keywords, header.keywords_printed
    if not keywords:
        keywords, printed = key_phrases(doc), False
    return FieldGroup(GROUPS[1], {
        "affiliations": header.affiliations,
        "keywords": keywords,
        "keywords_printed": printed,
    })


def summary_citations(doc: ParsedDocument, settings: Settings) -> FieldGroup:
    """Group 3: an extractive summary whose every sentence is a cited quote."""
    abstract = extract_header(doc).abstract
    summary, citations = extract_summary(doc, abstract, settings.summary_sentences)
    return FieldGroup(GROUPS[2], {"summary": summary, "summary_citations": citations})


def questions(doc: ParsedDocument, settings: Settings) -> FieldGroup:
    """Group 4: starter questions for discussion."""
    title = extract_header(doc).title
    found = starter_questions(doc, title, settings.starter_questions_count)
    return FieldGroup(GROUPS[3], {"starter_questions": found})


def highlights(doc: ParsedDocument, settings: Settings) -> FieldGroup:
    """Group 5: highlights and takeaways as exact quotes."""
    return FieldGroup(GROUPS[4], {"highlights": extract_highlights(doc, settings.highlights_count)})


def references(doc: ParsedDocument) -> FieldGroup:
    """The parsed reference list."""
    return FieldGroup(GROUPS[5], {"references": extract_references(doc)})


def run_groups(doc: ParsedDocument, settings: Settings) -> list[FieldGroup]:
    """Every text group, one after another (the flow runs them concurrently instead)."""
    return [
        title_authors_abstract(doc),
        institutions_keywords(doc),
        summary_citations(doc, settings),
        questions(doc, settings),
        highlights(doc, settings),
        references(doc),
    ]


def assemble(
    key: PaperKey,
    doc: ParsedDocument,
    groups: list[FieldGroup],
    *,
    source: str | None = None,
    extra: dict[str, Any] | None = None,
    timings: list[TaskTiming] | None = None,
) -> PaperMetadataExtraction:
    """Rejoin the groups into one result, recording each field's provenance."""
    values: dict[str, Any] = {}
    provenance: dict[str, Provenance] = {}
    warnings = list(doc.warnings)
    for group in groups:
        warnings.extend(group.warnings)
        for name, value in group.fields.items():
            values[name] = value
            if value not in (None, "", [], {}) and name != "keywords_printed":
                provenance[name] = group.source
    for name, value in (extra or {}).items():
        values[name] = value
        if value not in (None, "", [], {}):
            provenance.setdefault(name, "pdf")
    if not values.get("title"):
        warnings.append("No title found on the first page.")
    return PaperMetadataExtraction(
        sha256=key.sha256,
        size_bytes=key.size,
        page_count=doc.page_count,
        source=source,
        provenance=provenance,
        timings=timings or [],
        versions=versions(),
        warnings=warnings,
        **values,
    )


def versions() -> dict[str, str]:
    import pymupdf

    return {"paperflow": __version__, "schema": SCHEMA_VERSION, "pymupdf": pymupdf.__version__}


def extract_paper(data: bytes, settings: Settings | None = None,
                  source: str | None = None) -> PaperMetadataExtraction:
    """Every text field and figure caption of one paper: no orchestration, storage or images."""
    settings = settings or get_settings()
    key = PaperKey.of(data)
    timings: list[TaskTiming] = []
    start = time.perf_counter()
    doc = parse_layout(data, settings.max_pages)
    timings.append(TaskTiming(task="parse_layout", seconds=time.perf_counter() - start))
    start = time.perf_counter()
    analyse_layout(doc)
    timings.append(TaskTiming(task="analyse_layout", seconds=time.perf_counter() - start))
    groups = []
    for run in (
        lambda: title_authors_abstract(doc),
        lambda: institutions_keywords(doc),
        lambda: summary_citations(doc, settings),
        lambda: questions(doc, settings),
        lambda: highlights(doc, settings),
        lambda: references(doc),
    ):
        start = time.perf_counter()
        group = run()
        timings.append(TaskTiming(task=group.name, seconds=time.perf_counter() - start))
        groups.append(group)
    start = time.perf_counter()
    figures = extract_figures(data, doc, settings.max_figures, settings.figure_dpi, render=False)
    timings.append(TaskTiming(task="figures", seconds=time.perf_counter() - start))
    extra = {"figures": [found.figure for found in figures]}
    return assemble(key, doc, groups, source=source, extra=extra, timings=timings)
