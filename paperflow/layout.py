"""One reading of the page: every block labelled once with its role and the evidence for it.

`analyse_layout` runs after `parse_layout` and before every extractor. It decides, from how
papers are typeset (font sizes, positions, repetition across pages, label words), which blocks
are running heads, page numbers, margin columns (sidebars), first-page footnotes, banners and
boilerplate, headings and captions; the extractors read these roles instead of re-deriving them.
The layout rules the extractors share (what counts as bold, the body size, a heading, a caption,
a references heading) are defined here and nowhere else.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import replace

from paperflow.pdf import Block, Line, Page, ParsedDocument

ROLES = (
    "body", "running_head", "page_number", "line_number", "sidebar", "footnote", "banner",
    "heading", "caption",
)
PAGE_FURNITURE = frozenset({"running_head", "page_number", "line_number"})
"""Roles of what is printed around the text, never part of it: running heads, page numbers
and a draft's line numbers down the margin."""

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


def set_apart_at_page_edge(line: Line, page: Page) -> bool:
    """At the page's edge, or the first (last) line of a page in its top (bottom) quarter, set
    apart from the text under (over) it: where a class with wide margins puts its running
    heads, lower than the edge band. Only text repeated on several pages becomes a running
    head this way (a section heading opening a page is set apart as well)."""
    if at_page_edge(line, page):
        return True
    top, bottom = line.bbox[1], line.bbox[3]
    gap = 0.8 * max(line.size, 1.0)
    if bottom < 0.25 * page.height:
        others = [other.bbox[1] for other in page.lines() if other is not line]
        return all(o >= bottom + gap or abs(o - top) < 0.5 * line.size for o in others) \
            and any(o >= bottom + gap for o in others)
    if top > 0.75 * page.height:
        others = [other.bbox[3] for other in page.lines() if other is not line]
        return all(o <= top - gap or abs(o - bottom) < 0.5 * line.size for o in others) \
            and any(o <= top - gap for o in others)
    return False


def running_texts(doc: ParsedDocument) -> set[str]:
    """Texts printed near the top or bottom edge of several pages: running heads and footers."""
    return set(_edge_texts(doc))


def _edge_texts(doc: ParsedDocument) -> dict[str, dict[int, float]]:
    """Each text printed near the edge of several pages: the largest size it has on each."""
    by_key: dict[str, dict[int, float]] = {}
    body = doc.body_font_size
    for page in doc.pages:
        for line in page.lines():
            # Inside the page only text not much larger than the body may be a running head: a
            # title repeated at the top of an article page after a summary page is not one.
            if at_page_edge(line, page) or (line.size < 1.3 * body
                                             and set_apart_at_page_edge(line, page)):
                sizes = by_key.setdefault(margin_key(line.text), {})
                sizes[page.number] = max(sizes.get(page.number, 0.0), line.size)
    needed = 2 if len(doc.pages) < 6 else 3
    return {key: sizes for key, sizes in by_key.items() if key and len(sizes) >= needed}


def sidebar_blocks(page: Page) -> set[int]:
    """Indices of the blocks in a margin column: a narrow strip at the page's left or right
    edge, in type no larger than the main text, that no line crosses beside it.

    Journals that set the first page as a main column plus a sidebar (editor, dates,
    affiliations, a photo) print it apart from the header block beside it, which is then read
    without it.
    """
    blocks = [(i, b) for i, b in enumerate(page.blocks) if b.text.strip()]
    if len(blocks) < 3:
        return set()
    # Every edge is tried and the widest strip kept: an edge inside the margin column (a
    # wrapped name set apart at its right, "Correspondence:" / "Ngozi") finds only part of it.
    found: set[int] = set()
    for side in ("left", "right"):
        edges = sorted({round(b.bbox[0] if side == "left" else b.bbox[2]) for _, b in blocks})
        for edge in edges:
            if side == "left":
                strip = [(i, b) for i, b in blocks if b.bbox[2] < edge - 1]
                main = [(i, b) for i, b in blocks if b.bbox[0] > edge - 1]
            else:
                strip = [(i, b) for i, b in blocks if b.bbox[0] > edge + 1]
                main = [(i, b) for i, b in blocks if b.bbox[2] < edge + 1]
            if not strip or not main:
                continue
            main_size = Counter(round(b.size, 1) for _, b in main for _ in b.lines)
            small = [(i, b) for i, b in strip if b.size <= main_size.most_common(1)[0][0] + 0.1]
            placed = {i for i, _ in small} | {i for i, _ in main}
            others = [b for i, b in blocks if i not in placed]
            for run in _vertical_runs(small, others):
                partial = len(run) < len(strip)
                if _is_sidebar([b for _, b in run], [b for _, b in main], blocks, page, partial) \
                        and len(run) > len(found):
                    found = {i for i, _ in run}
    return found


