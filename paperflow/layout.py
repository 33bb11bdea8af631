"""One reading of the page: every block labelled once with its role and the evidence for it.

`analyse_layout` runs after `parse_layout` and before every extractor. It decides, from how
papers are typeset (font sizes, positions, repetition across pages, label words), which blocks
are running heads, page numbers, margin columns (sidebars), first-page footnotes, banners and
boilerplate, headings and captions; the extractors read these roles instead of re-deriving them.
The layout rules the extractors share (what counts as bold, the body size, a heading, a caption,
a references heading) are defined here and nowhere else.
"""

from __future__ import annotations

import re
from collections import Counter

from paperflow.pdf import Block, Line, Page, ParsedDocument

ROLES = (
    "body", "running_head", "page_number", "sidebar", "footnote", "banner", "heading",
    "caption",
)

REFERENCES_HEADING = re.compile(
    r"^(?:[\dIVX]+\.?\s*)?(?:references?|bibliography|literature\s+cited|works\s+cited|"
    r"references\s+and\s+notes|cited\s+literature|reference\s+list|citations|"
    # The same heading in the languages papers are most often written in.
    r"r[ée]f[ée]rences(?:\s+bibliographiques)?|bibliographie|literatur(?:verzeichnis)?|"
    r"referencias(?:\s+bibliogr[áa]ficas)?|bibliograf[íi]a|riferimenti(?:\s+bibliografici)?|"
    r"refer[êe]ncias(?:\s+bibliogr[áa]ficas)?|literatuur)\s*:?$",
    re.IGNORECASE,
)
BACK_MATTER = re.compile(
    r"^(?:[\dIVX]+\.?\s*)?(acknowledge?ments?|funding|author contributions?|competing interests?|"
    r"conflicts? of interest|declarations?|data availability|code availability|"
    r"availability of data.*|ethics.*|consent.*|abbreviations|additional information|"
    r"supplementary (?:information|material)s?|reporting summary|author information|"
    r"peer review.*|publisher.s note|open access|remerciements|danksagung)\b",
    re.IGNORECASE,
)
CAPTION = re.compile(
    r"^(fig\.?|figure|figs\.?|table|tab\.|algorithm|listing|scheme|chart|supplementary figure)"
    r"\s*[A-Z]?\d+[a-z]?\s*[.:|)–—-]?",
    re.IGNORECASE,
)
NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.|[A-H]\.?)\s+[A-Z]")
PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,5}(?:\s*(?:/|of)\s*\d{1,5})?$", re.IGNORECASE)
BOILERPLATE = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|all rights reserved|licen[cs]ed? |creative commons|"
    r"open access|view article online|view journal|cite this( article)?:|"
    r"^(edited|reviewed|handled|communicated|recommended) by\b|^academic editor|"
    r"^\*?correspondence\b|^(received|accepted|published|revised)\b[^.]{0,40}\d{4}|"
    r"published online|downloaded from|redistribution subject|supplementary material|"
    r"the author\(s\)|this article is|"
    r"^(research|review|original|edge|focused|short|brief)( research)? (article|paper|review|"
    r"report|communication)s?$",
    re.IGNORECASE,
)
"""Editorial lines, licences and banners: never a title, an author or an affiliation."""

_EDGE = 0.1
"""Share of the page height at the top and at the bottom where running heads sit."""


def is_bold_line(line: Line) -> bool:
    """Every visible span of the line is set in a bold face."""
    spans = [span for span in line.spans if span.text.strip()]
    return bool(spans) and all(span.is_bold for span in spans)


