"""PDF reading with PyMuPDF: validation, text in reading order, and font/position spans.

Pages are read one at a time and only their text structure is kept, so a paper of thousands of
pages costs memory in proportion to its text, not its drawings or images.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pymupdf

from paperflow.errors import (
    DamagedPdfError,
    EmptyInputError,
    EncryptedPdfError,
    InvalidPdfError,
)

BBox = tuple[float, float, float, float]

PDF_MAGIC = b"%PDF-"
SUPERSCRIPT_FLAG = 1
ITALIC_FLAG = 2
BOLD_FLAG = 16
OCR_FONT = "OCR"
"""The font name of spans read by OCR (`paperflow.ocr`): their sizes are estimates."""
_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP

_BOLD_FONT = re.compile(r"[.\-_,+]B(?:[IO]|old)?$|bd\b|bold|black|heavy|semibold|demi",
                        re.IGNORECASE)
"""Bold faces by name, including abbreviated ones ("AdvTT3f.B", "NimbusSanL-Bold")."""

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


_TEX_SLOTS = re.compile(r"[\x0b-\x0f](?=[a-z])|(?<=[a-z])[\x0b-\x0f]|[\x10\x11\x15\x16\x1b-\x1f]")
"""Control codes no text holds: the slots where TeX's fonts keep ligatures and quotes, which a
font without a Unicode map (pdfTeX's bitmap Type 3 fonts) leaves in the text layer as codes.
OT1 has ff/fi/fl/ffi/ffl at 0x0B-0x0F (read only beside a letter: 0x0B-0x0D are also line
breaks); T1 has them at 0x1B-0x1F, quotes at 0x10/0x11 and dashes at 0x15/0x16. Python counts
0x1C-0x1F as white space, so left alone "modi\x1ced" would split into "modi ed"."""
_TEX_SLOT_TEXT = {"\x0b": "ff", "\x0c": "fi", "\x0d": "fl", "\x0e": "ffi", "\x0f": "ffl",
                  "\x1b": "ff", "\x1c": "fi", "\x1d": "fl", "\x1e": "ffi", "\x1f": "ffl",
                  "\x10": "\u201c", "\x11": "\u201d", "\x15": "\u2013", "\x16": "\u2014"}


def clean_text(text: str) -> str:
    """NFKC-normalise (ligatures, full-width forms), spell out TeX font slots left as control
    codes, and drop soft hyphens and zero-width marks."""
    if text.isascii():
        if text.isprintable():
            return text  # NFKC leaves ASCII as it is, and the marks dropped are not ASCII
        return _TEX_SLOTS.sub(lambda code: _TEX_SLOT_TEXT[code.group()], text)
    text = _TEX_SLOTS.sub(lambda code: _TEX_SLOT_TEXT[code.group()], text)
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
        """Bold by the font's flag or by its name: the one definition every extractor uses."""
        return bool(self.flags & BOLD_FLAG) or bool(_BOLD_FONT.search(self.font))

    @property
    def is_italic(self) -> bool:
        return bool(self.flags & ITALIC_FLAG) or "italic" in self.font.lower()

    @property
    def is_superscript(self) -> bool:
        return bool(self.flags & SUPERSCRIPT_FLAG)


def _cache() -> Any:
    """A field that memoises a derived value: not an argument, not compared, never stored
    (`paperflow.codec` skips it). Whoever changes what it derives from calls `changed()`."""
    return field(default=None, init=False, repr=False, compare=False, metadata={"cache": True})


@dataclass(slots=True)
class Line:
    spans: list[Span]
    bbox: BBox
    _text: str | None = _cache()
    _size: float | None = _cache()

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(span.text for span in self.spans).strip()
        return self._text

    @property
    def size(self) -> float:
        """The dominant font size of the line (by characters)."""
        if self._size is None:
            weights: dict[float, int] = {}
            for span in self.spans:
                stripped = span.text.strip()
                if stripped:
                    key = round(span.size, 1)
                    weights[key] = weights.get(key, 0) + len(stripped)
            self._size = max(weights, key=lambda k: weights[k]) if weights else 0.0
        return self._size

    def changed(self) -> None:
        """Forget the memoised text and size after `spans` was changed in place."""
        self._text = self._size = None


@dataclass(slots=True)
class Block:
    """A paragraph-like group of lines, as PyMuPDF groups them."""

    lines: list[Line]
    bbox: BBox
    column: int = 0
    """Column index in the page's layout, or -1 for a block that spans columns."""
    role: str = "body"
    """What the block is on the page (`paperflow.layout.ROLES`), set by `analyse_layout`."""
    evidence: str = ""
    """Why the block has its role (font, position, markers, neighbours)."""
    _text: str | None = _cache()
    _size: float | None = _cache()

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = join_lines([line.text for line in self.lines])
        return self._text

    @property
    def size(self) -> float:
        """The most frequent line size (the first of the lines' sizes on a tie)."""
        if self._size is None:
            counts: dict[float, int] = {}
            for line in self.lines:
                if line.text:
                    counts[line.size] = counts.get(line.size, 0) + 1
            self._size = max(counts, key=lambda k: counts[k]) if counts else 0.0
        return self._size

    def changed(self) -> None:
        """Forget the memoised text and size after `lines` (or a line's spans) changed."""
        self._text = self._size = None
        for line in self.lines:
            line.changed()


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
    text_source: str = "native"
    """Where the text comes from: "native" (the PDF's text layer), "ocr" (`paperflow.ocr`) or
    "ocr-layer" (an invisible text layer over a scanned page: OCR output of another program,
    whose words are kept but whose sizes are that program's guesses; see `paperflow.ocr`)."""
    ocr_confidence: float | None = None
    """Mean OCR word confidence, 0-100 (Tesseract's scale), of a page read by OCR."""

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
    front: Any = None
    """The front matter (`paperflow.extract.header.Header`) read by `analyse_layout`."""
    _body_size: float | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages)

    def page_texts(self) -> list[str]:
        return [page.text for page in self.pages]

    @property
    def body_font_size(self) -> float:
        """The most common font size by characters: the size of the running text."""
        if self._body_size is None:
            self._body_size = self._most_common_size()
        return self._body_size

    def _most_common_size(self) -> float:
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