def _vertical_runs(strip: list[tuple[int, Block]],
                   others: list[Block]) -> list[list[tuple[int, Block]]]:
    """The strip's blocks in runs, top to bottom, parted where another block (one crossing
    into the strip, or a heading larger than the text) lies between two of them: a sidebar may
    stand beside one part of the page only (a banner above the title is in the strip's column
    too, but the title below it ends that run)."""
    runs: list[list[tuple[int, Block]]] = []
    for index, block in sorted(strip, key=lambda item: item[1].bbox[1]):
        if runs:
            above = runs[-1][-1][1].bbox[3]
            if not any(other.bbox[1] >= above - 1 and other.bbox[3] <= block.bbox[1] + 1
                       for other in others):
                runs[-1].append((index, block))
                continue
        runs.append([(index, block)])
    return runs


def _is_sidebar(strip: list[Block], main: list[Block], blocks: list[tuple[int, Block]],
                page: Page, partial: bool = False) -> bool:
    """`partial`: the strip stands beside one part of the page only. Its type must then be
    smaller than the paragraphs beside it (a sidebar of dates and licences; not an "Article
    info" column of keywords set like the abstract beside it), and it may be longer."""
    width = max(b.bbox[2] for b in strip) - min(b.bbox[0] for b in strip)
    if width >= 0.3 * page.width or sum(len(b.lines) for b in strip) < 4:
        return False
    top = min(b.bbox[1] for b in strip)
    bottom = max(b.bbox[3] for b in strip)
    placed = {id(b) for b in strip} | {id(b) for b in main}
    if any(id(b) not in placed and b.bbox[3] > top and b.bbox[1] < bottom for _, b in blocks):
        return False  # a line crosses beside the strip
    strip_size = max(b.size for b in strip)
    main_size = Counter(round(b.size, 1) for b in main for _ in b.lines).most_common(1)[0][0]
    # Running text beside it: a paragraph, or short paragraphs (a structured abstract's) with
    # three long lines among them, far wider than the strip (the cells of an author grid
    # beside its last column are as narrow as it is).
    beside = [b for b in main if b.bbox[3] > top and b.bbox[1] < bottom]
    long_lines = [line for b in beside for line in b.lines if len(line.text) >= 40]
    wide = [line for line in long_lines if line.bbox[2] - line.bbox[0] >= 1.5 * width]
    if not (any(_is_paragraph(b) for b in beside) or len(wide) >= 3):
        return False
    smallest_long = min(line.size for line in long_lines)  # a paragraph has long lines
    # However much it holds, a strip in type a fifth smaller than every long line beside it
    # is a margin column (a one-page cover's notes: authors' addresses, keywords, links).
    share = 0.6 if partial else 0.4
    if strip_size > 0.8 * smallest_long \
            and sum(len(b.text) for b in strip) >= share * sum(len(b.text) for b in main):
        return False
    if partial:
        # Smaller than the paragraphs beside it (not than an address block in small type
        # beside it), in the type most of the strip is set in (a date label may be larger).
        paragraphs = [line.size for b in beside if _is_paragraph(b) for line in b.lines
                      if len(line.text) >= 40]
        main_size = min(paragraphs, default=smallest_long) - 0.5
        sizes = Counter(round(b.size, 1) for b in strip for line in b.lines
                        for _ in range(len(line.text)))
        strip_size = sizes.most_common(1)[0][0]
    return strip_size <= main_size + 0.1


def _is_paragraph(block: Block) -> bool:
    """Running text: several lines, most of them long."""
    long_lines = [line for line in block.lines if len(line.text) >= 40]
    return len(block.lines) >= 3 and len(long_lines) >= 0.6 * len(block.lines)


