"""PDF reading with PyMuPDF: validation, text in reading order, and font/position spans.

Pages are read one at a time and only their text structure is kept, so a paper of thousands of
pages costs memory in proportion to its text, not its drawings or images.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import pymupdf

from paperflow.errors import EmptyInputError, EncryptedPdfError, InvalidPdfError

BBox = tuple[float, float, float, float]

PDF_MAGIC = b"%PDF-"
SUPERSCRIPT_FLAG = 1
ITALIC_FLAG = 2
BOLD_FLAG = 16
_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


def clean_text(text: str) -> str:
    """NFKC-normalise (ligatures, full-width forms) and drop soft hyphens and zero-width marks."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u00ad\u200b\u200c\u200d\ufeff]", "", text)


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text in one font and size."""

    text: str
    bbox: BBox
    size: float
    font: str
    flags: int

    @property
    def is_bold(self) -> bool:
        return bool(self.flags & BOLD_FLAG) or "bold" in self.font.lower()

    @property
    def is_italic(self) -> bool:
        return bool(self.flags & ITALIC_FLAG) or "italic" in self.font.lower()

    @property
    def is_superscript(self) -> bool:
        return bool(self.flags & SUPERSCRIPT_FLAG)


@dataclass(slots=True)
class Line:
    spans: list[Span]
    bbox: BBox

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans).strip()

    @property
    def size(self) -> float:
        """The dominant font size of the line (by characters)."""
        weights: dict[float, int] = {}
        for span in self.spans:
            if span.text.strip():
                key = round(span.size, 1)
                weights[key] = weights.get(key, 0) + len(span.text.strip())
        return max(weights, key=lambda k: weights[k]) if weights else 0.0


@dataclass(slots=True)
class Block:
    """A paragraph-like group of lines, as PyMuPDF groups them."""

    lines: list[Line]
    bbox: BBox
    column: int = 0
    """Column index in the page's layout, or -1 for a block that spans columns."""

    @property
    def text(self) -> str:
        return join_lines([line.text for line in self.lines])

    @property
    def size(self) -> float:
        sizes = [line.size for line in self.lines if line.text]
        return max(set(sizes), key=sizes.count) if sizes else 0.0


@dataclass(slots=True)
class Page:
    number: int
    """1-based page number."""
    width: float
    height: float
    blocks: list[Block]
    columns: int = 1
    image_count: int = 0
    margin_text: list[str] = field(default_factory=list)
    """Rotated lines (arXiv side stamps, 'Downloaded from' strips), left out of `blocks`."""

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks if block.text)

    @property
    def has_text(self) -> bool:
        return any(block.text.strip() for block in self.blocks)

    def lines(self) -> Iterator[Line]:
        for block in self.blocks:
            yield from block.lines


@dataclass(slots=True)
class ParsedDocument:
    """The text structure of a paper: pages in reading order plus the PDF's own metadata."""

    page_count: int
    pages: list[Page]
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    def page_texts(self) -> list[str]:
        return [page.text for page in self.pages]

    @property
    def body_font_size(self) -> float:
        """The most common font size by characters: the size of the running text."""
        weights: dict[float, int] = {}
        for page in self.pages[:20]:
            for line in page.lines():
                for span in line.spans:
                    key = round(span.size, 1)
                    weights[key] = weights.get(key, 0) + len(span.text)
        return max(weights, key=lambda k: weights[k]) if weights else 10.0


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines into one paragraph, mending words hyphenated at a line end."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif re.search(r"[A-Za-z]-$", out) and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}"
    return out


def validate_pdf_bytes(data: bytes) -> None:
    """Reject what is plainly not a complete PDF before PyMuPDF guesses at it."""
    if not data:
        raise EmptyInputError("The file is empty (0 bytes): nothing to process.")
    head = data[:1024]
    if PDF_MAGIC not in head:
        kind = _sniff_kind(head)
        raise InvalidPdfError(
            f"Not a PDF: the data starts like {kind}, not with '%PDF-'. "
            "Check the source points at the paper's PDF, not a landing page or an image."
        )
    if b"%%EOF" not in data[-4096:] and b"startxref" not in data[-4096:]:
        raise InvalidPdfError(
            f"The PDF is truncated: {len(data)} bytes with no end-of-file marker. "
            "Download it again; the transfer was probably cut short."
        )


def _sniff_kind(head: bytes) -> str:
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "an HTML page"
    signatures = {
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"GIF8": "a GIF image",
        b"PK\x03\x04": "a ZIP archive (DOCX/EPUB?)",
        b"\x1f\x8b": "a gzip archive",
        b"{": "JSON",
        b"<?xml": "XML",
    }
    for magic, name in signatures.items():
        if lowered.startswith(magic.lower()) or head.startswith(magic):
            return name
    return "unknown data"