_MUPDF_CAUSES: tuple[tuple[str, str, str], ...] = (
    # (words in MuPDF's message, what it could not do, the cause in words)
    ("cycle in page tree", "read the page tree", "a cycle in the page tree"),
    ("cycle in parent chain", "read the page tree", "a cycle in the pages' /Parent chain"),
    ("invalid number of pages", "count the pages",
     "the page tree declares an impossible number of pages"),
    ("page tree", "read the page tree", "a broken page tree"),
    ("nested graphics states", "draw a page", "too many nested graphics states"),
    ("nesting", "draw a page", "objects nested too deeply"),
    ("cycle", "follow the file's object references", "a cycle of object references"),
    ("xref", "read the cross-reference table", "a broken cross-reference table"),
    ("object number", "read the file's objects", "broken object syntax"),
    ("encrypt", "decrypt the file", "a broken or unsupported encryption dictionary"),
    ("crypt", "decrypt the file", "a broken or unsupported encryption dictionary"),
    ("malloc", "allocate memory", "out of memory"),
    ("memory", "allocate memory", "out of memory"),
)
_REPAIR_HINT = (
    "the file is damaged or crafted; repair it (e.g. `qpdf --recover` or re-save it) and "
    "submit it again."
)


def _is_mupdf_error(exc: BaseException) -> bool:
    """An exception raised by MuPDF or PyMuPDF (their types do not pickle; their text is raw)."""
    if isinstance(exc, pymupdf.mupdf.FzErrorBase) or type(exc).__module__.startswith("pymupdf"):
        return True
    return isinstance(exc, RuntimeError | ValueError) and bool(re.match(r"code=\d+:", str(exc)))


