"""Figures: embedded images and vector drawings, cropped to PNG, tied to their printed captions.

Per page: printed captions are found among the text blocks ("Figure 3:", "Fig. 3.", "FIG. 3",
"Figure S2", "Supplementary Figure 1"), the page's graphics (raster images and clustered vector
paths) are collected, and each caption takes the graphics between it and the nearest prose or
caption block above it in its column (or below it, for captions printed above their figure).
"""

from __future__ import annotations

import contextlib
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from paperflow.errors import PaperflowError
from paperflow.models import Figure
from paperflow.pdf import (
    Block,
    Line,
    ParsedDocument,
    Span,
    join_lines,
    mupdf_failure,
    open_pdf,
)

Rect = tuple[float, float, float, float]

MAX_PIXELS_PER_SIDE = 4000
MIN_IMAGE_SIDE = 50.0
"""Images smaller than this (points) on either side are icons or logos, never figures alone."""
LARGE_IMAGE_FRACTION = 0.06
"""Uncaptioned images covering at least this share of the page are kept, without a caption."""

_CAPTION = re.compile(
    r"(?P<prefix>(?:(?:Supplementa(?:l|ry)|SUPPLEMENTA(?:L|RY)|Suppl\.|Extended\s+Data)\s+)?)"
    r"(?P<word>Figure|FIGURE|Fig\.|FIG\.|Fig|FIG)\s*"
    r"(?P<num>S?(?P<int>\d{1,3})(?:\.\d{1,2}(?!\d))?)(?![\d])"
    r"(?P<sep>\s*[:.|]|\s*[—–]\s|\s+|$)"
)
_OTHER_CAPTION = re.compile(
    r"(?:Table|TABLE|Tab\.|Scheme|SCHEME|Chart|Algorithm|Listing)\s*S?[\dIVX]+\b"
)
_CONTINUED = re.compile(r"^\W*(?:cont(?:inued|\.|'d))", re.IGNORECASE)


@dataclass
class ExtractedFigure:
    """A figure's metadata plus its PNG crop (the asset is stored by the caller)."""

    figure: Figure
    png: bytes


@dataclass
class _Caption:
    label: str
    number: int
    text: str
    blocks: list[Block]
    bbox: Rect
    column: int


@dataclass
class _Graphics:
    images: list[Rect] = field(default_factory=list)
    vectors: list[Rect] = field(default_factory=list)

    @property
    def all(self) -> list[Rect]:
        return self.images + self.vectors


def extract_figures(
    data: bytes, doc: ParsedDocument, max_figures: int = 60, dpi: int = 150, render: bool = True
) -> list[ExtractedFigure]:
    """Numbered figures with printed captions (plus large uncaptioned images), cropped to PNG.

    Every failure leaves as a picklable `PaperflowError` (MuPDF's own types do not pickle).
    """
    try:
        return _extract_figures(data, doc, max_figures, dpi, render)
    except PaperflowError:
        raise
    except Exception as exc:
        raise mupdf_failure(exc, "extract the figures") from exc


def _extract_figures(
    data: bytes, doc: ParsedDocument, max_figures: int, dpi: int, render: bool
) -> list[ExtractedFigure]:
    if max_figures <= 0 or not doc.pages:
        return []
    with open_pdf(data) as pdf:
        kept = _find_figures(pdf, doc, max_figures)
        return _finish_all(pdf, kept, dpi, render)


def _find_figures(pdf: pymupdf.Document, doc: ParsedDocument, max_figures: int) -> list[Figure]:
    """The figures kept, in order: captions matched, duplicates and the limit applied."""
    kept: list[Figure] = []
    body = _body_size(doc)
    seen_labels: set[str] = set()
    images = _image_boxes(pdf, [page.number for page in doc.pages])
    # Uncaptioned images wait one page: a caption printed at the top of the next page
    # (figure pages in preprints) may still claim them.
    carry: list[Figure] = []
    for layout in doc.pages:
        if len(kept) >= max_figures:
            break
        try:
            page = pdf[layout.number - 1]
            captioned, uncaptioned = _page_figures(
                page, layout.blocks, body, images.get(layout.number, []), seen_labels, carry
            )
        except Exception:  # one damaged page must not sink the paper's other figures
            captioned, uncaptioned = [], []
        kept += [*carry, *captioned][: max_figures - len(kept)]
        carry = uncaptioned
    kept += carry[: max(max_figures - len(kept), 0)]
    return kept