@contextlib.contextmanager
def open_pdf(data: bytes) -> Iterator[pymupdf.Document]:
    """Open validated PDF bytes; a `PermanentError` names the cause when it cannot be read."""
    validate_pdf_bytes(data)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several internal types for broken files
        raise InvalidPdfError(f"PyMuPDF cannot open the PDF: {exc}. The file is damaged.") from exc
    try:
        if doc.needs_pass:
            raise EncryptedPdfError(
                "The PDF is encrypted and needs a password; paperflow cannot read it. "
                "Provide an unencrypted copy."
            )
        if doc.page_count == 0:
            raise InvalidPdfError("The PDF has zero pages: nothing to extract.")
        yield doc
    finally:
        doc.close()


def parse_layout(data: bytes, max_pages: int = 1500) -> ParsedDocument:
    """Read every page's text structure in reading order (up to `max_pages`)."""
    with open_pdf(data) as doc:
        page_count = doc.page_count
        warnings: list[str] = []
        pages: list[Page] = []
        limit = min(page_count, max_pages)
        if page_count > max_pages:
            warnings.append(
                f"The PDF has {page_count} pages; only the first {max_pages} were extracted "
                "(raise PAPERFLOW_MAX_PAGES to read more)."
            )
        textless: list[int] = []
        for index in range(limit):
            try:
                page = read_page(doc[index])
            except Exception as exc:  # one unreadable page must not sink the paper
                warnings.append(f"Page {index + 1} could not be read ({exc}); it is left out.")
                continue
            if not page.has_text:
                textless.append(page.number)
            pages.append(page)
        if textless and len(textless) == len(pages):
            warnings.append(
                "No page has a text layer (a scanned paper?): text fields are empty; "
                "OCR is not performed."
            )
        elif textless:
            warnings.append(
                f"Pages without a text layer (scanned?): {_ranges(textless)}; "
                "their text is missing."
            )
        metadata = {k: v for k, v in (doc.metadata or {}).items() if isinstance(v, str) and v}
        return ParsedDocument(page_count, pages, metadata, warnings)


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def read_page(page: pymupdf.Page) -> Page:
    """One page's text blocks, ordered for reading across one, two or three columns."""
    raw = page.get_text("dict", flags=_TEXT_FLAGS)
    blocks: list[Block] = []
    margin: list[str] = []
    for raw_block in raw.get("blocks", []):
        if raw_block.get("type") != 0:
            continue
        rows: list[list[Span]] = []
        for raw_line in raw_block.get("lines", []):
            spans = [
                Span(clean_text(s["text"]), tuple(s["bbox"]), s["size"], s["font"], s["flags"])
                for s in raw_line.get("spans", [])
                if s.get("text")
            ]
            if raw_line.get("dir", (1, 0))[0] < 0.5:  # rotated text: margins, watermarks
                text = "".join(span.text for span in spans).strip()
                if text:
                    margin.append(re.sub(r"\s+", " ", text))
                continue
            _add_to_row(rows, spans)
        lines: list[Line] = []
        for row in rows:
            lines.extend(_split_at_gaps(row))
        blocks.extend(_blocks_by_column(lines))
    rect = page.rect
    ordered, columns = order_blocks(blocks, rect.width)
    return Page(
        page.number + 1, rect.width, rect.height, ordered, columns, len(page.get_images()),
        margin,
    )


def _add_to_row(rows: list[list[Span]], spans: list[Span]) -> None:
    """Append a raw line's spans, merging it into the previous row when it continues that row.

    PyMuPDF sometimes cuts one printed line into several "lines" (justified text with wide word
    spaces); left as they are, the pieces become separate blocks and scramble the reading order.
    """
    if not spans:
        return
    if rows:
        prev = rows[-1]
        p_top, p_bottom = min(s.bbox[1] for s in prev), max(s.bbox[3] for s in prev)
        top, bottom = min(s.bbox[1] for s in spans), max(s.bbox[3] for s in spans)
        overlap = min(p_bottom, bottom) - max(p_top, top)
        prev_x1 = max(s.bbox[2] for s in prev)
        x0 = min(s.bbox[0] for s in spans)
        if overlap > 0.6 * min(p_bottom - p_top, bottom - top) and x0 >= prev_x1 - 1:
            if x0 - prev_x1 > 0.15 * spans[0].size and not (
                prev[-1].text.endswith(" ") or spans[0].text.startswith(" ")
            ):
                # Zero width at the new piece's start, so `_split_at_gaps` still sees a gutter.
                gap = (x0, prev[-1].bbox[1], x0, prev[-1].bbox[3])
                prev.append(Span(" ", gap, spans[0].size, spans[0].font, spans[0].flags))
            prev.extend(spans)
            return
    rows.append(list(spans))