def _is_memory_failure(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    lowered = _mupdf_message(exc).lower() if _is_mupdf_error(exc) else ""
    return type(exc).__name__ == "FzErrorMemory" or "malloc" in lowered or "memory" in lowered


def _mupdf_message(exc: BaseException) -> str:
    """MuPDF's own words for a failure (PyMuPDF often hides them behind its own message)."""
    messages: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = re.sub(r"^code=\d+:\s*", "", str(current)).strip()
        if text:
            messages.append(text)
        current = current.__cause__ or current.__context__
    # The innermost message is MuPDF's; outer ones are wrappers such as "Failed to open stream".
    return messages[-1] if messages else type(exc).__name__


def mupdf_failure(exc: BaseException, doing: str = "read the PDF") -> DamagedPdfError:
    """A picklable error naming, in words, why MuPDF failed and what to do about it."""
    if not _is_mupdf_error(exc) and not isinstance(exc, MemoryError):
        return DamagedPdfError(
            f"paperflow could not {doing} ({type(exc).__name__}: {exc}); the file may be "
            f"damaged or crafted: {_REPAIR_HINT}"
        )
    message = _mupdf_message(exc)
    lowered = message.lower()
    for marker, what, cause in _MUPDF_CAUSES:
        if marker in lowered:
            return DamagedPdfError(f"MuPDF could not {what} ({cause}): {_REPAIR_HINT}")
    return DamagedPdfError(f"MuPDF could not {doing} ({message}): {_REPAIR_HINT}")


@contextlib.contextmanager
def open_pdf(data: bytes) -> Iterator[pymupdf.Document]:
    """Open validated PDF bytes; a `PermanentError` names the cause when it cannot be read.

    A MuPDF failure inside the `with` block (rendering, image extraction) also leaves as a
    picklable `DamagedPdfError`, never as one of MuPDF's own exception types.
    """
    validate_pdf_bytes(data)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several internal types for broken files
        raise mupdf_failure(exc, "open the PDF") from exc
    try:
        try:
            needs_pass, page_count = doc.needs_pass, doc.page_count
        except Exception as exc:
            raise mupdf_failure(exc, "read the document's structure") from exc
        if needs_pass:
            raise EncryptedPdfError(
                "The PDF is encrypted and needs a password; paperflow cannot read it. "
                "Provide an unencrypted copy."
            )
        if page_count == 0:
            raise InvalidPdfError("The PDF has zero pages: nothing to extract.")
        try:
            yield doc
        except Exception as exc:
            if _is_mupdf_error(exc):
                raise mupdf_failure(exc) from exc
            raise
    finally:
        doc.close()


def parse_layout(data: bytes, max_pages: int = 1500, *, ocr: bool | None = None,
                 ocr_dpi: int | None = None, ocr_language: str | None = None,
                 defer_ocr: bool = False) -> ParsedDocument:
    """Read every page's text structure in reading order (up to `max_pages`).

    A page MuPDF cannot read is left out with a warning; when not one page can be read, the
    first page's cause is raised as a `DamagedPdfError`. A page with no usable text layer (a
    scan) is read by OCR when `ocr` is on (`paperflow.ocr`); the OCR arguments left as None
    come from the settings (`PAPERFLOW_OCR`, `PAPERFLOW_OCR_DPI`, `PAPERFLOW_OCR_LANGUAGE`).
    `defer_ocr` leaves such pages as they are, for `ocr_document` to read later (the flow's
    OCR task: cached and time-limited on its own).
    """
    from paperflow.ocr import OcrPass, needs_ocr

    ocr_pass = OcrPass.from_settings(False if defer_ocr else ocr, ocr_dpi, ocr_language,
                                     max_pages)
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
        first_failure: BaseException | None = None
        for index in range(limit):
            try:
                page = read_page(doc[index])
            except Exception as exc:  # one unreadable page must not sink the paper
                if _is_memory_failure(exc):  # ... but running out of memory is no such page
                    raise mupdf_failure(exc, "read a page") from exc
                first_failure = first_failure or exc
                cause = _mupdf_message(exc) if _is_mupdf_error(exc) else f"{exc}"
                warnings.append(f"Page {index + 1} could not be read ({cause}); it is left out.")
                continue
            if not defer_ocr and needs_ocr(page):  # no text layer, or one of garbage: a scan
                page = ocr_pass.process(doc[index], page, read_page)
            pages.append(page)
        if not pages and first_failure is not None:
            if _is_mupdf_error(first_failure):
                raise mupdf_failure(first_failure, "read any page") from first_failure
            raise DamagedPdfError(
                f"No page of the PDF could be read (page 1: {first_failure}): {_REPAIR_HINT}"
            ) from first_failure
        if not defer_ocr:
            warnings.extend(ocr_pass.warnings(len(pages)))
        try:
            raw_metadata = doc.metadata or {}
        except Exception:  # a broken /Info dictionary is no reason to lose the text
            raw_metadata = {}
        metadata = {k: v for k, v in raw_metadata.items() if isinstance(v, str) and v}
        return ParsedDocument(page_count, pages, metadata, warnings)


def pages_needing_ocr(doc: ParsedDocument) -> list[int]:
    """The numbers of the pages with no usable text layer (scans), which OCR would read."""
    from paperflow.ocr import needs_ocr

    return [page.number for page in doc.pages if needs_ocr(page)]


def ocr_document(data: bytes, doc: ParsedDocument, *, ocr: bool | None = None,
                 ocr_dpi: int | None = None, ocr_language: str | None = None,
                 max_pages: int | None = None) -> ParsedDocument:
    """`doc` (parsed with `defer_ocr`) with its scanned pages read by OCR, and the warnings
    about them; `doc` itself when no page needs it. The OCR arguments as in `parse_layout`."""
    from paperflow.ocr import OcrPass

    numbers = set(pages_needing_ocr(doc))
    if not numbers:
        return doc
    ocr_pass = OcrPass.from_settings(ocr, ocr_dpi, ocr_language, max_pages)
    pages: list[Page] = []
    with open_pdf(data) as pdf:
        for page in doc.pages:
            pages.append(ocr_pass.process(pdf[page.number - 1], page, read_page)
                         if page.number in numbers else page)
        warnings = [*doc.warnings, *ocr_pass.warnings(len(pages))]
    return ParsedDocument(doc.page_count, pages, dict(doc.metadata), warnings)


def read_page(page: pymupdf.Page,
              textpage: pymupdf.TextPage | dict[str, Any] | None = None) -> Page:
    """One page's text blocks, ordered for reading across one, two or three columns."""
    raw = textpage if isinstance(textpage, dict) else \
        page.get_text("dict", flags=_TEXT_FLAGS, textpage=textpage)
    blocks: list[Block] = []
    margin: list[str] = []
    visible = False
    for raw_block in raw.get("blocks", []):
        if raw_block.get("type") != 0:
            continue
        rows: list[list[Span]] = []
        for raw_line in raw_block.get("lines", []):
            spans = []
            for s in raw_line.get("spans", []):
                if s.get("text"):
                    spans.append(Span(clean_text(s["text"]), tuple(s["bbox"]), s["size"],
                                      s["font"], s["flags"]))
                    visible = visible or (s.get("alpha", 255) != 0 and bool(s["text"].strip()))
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
    blocks, gutters = _split_at_gutters(blocks, rect.width)
    ordered, columns = order_blocks(blocks, rect.width, gutters)
    ordered = _attach_labels(ordered)
    source = "ocr-layer" if blocks and not visible and covering_image(page) else "native"
    return Page(
        page.number + 1, rect.width, rect.height, ordered, columns, len(page.get_images()),
        margin, text_source=source,
    )


def covering_image(page: pymupdf.Page) -> dict[str, Any] | None:
    """The `get_image_info()` entry of an image covering most of the page (a scan, whose text,
    if any, an OCR program added), or None."""
    area = abs(page.rect) or 1.0
    try:
        infos = page.get_image_info()
    except Exception:  # a damaged image list: no scan can be told
        return None
    for info in infos:
        box = pymupdf.Rect(info.get("bbox", (0, 0, 0, 0)))
        if abs(box) >= 0.8 * area and box.width > 0 and box.height > 0:
            return info
    return None


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


def _split_at_gutters(blocks: list[Block], page_width: float
                      ) -> tuple[list[Block], list[tuple[float, float]] | None]:
    """Blocks whose lines MuPDF ran across a narrow column gutter (a gap under 2.5 em, which
    `_split_at_gaps` leaves alone) cut where the gap lines up with the gutter the page's
    other lines leave free, and grouped again by column; with the page's gutters when they
    were found and still hold (no line was cut), for `order_blocks` to use."""
    gapped = {id(line) for block in blocks for line in block.lines if _inner_gaps(line)}
    if not gapped:
        return blocks, None
    gutters = find_gutters(blocks, page_width)
    if not gutters:
        return blocks, gutters
    every = [line for block in blocks for line in block.lines]
    out: list[Block] = []
    cut = False
    for block in blocks:
        lines = [part for line in block.lines for part in (
            _cut_at_gutters(line, _gutters_beside(line, gutters, every))
            if id(line) in gapped else [line])]
        if len(lines) > len(block.lines):
            out.extend(_blocks_by_column(lines))
            cut = True
        else:
            out.append(block)
    return out, None if cut else gutters


def _gutters_beside(line: Line, gutters: list[tuple[float, float]],
                    lines: list[Line]) -> list[tuple[float, float]]:
    """The gutters that the lines just above or below `line` keep to (a line within two and a
    half line heights set wholly on one side): the columns run there, it is not a header."""
    reach = 2.5 * max(line.size, 4.0)
    near = [other for other in lines if other is not line
            and 0 < abs(other.bbox[1] - line.bbox[1]) <= reach]
    return [(left, right) for left, right in gutters
            if any(other.bbox[2] <= left + 1 or other.bbox[0] >= right - 1 for other in near)]


def _inner_gaps(line: Line) -> list[tuple[int, float, float]]:
    """(index of the span after, start, end) of the gaps of an em or more between the line's
    printed spans."""
    gaps = []
    previous: Span | None = None
    for index, span in enumerate(line.spans):
        if not span.text.strip():
            continue
        if previous is not None and span.bbox[0] - previous.bbox[2] >= max(span.size, 4.0):
            gaps.append((index, previous.bbox[2], span.bbox[0]))
        previous = span
    return gaps


def _cut_at_gutters(line: Line, gutters: list[tuple[float, float]]) -> list[Line]:
    """The line cut at each gap that is a gutter: column text on its left runs up to the
    gutter and on its right starts at it (an entry's indent allowed); a header line whose
    gap happens to span the gutter ("Allen Institute for AI   MIT") is left whole."""
    if not gutters:
        return [line]
    size = max(line.size, 4.0)
    cuts = [index for index, start, end in _inner_gaps(line)
            if any(start - 1 <= (left + right) / 2 <= end + 1 and start >= left - size
                   and end <= right + 2 * size for left, right in gutters)]
    if not cuts:
        return [line]
    lines = []
    for a, b in itertools.pairwise([0, *cuts, len(line.spans)]):
        piece = line.spans[a:b]
        # Blank spans at the cut (the space before the gutter) belong to neither side.
        while piece and not piece[-1].text.strip():
            piece = piece[:-1]
        while piece and not piece[0].text.strip():
            piece = piece[1:]
        if piece:
            lines.append(Line(piece, _union([span.bbox for span in piece])))
    return lines


def _blocks_by_column(lines: list[Line]) -> list[Block]:
    """Group one PyMuPDF block's lines into blocks of horizontally overlapping lines."""
    groups: list[list[Line]] = []
    for line in lines:
        for group in groups:
            # Any line of the group, not just the last: a hanging label ("[2]" split from its
            # entry by a drawn dash) overlaps the entry's first line, not its indented last one.
            if any(line.bbox[0] < other.bbox[2] and line.bbox[2] > other.bbox[0]
                   for other in group):
                group.append(line)
                break
        else:
            groups.append([line])
    return [Block(group, _union([line.bbox for line in group])) for group in groups]


def _attach_labels(blocks: list[Block]) -> list[Block]:
    """Put labels that the text layer keeps apart ("[2]" before a drawn same-author dash, "a)")
    back at the start of the line they label: the line on the same baseline just to their right.
    """
    kept: list[Block] = []
    for block in blocks:
        if len(block.lines) > 40 or any(len(line.text) > 8 for line in block.lines):
            kept.append(block)
            continue
        hosts = [_line_right_of(line, blocks, block) for line in block.lines]
        if any(host is None for host in hosts):
            kept.append(block)
            continue
        for label, host in zip(block.lines, hosts, strict=True):
            assert host is not None
            target, line = host
            line.spans[:0] = label.spans
            line.bbox = _union([label.bbox, line.bbox])
            target.bbox = _union([target.bbox, line.bbox])
            target.changed()
    return kept


def _line_right_of(label: Line, blocks: list[Block], own: Block) -> tuple[Block, Line] | None:
    height = label.bbox[3] - label.bbox[1]
    for block in blocks:
        if block is own or block.column != own.column or block.column == -1:
            continue
        if block.bbox[3] <= label.bbox[1] or block.bbox[1] >= label.bbox[3]:
            continue  # no line of it can share the label's baseline
        for line in block.lines:
            overlap = min(line.bbox[3], label.bbox[3]) - max(line.bbox[1], label.bbox[1])
            gap = line.bbox[0] - label.bbox[2]
            if (overlap > 0.6 * height and 0 <= gap < 5 * max(label.size, 4.0)
                    and abs(line.size - label.size) <= 1.0):
                return block, line
    return None


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
    # Centred lines above where the right-hand column starts are header lines (an affiliation
    # list under the title), whatever their width.
    right_top = _paragraph_top([line for line in narrow if line.bbox[0] > middle])
    occupying = [line for line in narrow
                 if abs((line.bbox[0] + line.bbox[2]) / 2 - middle) > 0.03 * width
                 or ((line.bbox[2] - line.bbox[0]) < 0.36 * width and line.bbox[3] > right_top)]
    resolution = 2.0
    cells = int(width / resolution) + 2
    occupied = [0] * cells
    for line in occupying:
        a = int((line.bbox[0] - left) / resolution)
        b = int((line.bbox[2] - left) / resolution)
        for i in range(max(a, 0), min(b + 1, cells)):
            occupied[i] += 1
    tolerance = max(1, int(0.06 * len(narrow)))
    # With few lines, the one line a tolerant pass lets through can widen a gutter past the
    # short lines beside it (a two-column reference list of a few entries): try it strictly.
    return _free_runs(occupied, tolerance, left, width, resolution, narrow) or \
        _free_runs(occupied, 0, left, width, resolution, narrow)


def _paragraph_top(lines: list[Line]) -> float:
    """Top of the first paragraph among `lines`: four lines on one left edge, each right under
    the last. It marks where a column starts; a grid of author blocks, whose centred lines
    share no edge line after line, does not."""
    edges: dict[int, list[Line]] = {}
    for line in sorted(lines, key=lambda ln: ln.bbox[1]):
        edges.setdefault(round(line.bbox[0]), []).append(line)
    tops: list[float] = []
    for column in edges.values():
        run = column[:1]
        for line in column[1:]:
            run = [*run, line] if line.bbox[1] - run[-1].bbox[3] <= line.size else [line]
            if len(run) == 4:
                tops.append(run[0].bbox[1])
    return min(tops, default=float("inf"))


def _free_runs(occupied: list[int], tolerance: int, left: float, width: float,
               resolution: float, narrow: list[Line]) -> list[tuple[float, float]]:
    """Runs of cells crossed by at most `tolerance` lines with enough lines on either side."""
    cells = len(occupied)
    gutters: list[tuple[float, float]] = []
    right = left + width
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


def order_blocks(blocks: list[Block], page_width: float,
                 gutters: list[tuple[float, float]] | None = None) -> tuple[list[Block], int]:
    """Reading order: full-width blocks split the page into bands; bands read column by column.
    `gutters`: the blocks' `find_gutters`, when the caller has them already."""
    if not blocks:
        return [], 1
    if gutters is None:
        gutters = find_gutters(blocks, page_width)
    header: list[Block] = []
    if not gutters:
        # A header set in a grid (one block per author, three to a row) hides the gutter of
        # the columns under it: look again under the header's last full-width block.
        header = _header_above_columns(blocks)
        gutters = find_gutters([b for b in blocks if b not in header], page_width) \
            if header else []
    if not gutters:
        for block in blocks:
            block.column = 0
        return sorted(blocks, key=lambda b: (round(b.bbox[1], 0), b.bbox[0])), 1
    edges = [(g[0] + g[1]) / 2 for g in gutters]
    middles = ((min(b.bbox[0] for b in blocks) + max(b.bbox[2] for b in blocks)) / 2,
               page_width / 2)
    for block in blocks:
        x0, _, x1, _ = block.bbox
        # Set astride the middle of a gutter is outside every column: a centred heading
        # ("Abstract" under a two-column author grid) spans the columns even when it is
        # narrower than the gutter. (A hanging label just over an edge is not astride it.)
        # So is a block centred on the page or its text over a gutter (ragged lines can
        # make a gutter wide and lopsided).
        crossing = any(x0 < g0 - 2 and x1 > g1 + 2 for g0, g1 in gutters) or any(
            min(edge - x0, x1 - edge) >= max(0.25 * (x1 - x0), 2) for edge in edges) or (
            any(abs((x0 + x1) / 2 - middle) < 0.015 * page_width for middle in middles)
            and any(x0 < g1 and x1 > g0 for g0, g1 in gutters))
        if crossing:
            block.column = -1
        else:
            center = (x0 + x1) / 2
            block.column = sum(1 for edge in edges if center > edge)
    # A column holding one centred block only is no column: the block is a heading centred
    # between two columns of author blocks (names on the left, e-mails on the right).
    left, right = min(b.bbox[0] for b in blocks), max(b.bbox[2] for b in blocks)
    for column in {b.column for b in blocks if b.column >= 0}:
        alone = [b for b in blocks if b.column == column]
        if len(alone) == 1 and abs((alone[0].bbox[0] + alone[0].bbox[2]) / 2
                                   - (left + right) / 2) < 0.03 * (right - left):
            alone[0].column = -1
    for block in header:
        block.column = -1
    _headings_over_spanning_text(blocks)
    cuts = _whitespace_cuts(blocks)
    ordered: list[Block] = []
    band: list[Block] = []

    def close_band() -> None:
        ordered.extend(sorted(band, key=lambda b: (b.column, b.bbox[1], b.bbox[0])))
        band.clear()

    for block in sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0])):
        if cuts and block.bbox[1] >= cuts[0]:
            close_band()
            while cuts and block.bbox[1] >= cuts[0]:
                cuts.pop(0)
        if block.column == -1:
            close_band()
            ordered.append(block)
        else:
            band.append(block)
    close_band()
    return ordered, len(gutters) + 1