def margin_key(text: str) -> str:
    """A running head's identity: lower case, digits as '#' (page numbers change)."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.lower())).strip()


def at_page_edge(line: Line, page: Page) -> bool:
    return line.bbox[3] < 0.12 * page.height or line.bbox[1] > 0.88 * page.height


def running_texts(doc: ParsedDocument) -> set[str]:
    """Texts printed near the top or bottom edge of several pages: running heads and footers."""
    pages_by_key: dict[str, set[int]] = {}
    for page in doc.pages:
        for line in page.lines():
            if at_page_edge(line, page):
                pages_by_key.setdefault(margin_key(line.text), set()).add(page.number)
    needed = 2 if len(doc.pages) < 6 else 3
    return {key for key, pages in pages_by_key.items() if key and len(pages) >= needed}


def sidebar_columns(page: Page) -> set[int]:
    """Columns at the page's edge much narrower than the widest one: a margin column.

    Journals that set the first page as a main column plus a narrow sidebar (editor, dates,
    affiliations, a photo) give the sidebar a column of its own; it is read apart from the
    header block beside it.
    """
    if page.columns < 2:
        return set()
    spans: dict[int, list[float]] = {}
    chars: Counter[int] = Counter()
    for block in page.blocks:
        if block.column < 0:
            continue
        box = spans.setdefault(block.column, [block.bbox[0], block.bbox[2]])
        box[0], box[1] = min(box[0], block.bbox[0]), max(box[1], block.bbox[2])
        chars[block.column] += len(block.text)
    if len(spans) < 2:
        return set()
    widths = {column: box[1] - box[0] for column, box in spans.items()}
    widest = max(widths.values())
    edges = {min(spans), max(spans)}
    most = max(chars.values())
    return {column for column, width in widths.items()
            if column in edges and width < 0.5 * widest and chars[column] < 0.5 * most}


def _role(block: Block, page: Page, body: float, running: set[str],
          sidebars: set[int]) -> tuple[str, str]:
    text = block.text.strip()
    first = block.lines[0] if block.lines else None
    if first is None or not text:
        return "body", "empty"
    edge = all(at_page_edge(line, page) for line in block.lines)
    if edge and PAGE_NUMBER.match(text):
        return "page_number", "digits at the page edge"
    if edge and all(margin_key(line.text) in running for line in block.lines):
        return "running_head", "repeated at the edge of several pages"
    if edge and len(block.lines) == 1 and page.number > 1 and re.search(
            rf"^{page.number}\s+\S|\S\s+{page.number}$", text):
        return "running_head", "carries the page number at the page edge"
    if block.column in sidebars:
        return "sidebar", f"narrow margin column {block.column}"
    if CAPTION.match(first.text) and len(text.split()) > 2:
        return "caption", "starts with a figure/table label"
    words = len(text.split())
    if words <= 30 and BOILERPLATE.search(text):
        return "banner", "editorial or licence wording"
    if page.number == 1 and block.bbox[1] > 0.6 * page.height and block.size < 0.95 * body:
        return "footnote", "small text at the foot of the first page"
    if len(block.lines) <= 2 and words <= 12 and not text.endswith((".", ",")) and (
        NUMBERED_HEADING.match(text) or is_bold_line(first) or block.size >= body + 0.8
        or (text.isupper() and words <= 6)
    ):
        return "heading", "short line, bold, larger or numbered"
    return "body", ""


def analyse_layout(doc: ParsedDocument) -> ParsedDocument:
    """Label every block with its role, then read the front matter from the roles (in place)."""
    from paperflow.extract.header import extract_header

    body = doc.body_font_size
    running = running_texts(doc)
    for page in doc.pages:
        sidebars = sidebar_columns(page) if page.number <= 2 else set()
        for block in page.blocks:
            block.role, block.evidence = _role(block, page, body, running, sidebars)
    doc.front = None
    doc.front = extract_header(doc)
    return doc


__all__ = [
    "BACK_MATTER",
    "BOILERPLATE",
    "CAPTION",
    "NUMBERED_HEADING",
    "PAGE_NUMBER",
    "REFERENCES_HEADING",
    "ROLES",
    "analyse_layout",
    "at_page_edge",
    "is_bold_line",
    "margin_key",
    "running_texts",
    "sidebar_columns",
]
