"""Key phrases for papers that print no keywords."""

from __future__ import annotations

from paperflow.pdf import ParsedDocument


def key_phrases(doc: ParsedDocument, count: int = 8) -> list[str]:
    """Placeholder until the key-phrase ranker lands."""
    return []