def _body_size(doc: ParsedDocument) -> float:
    """The running text's font size, counted in paragraphs only (not figure or table labels)."""
    weights: Counter[float] = Counter()
    for page in doc.pages[:30]:
        for block in page.blocks:
            if len(block.lines) >= 3:
                for line in block.lines:
                    weights[round(line.size, 1)] += len(line.text)
    return weights.most_common(1)[0][0] if weights else doc.body_font_size


def _page_figures(
    page: pymupdf.Page,
    blocks: list[Block],
    body: float,
    images: list[Rect],
    seen_labels: set[str],
    carry: list[Figure],
) -> tuple[list[Figure], list[Figure]]:
    """The captioned figures of one page, and its large uncaptioned images.

    A caption heading a page with no graphics of its own takes the previous page's uncaptioned
    image out of `carry`.
    """
    captions, caption_boxes, others = _find_captions(blocks, body)
    captions = [c for c in captions if _label_key(c.label) not in seen_labels]
    area = _text_area(blocks, page.rect)
    # Without a caption to place, only the large raster images matter: no vector paths, no prose.
    graphics = _page_graphics(page, images, blocks, body, vectors=bool(captions))
    prose = [b.bbox for b in blocks if _is_prose(b, graphics.all, area, body)] if captions else []
    barriers = prose + caption_boxes
    found: dict[int, tuple[Rect, str]] = {}
    claimed: list[Rect] = []
    for i, caption in enumerate(captions):
        picked, window = _graphics_above_or_below(
            caption, blocks, graphics, barriers, caption_boxes, area
        )
        if picked:
            found[i] = _region_of(picked, window, caption, blocks, graphics, barriers)
            claimed += picked
    for i, caption in enumerate(captions):
        if i in found:
            continue
        free = _Graphics(
            [g for g in graphics.images if g not in claimed],
            [g for g in graphics.vectors if g not in claimed],
        )
        picked = _graphics_beside(caption, free)
        if picked:
            found[i] = _region_of(picked, None, caption, blocks, graphics, barriers)
            claimed += picked
            continue
        # Text inside the figure (an alignment, a code listing) may look like running text:
        # look past it, up to the previous caption.
        picked, window = _graphics_above_or_below(
            caption, blocks, free, caption_boxes, caption_boxes, area, below=False
        )
        if picked:
            found[i] = _region_of(picked, window, caption, blocks, graphics, caption_boxes)
            claimed += picked
    figures: list[Figure] = []
    for i, caption in enumerate(captions):
        seen_labels.add(_label_key(caption.label))
        page_number = page.number + 1
        if i in found:
            rect, kind = found[i]
        elif carry and _heads_page(caption, prose, page.rect):
            previous = carry.pop()
            page_number, rect, kind = previous.page, previous.bbox, previous.kind
        else:
            rect, kind = _gap_region(caption, blocks, barriers, area)
        figures.append(
            Figure(
                label=caption.label,
                number=caption.number,
                page=page_number,
                bbox=_round(rect),
                kind=kind,  # type: ignore[arg-type]
                width=0,
                height=0,
                caption=caption.text or None,
                caption_source="pdf",
            )
        )
    taken = [f.bbox for f in figures if f.page == page.number + 1]
    page_area = page.rect.width * page.rect.height
    uncaptioned: list[Figure] = []
    for rect in graphics.images:
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        if min(w, h) < MIN_IMAGE_SIDE or w * h < LARGE_IMAGE_FRACTION * page_area:
            continue
        if w * h > 0.8 * page_area:  # a scanned page or a background, not a figure
            continue
        if any(_overlap_area(rect, t) > 0.3 * w * h for t in taken):
            continue
        if any(_next_to(rect, other) for other in others):  # a table or scheme printed as image
            continue
        uncaptioned.append(
            Figure(page=page.number + 1, bbox=_round(rect), kind="raster", width=0, height=0)
        )
        taken.append(rect)
    return figures, uncaptioned


