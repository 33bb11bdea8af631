"""Figures: embedded images and vector drawings, cropped to PNG, tied to their printed captions."""

from __future__ import annotations

from dataclasses import dataclass

from paperflow.models import Figure
from paperflow.pdf import ParsedDocument


@dataclass
class ExtractedFigure:
    """A figure's metadata plus its PNG crop (the asset is stored by the caller)."""

    figure: Figure
    png: bytes


def extract_figures(
    data: bytes, doc: ParsedDocument, max_figures: int = 60, dpi: int = 150, render: bool = True
) -> list[ExtractedFigure]:
    """Placeholder until figure detection lands."""
    return []