def _split_at_gaps(spans: list[Span]) -> list[Line]:
    """Split a line where a wide horizontal gap shows it runs across a column gutter."""
    spans = [span for span in spans if span.text.strip() or span.text == " "]
    pieces: list[list[Span]] = []
    for span in spans:
        if pieces and span.bbox[0] - pieces[-1][-1].bbox[2] > 2.5 * max(span.size, 4.0):
            pieces.append([span])
        elif pieces:
            pieces[-1].append(span)
        else:
            pieces.append([span])
    return [
        Line(piece, _union([span.bbox for span in piece]))
        for piece in pieces
        if any(span.text.strip() for span in piece)
    ]


def _blocks_by_column(lines: list[Line]) -> list[Block]:
    """Group one PyMuPDF block's lines into blocks of horizontally overlapping lines."""
    groups: list[list[Line]] = []
    for line in lines:
        for group in groups:
            x0, x1 = group[-1].bbox[0], group[-1].bbox[2]
            if line.bbox[0] < x1 and line.bbox[2] > x0:
                group.append(line)
                break
        else:
            groups.append([line])
    return [Block(group, _union([line.bbox for line in group])) for group in groups]


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def find_gutters(blocks: list[Block], page_width: float) -> list[tuple[float, float]]:
    """X-ranges free of narrow text lines with substantial text on both sides: column gutters."""
    # Page numbers and other tiny centred marks would block a gutter: leave them out.
    lines = [line for block in blocks for line in block.lines if len(line.text) > 5]
    if not lines:
        return []
    left = min(line.bbox[0] for line in lines)
    right = max(line.bbox[2] for line in lines)
    width = right - left
    if width <= 0:
        return []
    narrow = [line for line in lines if (line.bbox[2] - line.bbox[0]) < 0.58 * width]
    if len(narrow) < 8:
        return []
    # Centred header lines (title, authors, affiliations) cross the gutter above the columns;
    # a three-column layout's middle column is centred too, but narrower than a third.
    middle = (left + right) / 2
    occupying = [line for line in narrow
                 if abs((line.bbox[0] + line.bbox[2]) / 2 - middle) > 0.03 * width
                 or (line.bbox[2] - line.bbox[0]) < 0.36 * width]
    resolution = 2.0
    cells = int(width / resolution) + 2
    occupied = [0] * cells
    for line in occupying:
        a = int((line.bbox[0] - left) / resolution)
        b = int((line.bbox[2] - left) / resolution)
        for i in range(max(a, 0), min(b + 1, cells)):
            occupied[i] += 1
    gutters: list[tuple[float, float]] = []
    tolerance = max(1, int(0.06 * len(narrow)))
    i = 0
    while i < cells:
        if occupied[i] <= tolerance:
            j = i
            while j < cells and occupied[j] <= tolerance:
                j += 1
            x0, x1 = left + i * resolution, left + j * resolution
            center = (x0 + x1) / 2
            inside = left + 0.18 * width < center < right - 0.18 * width
            if inside and (x1 - x0) >= 4:
                on_left = sum(1 for line in narrow if line.bbox[2] <= x0 + 1)
                on_right = sum(1 for line in narrow if line.bbox[0] >= x1 - 1)
                if min(on_left, on_right) >= max(4, 0.08 * len(narrow)):
                    gutters.append((x0, x1))
            i = j
        else:
            i += 1
    return gutters


def order_blocks(blocks: list[Block], page_width: float) -> tuple[list[Block], int]:
    """Reading order: full-width blocks split the page into bands; bands read column by column."""
    if not blocks:
        return [], 1
    gutters = find_gutters(blocks, page_width)
    if not gutters:
        for block in blocks:
            block.column = 0
        return sorted(blocks, key=lambda b: (round(b.bbox[1], 0), b.bbox[0])), 1
    edges = [(g[0] + g[1]) / 2 for g in gutters]
    for block in blocks:
        x0, _, x1, _ = block.bbox
        crossing = any(x0 < g0 - 2 and x1 > g1 + 2 for g0, g1 in gutters)
        if crossing:
            block.column = -1
        else:
            center = (x0 + x1) / 2
            block.column = sum(1 for edge in edges if center > edge)
    ordered: list[Block] = []
    band: list[Block] = []
    for block in sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0])):
        if block.column == -1:
            ordered.extend(sorted(band, key=lambda b: (b.column, b.bbox[1], b.bbox[0])))
            band = []
            ordered.append(block)
        else:
            band.append(block)
    ordered.extend(sorted(band, key=lambda b: (b.column, b.bbox[1], b.bbox[0])))
    return ordered, len(gutters) + 1
