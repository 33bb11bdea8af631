"""Title, authors, affiliations, abstract, keywords and bibliographic facts from the first pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from paperflow.models import Author
from paperflow.pdf import ParsedDocument


@dataclass
class Header:
    title: str | None = None
    authors: list[Author] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    abstract: str | None = None
    keywords: list[str] = field(default_factory=list)
    keywords_printed: bool = False
    publish_date: date | None = None
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    license: str | None = None


def extract_header(doc: ParsedDocument) -> Header:
    """Placeholder until the layout heuristics land: the PDF's own metadata title."""
    return Header(title=doc.metadata.get("title") or None)
