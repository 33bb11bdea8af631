"""Starter questions for discussing a paper, built from its own contributions."""

from __future__ import annotations

from paperflow.pdf import ParsedDocument


def starter_questions(doc: ParsedDocument, title: str | None, count: int = 5) -> list[str]:
    """Placeholder until the question builder lands."""
    return []
