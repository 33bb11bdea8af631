"""Highlights and takeaways: exact quotes of contributions, results and limitations."""

from __future__ import annotations

from paperflow.models import Highlight
from paperflow.pdf import ParsedDocument


def extract_highlights(doc: ParsedDocument, count: int = 6) -> list[Highlight]:
    """Placeholder until the highlight finder lands."""
    return []