def _role(block: Block, page: Page, body: float, running: dict[str, dict[int, float]],
          sidebar: bool) -> tuple[str, str]:
    text = block.text.strip()
    first = block.lines[0] if block.lines else None
    if first is None or not text:
        return "body", "empty"
    edge = all(at_page_edge(line, page) for line in block.lines)
    if edge and PAGE_NUMBER.match(text):
        return "page_number", "digits at the page edge"
    # A title set large at the top of page 1 is no running head, though the running heads of
    # the later pages repeat its words in their small type (a banner repeated as large stays
    # one).
    # Inside the page (set apart, not in the edge band) a running head is no larger than the
    # same text on the other pages: a title at the top of page 1 is larger than the heads
    # repeating it.
    repeated = all(
        margin_key(line.text) in running and (at_page_edge(line, page) or (
            set_apart_at_page_edge(line, page) and line.size <= 1.1 * min(
                (size for number, size in running[margin_key(line.text)].items()
                 if number != page.number), default=0.0)))
        for line in block.lines)
    if repeated and not (
            block.size > 1.25 * body and all(
                size < 0.8 * block.size for line in block.lines
                for number, size in running[margin_key(line.text)].items()
                if number != page.number)):
        return "running_head", "repeated at the edge of several pages"
    if edge and len(block.lines) == 1 and page.number > 1 and re.search(
            rf"^{page.number}\s+\S|\S\s+{page.number}$", text):
        return "running_head", "carries the page number at the page edge"
    if sidebar:
        return "sidebar", "narrow margin column beside the main text"
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


_TOKEN = re.compile(r"\S+")
_LETTERS = re.compile(r"[^\W\d_]+")
_STANDALONE = frozenset({"a", "i", "o", "y", "e", "à", "é"})
"""One-letter words of the languages papers are written in: never a kerning fragment alone."""


_LONG_WORD = re.compile(r"[^\W\d_]{3,}")
_ONE_LETTER = re.compile(r"(?<![^\W\d_])[^\W\d_](?![^\W\d_])")
_SINGLE_LETTER_TOKEN = re.compile(r"(?<!\S)[^\W\d_](?!\S)")


def first_word_fits(room: float, text: str, width: float, spare: int = 2) -> bool:
    """Whether the first word of a line of `text`, set `width` wide, fits in `room` (with
    `spare` characters for the space): the line above it ended on purpose, it was not full."""
    text = text.strip()
    if not text or width <= 0:
        return False
    return room > (len(text.split()[0]) + spare) * width / len(text)


def vocabulary(doc: ParsedDocument) -> set[str]:
    """Lower-case words of three letters or more printed whole somewhere in the document."""
    words: set[str] = set()
    for page in doc.pages:
        for line in page.lines():
            for span in line.spans:
                # A span holding stray single letters may be split itself: its pieces are no
                # evidence of whole words.
                if any(letter.lower() not in _STANDALONE
                       for letter in _ONE_LETTER.findall(span.text)):
                    continue
                words.update(word.lower() for word in _LONG_WORD.findall(span.text))
    return words


def repair_kerning(text: str, words: set[str]) -> str:
    """Join a word the text layer split at its kerning gaps ("Ho w e v er" -> "However").

    A run of fragments is joined when the joined word is printed whole elsewhere in the paper,
    or when three or more of its fragments are single letters that are no words on their own.
    """
    if not _SINGLE_LETTER_TOKEN.search(text):
        return text  # no one-letter token: nothing was split
    tokens = _TOKEN.findall(text)
    if len(tokens) < 2:
        return text
    out: list[str] = []
    i = 0
    while i < len(tokens):
        best = None
        for j in range(min(len(tokens), i + 12), i + 1, -1):
            run = tokens[i:j]
            if not all(_LETTERS.fullmatch(t) for t in run[:-1]) \
                    or not _LETTERS.fullmatch(run[-1].rstrip(".,;:)")):
                continue
            singles = sum(1 for t in run if len(t) == 1 and t.lower() not in _STANDALONE)
            if not singles:
                continue
            core = run[-1].rstrip(".,;:)")
            joined = "".join(run[:-1]) + core
            whole_words = [t for t in run if len(t) > 2 and t.lower().rstrip(".,;:)") in words]
            known = joined.lower() in words and len(whole_words) < len(
                [t for t in run if len(t) > 2])
            split = singles >= 3 and not whole_words and any(len(t) >= 2 for t in run)
            if known or split:
                best = j
                break
        if best is None:
            out.append(tokens[i])
            i += 1
        else:
            out.append("".join(tokens[i:best]))
            i = best
    return " ".join(out) if out != tokens else text