def _header_above_columns(blocks: list[Block]) -> list[Block]:
    """The blocks from the top of the page to its lowest full-width block in the upper part
    (an abstract under the title and a grid of authors), when text follows below it."""
    left = min(b.bbox[0] for b in blocks)
    right = max(b.bbox[2] for b in blocks)
    page_bottom = max(b.bbox[3] for b in blocks)
    wide = [b for b in blocks if b.bbox[2] - b.bbox[0] >= 0.8 * (right - left)
            and b.bbox[1] < 0.6 * page_bottom and len(b.lines) >= 2]
    if not wide:
        return []
    cut = max(b.bbox[3] for b in wide)
    header = [b for b in blocks if b.bbox[1] < cut]
    return header if len(header) < len(blocks) else []


def _headings_over_spanning_text(blocks: list[Block]) -> None:
    """A one-line heading in a column, right above text that spans the columns, with nothing
    of another column beside it, heads that text: it is read after the columns, not inside
    the first one ("Author details" set under balanced columns, over a full-width list)."""
    for block in blocks:
        if block.column < 0 or len(block.lines) != 1 or len(block.text) > 80:
            continue
        height = block.bbox[3] - block.bbox[1]
        under = [b for b in blocks if b is not block and b.bbox[1] >= block.bbox[3] - 1
                 and b.bbox[0] < block.bbox[2] and b.bbox[2] > block.bbox[0]]
        if not under:
            continue
        nxt = min(under, key=lambda b: b.bbox[1])
        if nxt.column != -1 or nxt.bbox[1] - block.bbox[3] > 2.5 * height:
            continue
        if not any(b.column >= 0 and b.column != block.column and b.bbox[3] > block.bbox[1]
                   and b.bbox[1] < nxt.bbox[1] for b in blocks):
            block.column = -1