def _heads_page(caption: _Caption, prose: list[Rect], page_rect: pymupdf.Rect) -> bool:
    """Whether the caption opens the page, with no running text above it."""
    top = caption.bbox[1]
    return top < page_rect.y0 + 0.4 * page_rect.height and not any(b[3] <= top for b in prose)


def _next_to(box: Rect, other: Rect, distance: float = 30.0) -> bool:
    """Whether `other` lies just above or below `box`, overlapping it horizontally."""
    overlap = min(box[2], other[2]) - max(box[0], other[0])
    if overlap <= 0.3 * min(box[2] - box[0], other[2] - other[0]):
        return False
    return -distance <= other[1] - box[3] <= distance or -distance <= box[1] - other[3] <= distance


def _finish_all(
    pdf: pymupdf.Document, figures: list[Figure], dpi: int, render: bool
) -> list[ExtractedFigure]:
    """Crop (or just size) every kept figure at `dpi`, lowered to cap the pixel size.

    Figures come in page order: one display list per page serves all of the page's figures, and
    only the current page's is held.
    """
    display: tuple[int, pymupdf.DisplayList | None] = (0, None)
    found: list[ExtractedFigure] = []
    for figure in figures:
        page = pdf[figure.page - 1]
        clip = pymupdf.Rect(figure.bbox) & page.rect
        if clip.is_empty:
            clip = pymupdf.Rect(figure.bbox)
        side = max(clip.width, clip.height, 1.0)
        # Pixel edges round outwards, so aim a little below the cap.
        zoom = min(dpi / 72.0, (MAX_PIXELS_PER_SIDE - 2) / side)
        matrix = pymupdf.Matrix(zoom, zoom)
        irect = (clip * matrix).irect
        sized = figure.model_copy(update={"width": irect.width, "height": irect.height})
        if not render:
            found.append(ExtractedFigure(sized, b""))
            continue
        if display[0] != figure.page:
            display = (figure.page, None)
            # A page MuPDF cannot draw keeps its figures, without a crop.
            with contextlib.suppress(Exception):
                display = (figure.page, page.get_displaylist())
        crop = _crop_png(display[1], matrix, clip) if display[1] is not None else None
        if crop is None:
            found.append(ExtractedFigure(sized, b""))
            continue
        png, width, height = crop
        found.append(
            ExtractedFigure(figure.model_copy(update={"width": width, "height": height}), png)
        )
    return found


def _crop_png(
    display: pymupdf.DisplayList, matrix: pymupdf.Matrix, clip: pymupdf.Rect
) -> tuple[bytes, int, int] | None:
    """The clip's pixels as a PNG with their size, or None when MuPDF cannot draw them.

    Only the clip is rasterised: the display list skips whatever lies outside it.
    """
    try:
        pix = display.get_pixmap(matrix=matrix, clip=clip, alpha=False)
        width, height = pix.width, pix.height
        png = _png(pix)
        del pix
    except Exception:
        return None
    return png, width, height


PNG_ZLIB_LEVEL = 3
"""MuPDF writes PNG at zlib's default level 6; level 3 encodes figure crops about 1.8x faster
for files about 2% larger (both unfiltered)."""


def _png(pix: pymupdf.Pixmap) -> bytes:
    """The pixmap as an 8-bit grey or RGB PNG (no row filters, like MuPDF's own writer)."""
    if pix.alpha or pix.n not in (1, 3):
        return pix.tobytes("png")
    width, height, stride = pix.width, pix.height, pix.stride
    samples = pix.samples_mv
    rows = b"".join(
        b"\x00" + samples[y * stride : y * stride + width * pix.n] for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0 if pix.n == 1 else 2, 0, 0, 0)
    return b"".join((b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header),
                     chunk(b"IDAT", zlib.compress(rows, PNG_ZLIB_LEVEL)), chunk(b"IEND", b"")))