def normalise_text(doc: ParsedDocument) -> None:
    """Text normalised once for every extractor: kerning splits joined (ligatures, accents and
    soft hyphens are mended as the page is read)."""
    words = vocabulary(doc)
    for page in doc.pages:
        for block in page.blocks:
            repaired = False
            for line in block.lines:
                for index, span in enumerate(line.spans):
                    fixed = repair_kerning(span.text, words)
                    if fixed != span.text:
                        lead = " " if span.text[:1].isspace() else ""
                        tail = " " if span.text[-1:].isspace() else ""
                        line.spans[index] = replace(span, text=f"{lead}{fixed.strip()}{tail}")
                        repaired = True
            if repaired:
                block.changed()


def _continues_paragraph(prev: Block, block: Block) -> bool:
    """`block` (one line) is the next line of the paragraph `prev` ends: in the same column,
    size and face, at its left edge, under a line set to full width, at the paragraph's own
    line pitch (or, after its first line, at a pitch of one to two and a half sizes)."""
    last, line = prev.lines[-1], block.lines[0]
    if len(block.lines) != 1 or prev.column != block.column:
        return False
    if abs(last.size - line.size) > 0.3 or is_bold_line(last) != is_bold_line(line):
        return False
    step = line.bbox[3] - last.bbox[3]
    if len(prev.lines) >= 2:
        pitch = prev.lines[-1].bbox[3] - prev.lines[-2].bbox[3]
        if abs(step - pitch) > 0.15 * pitch:
            return False
    elif not 1.0 * line.size <= step <= 2.5 * line.size:
        return False
    left = min(ln.bbox[0] for ln in prev.lines)
    width = line.bbox[2] - line.bbox[0]
    # Full to the paragraph's usual right edge, not its widest line: one overfull line
    # (a word set into the margin) would make every later line look short.
    edge = statistics.median_low(ln.bbox[2] for ln in prev.lines)
    full = last.bbox[2] >= line.bbox[2] - 0.1 * width and last.bbox[2] >= edge - 2
    # The paragraph's first line may be indented.
    aligned = abs(line.bbox[0] - left) < 2 or (
        len(prev.lines) == 1 and 0 < left - line.bbox[0] <= 3 * line.size)
    return aligned and full and len(line.text) >= 20


def join_spaced_lines(doc: ParsedDocument) -> None:
    """Put back into one block the lines of a paragraph that the text layer cut into a block
    per line (double-spaced manuscripts, abstracts set with extra leading), so paragraphs (an
    unlabelled abstract, a numbered reference) read as they do in print."""
    for page in doc.pages:
        merged: list[Block] = []
        for block in page.blocks:
            prev = merged[-1] if merged else None
            if prev is not None and _continues_paragraph(prev, block):
                prev.lines.extend(block.lines)
                prev.changed()
                prev.bbox = (min(prev.bbox[0], block.bbox[0]), prev.bbox[1],
                             max(prev.bbox[2], block.bbox[2]), block.bbox[3])
            else:
                merged.append(block)
        page.blocks = merged


_DIGITS = re.compile(r"\d{1,4}")