def _whitespace_cuts(blocks: list[Block]) -> list[float]:
    """Heights where a wide band of white space crosses the whole page (XY-cut).

    Columns above such a band are read before the columns below it: a two-column abstract box
    above the article's two columns, text above and below a full-width figure.
    """
    heights = sorted(line.bbox[3] - line.bbox[1] for b in blocks for line in b.lines)
    if not heights:
        return []
    min_gap = 2.5 * heights[len(heights) // 2]
    columns = {b.column for b in blocks if b.column >= 0}
    cuts: list[float] = []
    spans = sorted((b.bbox[1], b.bbox[3]) for b in blocks)
    reach = spans[0][1]
    for top, bottom in spans[1:]:
        if top - reach >= min_gap:
            # A band break only where every column goes on below it: a column that ends above
            # the gap is the end of the text's flow, not a band of its own.
            # (Short blocks, such as a running foot or a page number, do not count.)
            text = [b for b in blocks if b.column >= 0 and len(b.text) >= 30]
            below = {b.column for b in text if b.bbox[1] >= top - 0.5}
            above = {b.column for b in text if b.bbox[3] <= reach + 0.5}
            if below >= columns and above >= columns and not _flows_across(
                    text, cuts[-1] if cuts else float("-inf"), reach, top):
                cuts.append(top - 0.5)
        reach = max(reach, bottom)
    return cuts


_SENTENCE_END = re.compile(r"[.!?:;)\]]\W*$")


def _flows_across(text: list[Block], floor: float, reach: float, top: float) -> bool:
    """Whether the text flows down a column across the gap and on into the next column's top:
    a column whose first block above the gap starts in lower case (a sentence going on), while
    the column before it ends a sentence above the gap and breaks one off below it. Then the
    gap is white space in the columns (a heading's space), not a band break."""
    def last(blocks: list[Block]) -> Block | None:
        return max(blocks, key=lambda b: b.bbox[3], default=None)

    above = [b for b in text if floor <= b.bbox[1] and b.bbox[3] <= reach + 0.5]
    for before, column in itertools.pairwise(sorted({b.column for b in text})):
        first = min((b for b in above if b.column == column), key=lambda b: b.bbox[1],
                    default=None)
        if first is None or not first.text[:1].islower():
            continue
        end_above = last([b for b in above if b.column == before])
        end_below = last([b for b in text if b.column == before and b.bbox[1] >= top - 0.5])
        if end_above and end_below and _SENTENCE_END.search(end_above.text) \
                and not _SENTENCE_END.search(end_below.text):
            return True
    return False
