"""Heuristic extraction: every field from the PDF's text and layout, no network needed."""