def line_number_blocks(page: Page) -> set[int]:
    """Indexes of the blocks that number a draft's lines down a margin (the lineno package,
    review copies): digits only, set smaller than the text (a reference list's numbers are
    not), at least five in one narrow band that almost no other block reaches into, counting
    up down the page."""
    numbers = [(index, block) for index, block in enumerate(page.blocks)
               if block.lines and all(_DIGITS.fullmatch(line.text.strip()) for line in block.lines)]
    if len(numbers) < 5:
        return set()
    centre = sorted((block.bbox[0] + block.bbox[2]) / 2 for _, block in numbers)
    middle = centre[len(centre) // 2]
    band = [(index, block) for index, block in numbers
            if abs((block.bbox[0] + block.bbox[2]) / 2 - middle) <= 6]
    if len(band) < 5:
        return set()
    x0 = min(block.bbox[0] for _, block in band)
    x1 = max(block.bbox[2] for _, block in band)
    inside = {index for index, _ in band}
    text_sizes = sorted(line.size for index, block in enumerate(page.blocks)
                        if index not in inside for line in block.lines if line.text.strip())
    if not text_sizes or max(block.size for _, block in band) \
            >= 0.9 * text_sizes[len(text_sizes) // 2]:
        return set()
    reaching = sum(block.bbox[0] < x1 and block.bbox[2] > x0
                   for index, block in enumerate(page.blocks) if index not in inside)
    if reaching > len(band) // 5:
        return set()  # other blocks reach into the band: a column of figures, a table
    values = [int(line.text) for _, block in sorted(band, key=lambda item: item[1].bbox[1])
              for line in block.lines]
    rising = sum(later > earlier for earlier, later in itertools.pairwise(values))
    return inside if rising >= 0.8 * (len(values) - 1) else set()


def _rejoin_split_paragraphs(page: Page) -> None:
    """Join again the lines of a paragraph that line numbers beside each line split into
    blocks of one line (their gaps are the text's leading); the line numbers' blocks stay."""
    kept: list[Block] = []
    previous: int | None = None  # where the last text block is in `kept`
    for block in page.blocks:
        if block.role == "line_number":
            kept.append(block)
            continue
        above = kept[previous] if previous is not None else None
        if above is not None and _same_paragraph(above, block):
            kept[previous] = Block(lines=[*above.lines, *block.lines], bbox=(
                min(above.bbox[0], block.bbox[0]), min(above.bbox[1], block.bbox[1]),
                max(above.bbox[2], block.bbox[2]), max(above.bbox[3], block.bbox[3])),
                column=above.column)
            continue
        kept.append(block)
        previous = len(kept) - 1
    page.blocks = kept


def _same_paragraph(above: Block, below: Block) -> bool:
    """`below` goes on with `above`: the same column and size, set the text's leading under
    it, starting at its left edge or an indent from it, and no heading above."""
    size = above.lines[-1].size
    return (above.column == below.column and abs(size - below.lines[0].size) < 0.3
            and 0 <= below.bbox[1] - above.lines[-1].bbox[3] < 0.5 * size
            and above.bbox[0] - 2 <= below.bbox[0] <= above.bbox[0] + 2 * size
            and below.bbox[2] <= above.bbox[2] + 2
            and not (len(above.lines) == 1 and is_bold_line(above.lines[0])
                     and not is_bold_line(below.lines[0])))


def analyse_layout(doc: ParsedDocument) -> ParsedDocument:
    """Label every block with its role, then read the front matter from the roles (in place)."""
    from paperflow.extract.header import extract_header

    normalise_text(doc)
    join_spaced_lines(doc)
    body = doc.body_font_size
    running = _edge_texts(doc)
    for page in doc.pages:
        numbers = line_number_blocks(page)
        for index in numbers:
            page.blocks[index].role = "line_number"
            page.blocks[index].evidence = "a draft's line numbers in a margin"
        if numbers:
            _rejoin_split_paragraphs(page)
        sidebars = sidebar_blocks(page) if page.number <= 2 else set()
        for index, block in enumerate(page.blocks):
            if block.role != "line_number":
                block.role, block.evidence = _role(block, page, body, running,
                                                   index in sidebars)
    doc.front = None
    doc.front = extract_header(doc)
    return doc


__all__ = [
    "BACK_MATTER",
    "BOILERPLATE",
    "CAPTION",
    "NUMBERED_HEADING",
    "PAGE_FURNITURE",
    "PAGE_NUMBER",
    "REFERENCES_HEADING",
    "ROLES",
    "analyse_layout",
    "at_page_edge",
    "is_bold_line",
    "line_number_blocks",
    "margin_key",
    "running_texts",
    "sidebar_blocks",
]