# Captions


def _label_key(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower().replace("figure", "fig"))


def _caption_start(line: Line, body: float) -> tuple[str, int, str] | None:
    """(label, number, rest of line) when `line` opens a printed figure caption."""
    text = line.text
    match = _CAPTION.match(text)
    if not match or not line.spans:
        return None
    size = line.size
    if size < 0.6 * body:  # text inside an embedded figure, e.g. a reproduced page
        return None
    rest = text[match.end() :].strip()
    if re.search(r"(?:\.\s?){4,}\s*\d+$", rest):  # a "List of Figures" entry
        return None
    sep = match["sep"].strip()
    if sep == "." and rest[:1].isdigit():
        return None
    if not sep:
        # Without punctuation, "Figure 3 shows ..." is prose; a caption sets its label apart.
        if (rest[:1].islower() or rest.startswith("(")) and not _CONTINUED.match(rest):
            return None
        if not (_label_styled(line, match.end()) or size < 0.95 * body):
            return None
    prefix = re.sub(r"\s+", " ", match["prefix"]).strip()
    label = f"{prefix} {match['word']} {match['num']}".strip()
    return label, int(match["int"]), rest


def _label_styled(line: Line, label_end: int) -> bool:
    """Whether the label's font differs from the caption text after it (bold, or another face)."""
    first: Span = next(s for s in line.spans if s.text.strip())
    if first.is_bold:
        return True
    position = 0
    for span in line.spans:
        position += len(span.text)
        if position > label_end + 1 and span.text.strip():
            return span.font != first.font
    return False


def _find_captions(
    blocks: list[Block], body: float
) -> tuple[list[_Caption], list[Rect], list[Rect]]:
    """Figure captions opening a block, the boxes of all captions, and of non-figure captions."""
    captions: list[_Caption] = []
    barriers: list[Rect] = []
    others: list[Rect] = []
    used: set[int] = set()
    starts = {i: _caption_start(b.lines[0], body) for i, b in enumerate(blocks) if b.lines}
    for index, block in enumerate(blocks):
        if index in used or not block.lines:
            continue
        start = starts.get(index)
        if start is None:
            if _OTHER_CAPTION.match(block.lines[0].text):
                barriers.append(block.bbox)
                others.append(block.bbox)
            continue
        label, number, rest = start
        members = [block]
        for later in range(index + 1, len(blocks)):
            nxt = blocks[later]
            if starts.get(later) or not nxt.lines or not _continues(members[-1], nxt):
                break
            members.append(nxt)
            used.add(later)
        bbox = _union([b.bbox for b in members])
        barriers.append(bbox)
        if _CONTINUED.match(rest):
            continue
        lines = [rest] + [ln.text for ln in block.lines[1:]]
        lines += [ln.text for b in members[1:] for ln in b.lines]
        text = re.sub(r"^[\s:.|—–-]+", "", _join(lines)).strip()
        captions.append(_Caption(label, number, text, members, bbox, block.column))
    return captions, barriers, others


def _join(lines: list[str]) -> str:
    """Join caption lines, keeping the hyphen of compounds broken at a line end.

    "mass-/to-temperature" and "33RE-/binding" stay hyphenated; "distri-/bution" is mended.
    """
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out and re.search(r"[A-Za-z]-$", out[-1]) and line[:1].islower():
            stem = re.split(r"[\s/(]", out[-1][:-1])[-1]
            head = line.split(" ", 1)[0]
            if "-" not in head and not re.search(r"[\dA-Z]", stem[1:]):
                out[-1] = out[-1][:-1] + line
                continue
            out[-1] = out[-1] + line
            continue
        out.append(line)
    return join_lines(out)


