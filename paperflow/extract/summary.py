"""Extractive summary: the paper's most central sentences, each cited as a quote with its page."""

from __future__ import annotations

from paperflow.models import SummaryCitation
from paperflow.pdf import ParsedDocument


def extract_summary(
    doc: ParsedDocument, abstract: str | None, sentences: int = 5
) -> tuple[str | None, list[SummaryCitation]]:
    """Placeholder until the extractive summariser lands."""
    return None, []
