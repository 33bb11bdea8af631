"""The reference list: found, split into entries, and each entry parsed."""

from __future__ import annotations

from paperflow.models import Reference
from paperflow.pdf import ParsedDocument


def extract_references(doc: ParsedDocument) -> list[Reference]:
    """Placeholder until the reference parser lands."""
    return []