def _continues(block: Block, nxt: Block) -> bool:
    """Whether `nxt` carries on the caption ending with `block` (same size, column, spacing)."""
    size = block.size or 10.0
    gap = nxt.bbox[1] - block.bbox[3]
    if gap < -2 or gap > 0.7 * size:
        return False
    if abs((nxt.size or size) - size) > 0.6:
        return False
    if _OTHER_CAPTION.match(nxt.lines[0].text):
        return False
    overlap = min(block.bbox[2], nxt.bbox[2]) - max(block.bbox[0], nxt.bbox[0])
    return overlap > 0.5 * min(block.bbox[2] - block.bbox[0], nxt.bbox[2] - nxt.bbox[0])


# Graphics


def _image_boxes(pdf: pymupdf.Document, numbers: list[int]) -> dict[int, list[Rect]]:
    """Each page's image boxes, without the small images recurring at one place on many pages
    (logos, badges and page decorations)."""
    boxes: dict[int, list[Rect]] = {}
    counts: Counter[tuple[int, ...]] = Counter()
    for number in numbers:
        try:
            page = pdf[number - 1]
            infos = page.get_image_info()
        except Exception:  # an unreadable page just contributes nothing
            continue
        small = 0.1 * page.rect.width * page.rect.height
        found = [_clip(info["bbox"], page.rect) for info in infos]
        boxes[number] = [box for box in found if box]
        counts.update({_image_key(box) for box in boxes[number] if _area(box) < small})
    if len(numbers) >= 3:
        threshold = max(3, len(numbers) // 2)
        repeated = {key for key, n in counts.items() if n >= threshold}
        for number, found_boxes in boxes.items():
            boxes[number] = [box for box in found_boxes if _image_key(box) not in repeated]
    return boxes


def _image_key(bbox: Rect) -> tuple[int, ...]:
    """Where an image is drawn (a logo is often re-embedded on every page under a new xref)."""
    return tuple(round(v / 4) for v in bbox)


def _page_graphics(
    page: pymupdf.Page, images: list[Rect], blocks: list[Block], body: float,
    vectors: bool = True,
) -> _Graphics:
    """Raster image and clustered vector-drawing boxes of one page, clipped to the page.

    Boxes lying under running text (backgrounds, invisible overlays, text frames) are left out.
    `vectors=False` skips the vector paths (the costliest part), for pages without captions.
    """
    prect = page.rect
    page_w, page_h = prect.width, prect.height
    graphics = _Graphics()
    graphics.images = [box for box in images if min(box[2] - box[0], box[3] - box[1]) >= 4]
    paths = [
        box for box in (_vector_boxes(page) if vectors else [])
        # Page backgrounds and frames would swallow everything into one cluster.
        if not (box[2] - box[0] > 0.85 * page_w and box[3] - box[1] > 0.7 * page_h)
    ]
    for box in _cluster(paths, 3.0):
        w, h = box[2] - box[0], box[3] - box[1]
        if min(w, h) >= 8 and w * h >= 400:  # rules, underlines and bullets are not figures
            graphics.vectors.append(box)
    margin = 0.08 * page_h
    graphics.vectors = [
        g for g in graphics.vectors
        # Logos and badges in the top or bottom margin belong to the page, not a figure.
        if not (g[3] - g[1] < 30 and (g[3] < prect.y0 + margin or g[1] > prect.y1 - margin))
    ]
    graphics.images = [
        g for g in graphics.images
        if not (g[3] - g[1] < 30 and (g[3] < prect.y0 + margin or g[1] > prect.y1 - margin))
    ]
    if not graphics.images and not graphics.vectors:
        return graphics
    lines = [ln.bbox for b in blocks for ln in b.lines if len(ln.text) >= 30
             and ln.size >= 0.85 * body]
    graphics.images = [g for g in graphics.images if not _under_text(g, lines)]
    graphics.vectors = [g for g in graphics.vectors if not _under_text(g, lines)]
    return graphics


def _vector_boxes(page: pymupdf.Page) -> list[Rect]:
    """Visible boxes of the page's vector paths, cut to their clipping paths and the page."""
    boxes: list[Rect] = []
    stack: list[tuple[int, Rect | None]] = []
    page_box = tuple(page.rect)
    for item in page.get_cdrawings(extended=True):
        level = item.get("level", 0)
        while stack and stack[-1][0] >= level:
            stack.pop()
        clip = stack[-1][1] if stack else None
        kind = item.get("type")
        if kind == "clip":
            scissor = item.get("scissor")
            stack.append((level, _intersect(clip, tuple(scissor) if scissor else None)))
            continue
        if kind == "group":
            stack.append((level, clip))
            continue
        if kind == "f" and _is_white(item.get("fill")):
            continue  # white fills are invisible on the page: backgrounds and masks
        box = _intersect(_intersect(clip, page_box), tuple(item["rect"]))
        # Zero-thickness lines count: axes and rules hold a plot's parts together.
        if box and box[2] >= box[0] and box[3] >= box[1] and box[2] + box[3] > box[0] + box[1]:
            boxes.append(box)
    return boxes


def _is_white(color: object) -> bool:
    return isinstance(color, tuple | list) and len(color) >= 3 and min(color[:3]) > 0.97


def _intersect(a: Rect | None, b: tuple[float, ...] | None) -> Rect | None:
    if b is None:
        return a
    box: Rect = (b[0], b[1], b[2], b[3])
    if a is None:
        return box
    return (max(a[0], box[0]), max(a[1], box[1]), min(a[2], box[2]), min(a[3], box[3]))


def _under_text(box: Rect, lines: list[Rect]) -> bool:
    covered = sum(_overlap_area(box, line) for line in lines)
    return covered > 0.25 * max(_area(box), 1.0)


def _cluster(rects: list[Rect], tolerance: float) -> list[Rect]:
    """Merge boxes lying within `tolerance` of each other into the boxes of their groups."""
    if not rects:
        return []
    clusters: list[list[float]] = []
    active: list[list[float]] = []
    for x0, y0, x1, y1 in sorted(rects, key=lambda r: r[1]):
        # A top-to-bottom sweep: groups ending above this box can never touch later boxes.
        active = [c for c in active if c[3] + tolerance >= y0]
        hit = None
        for c in active:
            if (x0 <= c[2] + tolerance and x1 >= c[0] - tolerance
                    and y0 <= c[3] + tolerance and y1 >= c[1] - tolerance):
                if hit is None:
                    c[0], c[1], c[2], c[3] = min(c[0], x0), min(c[1], y0), max(c[2], x1), max(
                        c[3], y1
                    )
                    hit = c
                else:
                    hit[0], hit[1] = min(hit[0], c[0]), min(hit[1], c[1])
                    hit[2], hit[3] = max(hit[2], c[2]), max(hit[3], c[3])
                    c[0] = float("nan")
        active = [c for c in active if c[0] == c[0]]
        if hit is None:
            new = [x0, y0, x1, y1]
            clusters.append(new)
            active.append(new)
    boxes = [c for c in clusters if c[0] == c[0]]
    merged = True
    while merged:  # groups grown sideways after the sweep may now touch
        merged = False
        for i in range(len(boxes)):
            for j in range(len(boxes) - 1, i, -1):
                a, b = boxes[i], boxes[j]
                if (a[0] <= b[2] + tolerance and a[2] >= b[0] - tolerance
                        and a[1] <= b[3] + tolerance and a[3] >= b[1] - tolerance):
                    a[0], a[1] = min(a[0], b[0]), min(a[1], b[1])
                    a[2], a[3] = max(a[2], b[2]), max(a[3], b[3])
                    del boxes[j]
                    merged = True
    return [(c[0], c[1], c[2], c[3]) for c in boxes]


# Regions


def _text_area(blocks: list[Block], page_rect: pymupdf.Rect) -> Rect:
    if not blocks:
        return (page_rect.x0, page_rect.y0, page_rect.x1, page_rect.y1)
    box = _union([b.bbox for b in blocks])
    return (
        min(box[0], page_rect.x0 + 0.08 * page_rect.width),
        box[1],
        max(box[2], page_rect.x1 - 0.08 * page_rect.width),
        box[3],
    )


def _is_prose(block: Block, graphics: list[Rect], area: Rect, body: float) -> bool:
    """Running text (not a label inside a figure): a wide, multi-line or long block."""
    x0, y0, x1, y1 = block.bbox
    width = x1 - x0
    span = area[2] - area[0]
    if width < 0.3 * span:  # narrower than either test below allows
        return False
    if block.size < 0.85 * body:
        return False
    box_area = max(width * (y1 - y0), 1.0)
    if any(_overlap_area(block.bbox, g) > 0.6 * box_area for g in graphics):
        return False
    text = block.text
    if len(block.lines) >= 2 and width >= 0.3 * span and len(text) >= 60:
        return True
    return width >= 0.4 * span and len(text) >= 40


def _graphics_above_or_below(
    caption: _Caption,
    blocks: list[Block],
    graphics: _Graphics,
    barriers: list[Rect],
    caption_boxes: list[Rect],
    area: Rect,
    below: bool = True,
) -> tuple[list[Rect], Rect]:
    """Graphics between the caption and the text above it, else between it and the text below.

    Returns them with the window their figure's own text may occupy.

    Below is searched only when the next text below is not another caption, whose figure that
    would be.
    """
    cx0, cy0, cx1, cy1 = caption.bbox
    sx0, sx1 = _column_span(caption, blocks, area)

    def in_span(box: Rect) -> bool:
        overlap = min(box[2], sx1) - max(box[0], sx0)
        return overlap > 0.5 * min(box[2] - box[0], sx1 - sx0) or (
            box[0] <= cx0 + 2 and box[2] >= cx1 - 2
        )

    ceiling, floor, floor_box = _limits(caption, barriers, sx0, sx1)
    # A shaded box behind the caption is not the figure.
    candidates = [g for g in graphics.all if _overlap_area(g, caption.bbox) < 0.5 * _area(g)]
    picked = [g for g in candidates if g[1] < cy0 - 1 and g[3] > ceiling + 1
              and g[1] >= ceiling - 6 and in_span(g)]
    if picked or not below or (floor_box and floor_box in caption_boxes):
        return picked, (sx0, ceiling, sx1, cy0)
    picked = [g for g in candidates if g[1] > cy1 - 1 and g[3] < floor + 6
              and g[1] < floor and in_span(g)]
    return picked, (sx0, cy1, sx1, floor)


def _graphics_beside(caption: _Caption, graphics: _Graphics) -> list[Rect]:
    """Graphics level with a caption printed at the figure's side (in the other column)."""
    cy0, cy1 = caption.bbox[1], caption.bbox[3]
    picked = []
    for g in graphics.all:
        overlap = min(g[3], cy1) - max(g[1], cy0)
        side = g[2] <= caption.bbox[0] + 5 or g[0] >= caption.bbox[2] - 5
        if side and overlap > 0.5 * min(g[3] - g[1], cy1 - cy0):
            picked.append(g)
    return picked


def _limits(
    caption: _Caption, barriers: list[Rect], sx0: float, sx1: float
) -> tuple[float, float, Rect | None]:
    """The bottom of the nearest text above the caption, the top of the nearest text below."""
    cy0, cy1 = caption.bbox[1], caption.bbox[3]

    def in_columns(box: Rect) -> bool:
        overlap = min(box[2], sx1) - max(box[0], sx0)
        return overlap > 0.3 * (box[2] - box[0])

    above = [b for b in barriers if b[3] <= cy0 + 1 and b != caption.bbox and in_columns(b)]
    ceiling = max((b[3] for b in above), default=0.0)
    below = [b for b in barriers if b[1] >= cy1 - 1 and b != caption.bbox and in_columns(b)]
    floor_box = min(below, key=lambda b: b[1], default=None)
    floor = floor_box[1] if floor_box else 1e6
    return ceiling, floor, floor_box


def _region_of(
    picked: list[Rect],
    window: Rect | None,
    caption: _Caption,
    blocks: list[Block],
    graphics: _Graphics,
    barriers: list[Rect],
) -> tuple[Rect, str]:
    """The box of the picked graphics and their text, and whether they are mostly raster."""
    raster = sum(_area(g) for g in picked if g in graphics.images)
    kind = "raster" if raster >= 0.5 * sum(_area(g) for g in picked) else "vector"
    region = _union(picked)
    if window is None:
        window = (region[0] - 40, region[1] - 15, region[2] + 40, region[3] + 15)
    region = _grow_with_text(region, window, blocks, caption, barriers)
    cx0, cy0, cx1, cy1 = caption.bbox
    x0, y0, x1, y1 = region
    if x0 <= cx0 + 5 and x1 >= cx1 - 5 and y0 <= cy0 and y1 >= cy1:
        # A frame around figure and caption: keep the part on the figure's side of the caption.
        if cy0 - y0 >= y1 - cy1:
            y1 = cy0 - 1
        else:
            y0 = cy1 + 1
    return _pad((x0, y0, x1, y1)), kind


def _gap_region(
    caption: _Caption, blocks: list[Block], barriers: list[Rect], area: Rect
) -> tuple[Rect, str]:
    """No graphics found: the space between the caption and the text above (or below) it."""
    cy0, cy1 = caption.bbox[1], caption.bbox[3]
    sx0, sx1 = _column_span(caption, blocks, area)
    ceiling, floor, _ = _limits(caption, barriers, sx0, sx1)
    top = max(ceiling, area[1])
    if cy0 - top >= 20:
        return (sx0, top, sx1, cy0 - 1), "region"
    return (sx0, cy1 + 1, sx1, max(cy1 + 2, min(floor, area[3]))), "region"


def _column_span(caption: _Caption, blocks: list[Block], area: Rect) -> tuple[float, float]:
    """The x-range of the caption's column, or the text width for full-width captions."""
    if caption.column < 0:
        return area[0], area[2]
    same = [b.bbox for b in blocks if b.column == caption.column]
    others = [b for b in blocks if b.column >= 0 and b.column != caption.column]
    if not others:
        return area[0], area[2]
    return min(b[0] for b in same), max(b[2] for b in same)


def _grow_with_text(
    region: Rect,
    window: Rect,
    blocks: list[Block],
    caption: _Caption,
    barriers: list[Rect],
) -> Rect:
    """Add the figure's own text (axis labels, legends) lying next to its graphics."""
    x0, x1 = min(window[0], region[0] - 40), max(window[2], region[2] + 40)
    candidates = [
        b.bbox for b in blocks
        if b.bbox not in barriers and b not in caption.blocks
        and not (b.bbox[1] < caption.bbox[3] and b.bbox[3] > caption.bbox[1])
        and b.bbox[1] >= window[1] - 1 and b.bbox[3] <= window[3] + 1
        and b.bbox[0] >= x0 and b.bbox[2] <= x1
    ]
    changed = True
    while changed:
        changed = False
        for box in list(candidates):
            near = (box[0] <= region[2] + 12 and box[2] >= region[0] - 12
                    and box[1] <= region[3] + 12 and box[3] >= region[1] - 12)
            if near:
                region = _union([region, box])
                candidates.remove(box)
                changed = True
    return region


# Geometry


def _clip(bbox: tuple[float, ...] | pymupdf.Rect, prect: pymupdf.Rect) -> Rect | None:
    a, b, c, d = (float(v) for v in tuple(bbox)[:4])
    x0, y0 = max(min(a, c), prect.x0), max(min(b, d), prect.y0)
    x1, y1 = min(max(a, c), prect.x1), min(max(b, d), prect.y1)
    if x1 - x0 <= 0.5 or y1 - y0 <= 0.5:
        return None
    return (x0, y0, x1, y1)


def _union(boxes: list[Rect]) -> Rect:
    return (
        min(b[0] for b in boxes), min(b[1] for b in boxes),
        max(b[2] for b in boxes), max(b[3] for b in boxes),
    )


def _area(box: Rect) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _overlap_area(a: Rect, b: Rect) -> float:
    return max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)


def _pad(box: Rect, margin: float = 2.0) -> Rect:
    return (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)


def _round(box: Rect) -> Rect:
    return (round(box[0], 1), round(box[1], 1), round(box[2], 1), round(box[3], 1))
