"""Title, authors, affiliations, abstract, keywords and bibliographic facts from the first pages.

Pure layout heuristics over `ParsedDocument`: the title is the largest text near the top of page
one, authors are the rows right under it in the first author row's style, affiliations are the
other rows down to the abstract (split at their markers), and the abstract runs from its heading
(or, without one, from the first substantial paragraph) to the first section heading or a change
of font size.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from paperflow import identifiers as IDS
from paperflow.extract.header_layout import (
    MARKER_SYMBOLS,
    Piece,
    Row,
    Vocabulary,
    compact,
    fix_accents,
    is_ocr_line,
    line_text,
    pieces,
    rows_of,
    squash,
    style,
)
from paperflow.layout import BOILERPLATE, PAGE_FURNITURE, first_word_fits, is_bold_line
from paperflow.models import Author
from paperflow.pdf import Block, Line, Page, ParsedDocument, Span, join_lines


@dataclass
class Header:
    title: str | None = None
    authors: list[Author] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    abstract: str | None = None
    keywords: list[str] = field(default_factory=list)
    keywords_printed: bool = False
    publish_date: date | None = None
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    license: str | None = None


EMAIL = re.compile(rf"{IDS.EMAIL.pattern}|{IDS.EMAIL_GROUP.pattern}")
URL = re.compile(r"https?://|www\.|github\.com|\.org/|\.com/")
BANNER = re.compile(
    r"^(research( article)?|original (paper|article|research)|article|open access|(a )?preprint|"
    r"review|letter|communication|short paper|full paper|technical report|draft)$"
    r"|journal of|proceedings|transactions on|conference on|workshop|volume \d|vol\. ?\d|"
    r"issn|copyright|©|licen[cs]e|arxiv|biorxiv|medrxiv|doi|under review|submitted to|"
    r"to appear|published|received|accepted|http|www\.",
    re.I,
)
SKIP_ZONE = re.compile(
    r"^(\(?dated|received|accepted|published|revised|submitted|available online|check for|"
    r"demo|code|project page|website|homepage|e-?mail|correspond|equal contribution|"
    r"these authors|\*\s*(correspond|equal)|(an?\s+)?preprint\b|under review|keywords|key words|"
    r"index terms|abstract|editor|academic editor|citation|open access|to appear\b)",
    re.I,
)
INSTITUTION = re.compile(
    r"universit|institut|college|school|department|dept\.|faculty|laborator|\blab\b|centre|"
    r"center|academy|hospital|clinic|research|corporation|\binc\b|ltd|gmbh|company|group|"
    r"\bai\b|google|microsoft|facebook|meta|ibm|amazon|bytedance|foundation|council|agency|"
    r"ministry|division|unit|program|consortium|observatory|museum|cnrs|inria|max planck|"
    r"\binfn\b|\bcern\b|ecole|école|universidad|università|universität|polytechn|"
    r"[A-Z][a-z]+,\s*(usa|uk|china|japan|germany|france|italy|spain|canada|india)\b"
    # A company's legal form after its name ("Novartis Pharma AG"), in capitals as registered.
    r"|(?-i:\s(?:AG|SA|S\.A\.|SE|LLC|LLP|PLC|plc|NV|N\.V\.|BV|B\.V\.|SpA|S\.p\.A\.|KK|Oy|AB)(?:\W|$))",
    re.I,
)
DEGREE = re.compile(
    r"^(ph\.?\s?d\.?|m\.?d\.?|m\.?sc?\.?|b\.?sc?\.?|mph|dphil|md|msc|bsc|ma|ba|mba|rn|"
    r"frcp|facp|prof\.?|dr\.?|jr\.?|sr\.?)$",
    re.I,
)
_GRADE = r"(?:(?:Graduate\s+)?Student\s+|Senior\s+|Life\s+|Associate\s+)?(?:Member|Fellow)"
MEMBERSHIP = re.compile(
    rf",?\s*\b{_GRADE},?\s+(?:IEEE|ACM|OSA|SPIE|IET|AAAI|SIAM|AIAA|ASME)\b",
    re.I,
)
"""A society membership grade printed after a name ("Avideh Zakhor, Member, IEEE")."""
_GRADE_LINE = re.compile(rf"{_GRADE}\b.*", re.I)
"""A line that is a membership grade, of a society named or not ("Fellow ASME")."""
ABSTRACT_HEAD = re.compile(
    r"^(abstract|summary|synopsis|a\s?b\s?s\s?t\s?r\s?a\s?c\s?t)\b\s*[.:—–-]?\s*[—–-]?\s*", re.I
)
OTHER_ABSTRACT_HEAD = re.compile(
    r"^(r[ée]sum[ée]|resumen|resumo|zusammenfassung|kurzfassung|riassunto|sommario|samenvatting|"
    r"sammanfattning|streszczenie|abstrakt)\b\s*[.:—–-]?\s*[—–-]?\s*", re.I
)
"""The abstract's label in the other languages papers are written in: read only when there is
no English one (a paper with abstracts in two languages is indexed by its English one)."""
LINK_ONLY = re.compile(r"(https?://)?(www\.)?[\w.-]+\.(com|org|io|ai|net)(/\S*)?")
KEYWORD_HEAD = re.compile(
    r"^((additional|author)\s+)?(key\s?-?words?(\s+and\s+phrases)?|index terms|descriptors|"
    r"subject terms|k\s?e\s?y\s?w\s?o\s?r\s?d\s?s|mots[- ]cl[ée]s|palabras clave|"
    r"palavras-chave|schl[üu]sselw[öo]rter|parole chiave)\b\s*[.:—–-]*\s*", re.I
)
_SECTION_NAMES = (r"introduction|background|related work|motivation|overview|preliminaries|"
                  r"methods?|results")
"""The names of a paper's first sections."""
STOP_HEAD = re.compile(
    rf"^((\d+|[IVX]+)\.?\s*)?({_SECTION_NAMES})\s*$"
    r"|^(key\s?words?|index terms|subjects|ccs concepts|general terms|acm reference|"
    r"categories and subject|graphical abstract|significance|highlights|author summary|"
    r"abbreviations|pacs|msc|jel|mathematics subject|cite this|citation:|received)\b",
    re.I,
)
_BODY_HEAD = re.compile(
    rf"^(((\d+|[IVX]+)\.?\s*)({_SECTION_NAMES})|introduction|(table of )?contents)\s*$", re.I)
"""A line that opens the paper's body: its first section heading, or a table of contents (an
unnumbered "Overview" or "Background" may head an abstract)."""
NUMBERED_HEAD = re.compile(r"^(\d+|[IVX]+)\.?\s+[A-Z][A-Za-z ]{2,40}$")
ARXIV = IDS.ARXIV_STAMP
MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
DATE = re.compile(
    r"\b(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?,?\s+((?:19|20)\d\d)"
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2}),?\s+((?:19|20)\d\d)"
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?,?\s+((?:19|20)\d\d)\b"
)
"""A printed date: "5 April 2023", "April 5, 2023" or, with no day, "April 2023"."""
YEAR = IDS.YEAR
VENUE = re.compile(
    r"proceedings|journal|conference|workshop|symposium|transactions|letters|to appear in|"
    r"nature|science|research|biorxiv|medrxiv|review|annals|bulletin|society|association for",
    re.I,
)
LICENSE = re.compile(
    r"creative commons|\bcc[- ]by|licen[cs]ed under|open access article|©|\(c\) \d{4}|"
    r"copyright",
    re.I,
)
_NAME_PARTICLES = {"and", "et", "und", "van", "von", "der", "den", "de", "da", "di", "del", "la",
                   "le", "du", "dos", "das", "ter", "ten", "bin", "al", "el", "y"}


_OUTSIDE_HEADER = PAGE_FURNITURE | {"sidebar"}
"""Block roles the header block is never read from (margin columns are read apart)."""


def extract_header(doc: ParsedDocument) -> Header:
    """Header fields from the first pages' layout, checked against the PDF's own metadata.

    After `analyse_layout` the front matter is read once and kept on the document, so every
    group that needs the title or the abstract reads the same answer.
    """
    if isinstance(doc.front, Header):
        return doc.front
    sidebars = [_sidebar_lines(page) for page in doc.pages[:2]]
    pages = [_header_view(page) for page in doc.pages[:3] if page.has_text]
    pages = [page for page in pages if page.has_text]
    header = Header()
    if not pages:
        header.title = _plausible_meta_title(doc.metadata.get("title", ""))
        return header
    body = doc.body_font_size
    cover: Page | None = None
    if _is_cover_page(pages, body):
        cover = next(page for page in doc.pages if page.number == pages[0].number)
        pages, sidebars = pages[1:], sidebars[1:]
    first = pages[0]
    anchor = _abstract_anchor(pages[:2])
    limit = first.height * 0.75
    if anchor and anchor[0] is first:
        limit = anchor[1].lines[anchor[2]].bbox[1]
    # OCR reads a display's symbols as text: none is a title, a name or an address.
    formulas = _formula_lines(first) if first.text_source != "native" else set()
    title_lines = _title_lines(first, body, limit, formulas, _line_spread(*pages[:2]))
    header.title = _choose_title(doc, first, title_lines)
    title_lines = _lines_printing(first, header.title, title_lines, limit)
    title_bottom = max((line.bbox[3] for line in title_lines), default=first.height * 0.05)
    # An abstract that opens the next page leaves this one to the header, however long the
    # author list (a revtex list of twenty names in groups, each with its addresses).
    zone_end = limit if anchor and anchor[0] is first else min(_first_paragraph_top(
        first, body, title_bottom, first.height * (0.92 if anchor else 0.6)),
        _body_top(first, title_bottom, body))
    held = anchor[1] if anchor and anchor[0] is first else None
    running = {id(line) for block in first.blocks
               if block is not held and _column_text_past(block, first, zone_end, body)
               for line in block.lines}
    running |= formulas | _beside_the_title_column(first, title_lines)
    zone = [row for row in rows_of([ln for ln in first.lines() if id(ln) not in running])
            if row.top >= title_bottom - 1 and row.bottom <= zone_end + 1]
    authors, affiliations = _authors_and_affiliations(zone, first, body)
    above = _name_rows_above(first, title_lines)
    if not authors and above:
        authors, affiliations = _authors_and_affiliations(above + zone, first, body)
    if not authors:
        authors, affiliations = _names_with_places(zone, _MIXED_NAME_THEN_PLACE) \
            or (authors, affiliations)
    if not authors:
        printed_first = next(page for page in doc.pages if page.number == first.number)
        authors, affiliations = _margin_authors(printed_first, title_lines) \
            or (authors, affiliations)
    affiliations = _fuller_at_the_end(doc, authors, affiliations)
    extra = _author_details(doc)
    unresolved = _unresolved_markers(authors, affiliations)
    if not affiliations or unresolved:
        # Affiliations printed as first-page footnotes: all of them when the header block has
        # none, else only those whose markers the header block left without an affiliation.
        footnotes = _footnote_affiliations(first, body, authors)
        # Names that carry markers point at their footnotes: a footnote under another marker
        # annotates the text ("*The basic format was developed in 1995 by ... Lab.").
        carried = {key for name in authors for key in name.markers if not key.startswith("#")}
        footnotes = [(m, t) for m, t in footnotes
                     if not m or not carried or set(_marker_keys(m)) & carried]
        extra += [(m, t) for m, t in footnotes
                  if not affiliations or not m or set(_marker_keys(m)) & unresolved]
    if not affiliations and not extra and sidebars:
        extra += _marked_affiliations(sidebars[0], authors, sidebar=True)
    if not affiliations and not extra:
        extra += _marked_small_block(first, body, authors)
    if not affiliations and not extra:
        extra += (_named_end_addresses(doc, authors) or _end_addresses(doc, authors)
                  or _from_statement(doc))
    for marker, text in extra:
        if all(compact(text) != compact(a) for _, a in affiliations):
            affiliations.append((marker, text))
    # A symbol opening an address is its marker, whatever size it was set in; an editorial
    # note run on after it is none of it.
    affiliations = [(marker, _place_only(_EDITORIAL_TAIL.sub("", text.lstrip(
        MARKER_SYMBOLS + " ")).rstrip(" ,;:."))) for marker, text in affiliations]
    seen: dict[str, set[str]] = {}
    unique = []
    for marker, text in affiliations:
        markers = seen.setdefault(compact(text), set())
        # The same address again, unmarked or under the same marker (a correspondence note
        # repeating it) is dropped.
        if not markers or (marker and marker not in markers):
            unique.append((marker, text))
        markers.add(marker)
    affiliations = unique
    # A labelled keyword or abstract line is never a place, wherever it was found.
    affiliations = [(marker, text) for marker, text in affiliations if text and not any(
        label.match(text) for label in (KEYWORD_HEAD, ABSTRACT_HEAD, OTHER_ABSTRACT_HEAD))]
    header.affiliations = [text for _, text in affiliations]
    header.authors = _link_affiliations(authors, affiliations)
    vocab = Vocabulary(doc)
    header.abstract = _abstract(pages[:2], anchor, body, zone, title_bottom, vocab) \
        or _abstract_alone_on_next_page(pages[:2], vocab)
    # Keywords may stand in a margin column too (under the article history). Once the body
    # has started on the first page, a keyword line on the next is the text's (a table's).
    started = any(_BODY_HEAD.match(line.text) for line in first.lines())
    numbers = {page.number for page in pages[:1 if started else 2]}
    printed_pages = [page for page in doc.pages if page.number in numbers]
    header.keywords = _keywords(pages[:1 if started else 2], vocab) \
        or _keywords(printed_pages, vocab) \
        or _unlabelled_keywords(first, title_bottom)
    header.keywords_printed = bool(header.keywords)
    printed = next(page for page in doc.pages if page.number == first.number)
    _bibliography(doc, printed, title_bottom, header)
    if header.year is None and cover is not None:  # the cover's citation may date it
        header.year, header.publish_date = _year(cover, [], header.venue)
    return header


def _beside_the_title_column(page: Page, title_lines: list[Line]) -> set[int]:
    """The lines (ids) of the right-hand column when the title is set in the left one with
    column text beside it (a letters journal's first page: title, names, addresses and
    abstract down the left column, the article going on in the right): none is front matter."""
    if not title_lines:
        return set()
    title_right = max(line.bbox[2] for line in title_lines)
    if title_right > page.width / 2:
        return set()
    # The right column may open left of the page's middle (a narrow gutter), never left of
    # where the title's lines end.
    edge = max(title_right, 0.4 * page.width)
    top, bottom = min(line.bbox[1] for line in title_lines), \
        max(line.bbox[3] for line in title_lines)
    right = [line for line in page.lines() if line.bbox[0] >= edge]
    beside = [line for line in right
              if line.bbox[1] < bottom and line.bbox[3] > top and _has_words(line)]
    return {id(line) for line in right} if len(beside) >= 2 else set()


def _is_cover_page(pages: list[Page], body: float) -> bool:
    """Whether the first page is a cover or summary sheet (repository, publisher or download
    cover; a graphical-abstract page) and the article starts on the next page, which has no
    abstract of its own on the first: the next page opens, in its top third, with type larger
    than anything on a short first page, or with the first page's title printed again above
    an abstract of its own."""
    if len(pages) < 2 or pages[1].number != pages[0].number + 1:
        return False
    cover, article = pages[0], pages[1]
    if _labelled_abstract([cover]):
        return False
    words = sum(len(line.text.split()) for line in cover.lines())
    cover_size = max((line.size for line in cover.lines() if _has_words(line)), default=0.0)
    opening = [line for line in article.lines()
               if line.bbox[1] < article.height / 3 and _has_words(line)
               and not _excluded_title_line(line, article)]
    article_size = max((line.size for line in opening), default=0.0)
    if words <= 400 and article_size >= max(cover_size + 1.0, body * 1.2):
        return True
    if article_size < body * 1.2 or not _labelled_abstract([article]):
        return False
    # The cover repeats the article's title, at whatever size its own style sets it.
    title = compact(" ".join(line.text for line in opening if line.size >= article_size - 0.5))
    cover_text = compact(" ".join(line.text for line in cover.lines()))
    return len(title) >= 20 and title in cover_text


def _has_words(line: Line) -> bool:
    return len(re.findall(r"[^\W\d_]{2,}", line.text)) >= 2


def _name_rows_above(page: Page, title_lines: list[Line]) -> list[Row]:
    """Author rows printed above the title (some journals set the names first): the rows right
    above it, nearest first, while every line of them reads as a list of names."""
    if not title_lines:
        return []
    title_top = min(line.bbox[1] for line in title_lines)
    rows = [row for row in rows_of(list(page.lines())) if row.bottom <= title_top + 1]
    found: list[Row] = []
    edge = title_top
    for row in reversed(rows):
        height = max(row.bottom - row.top, 1.0)
        if edge - row.bottom > 3 * height:
            break
        if not all(_name_like(line) and not INSTITUTION.search(line.text)
                   and not BOILERPLATE.search(line.text) and not BANNER.search(line.text)
                   for line in row.lines):
            break
        found.insert(0, row)
        edge = row.top
    return found


def _header_view(page: Page) -> Page:
    """The page without its running heads, page numbers and margin columns."""
    blocks = [block for block in page.blocks if block.role not in _OUTSIDE_HEADER]
    if len(blocks) == len(page.blocks):
        return page
    return replace(page, blocks=blocks)


def _sidebar_lines(page: Page) -> list[Line]:
    return [line for block in page.blocks if block.role == "sidebar" for line in block.lines]


# --- title -------------------------------------------------------------------------------------


def _plausible_meta_title(title: str) -> str | None:
    title = squash(title)
    if len(title) < 12 or len(title.split()) < 2:
        return None
    if re.search(r"^microsoft (word|powerpoint)|\.(docx?|pdf|tex|dvi)$|^untitled|^\d[\d\s.]*$",
                 title, re.I):
        return None
    if sum(ch.isalpha() for ch in title) < 0.6 * len(title):
        return None
    return title


def _excluded_title_line(line: Line, page: Page, body: float = 0.0) -> bool:
    text = line.text
    if sum(ch.isalpha() for ch in text) < 2 or EMAIL.search(text) or URL.search(text):
        return True
    banner = BANNER.search(text)
    # A line opening in lower case goes on with the line above ("... a Manuscript for" / "the
    # Journal of the Physical Society of Japan"); a banner's words inside a line of title type
    # are the title's ("Style template and guidelines for SPIE Proceedings").
    if banner and len(text.split()) <= 12 and not re.match(r"\s*[a-z]+\s", text) and not (
            body and line.size >= 1.2 * body
            and banner.start() > len(re.match(r"\W*(?:the\s+)?", text, re.I).group())):
        return True
    if re.fullmatch(r"\s*\S*\d\S*\s*", text):
        return True  # one token with digits: a paper or report number ("IMECE2023-0042")
    return line.bbox[3] < page.height * 0.06 and line.size < 12


OCR_SIZE_SHARE = 0.08
"""On a page read by OCR, sizes are estimates from letter heights: lines within this share of
each other's size may be one size (a title's two lines were estimated at 17 and 18 pt)."""


def _title_lines(page: Page, body: float, limit: float,
                 formulas: set[int] | frozenset[int] = frozenset(),
                 spread: float = 1.0) -> list[Line]:
    """The lines of the largest text above `limit`, before any author e-mail address, other
    than the lines of `formulas` (ids, see `_formula_lines`), as far apart as the text's
    `spread` lets a title's lines stand (`_line_spread`).

    On a page read by OCR, the text of logos and equations is read too: a group of lines with
    fewer than three words is set aside (a journal's logo, an equation whose subscripts
    inflated its estimated size) and the next largest text is tried.
    """
    lines = [line for line in page.lines() if line.bbox[1] < limit]
    # (The journal's own address in a banner over the title is no author's.)
    banners = {id(line) for block in page.blocks if block.role == "banner"
               for line in block.lines}
    emails = [line.bbox[1] for line in lines
              if EMAIL.search(line.text) and id(line) not in banners]
    if emails:
        lines = [line for line in lines if line.bbox[1] < min(emails)]
    journals = _cited_journal_names(page)
    candidates = [line for line in lines if not _excluded_title_line(line, page, body)
                  and id(line) not in formulas and not _names_the_journal(line, journals)]
    scanned = page.text_source != "native"
    while candidates:
        group = _largest_text(candidates, body, scanned, spread)
        if not scanned or sum(len(_WORD.findall(line.text)) for line in group) >= 3:
            return _with_its_second_part(group, lines, body)
        candidates = [line for line in candidates if line not in group]
    return []


_JOURNAL_CITATION = re.compile(
    r"^(?:.*?\s/\s)?(?P<name>[^\d/]{6,}?)[\s,]+(?:"
    r"(?:vol(?:ume)?\.?\s*)?\d{1,4}\s*(?:\(\d{1,3}\)\s*)?\((?:19|20)\d\d\)"  # 137 (2015)
    r"|\((?:19|20)\d\d\)\s*\d{1,4}\s*[:(]"  # (2019) 12:345
    r"|vol(?:ume)?\.?\s*\d{1,4}\b"  # , VOL. 12
    r"|(?:19|20)\d\d\s*,\s*\d{1,4}\s*,\s*\d)",  # Materials 2020, 13, 560 (MDPI, ACS)
    re.I)
"""A journal's citation line ("Solar Energy Materials & Solar Cells 137 (2015) 1-5",
"A. Author et al. / Journal 12 (2019) 3-9", "Journal (2019) 12:345", "JOURNAL, VOL. 12")."""


def _cited_journal_names(page: Page) -> list[tuple[str, int]]:
    """The journal names the page's citation lines give, compacted, with their lines' ids."""
    names = []
    for line in page.lines():
        text = line.text.strip()
        match = _JOURNAL_CITATION.match(text)
        # One word names a journal only beside the article's DOI ("Materials 2020, 13, 560;
        # doi:10.3390/..."): "Nature 521" might be a sentence's end.
        if match and (len(match["name"].split()) >= 2 or IDS.find_doi(text)):
            names.append((compact(match["name"]), id(line)))
    return names


def _names_the_journal(line: Line, journals: list[tuple[str, int]]) -> bool:
    """Whether the line is the journal's name as its citation line elsewhere on the page gives
    it (a masthead, set larger than the article's title): not the title."""
    text = compact(line.text)
    return len(text) >= 5 and any(
        name == text or (name.startswith(text) and len(text) >= 0.5 * len(name))
        for name, own in journals if own != id(line))


_LONE_DASH = re.compile(r"[-–—]")


def _with_its_second_part(group: list[Line], lines: list[Line], body: float) -> list[Line]:
    """The title with the part set under it in smaller type when the title cannot end where
    its type changes: its last line ends on a colon ("The lps class:" over "layout for ..."),
    or a lone dash stands between the two."""
    if not group:
        return group
    middle = lambda line: (line.bbox[1] + line.bbox[3]) / 2  # noqa: E731
    dashes = [line for line in lines if _LONE_DASH.fullmatch(line.text.strip())
              and middle(group[0]) < middle(line) < middle(group[-1])]
    if dashes:  # a dash between two lines of the title, which no size rule keeps: put back
        group = sorted([*group, *dashes], key=lambda line: line.bbox[1])
    below = sorted((line for line in lines if line.bbox[1] >= group[-1].bbox[3] - 1
                    and line not in group), key=lambda line: line.bbox[1])
    dash = bool(below) and bool(_LONE_DASH.fullmatch(below[0].text.strip()))
    if not (group[-1].text.rstrip().endswith(":") or dash):
        return group
    parts = below[1:] if dash else below
    if not parts:
        return group
    second = parts[0]
    gap = second.bbox[1] - (below[0].bbox[3] if dash else group[-1].bbox[3])
    if second.size < body + 1 or second.size > group[-1].size + 0.5 or gap > 1.3 * second.size:
        return group
    run = [second]
    for line in parts[1:]:  # the second part's own wrapped lines, in its size
        if abs(line.size - second.size) >= 0.5 or line.bbox[1] - run[-1].bbox[3] > 0.6 * line.size:
            break
        run.append(line)
    return [*group, *([below[0]] if dash else []), *run]


_WORD = re.compile(r"[^\W\d_]{2,}")
_OPERATOR = re.compile(r"(?<!\S)[-+=<>~^*/×·−†±](?!\S)")


def _formula_lines(page: Page) -> set[int]:
    """The ids of the page's lines set like a formula (`_formula_like`), and of the lines
    between two such lines, one just above and one just below (a display's line of symbols
    that OCR happened to read as letters: "AOL GOx+ AO LAO")."""
    lines = list(page.lines())
    formulas = {id(line) for line in lines if _formula_like(line.text)}
    for line in lines:
        if id(line) in formulas:
            continue
        x0, top, x1, bottom = line.bbox
        reach = 2 * (bottom - top)
        level = [other for other in lines if other is not line
                 and min(x1, other.bbox[2]) > max(x0, other.bbox[0])]
        above = [o for o in level if 0 <= top - o.bbox[3] + 0.5 * (o.bbox[3] - o.bbox[1]) < reach
                 and o.bbox[1] < top]
        below = [o for o in level if 0 <= o.bbox[1] - bottom + 0.5 * (o.bbox[3] - o.bbox[1])
                 < reach and o.bbox[3] > bottom]
        if above and below:
            nearest_above = max(above, key=lambda o: o.bbox[3])
            nearest_below = min(below, key=lambda o: o.bbox[1])
            if id(nearest_above) in formulas and id(nearest_below) in formulas:
                formulas.add(id(line))
    return formulas


def _formula_like(text: str) -> bool:
    """Text read off a formula: under 60 % of its characters letters (symbols, digits and
    brackets), or two operators standing as words of their own ("D, + OV ex + Hgex")."""
    printed = "".join(text.split())
    letters = sum(ch.isalpha() for ch in printed)
    return letters < 0.6 * len(printed) or len(_OPERATOR.findall(text)) >= 2


def _line_spread(*pages: Page) -> float:
    """How much wider than single spacing the text is set: 1 for print, about 2 for a
    double-spaced manuscript (the median pitch of a paragraph's lines, in sizes, over 1.25),
    read off the first pages (a first page of names and addresses has few such lines)."""
    pitches: list[float] = []
    for page in pages:
        text = [line for block in page.blocks if block.role not in PAGE_FURNITURE
                for line in block.lines if len(line.text) >= 20]
        pitches += [(below.bbox[1] - above.bbox[1]) / above.size
                    for above, below in itertools.pairwise(text)
                    if above.size > 0 and abs(above.size - below.size) < 0.3
                    and abs(above.bbox[0] - below.bbox[0]) < 2 * above.size
                    and 0 < below.bbox[1] - above.bbox[1] < 3 * above.size]
    pitches.sort()
    if len(pitches) < 5:
        return 1.0
    return max(1.0, pitches[len(pitches) // 2] / 1.25)


def _largest_text(candidates: list[Line], body: float, scanned: bool,
                  spread: float = 1.0) -> list[Line]:
    """The largest line and the lines next to it in its size and weight (a title's lines
    stand as far apart as the page's spacing sets its paragraphs' lines: `_line_spread`)."""
    best = max(candidates, key=lambda ln: (round(ln.size * 2) / 2, _bold(ln), -ln.bbox[1]))
    size, bold = round(best.size * 2) / 2, _bold(best)
    if size < body * 0.95:
        return []
    tolerance = max(0.6, OCR_SIZE_SHARE * best.size) if scanned else 0.6
    same = sorted(
        (ln for ln in candidates if abs(ln.size - best.size) < tolerance and _bold(ln) == bold),
        key=lambda ln: ln.bbox[1],
    )
    group = [best]
    index = same.index(best)
    for step in (-1, 1):
        i = index + step
        while 0 <= i < len(same):
            near = group[0] if step < 0 else group[-1]
            gap = same[i].bbox[1] - near.bbox[3] if step > 0 else near.bbox[1] - same[i].bbox[3]
            if gap > 1.3 * size * spread:
                break
            if step < 0:
                group.insert(0, same[i])
            else:
                group.append(same[i])
            i += step
    return sorted(group, key=lambda ln: (round(ln.bbox[1]), ln.bbox[0]))


def _bold(line: Line) -> bool:
    return style(line)[1]


_LETTER_SPACED = re.compile(r"(?:[^\W\d_] ){2,}[^\W\d_]")
"""Capitals set letter-spaced ("T H E"): one word, its spaces the tracking, when the word's
letters make one span and the spaces between words spans of their own."""


def _without_tracking(line: Line) -> Line:
    spans = [replace(span, text=span.text.replace(" ", ""))
             if _LETTER_SPACED.fullmatch(span.text.strip()) and span.text.strip().isupper()
             else span for span in line.spans]
    return Line(spans, line.bbox) if spans != line.spans else line


def _choose_title(doc: ParsedDocument, page: Page, lines: list[Line]) -> str | None:
    lines = [_without_tracking(line) for line in lines]
    printed = squash(join_lines([row.text for row in rows_of(lines)])) if lines else ""
    # A note's symbol after the title ("The ekaia package∗") is no part of it.
    printed = fix_accents(printed).rstrip(" *†‡§¶∗⋆") or None
    meta = _plausible_meta_title(doc.metadata.get("title", ""))
    if meta and compact(meta):
        # The metadata title printed on the page, word for word with no comma or semicolon
        # between (not its words spread over a keyword list), has reliable word spacing.
        tokens = _title_tokens(meta)
        page_tokens = _title_tokens(" ".join(line.text for line in page.lines()))
        printed_tokens = _title_tokens(printed or "")
        # Unless the title lines hold it with more words (an article the metadata left out:
        # "An Object Oriented ..." for "Object Oriented ...").
        fuller = len(printed_tokens) > len(tokens) and _holds(printed_tokens, tokens)
        if _holds(page_tokens, tokens) and not fuller:
            return meta
    return printed


def _lines_printing(page: Page, title: str | None, lines: list[Line],
                    limit: float) -> list[Line]:
    """The lines that print `title`: `lines` when they do, else the first run of rows above
    `limit` that does (a metadata title the page prints below a larger banner, "IJDC | General
    Article"), so that the authors are looked for under the title, not under the banner."""
    wanted = _title_tokens(title or "")
    if not wanted or _holds(_title_tokens(" ".join(line.text for line in lines)), wanted):
        return lines
    rows = [row for row in rows_of(page.lines()) if row.bottom <= limit]
    row_tokens = [_title_tokens(row.text) for row in rows]
    for start in range(len(rows)):
        tokens: list[str] = []
        for end in range(start, min(start + 6, len(rows))):
            tokens += row_tokens[end]
            if _holds(tokens, wanted):
                return [line for row in rows[start:end + 1] for line in row.lines]
            if len(tokens) >= len(wanted) + 3:
                break
    return lines


def _holds(tokens: list[str], run: list[str]) -> bool:
    """`run` occurs in `tokens`, in one piece."""
    return any(tokens[i:i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


def _title_tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+|[,;]", fix_accents(text).lower())


# --- authors and affiliations ------------------------------------------------------------------


_LEADERS = re.compile(r"(?:\.\s?){5,}")
"""Dot leaders, which run a contents line out to its page number."""


def is_prose(text: str) -> bool:
    """Running text, not a list of names (most words of a sentence start in lower case) nor a
    table of contents (dot leaders)."""
    if _LEADERS.search(text):
        return False
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if not DEGREE.match(w)]
    if not words:
        return False
    lower = sum(1 for w in words if w[0].islower() and w.lower() not in ("and", "y"))
    return lower >= 0.35 * len(words)


@dataclass
class _Name:
    name: str
    markers: list[str]
    x: float
    row: int
    email: str | None = None


_CONTACT_LABEL = re.compile(r"^\W*(?:corresponding authors?|correspondence|contact)\s*:?\s*$",
                            re.I)
"""A label alone on its line over the corresponding author's contact block."""
_CONTACT_START = re.compile(r"^\W*(?:corresponding authors?|correspondence)\b", re.I)
"""A line opening the corresponding author's contact block, under the addresses."""


_FIRST_SECTION = re.compile(r"^(?:1|I)\.?\s+[A-Z]")


def _place_only(text: str) -> str:
    """An affiliation without what no place is: a date ("This version was compiled on January
    11, 2022", run in after "; " or alone) or a sentence of eight words or more, neither naming
    an institution; "" when nothing is left."""
    def dated(part: str) -> bool:
        return not INSTITUTION.search(part) and bool(DATE.search(part) or _ISO_DATE.search(part))
    text = "; ".join(part.strip() for part in text.split(";") if not dated(part)).strip()
    if not INSTITUTION.search(text) and len(text.split()) >= 8 and is_prose(text):
        return ""
    return text


def _body_top(page: Page, below: float, body: float, column: int = -1) -> float:
    """Top of the first section heading or table of contents under `below`: the header ends
    there (a paper with no abstract goes from its byline to "1 Introduction"). A heading is
    known by its words, or as section 1 set in bold or larger type, whatever it is called.
    For text in `column`, headings of the columns right of it are read after it, however high
    they stand (a second column may open with section 2 beside the first column's abstract)."""
    def opens_body(block: Block) -> bool:
        line = block.lines[0]
        text = line.text.strip()
        return bool(_BODY_HEAD.match(text) or _LEADERS.search(block.text) or (
            _FIRST_SECTION.match(text) and len(block.lines) <= 2 and len(text) <= 80
            and (is_bold_line(line) or line.size >= 1.15 * body)))
    return min((block.bbox[1] for block in page.blocks
                if block.bbox[1] > below and (column < 0 or block.column <= column)
                and opens_body(block)), default=page.height)


def _first_paragraph_top(page: Page, body: float, below: float, default: float) -> float:
    """Top of the first paragraph of running text under the title (the unlabelled abstract);
    `default` when the page has no such paragraph."""
    start = _unlabelled_abstract_start(page, below)
    return start[2] if start else default


def _unlabelled_abstract_start(page: Page, below: float) -> tuple[int, int, float] | None:
    """(block index, first line, top) of the first paragraph under `below` that opens an
    unlabelled abstract: the first running text of 35 words or more, or one set earlier that
    the layout marks as the abstract (a keyword line under it, or the width of both columns
    above a two-column body)."""
    found: list[tuple[int, int, float]] = []
    for i, block in enumerate(page.blocks):
        k = _prose_start(block)
        if k is not None and block.lines[k].bbox[1] > below:
            found.append((i, k, block.lines[k].bbox[1]))
            break
    found += [start for start in (_paragraph_over_keywords(page, below),
                                  _paragraph_across_columns(page, below)) if start]
    return min(found, key=lambda start: (start[2], start[0]), default=None)


_CAPTION_START = re.compile(r"^\s*(?:fig(?:ure)?|table|scheme|chart)\.?\s*\d", re.I)


def _paragraph_across_columns(page: Page, below: float) -> tuple[int, int, float] | None:
    """The paragraphs set across both columns right above where a two-column body starts (an
    APS or AIP abstract, which has no heading), when they read as running text of 20 words or
    more in one type size."""
    if page.columns < 2:
        return None
    first_column = next((i for i, block in enumerate(page.blocks)
                         if block.column >= 0 and block.bbox[1] > below), None)
    if not first_column:
        return None
    index = first_column
    while index > 0:
        above = page.blocks[index - 1]
        text = above.text
        # Each paragraph ends a sentence (an address line over the abstract does not).
        if above.column >= 0 or above.bbox[1] <= below or not is_prose(text) \
                or not re.search(r"[.!?][)\]”’\"']?$", text.strip()) \
                or SKIP_ZONE.match(text) or KEYWORD_HEAD.match(text) or STOP_HEAD.match(text) \
                or _CAPTION_START.match(text) or (index < first_column and (
                    abs(above.size - page.blocks[index].size) > 0.5
                    or abs(above.bbox[0] - page.blocks[index].bbox[0]) > 2)):
            break  # (the paragraphs of one abstract share their type and left edge)
        index -= 1
    words = sum(len(block.text.split()) for block in page.blocks[index:first_column])
    if index == first_column or words < 20:
        return None
    return index, 0, page.blocks[index].bbox[1]


def _paragraph_over_keywords(page: Page, below: float) -> tuple[int, int, float] | None:
    """The unlabelled abstract a keyword line follows: (block index, first line, top) of the
    paragraph that ends just above the page's "Keywords:" line, below `below`.

    Keywords come right after the abstract, so the paragraph there is the abstract however
    short it is (a letter journal's 25 words fail the running-text test of 35 words); the
    paragraphs above it of the same type and edges belong to it too."""
    found = next(((i, k) for i, block in enumerate(page.blocks)
                  for k, line in enumerate(block.lines) if KEYWORD_HEAD.match(line.text)), None)
    if found is None:  # keywords with no label, parted by bars (PNAS: "cells | imaging | ...")
        found = next(((i, 0) for i, block in enumerate(page.blocks)
                      if block.bbox[1] > below and _bar_keywords(block)), None)
    if found is None:
        return None
    index, k = found
    label = page.blocks[index].lines[k]
    if k:
        lines = page.blocks[index].lines[:k]
    elif index:
        index -= 1
        lines = page.blocks[index].lines
    else:
        return None
    text = join_lines([line.text for line in lines])
    close = label.bbox[1] - lines[-1].bbox[3] < 3 * label.size
    overlaps = min(label.bbox[2], lines[-1].bbox[2]) > max(label.bbox[0], lines[-1].bbox[0])
    if lines[0].bbox[1] <= below or len(text.split()) < 12 or not is_prose(text) \
            or not close or not overlaps:
        return None
    if k:
        first = _same_type_start(lines)
        return index, first, lines[first].bbox[1]
    while index:
        block, above = page.blocks[index], page.blocks[index - 1]
        if above.bbox[1] <= below or abs(above.size - block.size) > 0.5 \
                or abs(above.bbox[0] - block.bbox[0]) > 2 \
                or abs(above.bbox[2] - block.bbox[2]) > 2 \
                or block.bbox[1] - above.bbox[3] > 2 * block.size \
                or not is_prose(above.text) or len(above.text.split()) < 12:
            break
        index -= 1
    first = _same_type_start(page.blocks[index].lines)
    return index, first, page.blocks[index].lines[first].bbox[1]


def _same_type_start(lines: list[Line]) -> int:
    """The first of the lines set in the type of the last: a line in other type the text layer
    put on top of a paragraph (PNAS's "Edited by ...; received ..." over the abstract) is no
    part of it."""
    size = lines[-1].size
    return next(k for k, line in enumerate(lines) if abs(line.size - size) <= 0.5)


def _prose_start(block: Block) -> int | None:
    """Where running text of 35 words or more starts in the block: at its first line, or after
    address lines the text layer put in the same block (set apart by a gap or another indent)."""
    if len(block.text.split()) < 35:
        return None
    for k, line in enumerate(block.lines[:8]):
        text = join_lines([ln.text for ln in block.lines[k:]])
        if len(text.split()) < 35:
            return None
        if SKIP_ZONE.match(text) or STOP_HEAD.match(text) or not is_prose(text) or (
                INSTITUTION.search(line.text[:60]) and not is_prose(line.text)):
            continue
        if k == 0:
            return 0
        head = block.lines[k - 1]
        apart = line.bbox[1] - head.bbox[3] > 0.25 * line.size \
            or abs(line.bbox[0] - head.bbox[0]) > 2
        if apart and not is_prose(head.text):
            return k
    return None


def _column_text_past(block: Block, page: Page, zone_end: float, body: float) -> bool:
    """A paragraph of one column of a multi-column page that starts beside the header and runs
    on below its end: running text whose first lines sit level with the last header lines
    (the other column starts higher than the abstract), never a header line."""
    return page.columns >= 2 and block.column >= 0 and block.bbox[1] < zone_end \
        and block.bbox[3] > zone_end + body and len(block.lines) >= 2


def _address_words(text: str) -> bool:
    """Whether the words of the line, past its e-mail addresses in any of their grouped forms
    ("{ann,bo}@alder.no"), name an institution in three words or more."""
    words = [word for word in text.split() if not re.search(r"[@{}|]", word)]
    return len(words) >= 3 and bool(INSTITUTION.search(" ".join(words)))


def _authors_and_affiliations(
    zone: list[Row], page: Page, body: float
) -> tuple[list[_Name], list[tuple[str, str]]]:
    grid = _names_between_connectors(zone) or _author_grid(zone) or _names_with_places(zone) \
        or _names_with_bracketed_places(zone) or _comma_separated_groups(zone)
    if grid is not None:
        return grid
    author_style: tuple[float, bool, bool] | None = None
    names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    emails: list[str] = []
    aff_lines: list[tuple[int, Line]] = []
    author_rows: list[tuple[int, list[Line]]] = []
    previous: Line | None = None
    for index, row in enumerate(zone):
        if _CONTACT_LABEL.match(row.text) or (aff_lines and _CONTACT_START.match(row.text)):
            break  # a contact block (the corresponding author's name and address) follows
        if (author_rows or aff_lines) and KEYWORD_HEAD.match(row.text):
            break  # the keywords follow the names and addresses: their lines are no address
        authors_here: list[Line] = []
        for line in row.lines:
            line = _without_byline(line)
            text = line.text
            if EMAIL.search(text):
                emails.extend(_emails(text))
                if aff_lines and aff_lines[-1][1] is previous and previous is not None \
                        and _mid_phrase(previous.text) and _before_emails(line).text:
                    # MDPI: an address wrapped onto a line of e-mail addresses ("Changsha
                    # 410114, China; ann@... (A.L.); ..."): its place goes on with it.
                    line = _before_emails(line)
                    aff_lines.append((index, line))
                    previous = line
                    continue
                line = _without_emails(line)
                text = line.text
                # An accent TeX set before its capital ("\u0307Zukowski") is composed first.
                # An address with the e-mail at its end stays an address.
                if (not any(word[:1].isupper() and word[1:2].isalpha()
                            for word in fix_accents(text).split()) or not _name_like(line)) \
                        and not _address_words(text):
                    continue
            if SKIP_ZONE.match(text) or URL.search(text) or BOILERPLATE.search(text) \
                    or not re.search(r"[A-Za-z]{2}", text):
                continue
            if (len(text) <= 30 or DATE.match(text.strip())) and _date(text, day_required=False):
                continue  # the paper's date under the addresses (\date{...}), maybe annotated
            line_style = style(line)
            # A role or group in parentheses after a name ("(Researcher)") is no address.
            institution = bool(INSTITUTION.search(_ASIDE.sub("", text)))
            if aff_lines and aff_lines[-1][1] is previous and (
                    _mid_phrase(previous.text) or COUNTRY.match(text.strip(" ,;."))):
                # An address stopped on a comma or "The": this line goes on with it
                # ("... 3004-516 Coimbra," / "Portugal;"), however name-like it looks; so
                # does a country alone under an address line (an address a part a line).
                aff_lines.append((index, line))
                previous = line
                continue
            previous = line
            if author_style is None and not institution and _name_like(line):
                author_style = line_style
            # A line opening with a raised marker is an entry of the marked addresses under
            # the names (markers follow names), whatever it says ("aAffiliation1, City").
            opens_marked = bool(authors_here or author_rows) and _opens_with_marker(line)
            if author_style is not None and \
                    _same_style(line_style, author_style, page.text_source != "native") \
                    and not institution and _name_like(line) and not opens_marked:
                authors_here.append(line)
            elif author_style is not None and line_style[0] > author_style[0] + 1.5:
                continue  # display text under the authors (a logo, a teaser figure's label)
            elif author_style is not None or institution:
                aff_lines.append((index, line))
        if authors_here:
            author_rows.append((index, authors_here))
    _stacked_addresses(zone, author_rows, aff_lines)
    for index, lines in author_rows:
        names.extend(_split_names(lines, index))
    _merge_wrapped_names(names)
    affiliations = _affiliation_texts(aff_lines, page)
    for name in names:
        name.email = _email_for(name.name, emails)
    _assign_unmarked(names, aff_lines, affiliations)
    return names, affiliations


def _stacked_addresses(zone: list[Row], author_rows: list[tuple[int, list[Line]]],
                       aff_lines: list[tuple[int, Line]]) -> None:
    """Blocks of rows set apart by blanks, one per author, each a name over its address lines
    (a LaTeX author list "A \\\\ Place \\and B \\\\ Place"): when the rows under the name are
    addresses in one block, they are in every block of as many rows, however name-like they
    read ("ENSIMAG, Grenoble INP" under one name, "Université Laval" under the other). Moves
    such rows from `author_rows` to `aff_lines`, in place."""
    names = {index for index, _ in author_rows}
    places = {index for index, _ in aff_lines}
    used = sorted(names | places)
    if len(used) < 4:
        return
    blocks = [[used[0]]]
    for index in used[1:]:
        above, row = zone[blocks[-1][-1]], zone[index]
        if index == blocks[-1][-1] + 1 and \
                row.top - above.bottom < 0.5 * (above.bottom - above.top):
            blocks[-1].append(index)
        else:
            blocks.append([index])
    if len(blocks) < 2 or len({len(block) for block in blocks}) != 1 or len(blocks[0]) < 2:
        return
    if not all(block[0] in names and block[0] not in places for block in blocks) or not any(
            all(index in places and index not in names for index in block[1:])
            for block in blocks):
        return
    moved = {index for block in blocks for index in block[1:] if index in names}
    aff_lines.extend((index, line) for index, lines in author_rows if index in moved
                     for line in lines)
    aff_lines.sort(key=lambda entry: entry[0])
    author_rows[:] = [(index, lines) for index, lines in author_rows if index not in moved]


def _margin_authors(page: Page, title_lines: list[Line]
                    ) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """Authors set in a margin column beside the title (ASME): each name, in larger type, over
    its address lines and e-mail, in a column whose lines all end left of the title and that
    ends at its first wide blank or at the first line running across into the text."""
    if not title_lines:
        return None
    left = min(line.bbox[0] for line in title_lines) - 6
    top = min(line.bbox[1] for line in title_lines)
    # (A line opening a little left of a centred title is the text column's, not across.)
    across = [line.bbox[1] for line in page.lines()
              if line.bbox[1] > top and line.bbox[0] < left - 0.1 * page.width < line.bbox[2]
              and line.bbox[2] > left]
    end = min(across, default=page.height * 0.6)
    column = sorted((line for line in page.lines() if line.bbox[2] < left
                     and top - 30 < line.bbox[1] < end and line.text.strip()),
                    key=lambda line: line.bbox[1])
    if len(column) < 2:
        return None
    small = min(line.size for line in column)
    runs = [column[:1]]
    for line in column[1:]:
        if line.bbox[1] - runs[-1][-1].bbox[3] > 3 * small:
            runs.append([])
        runs[-1].append(line)
    kept = runs[0]
    if len(runs) > 1 and all(_name_like(line) and not INSTITUTION.search(line.text)
                             for line in kept) \
            and INSTITUTION.search(" ".join(line.text for line in runs[1])):
        # The names level with the title, their address further down the margin on its own.
        kept = kept + runs[1]
    names: list[_Name] = []
    addresses: list[list[str]] = []
    widest = max(line.bbox[2] - line.bbox[0] for line in kept)
    previous: Line | None = None
    for row, line in enumerate(kept):
        text = line_text(line, drop_markers=True).strip()
        if line.size > 1.15 * small and _name_like(line) and not INSTITUTION.search(text):
            found = _split_names([line], row)
            names.extend(found)
            addresses.append([])
            for name in found:
                name.markers.append(f"#{len(addresses) - 1}")
        elif names and EMAIL.search(text):
            names[-1].email = next(iter(_emails(text)), names[-1].email)
        elif names and not _GRADE_LINE.fullmatch(text):
            if addresses[-1] and previous is not None and not first_word_fits(
                    widest - (previous.bbox[2] - previous.bbox[0]), text,
                    line.bbox[2] - line.bbox[0]):
                addresses[-1][-1] += " " + text  # a wrapped line: its next word did not fit
            else:
                addresses[-1].append(text)
        previous = line
    if not names or not any(addresses):
        return None
    affiliations = [("", _clean_affiliation(_join_parts(parts))) for parts in addresses]
    return names, affiliations


def _opens_with_marker(line: Line) -> bool:
    """The line's first text is a marker (raised or set smaller) followed by more text; not
    punctuation left where an e-mail address was taken out ("(ann@alder.no), Bo Chan")."""
    parts = pieces(line)
    return len(parts) > 1 and parts[0].marker \
        and not re.fullmatch(r"[\s,;.:()\[\]]*", parts[0].text)


def _cells_beside(grid_rows: list[list[Line]], lines: list[Line]) -> bool:
    """Rows of one name each, every name with text starting on its baseline right of it: a
    table of authors without column heads (name | affiliation | e-mail), a row an author."""
    if len(grid_rows) < 2 or any(len(row) != 1 for row in grid_rows):
        return False
    return all(any(line is not name and abs(line.bbox[1] - name.bbox[1]) < 0.5 * name.size
                   and line.bbox[0] > name.bbox[2] for line in lines)
               for name in (row[0] for row in grid_rows))


def _byline_lines(zone: list[Row]) -> list[Line]:
    """The zone's lines that may hold names or places: no e-mail, URL, banner or skipped line,
    and some letters."""
    return [line for row in zone for line in row.lines
            if not (EMAIL.search(line.text) or URL.search(line.text)
                    or BOILERPLATE.search(line.text) or SKIP_ZONE.match(line.text))
            and re.search(r"[A-Za-z]{2}", line.text)]


def _affiliation_index(affiliations: list[tuple[str, str]], text: str) -> int:
    """The index of `text` among unmarked `affiliations` (the same text once), added if new."""
    index = next((i for i, (_, known) in enumerate(affiliations)
                  if compact(known) == compact(text)), len(affiliations))
    if index == len(affiliations):
        affiliations.append(("", text))
    return index


def _author_grid(zone: list[Row]) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """Authors set as a grid of per-author blocks (a name over its affiliation lines, blocks
    side by side, as conference templates print them), or None when the header is no grid.

    Names in the first name's style that share a baseline with another name make a grid row;
    every other line between that row and the next belongs to the name whose centre is
    nearest to its own.
    """
    lines = _byline_lines(zone)
    candidates = [line for line in lines
                  if _name_like(line) and not INSTITUTION.search(line.text)]
    if not candidates:
        return None
    first = min(candidates, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    name_style = style(first)
    names_lines = [ln for ln in candidates
                   if _same_style(style(ln), name_style, is_ocr_line(ln))]
    grid_rows: list[list[Line]] = []
    for line in sorted(names_lines, key=lambda ln: ln.bbox[1]):
        if grid_rows and abs(grid_rows[-1][0].bbox[1] - line.bbox[1]) < 0.5 * line.size:
            grid_rows[-1].append(line)
        else:
            grid_rows.append([line])
    table = len(grid_rows) > 1 and len(grid_rows[0]) > 1 \
        and all(len(line.text.split()) == 1 for line in grid_rows[0])
    if table:
        # One word a cell over rows of names: the column heads of a table of authors
        # ("Author | Affiliation | E-mail"), not a row of names.
        header_row = {id(line) for line in grid_rows.pop(0)}
        lines = [line for line in lines if id(line) not in header_row]
    centre = lambda ln: (ln.bbox[0] + ln.bbox[2]) / 2  # noqa: E731
    # A lone name right under a name of the row above, centred on it, shares its cell: two
    # authors of one affiliation stacked in one block ("Ben Trovato" / "G.K.M. Tobin").
    stacked: dict[int, list[Line]] = {}
    k = 1
    while k < len(grid_rows):
        # The lowest line of each cell of the row above: its name, or the last name under it.
        owners = {id(n): (stacked.get(id(n)) or [n])[-1] for n in grid_rows[k - 1]}

        def owner_of(line: Line, k: int = k, owners: dict[int, Line] = owners) -> Line | None:
            return next((n for n in grid_rows[k - 1]
                         if -0.3 * line.size <= line.bbox[1] - owners[id(n)].bbox[3]
                         < 0.6 * line.size
                         and abs(centre(n) - centre(line)) < 0.25 * (n.bbox[2] - n.bbox[0])),
                        None)
        # Every line of the row right under a name of the row above, one each: names stacked
        # in their cells (a second author, or a long name's wrapped part), no row of its own.
        found = [owner for owner in map(owner_of, grid_rows[k]) if owner is not None]
        if len({id(owner) for owner in found}) < len(grid_rows[k]):
            k += 1
            continue
        for line, owner in zip(grid_rows[k], found, strict=True):
            stacked.setdefault(id(owner), []).append(line)
        del grid_rows[k]
    if not table and not any(len(row) > 1 for row in grid_rows) \
            and not _cells_beside(grid_rows, lines):
        return None  # (a table's rows may hold one name each, its cells beside it)
    cells = {id(n) for row in grid_rows for n in row}
    stacked_ids = {id(s) for lines in stacked.values() for s in lines}
    blocks: dict[int, list[Line]] = {id(n): [n] for row in grid_rows for n in row}
    tops = [row[0].bbox[1] for row in grid_rows] + [float("inf")]
    for line in lines:
        if id(line) in cells or id(line) in stacked_ids:
            continue
        # (a cell beside a name in another font may start a little above it: same row)
        top = line.bbox[1] + 0.3 * line.size
        band = next((i for i in range(len(grid_rows)) if tops[i] <= top < tops[i + 1]), None)
        if band is None:
            continue
        owner = min(grid_rows[band], key=lambda n: abs(centre(n) - centre(line)))
        blocks[id(owner)].append(line)
    names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    for row in grid_rows:
        for name_line in sorted(row, key=lambda ln: ln.bbox[0]):
            # The name first, whatever its cell's lines beside it: a cell's first line in
            # another font may start a little above the name.
            cell = sorted(blocks[id(name_line)][1:], key=lambda ln: (ln.bbox[1], ln.bbox[0]))
            # A cell's names a line each, a name wrapped in a narrow cell joined again
            # ("Amara L." / "Müller-Lüdenscheidt").
            found = [name for k, line in enumerate([name_line, *stacked.get(id(name_line), [])])
                     for name in _split_names([line], len(names) + k)]
            _merge_wrapped_names(found)
            for text in _block_affiliations(cell):
                index = _affiliation_index(affiliations, text)
                for name in found:
                    name.markers.append(f"#{index}")
            names.extend(found)
    return (names, affiliations) if len(names) > 1 else None


_COUNTRIES = (
    # Every sovereign state by its usual English short names, the forms addresses use
    # ("P. R. China", "Republic of Korea", "Viet Nam") and a few local spellings ("Brasil",
    # "España", "Deutschland"). Left out: country names that are as often a surname ending a
    # line of names ("M. I. Jordan", "J. Wales", "Chad", "Monaco") or a US state before a line
    # "USA" ("Georgia").
    "afghanistan|albania|algeria|andorra|angola|antigua and barbuda|argentina|armenia|"
    "australia|austria|azerbaijan|bahamas|the bahamas|bahrain|bangladesh|barbados|belarus|"
    "belgium|belgique|belgi[eë]|belize|benin|bhutan|bolivia|bosnia and herzegovina|"
    "bosnia-herzegovina|botswana|brazil|brasil|brunei|brunei darussalam|bulgaria|"
    "burkina faso|burundi|cabo verde|cape verde|cambodia|cameroon|canada|"
    "central african republic|chile|china|p\\. ?r\\. ?china|people'?s republic of china|"
    "colombia|comoros|congo|democratic republic of the congo|dr congo|costa rica|"
    "c[oô]te d['’]ivoire|ivory coast|croatia|cuba|cyprus|czech republic|czechia|denmark|"
    "danmark|djibouti|dominica|dominican republic|ecuador|egypt|el salvador|"
    "equatorial guinea|eritrea|estonia|eswatini|swaziland|ethiopia|fiji|finland|suomi|"
    "france|gabon|gambia|the gambia|germany|deutschland|ghana|greece|grenada|guatemala|"
    "guinea|guinea-bissau|guyana|haiti|honduras|hong kong|hong kong sar|hungary|iceland|"
    "india|indonesia|iran|islamic republic of iran|iraq|ireland|israel|italy|italia|"
    "jamaica|japan|kazakhstan|kenya|kiribati|korea|south korea|republic of korea|kosovo|"
    "kuwait|kyrgyzstan|kyrgyz republic|laos|lao pdr|latvia|lebanon|lesotho|liberia|libya|"
    "liechtenstein|lithuania|luxembourg|macau|macao|madagascar|malawi|malaysia|maldives|"
    "mali|malta|mauritania|mauritius|mexico|m[eé]xico|moldova|republic of moldova|"
    "mongolia|montenegro|morocco|mozambique|myanmar|namibia|nepal|netherlands|"
    "the netherlands|nederland|new zealand|nicaragua|niger|nigeria|north macedonia|"
    "macedonia|norway|norge|oman|pakistan|palestine|state of palestine|panama|"
    "papua new guinea|paraguay|peru|philippines|poland|polska|portugal|puerto rico|qatar|"
    "romania|russia|russian federation|rwanda|saint lucia|samoa|san marino|saudi arabia|"
    "senegal|serbia|seychelles|sierra leone|singapore|slovakia|slovak republic|slovenia|"
    "solomon islands|somalia|south africa|republic of south africa|south sudan|spain|"
    "espa[nñ]a|sri lanka|sudan|suriname|sweden|sverige|switzerland|schweiz|suisse|svizzera|"
    "syria|taiwan|taiwan,? r\\.?o\\.?c\\.?|tajikistan|tanzania|united republic of tanzania|"
    "thailand|timor-leste|east timor|togo|tonga|trinidad and tobago|tunisia|turkey|"
    "t[uü]rkiye|turkmenistan|uganda|ukraine|united arab emirates|uae|united kingdom|uk|"
    "u\\.k\\.|great britain|england|scotland|northern ireland|united states|"
    "united states of america|usa|u\\.s\\.a\\.|uruguay|uzbekistan|vanuatu|venezuela|vietnam|"
    "viet nam|yemen|zambia|zimbabwe|[oö]sterreich"
)
COUNTRY = re.compile(rf"\b({_COUNTRIES})\.?$", re.I)
"""A line that ends an address: the country, where one affiliation of a block ends."""


def _block_affiliations(lines: list[Line]) -> list[str]:
    """The affiliations of one author block: its lines joined, cut after each country line."""
    parts: list[list[str]] = [[]]
    for line in lines:
        text = line_text(line, drop_markers=True).strip(" ,")
        if text:
            parts[-1].append(text)
        if COUNTRY.search(text):
            parts.append([])
    out = []
    for part in parts:
        text = _clean_affiliation(_join_parts(part))
        # Under a name in its own cell, a place that ends with its country is an address
        # whatever it names ("Hampton Court Palace" / "Richmond, England").
        placed = bool(part) and bool(COUNTRY.search(part[-1]))
        # So is a line of three capitalised parts or more, an address's form ("NASA, Hampton,
        # Virginia"): the body, its town, its region.
        segments = [segment.strip() for segment in text.split(",")]
        addressed = len(segments) >= 3 and all(segment[:1].isupper() for segment in segments)
        if text and (INSTITUTION.search(text) or placed or addressed) \
                and not _NOT_AFFILIATION.search(text[:40]):
            out.append(text)
    return out


_CAPITALS_NAME = r"[A-ZÀ-ÞĀ-Ž][A-ZÀ-ÞĀ-Ž.\-'’ ]+[A-ZÀ-ÞĀ-Ž.]"
_NAME_THEN_PLACE = re.compile(
    rf"^(?P<name>{_CAPITALS_NAME}(?:(?:,\s*|,?\s*and\s+){_CAPITALS_NAME})*),\s+(?P<place>.+)$")
"""ACM journal style: "JANE DOE, University of Somewhere, Country" on one line, or several
names sharing the place ("BEN LEE and ANN TOBIN, University of ...")."""
_PARTICLE = r"(?:van|von|der|den|de|da|di|del|la|le|du|dos|das|ter|ten|bin|al|el)"
_MIXED_NAME = (r"[A-ZÀ-ÞĀ-Ž][\w'’.\-]*\s+"  # "Ann", "A.", "H.-J."
               rf"(?:(?:[A-ZÀ-ÞĀ-Ž][\w'’.\-]*|{_PARTICLE})\s+){{0,3}}[A-ZÀ-ÞĀ-Ž][\w'’\-]+")
_MIXED_NAME_THEN_PLACE = re.compile(
    rf"^(?P<name>{_MIXED_NAME}(?:(?:,\s*|,?\s+and\s+){_MIXED_NAME})*),\s+(?P<place>.+)$")
"""The same in mixed case ("Ann U. Lee, Academy of Lagado, Lagado"): read only when no author
line was found, since an address line can open the same way ("Harvard Medical School, ...")."""


def _names_with_places(zone: list[Row], pattern: re.Pattern[str] = _NAME_THEN_PLACE
                       ) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """Author lines that carry their own affiliation after the name (in capitals, by default)."""
    names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    entries: list[tuple[list[_Name], str, int]] = []
    entry_style = (0.0, False, False)
    for index, row in enumerate(zone):
        for line in row.lines:
            text = line_text(line, drop_markers=True)
            entry = _names_then_place(text, pattern)
            parts = pieces(line) if entry is None and entries else []
            if parts and parts[0].marker and INSTITUTION.search(text):
                # A marked address under the lines ("1also at ..."): a further affiliation.
                entries.append(([], "".join(part.text for part in parts if not part.marker),
                                 index))
                continue
            if entry is None:
                if entries and entries[-1][2] == index - 1 and len(text.split()) <= 8 \
                        and not text.rstrip().endswith(".") \
                        and _same_style(style(line), entry_style):
                    # The entry's place wraps onto a line of its own ("... and Institute for
                    # Advanced" / "Chemistry, Germany"), in its own type (a heading under the
                    # last entry, "PROBLEM STATEMENT", is no part of it).
                    named, place, _ = entries[-1]
                    entries[-1] = (named, f"{place} {text}", index)
                continue
            entry_style = style(line)
            entries.append(([_Name(_tidy_name(_TRAILING_DIGITS.sub("", part)), [], line.bbox[0],
                                   index) for part in entry[0]], entry[1], index))
    for named, place_text, _ in entries:
        keys: list[str] = []
        for place in re.split(r"\s+and\s+(?=[A-Z])", place_text):
            text = _clean_affiliation(place)
            i = next((k for k, (_, t) in enumerate(affiliations)
                      if compact(t) == compact(text)), len(affiliations))
            if i == len(affiliations):
                affiliations.append(("", text))
            keys.append(f"#{i}")
        for name in named:
            name.markers.extend(keys)
            names.append(name)
    return (names, affiliations) if names else None


_BRACKETED = re.compile(r"\(([^()]*)\)")
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÞĀ-Ž][\w'’.\-]*|[a-z]{1,3})$")
"""A word of a name: capitalised or an initial, or a particle ("van", "de", "la", "von")."""


_CONNECTOR = re.compile(r"^(?:by|and|und|et|y|e|&)$", re.I)
"""A conjunction alone on its row between two authors' entries (or "By" over the first)."""


def _names_between_connectors(zone: list[Row]
                              ) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """Entries parted by a conjunction alone on its row ("BY" over the first, "AND" between the
    next): the row after each is a name, however few of its words look like a person's (a
    society, a press, an editorial board), set in one style for all; the rows under it in
    another style, up to the next conjunction, its address. None without an "and" row, or
    when the names' rows differ in style."""
    words = {i: row.text.strip().lower() for i, row in enumerate(zone)
             if _CONNECTOR.match(row.text.strip())}
    connectors = list(words)
    if all(word == "by" for word in words.values()):
        return None
    starts = [i + 1 for i in connectors]
    if words[connectors[0]] != "by":
        starts.insert(0, next((i for i in range(connectors[0]) if _name_like(zone[i].lines[0])),
                              connectors[0]))
    if any(start >= len(zone) or start in connectors for start in starts):
        return None
    name_style = style(zone[starts[0]].lines[0])
    if not all(_same_style(style(zone[start].lines[0]), name_style) for start in starts):
        return None
    names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    ends = [*(i for i in connectors if i > starts[0]), len(zone)]
    for start in starts:
        end = min(i for i in ends if i > start)
        name = _tidy_name(" ".join(line_text(line, drop_markers=True)
                                   for line in zone[start].lines).rstrip(MARKER_SYMBOLS + " "))
        place = [row.text.strip() for row in zone[start + 1:end]
                 if not EMAIL.search(row.text) and re.search(r"[A-Za-z]", row.text)
                 and not _same_style(style(row.lines[0]), name_style)]
        markers = []
        if place:
            markers.append(f"#{len(affiliations)}")
            affiliations.append(("", ", ".join(place)))
        names.append(_Name(name, markers, zone[start].lines[0].bbox[0], start))
    return names, affiliations


_FULL_MIXED_NAME = re.compile(_MIXED_NAME)


def _comma_separated_groups(zone: list[Row]
                            ) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """JACoW: the byline one comma-separated stream in one type, each group of names followed
    by its place ("Ann Lee, Bo Chan, Alder University," / "Lagado, Norway" / "Cy Dee, ..."):
    a place runs from the first part naming an institution to the end of a line that ends
    without a comma. Only when a line holds a name and its place both, and every group has
    names and a place naming an institution; else None."""
    lines = _byline_lines(zone)
    if not lines:
        return None
    first_style = style(lines[0])
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    mixed = False
    for line in lines:
        if not _same_style(style(line), first_style):
            break
        text = line_text(line, drop_markers=True).strip()
        parts = [part.strip() for part in text.split(",") if part.strip()]
        names, place = groups[-1]
        named_here = False
        for part in parts:
            if not place and _FULL_MIXED_NAME.fullmatch(part) and not INSTITUTION.search(part):
                names.append(part)
                named_here = True
            else:
                mixed = mixed or (named_here and not place)  # a name and its place on one line
                place.append(part)
        if place and not text.endswith(","):
            groups.append(([], []))
    if not groups[-1][0] and not groups[-1][1]:
        groups.pop()
    # Each place names an institution or ends on a country ("FNAL, Batavia, IL 60510, USA":
    # a laboratory known by its acronym); one at least names an institution.
    if not mixed or not groups or any(not names or not place or not (
            INSTITUTION.search(", ".join(place)) or COUNTRY.match(place[-1].strip(" ."))
            ) for names, place in groups) \
            or not any(INSTITUTION.search(", ".join(place)) for _, place in groups):
        return None
    out_names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    for names, place in groups:
        index = _affiliation_index(affiliations, _clean_affiliation(", ".join(place)))
        out_names += [_Name(_tidy_name(name), [f"#{index}"], 0.0, 0) for name in names]
    return out_names, affiliations


def _names_with_bracketed_places(zone: list[Row]
                                 ) -> tuple[list[_Name], list[tuple[str, str]]] | None:
    """Names each followed by its affiliations in parentheses, parted by ";" ("Ann Lee (Alder
    University, Lagado), Bo Chan (...) and ..."), one name a line or run on: every name must
    carry an affiliation and every parenthesis must name an institution, else None."""
    text, first_row, depth = "", -1, 0
    for index, row in enumerate(zone):
        row_text = " ".join(line_text(line, drop_markers=True) for line in row.lines).strip()
        if not depth and "(" not in row_text:
            if text:
                break
            continue
        first_row = index if first_row < 0 else first_row
        text = f"{text} {row_text}" if not text.endswith("-") else text + row_text
        depth += row_text.count("(") - row_text.count(")")
    groups = list(_BRACKETED.finditer(text))
    if not groups or depth:
        return None
    names: list[_Name] = []
    affiliations: list[tuple[str, str]] = []
    start = 0
    for group in groups:
        before = text[start:group.start()].strip()
        start = group.end()
        before = re.sub(r"^(?:[,;]|\band\b|&)\s*|\s*[,;]$", "", before).strip()
        before = re.sub(r"^(?:and|&)\s+", "", before)
        words = before.split()
        if not 2 <= len(words) <= 6 or not all(_NAME_WORD.match(word) for word in words) \
                or INSTITUTION.search(before):
            return None
        inside = group.group(1)
        emails = _emails(inside)
        # "Jim Wyllie (wyllie@almaden.ibm.com)": the author's address for mail, no place.
        places = [_clean_affiliation(place) for place in EMAIL.sub("", inside).split(";")]
        places = [place for place in places if place] if emails else places
        if (not places and not emails) or not all(INSTITUTION.search(place) for place in places):
            return None
        keys = [f"#{_affiliation_index(affiliations, place)}" for place in places]
        names.append(_Name(_tidy_name(before), keys, 0.0, first_row,
                           email=next(iter(emails), None)))
    if text[start:].strip(" ,;.") or not affiliations:
        # More after the last parenthesis than a name list holds; or e-mail addresses only,
        # which the other readers take out of the names' lines.
        return None
    return names, affiliations


def _names_then_place(text: str, pattern: re.Pattern[str]) -> tuple[list[str], str] | None:
    """The names and the place of a line "NAME[, NAME and NAME], Institution, Place", or None."""
    match = pattern.match(text)
    if not match:
        return None
    # A marker dropped from between a capital name and "and" leaves them joined ("TROVATOand").
    names = re.sub(r"(?<=[A-Z])and\s", " and ", match.group("name"))
    parts = [part.strip() for part in _NAME_SEPARATORS.split(names) if part.strip()]
    # The name pattern may run on into the place's first part ("Ann Lee, Alder University,
    # ..."): the place starts at the first part that names an institution.
    cut = next((k for k, part in enumerate(parts) if INSTITUTION.search(part)), len(parts))
    place = ", ".join([*parts[cut:], match.group("place")])
    if not cut or len(parts[0].split()) < 2 or not INSTITUTION.search(place):
        return None
    return parts[:cut], place


def _same_style(a: tuple[float, bool, bool], b: tuple[float, bool, bool],
                scanned: bool = False) -> bool:
    """Same size (to half a point; within `OCR_SIZE_SHARE` when `scanned`), weight and slant."""
    tolerance = max(0.5, OCR_SIZE_SHARE * max(a[0], b[0])) if scanned else 0.5
    return abs(a[0] - b[0]) <= tolerance and a[1] == b[1] and a[2] == b[2]


def _name_like(line: Line) -> bool:
    text = " ".join(p.text for p in pieces(line) if not p.marker)
    words = re.findall(r"[^\s,;&]+", text)
    if not words or len(words) > 60 or re.match(r"\s*(\d|[IVX]+\.\s)", text):
        return False
    if any(w[0].islower() and w.lower() not in _NAME_PARTICLES for w in words):
        return False
    # A line that ends with a country ends an address ("Yerseke, The Netherlands").
    return not re.search(r"\d{3,}|:", text) and not COUNTRY.search(text.strip(" ,;"))


_BYLINE = re.compile(r"^\s*(?:by|par)\s+(?=[^\W\d_])", re.I)


def _without_byline(line: Line) -> Line:
    """The author line without the word that opens a byline ("by Ann Lee and Bo Chan")."""
    found = _BYLINE.match("".join(span.text for span in line.spans)) if line.spans else None
    if not found:
        return line
    # The word may be a span of its own, the space after it another (a span a word).
    left, spans = found.end(), []
    for span in line.spans:
        if left >= len(span.text):
            left -= len(span.text)
            continue
        spans.append(replace(span, text=span.text[left:]) if left else span)
        left = 0
    return Line(spans, line.bbox)


def _before_emails(line: Line) -> Line:
    """The line up to its first e-mail address, without the separator before it."""
    kept: list[Span] = []
    for span in line.spans:
        match = EMAIL.search(span.text)
        if match is None:
            kept.append(span)
            continue
        head = span.text[:match.start()].rstrip(" ;,(<[")
        if head.strip():
            kept.append(replace(span, text=head))
        break
    while kept and not kept[-1].text.strip(" ;,"):
        kept.pop()
    if kept:
        kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip(" ;,"))
    return Line(kept or [replace(line.spans[0], text="")], line.bbox)


def _without_emails(line: Line) -> Line:
    """The line with its e-mail addresses (and the brackets around them) left out: names
    printed with their addresses beside them ("Ann Lee (lee@alder.no), Bo Chan")."""
    texts = [span.text for span in line.spans]
    for i, text in enumerate(texts):
        if not EMAIL.search(text):
            continue
        texts[i] = re.sub(r"[(<\[]\s*[)>\]]", "", EMAIL.sub("", text))
        # The brackets may be set in the text face around an address in a typewriter face.
        if i > 0 and not texts[i].strip():
            texts[i - 1] = re.sub(r"[(<\[]\s*$", "", texts[i - 1])
        if i + 1 < len(texts) and not texts[i].strip():
            texts[i + 1] = re.sub(r"^\s*[)>\]]", "", texts[i + 1])
    spans = [replace(span, text=text) for span, text in zip(line.spans, texts, strict=True)
             if text.strip() or text == " "]
    return Line(spans or [replace(line.spans[0], text="")], line.bbox)


NAME_GAP_EM = 0.6
"""A gap this wide (in ems) between two words of a byline, and over twice the line's usual word
gap, parts two names set apart by space alone (or by markers OCR could not read)."""
_JOINED = re.compile(r"(?:[,;&]|\band|\bAND)$")


def _at_wide_gaps(line: Line) -> list[Line]:
    """The line cut where a gap far wider than its word gaps parts two words with nothing
    between them (no comma, "and" or marker): names set apart by space alone."""
    words = [span for span in line.spans if span.text.strip()]
    gaps = [b.bbox[0] - a.bbox[2] for a, b in itertools.pairwise(words)]
    if len(gaps) < 3:
        return [line]
    usual = sorted(gaps)[len(gaps) // 2]
    wide = max(NAME_GAP_EM * line.size, 2 * usual)
    parts: list[list[Span]] = [[]]
    last: Span | None = None
    for span in line.spans:
        if span.text.strip():
            if last is not None and span.bbox[0] - last.bbox[2] > wide \
                    and not last.is_superscript \
                    and not _JOINED.search("".join(s.text for s in parts[-1]).rstrip()):
                parts.append([])
            last = span
        parts[-1].append(span)
    if len(parts) == 1:
        return [line]
    return [Line(part, (part[0].bbox[0], min(s.bbox[1] for s in part), part[-1].bbox[2],
                        max(s.bbox[3] for s in part))) for part in parts]


_NOT_IN_NAMES = re.compile(r"[\d^()=/<>{}\[\]]")
"""Characters of formulas and garbage text layers, never of a name (markers are split off)."""
_ASIDE = re.compile(r"\([^()\d]*[^\W\d_][^()\d]*\)")
"""A parenthesis of words in a name ("William (Bill) Smith", "Wei Zhang (张伟)")."""
_NAME_SEPARATORS = re.compile(r"[,;&|·•∙⋅]|\band\b|\bAND\b|\bet\b(?=\s+[A-Z])|\bund\b")
"""What parts names in a byline: commas, "and" (French "et", German "und"), and the bars and
middle dots some journals set between names ("Ann Lee1 · Bo Chan2")."""
_TRAILING_MARKER = re.compile(r"(?:\s+[\d?!*†‡§¶#,.]+)+$")
_INITIAL_END = re.compile(r"(?:^|[\s.-])[A-Z]\.$")


_TRAILING_DIGITS = re.compile(r"(?<=[^\W\d])\d+$")
"""An affiliation number the text layer set inline at a name's end ("P. Contributor1")."""


_COLLABORATION = re.compile(
    r"(?:the\s+)?[A-Z][\w&.\- ]*?(?:\s+and\s+[A-Z][\w&.\-]*)?\s+"
    r"(?:collaborations?|consortium|consortia|study\s+group|working\s+group)", re.I)
"""An author that is a collaboration: "The ATLAS and CMS Collaborations", "the XYZ Consortium"."""


def _split_names(lines: list[Line], row: int) -> list[_Name]:
    lines = [part for line in lines for part in _at_wide_gaps(line)]
    out: list[_Name] = []
    current = ""
    markers: list[str] = []
    x = 0.0

    def flush() -> None:
        nonlocal current, markers
        current = MEMBERSHIP.sub("", current)
        whole = squash(current).strip(" ,.;")
        collaboration = bool(_COLLABORATION.fullmatch(whole))
        if collaboration:  # a collaboration signs as one author, as printed
            out.append(_Name(whole, [], x, row))
        for part in [] if collaboration else _NAME_SEPARATORS.split(current):
            # A marker left inline after a space ("Boggon 1?"): OCR found it at the baseline.
            name = _TRAILING_DIGITS.sub("", _TRAILING_MARKER.sub("", squash(part).strip()))
            if _ASIDE.fullmatch(name):
                continue  # a role or collaboration after a name: "(Researcher)", "(CLEO)"
            if not _INITIAL_END.search(name):  # "H.-J." and "Ann B." keep their last period
                name = name.strip(" .")
            # A lone capitalised token after a comma is a degree ("MD", "MPH"), not a name.
            if name and not DEGREE.match(name) and not re.fullmatch(r"[A-Z]{2,5}", name) \
                    and re.search(r"[A-Za-z]", name) \
                    and not _NOT_IN_NAMES.search(_ASIDE.sub("", name)):
                out.append(_Name(_tidy_name(name), [], x, row))
        if out and markers:
            out[-1].markers.extend(markers)
        current, markers = "", []

    for line in lines:
        if current.strip():
            flush()
        x = line.bbox[0]
        for piece in pieces(line):
            if piece.marker:
                markers.extend(_marker_keys(piece.text))
                if re.search(r"[A-Za-z]", current):
                    flush()
            else:
                current += piece.text
    flush()
    return out


def _marker_keys(text: str) -> list[str]:
    return [key for key in re.findall(r"\d+|[^\s\d,]", text) if key not in "&)"]


_TRAILING_MARKS = "'’‘\"“”`~^"
"""Marks a name never ends with: an affiliation marker OCR read as a quote or a tilde."""


def _tidy_name(name: str) -> str:
    name = _BYLINE.sub("", fix_accents(name).rstrip(_TRAILING_MARKS), count=1)
    words = name.split()
    if any(w[:1].isupper() and not w.isupper() for w in words) or all(
            w.isupper() for w in words if len(w) > 2):
        # Small-caps names come out in capitals ("Ross G. DOUGLAS", "KENJI FERNÁNDEZ").
        words = [w.title() if w.isupper() and len(w) > 2 and "." not in w else w for w in words]
    return " ".join(words)


_SURNAME_PARTICLES = frozenset({
    "von", "van", "vander", "de", "der", "den", "da", "das", "do", "dos", "del", "della", "di",
    "du", "la", "le", "ten", "ter", "bin", "ibn", "al", "el"})
"""Lower-case words that open a surname: a name never ends with one."""


def _merge_wrapped_names(names: list[_Name]) -> None:
    """Join a name cut at a row's end (a lone given name, one ending in an initial, a particle
    or a hyphen) with the rest of it on the next row; then drop one-word leftovers, which are
    not names."""
    i = 0
    while i < len(names) - 1:
        here, nxt = names[i], names[i + 1]
        words = here.name.split()
        hyphenated = len(words[-1]) > 2 and words[-1].endswith("-")  # "Müller-" / "Lüdenscheidt"
        cut = len(words) == 1 or bool(re.fullmatch(r"[A-Z]\.?", words[-1])) \
            or words[-1] in _SURNAME_PARTICLES or hyphenated  # "Anne-Sophie von" / "Neumann"
        if cut and not here.markers and nxt.row > here.row:
            joiner = ". " if re.fullmatch(r"[A-Z]", words[-1]) else "" if hyphenated else " "
            nxt.name = f"{here.name}{joiner}{nxt.name}"
            names.pop(i)
            continue
        i += 1
    names[:] = [name for name in names if len(name.name.split()) > 1] or names


def _emails(text: str) -> list[str]:
    out: list[str] = []
    for group, domain in re.findall(r"\{([^}]*)\}\s*@\s*([\w.-]+)", text):
        out.extend(f"{local.strip()}@{domain}" for local in re.split(r"[,|]", group) if local)
    for group, domain in re.findall(r"\(([^)]*)\)\s*@\s*([\w.-]+)", text):
        out.extend(f"{local.strip()}@{domain}" for local in re.split(r"[,|]", group) if local)
    text = re.sub(r"[{(][^})]*[})]\s*@\s*[\w.-]+", " ", text)
    out.extend(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    return [e.strip(".") for e in out]


def _email_for(name: str, emails: list[str]) -> str | None:
    parts = [p.lower() for p in re.findall(r"[A-Za-z]+", name) if len(p) >= 3]
    for email in emails:
        local = re.sub(r"[^a-z]", "", email.split("@")[0].lower())
        if any(p in local for p in parts):
            return email
    return None


_PLACE_ONLY = re.compile(r"^(?:[A-Z0-9][\w.-]*\s+)?[A-Z][^\W\d_]+(?:[ -][A-Z][^\W\d_]+)*,"
                         r"\s*[A-Z][^\W\d_]+(?:\s[A-Z][^\W\d_]+)*\.?$")
"""A line that is only a city and a country ("Edinburgh, UK", "3000 Leuven, Belgium")."""


_NUMBERED_ADDRESS = re.compile(r"^\s*(\d{1,2})[.)]\s+(?=[A-Z])")


_COUNTED_ADDRESS = re.compile(r"^\s*(\d{1,2})\s+(?=[A-Z])")
"""An address opening with a bare number set at full size ("1 Faculty of ...")."""


def _counted_lines(aff_lines: list[tuple[int, Line]]) -> set[int]:
    """The lines (ids) opening with a bare number when those numbers count 1, 2, 3, ... down
    the addresses: list labels set at full size, not a street number."""
    opening = [(line, int(found.group(1))) for _, line in aff_lines
               if (found := _COUNTED_ADDRESS.match(line.text))]
    counts = [number for _, number in opening]
    if len(counts) < 2 or counts != list(range(1, len(counts) + 1)):
        return set()
    return {id(line) for line, _ in opening}


def _column_by_column(aff_lines: list[tuple[int, Line]]) -> list[tuple[int, Line]]:
    """Addresses set side by side, a block a column (an author's two affiliations under the
    name, a two-column list of marked addresses), in reading order: down each column, then
    the next. Only when at least two rows hold the same columns, set apart by a gap."""
    rows: dict[int, list[Line]] = {}
    for row, line in aff_lines:
        rows.setdefault(row, []).append(line)
    full = [sorted(lines, key=lambda line: line.bbox[0]) for lines in rows.values()
            if len(lines) > 1]
    if len(full) < 2 or len({len(lines) for lines in full}) != 1:
        return aff_lines
    columns = [(min(lines[k].bbox[0] for lines in full), max(lines[k].bbox[2] for lines in full))
               for k in range(len(full[0]))]
    if any(columns[k][1] >= columns[k + 1][0] for k in range(len(columns) - 1)):
        return aff_lines  # the "columns" overlap: one block's lines of varying length

    def column_of(line: Line) -> int | None:
        centre = (line.bbox[0] + line.bbox[2]) / 2
        return next((k for k, (x0, x1) in enumerate(columns) if x0 - 2 <= centre <= x1 + 2),
                    None)

    placed = [(column_of(line), row, line) for row, line in aff_lines]
    if any(column is None for column, _, _ in placed):
        return aff_lines
    return [(row, line) for _, row, line in sorted(placed, key=lambda item: (item[0], item[1]))]


def _broken_when_full(page: Page, line: Line, following: Line, lead: str,
                      block: set[int]) -> bool:
    """`line` was broken because it was full: the first word of `following` (`lead`) would
    not have fitted in the measure it is set in, the widest line of the page outside its
    block of addresses (ids `block`) that spans it (a body line of its column, a title across
    the page). False when no line spans it."""
    x0, x1 = line.bbox[0], line.bbox[2]
    measure = max((other.bbox[2] - other.bbox[0] for other in page.lines()
                   if id(other) not in block and other.bbox[0] <= x0 + 2
                   and other.bbox[2] >= x1 - 2), default=None)
    return measure is not None and not first_word_fits(
        measure - (x1 - x0), lead, following.bbox[2] - following.bbox[0])


_UNIT = re.compile(r"\b(?:department|dept\.|school|faculty|division|laborator|section|chair)",
                   re.I)
_ESTABLISHMENT = re.compile(
    r"universit|institut|college|hospital|academy|polytechn|[eé]cole|corporation|\binc\b|"
    r"\bltd\b|gmbh", re.I)


def _units_only(address: str) -> bool:
    """Whether an address names only units of an institution (a department, a school) and no
    institution, town or country: it goes on with the institution on the next line."""
    return bool(_UNIT.search(address)) and not _ESTABLISHMENT.search(address) \
        and not re.search(r"\d", address) and not any(
            COUNTRY.match(part.strip(" .")) for part in address.split(","))


def _affiliation_texts(aff_lines: list[tuple[int, Line]], page: Page) -> list[tuple[str, str]]:
    """Affiliation strings with their markers; markers start a new one, wrapped lines join."""
    found: list[tuple[str, str]] = []
    if not aff_lines:
        return found
    reordered = _column_by_column(aff_lines)
    side_by_side, aff_lines = reordered is not aff_lines, reordered
    widest = max(line.bbox[2] - line.bbox[0] for _, line in aff_lines)
    block_ids = {id(line) for _, line in aff_lines}
    listed = _counted_lines(aff_lines)
    previous: Line | None = None
    prev_row = -2
    for row, line in aff_lines:
        parts = pieces(line)
        units = False
        numbered = _NUMBERED_ADDRESS.match(parts[0].text) if parts and not parts[0].marker \
            else None
        if parts and not parts[0].marker and id(line) in listed:
            numbered = _COUNTED_ADDRESS.match(parts[0].text)
        if numbered:  # "1. Department of ...": a marker set inline as a list number
            parts = [Piece(numbered.group(1), True),
                     Piece(parts[0].text[numbered.end():], False), *parts[1:]]
        marked_start = bool(parts) and parts[0].marker
        continuing = (
            found and previous is not None and not marked_start and row == prev_row + 1
            # far below (a note at the foot of a title page, "Author Note"): not a wrap
            and line.bbox[1] - previous.bbox[3] < 2.0 * max(line.size, 1.0)
        )
        # A short line without a comma ("Laboratory of Applied Mathematics") is one part of an
        # address stacked a part a line, centred under its author's name: parts join by commas.
        # So is each line of a block set beside another (one address a column).
        short = previous is not None and "," not in previous.text \
            and previous.bbox[2] - previous.bbox[0] < 0.5 * page.width
        stacked = previous is not None and (short or side_by_side)
        if continuing and previous is not None:
            wide = previous.bbox[2] - previous.bbox[0] >= 0.7 * widest and widest > 200
            lead = next((p.text for p in parts if not p.marker), "")
            # A full-width line that does not end mid-phrase, followed by another institution,
            # is a list of affiliations rather than one wrapped affiliation.
            mid_phrase = _mid_phrase(previous.text)
            # In a list whose entries open with markers, an unmarked line goes on with the
            # entry above unless that entry was closed (";" or ".").
            marked_open = bool(found[-1][0]) and not previous.text.rstrip().endswith((";", "."))
            # "Edinburgh, UK" (a city and a country, no institution): the tail of a wrap.
            place_only = bool(_PLACE_ONLY.match(lead.strip())) \
                and not INSTITUTION.search(lead.split(",")[0])
            # Unless the line was full: the next line's first word would not have fitted in
            # the measure the block is set in (TeX broke the line, the address goes on).
            if wide and not mid_phrase and INSTITUTION.search(lead) and not marked_open \
                    and not place_only and not stacked \
                    and not _broken_when_full(page, previous, line, lead, block_ids):
                # A department's line over its institution's is one address, broken on
                # purpose after the units.
                units = _units_only(found[-1][1])
                continuing = units
        if parts and not parts[0].marker and re.match(r"\s*[a-z]{2}", parts[0].text) and (
                not continuing or re.match(r"\s*[a-z][a-z-]+[.!?](?:\s|$)", parts[0].text)):
            # An unmarked line opening with a lower-case word is no address: the end of a
            # sentence of the other column, level with the header, and what follows it on
            # the line ("settings. 1,13 Our approach ...": citation markers); the lines under
            # it go on with it, not with the address above. (A lone lower-case letter is a
            # marker set at full size: "a Laboratory of ...".)
            previous, prev_row = line, -2
            continue
        marker, text = "", ""
        for piece in parts:
            if piece.marker:
                if text.strip():
                    found.append((marker, text)) if not continuing else _extend(found, text)
                    continuing = False
                marker, text = piece.text.strip(), ""
            else:
                text += piece.text
        if text.strip():
            if continuing:
                _extend(found, text, wrapped=previous is not None and not stacked and not units
                        and previous.bbox[2] - previous.bbox[0] >= 0.7 * widest)
            else:  # (an unmarked line opening with a lower-case word was left out above)
                found.append((marker, text))
        previous, prev_row = line, row
    out: list[tuple[str, str]] = []
    for marker, text in found:
        for piece in re.split(r"\s+and\s*$", text):
            cleaned = _without_editorial_dates(_clean_affiliation(piece))
            # A membership grade under the name ("Student Member" / "ASAE") is no place.
            if cleaned and not _AUTHOR_NOTE.match(cleaned) \
                    and not _GRADE_LINE.fullmatch(cleaned) \
                    and all(compact(cleaned) != compact(t) for _, t in out):
                out.append((marker, cleaned))
    return out


_AUTHOR_NOTE = re.compile(
    r"^(?:these authors|equal(?:ly)? contribut|contributed equally|current address|"
    r"present address|permanent address|deceased|on leave|joint first|author notes?$)", re.I)
"""Notes printed under the addresses with their own symbols (PLOS's ☯ and ¤), and APA's
"Author Note" heading under them: not places."""
_EDITORIAL_DATE = re.compile(
    r"\b(?:received|revised|accepted|submitted|published)\b[^.;]{0,24}\b(?:19|20)\d\d\b", re.I)
"""An editorial history line ("FOR PUBLISHER ONLY Received on 5 February 2005; ..."), which
some templates set under the addresses: never an affiliation."""


_COUNTRY_ABBREVIATIONS = frozenset({"USA", "UK", "UAE", "PRC", "ROC", "ROK", "DPRK", "RSA"})


def _without_editorial_dates(text: str) -> str:
    """The affiliation without an editorial history line run into it (and the capitals label
    before that line, "FOR PUBLISHER ONLY")."""
    found = _EDITORIAL_DATE.search(text)
    if not found:
        return text
    kept = text[:found.start()].rstrip()
    label = re.search(r"(?:\b[A-Z]{2,}\b\s*){2,}$", kept)
    if label:
        words = label.group(0).split()
        # A country abbreviation ending the address is its own ("..., USA FOR ...").
        own = words[:1] if words[0] in _COUNTRY_ABBREVIATIONS else []
        kept = kept[:label.start()] + " ".join(own)
    return kept.strip(" ,;.")


def _extend(found: list[tuple[str, str]], text: str, wrapped: bool = True) -> None:
    marker, prev = found[-1]
    prev = prev.rstrip()
    if prev.endswith(" and"):
        found.append(("", text))
        return
    sep = " " if wrapped or prev.endswith(",") else _part_separator(prev, text)
    found[-1] = (marker, prev + sep + text.strip())


def _part_separator(prev: str, text: str) -> str:
    """What joins two parts of an address stacked a part a line: a comma, unless the line broke
    inside a phrase ("National Center for" / "Computational Toxicology", "Royal Netherlands
    Institute" / "of Sea Research")."""
    inside = re.search(r"\s(?:of|and|for|the|de|du|des|der|für|&)$", prev.rstrip(), re.I) \
        or re.match(r"(?:of|and|for|the|de|du|des|der|für)\s", text.strip())
    return " " if inside or prev.rstrip().endswith((",", ";")) else ", "


def _join_parts(parts: list[str]) -> str:
    """Parts of an address stacked a part a line, joined as one address."""
    text = ""
    for part in parts:
        text = text + _part_separator(text, part) + part if text else part
    return text


_ALSO_AT = re.compile(r"^(?:also\s+(?:at|with)|and)\s+(?=[A-Z])")
"""What opens a further affiliation's note ("†also at Alder University"): not the place."""


_EDITORIAL_TAIL = re.compile(
    r"(?:^|(?<=[\s,;.:]))\d{0,2}(?:full list of author information|for additional "
    r"(?:materials|information)|these authors contributed|(?:authors? )?to whom "
    r"correspondence|e-?mails?\s*:|tel\.?\s*:|fax\s*:|phone\s*:).*$", re.I | re.S)
"""Notes printed on after an address or in its place ("... Serbia Full list of author
information is available at the end of the article", "; E-Mail:", "Tel.: +86 ...",
"4These authors contributed equally: ..."): never part of it."""
_INITIALS_NOTE = re.compile(r"[;,]?\s*\((?:[A-Z][a-z]?\.-?){1,4}\)")
"""Whose e-mail the address was printed with (MDPI: "...; ann@alder.no (A.L.)")."""


def _clean_affiliation(text: str) -> str:
    text = fix_accents(squash(_INITIALS_NOTE.sub("", text))).strip(" ,;.")
    text = _ALSO_AT.sub("", re.sub(r"\s+,", ",", text))
    return text if re.search(r"[A-Za-z]{2}", text) else ""


def _assign_unmarked(names: list[_Name], aff_lines: list[tuple[int, Line]],
                     affiliations: list[tuple[str, str]]) -> None:
    """Without markers: an author's affiliation is the one printed under it."""
    if not names or any(name.markers for name in names) or not affiliations:
        return
    if len(affiliations) == 1:
        for name in names:
            name.markers = [affiliations[0][0] or "#0"]
        return
    index_of = {compact(text): i for i, (_, text) in enumerate(affiliations)}
    for name in names:
        below = [
            (row, line) for row, line in aff_lines
            if row > name.row and line.bbox[0] - 40 <= name.x <= line.bbox[2]
        ]
        if not below:
            continue
        first_row = below[0][0]
        for row, line in below:
            if row > first_row + 3:
                break
            key = compact(_clean_affiliation(line.text))
            for text_key, i in index_of.items():
                if key and (key in text_key or text_key in key):
                    name.markers.append(f"#{i}")
                    break
            else:
                continue
            break


def _link_affiliations(names: list[_Name], affiliations: list[tuple[str, str]]) -> list[Author]:
    authors: list[Author] = []
    for name in names:
        indices: list[int] = []
        for key in name.markers:
            if key.startswith("#") and key[1:].isdigit():
                indices.append(int(key[1:]))
                continue
            if key.startswith("#"):  # an address linked by name ("#with0", "#name1", ...)
                indices.extend(i for i, (marker, _) in enumerate(affiliations) if marker == key)
                continue
            for i, (marker, _) in enumerate(affiliations):
                if marker and key in _marker_keys(marker) and i not in indices:
                    indices.append(i)
        if not indices and len(affiliations) == 1 and not affiliations[0][0]:
            indices = [0]
        authors.append(Author(name=name.name, affiliation_indices=sorted(set(indices)),
                              email=name.email))
    return authors


_FOOTNOTE_MARK = re.compile(r"^\s*([\d]{1,2}|[a-z]|[*†‡§¶∗#]{1,2})\s+(?=[A-Z])")
"""A footnote's marker printed at full size before its text ("1 Department of ...")."""
_NOT_AFFILIATION = re.compile(
    r"support|fund|grant|thank|acknowledg|contribut|equal|correspond|present address|"
    r"during|internship|work done|visiting|part of|https?://|www\.|"
    r"current address|permanent address|deceased|e-?mail|manuscript|recommended by|"
    r"publisher item|member|fellow|received|accepted|published|revised"
    # A position alone ("Research Scientist.", "Associate Professor"), as AIAA-style \thanks
    # footnotes print it: a job title, not a place.
    r"|^(?:[\w.-]+\s+){0,3}(?:professor|scientist|researcher|engineer|student|lecturer|"
    r"director|candidate|postdoc\w*|manager|chair)\b[^,;]{0,20}$",
    re.I,
)
_IS_WITH = re.compile(
    r"\b(?:is|are|was|were|has been|have been)\s+(?:currently\s+|now\s+|also\s+)?"
    r"(?:with|at)\s+(?:the\s+)?(?P<place>.+)",
    re.I,
)


def _footnote_lines(page: Page, body: float) -> list[Line]:
    """The first page's footnote lines, in reading order."""
    labelled = [line for block in page.blocks if block.role == "footnote"
                for line in block.lines]
    if labelled:
        return labelled
    # The page's own running text may be larger than the paper's most common size (a short
    # paper whose small-type references outweigh its text).
    size = max(body, _dominant_size(page))
    return [line for block in page.blocks for line in block.lines
            if line.bbox[1] > page.height * 0.7 and line.size < size * 0.98]


def _dominant_size(page: Page) -> float:
    """The font size that sets most of the page's characters."""
    weights: dict[float, int] = {}
    for line in page.lines():
        weights[line.size] = weights.get(line.size, 0) + len(line.text)
    return max(weights, key=lambda k: weights[k]) if weights else 0.0


def _marked_small_block(page: Page, body: float, names: list[_Name]) -> list[tuple[str, str]]:
    """Marked addresses in a block of small type elsewhere on the first page (under the
    abstract, say), taken only when their markers are every marker the names carry."""
    wanted = {key for name in names for key in name.markers if not key.startswith("#")}
    if not wanted:
        return []
    for block in page.blocks:
        if block.size >= body * 0.98:
            continue
        found = _marked_affiliations(block.lines, names)
        if wanted <= {key for marker, _ in found for key in _marker_keys(marker)}:
            return found
    return []


def _footnote_affiliations(page: Page, body: float,
                           names: list[_Name]) -> list[tuple[str, str]]:
    """Affiliations printed as first-page footnotes: marked entries, "X is with Y" lines, or
    entries that open with the author's name ("Ann Lee: University of ...")."""
    lines = _footnote_lines(page, body)
    return (_marked_affiliations(lines, names) + _with_affiliations(lines, names)
            + _named_addresses(lines, names) + _addresses_paragraph(lines, names))


_ADDRESSES_LABEL = re.compile(r"authors?['’]?\s+(?:addresses|contact information)\s*:\s*", re.I)


def _addresses_paragraph(lines: list[Line], names: list[_Name]) -> list[tuple[str, str]]:
    """ACM journals: one footnote "Authors' addresses: Ann Lee, University of Alder, Norway,
    lee@alder.no; Bo Chan, Birch Institute, Canada, chan@birch.ca." (entries split at ";")."""
    text = join_lines([line.text for line in lines])
    label = _ADDRESSES_LABEL.search(text)
    if not label or not names:
        return []
    out: list[tuple[str, str]] = []
    for entry in text[label.end():].split(";"):
        entry = squash(entry).strip(" .")
        owner = next((n for n in names if entry.startswith(n.name + ",")), None)
        if owner is None:
            continue
        address = entry[len(owner.name) + 1:]
        address = _clean_affiliation(EMAIL.sub("", _ADDRESS_END.sub("", address))).strip(" ,")
        if not INSTITUTION.search(address) and "," not in address:
            continue
        owner.markers.append(_keyed(out, address, "#addr"))
    return out


_RUN_IN_LABEL = re.compile(r"^\W*[A-Z][\w’'-]*(?:\s+[a-z][\w’'-]*){0,2}\s*:\s")
"""A note of its own opening with a run-in label ("Corresponding author: ...", "E-mail: ...",
"Present address: ..."), never the rest of the address above it."""


def _marked_affiliations(lines: list[Line], names: list[_Name],
                         sidebar: bool = False) -> list[tuple[str, str]]:
    """Entries that start with a marker (superscript, small, or a full-size "1 "/"a "),
    continued by the lines under them; the institutions among them."""
    found: list[list[str]] = []
    open_entry = False
    previous: Line | None = None
    for line in lines:
        text = line.text
        if BOILERPLATE.search(text) and sidebar:
            open_entry = False
            continue
        parts = pieces(line)
        mark = _FOOTNOTE_MARK.match(text)
        if parts and parts[0].marker and len(parts) > 1:
            for piece in parts:  # one line may hold several entries ("1Dept ... 2Dept ...")
                if piece.marker:
                    found.append([piece.text.strip(), ""])
                else:
                    found[-1][1] += piece.text
            open_entry = True
        elif mark:
            found.append([mark.group(1), text[mark.end():]])
            open_entry = True
        elif open_entry and previous is not None and line.bbox[1] - previous.bbox[3] < \
                0.8 * max(line.size, 1.0) and not _RUN_IN_LABEL.match(text) \
                and (not EMAIL.search(text) or _mid_phrase(found[-1][1])) \
                and (not sidebar or found[-1][0] or not INSTITUTION.search(text)):
            # Under a marked entry an unmarked line goes on with it, even one naming an
            # institution ("1School of Biology, Nairobi" / "Institute of Technology,"); so does
            # a line with an e-mail address when the entry stopped on a comma ("Alder," /
            # "Germany. ann@alder.de": the country is the address's), which the address ends.
            email = EMAIL.search(text)
            found[-1][1] = join_lines([found[-1][1], text[:email.start()] if email else text])
            open_entry = not email
        elif sidebar and INSTITUTION.search(text) and len(text.split()) <= 25:
            found.append(["", text])
            open_entry = True
        else:
            open_entry = False
        previous = line
    author_marks = {key for name in names for marker in name.markers
                    for key in _marker_keys(marker)}
    out: list[tuple[str, str]] = []
    for marker, text in found:
        text = re.split(r"\s(e-?mail|tel|phone|fax)\b|\(e-?mail", text, flags=re.I)[0]
        linked = not sidebar and bool(set(_marker_keys(marker)) & author_marks)
        for place in _places(_clean_affiliation(text)):
            if (INSTITUTION.search(place) or (linked and _place_like(place))) \
                    and not EMAIL.search(place) \
                    and not _NOT_AFFILIATION.search(place[:40]) and not BOILERPLATE.search(place) \
                    and not URL.search(place) \
                    and len(place.split()) <= 40:
                out.append((marker, place))
    return out


_POSITION = re.compile(
    r"^(?:[\w.&-]+\s+){0,3}(?:professor|fellow|member|student|assistant|associate|scientist|"
    r"researcher|engineer|lecturer|director|candidate|postdoc\w*|manager|chair|head|dean|"
    r"officer|consultant|intern|formerly|previously)(?:[\s‐–-]+[\w.&-]+){0,2}$", re.I)
"""A position or a time, not a place: "USDA Fellow", "Graduate Assistant-Research",
"Formerly", as engineering societies' author footnotes open their addresses with."""


def _places(entry: str) -> list[str]:
    """A marked note's addresses: the positions opening each address dropped ("Professor,
    Department of ..."); one address per sentence when every sentence names an institution
    ("Fellow, Dept. of A, Univ. of B. Formerly, Dept. of C, Univ. of D.")."""
    sentences = [_without_position(s.strip(" .")) for s in
                 re.split(r"(?<=[a-z]{2}\.)\s+(?=[A-Z])", entry)]
    if len(sentences) > 1 and all(INSTITUTION.search(s) for s in sentences):
        return sentences
    return [_without_position(entry)]


def _without_position(entry: str) -> str:
    segments = entry.split(", ")
    start = 0
    # "Research" names a position's field ("Assistant-Research", "Research Fellow") as often
    # as an institution; any other institution word keeps the segment.
    while start < len(segments) - 1 and _POSITION.match(segments[start]) \
            and not INSTITUTION.search(re.sub("research", "", segments[start], flags=re.I)):
        start += 1
    return ", ".join(segments[start:]) if start and INSTITUTION.search(segments[start]) \
        else entry


_PLACE_CONNECTOR = frozenset({
    "of", "for", "and", "at", "the", "de", "du", "des", "la", "le", "del", "della", "di", "der",
    "und", "da", "do", "dos", "das", "von", "van", "zu", "et", "y", "e"})


def _place_like(text: str) -> bool:
    """A short address of proper names, no sentence in it, its parts parted by commas
    ("Library, HEC Montréal", "Mila, Montréal, Canada"): what a footnote its author's marker
    points at holds when its institution has no common noun to tell it by (a position, "Business
    Developer", has no comma)."""
    words = text.replace(",", " ").split()
    return 0 < len(words) <= 10 and "," in text and ":" not in text \
        and not re.search(r"\bauthors?\b", text, re.I) \
        and all(w[:1].isupper() or w[:1].isdigit() or w in _PLACE_CONNECTOR for w in words)


def _keyed(out: list[tuple[str, str]], address: str, prefix: str) -> str:
    """The key of `address` among the name-linked addresses `out`, added when new; each finder
    has its own prefix, so the addresses of two finders never share a key."""
    key = next((k for k, t in out if compact(t) == compact(address)), None)
    if key is None:
        key = f"{prefix}{len(out)}"
        out.append((key, address))
    return key


def _with_affiliations(lines: list[Line], names: list[_Name]) -> list[tuple[str, str]]:
    """IEEE-style footnotes: "E. Chang is with the University of ...; he is now with ...".

    Each affiliation is linked to the authors whose surnames the sentence names.
    """
    text = squash(" ".join(line.text for line in lines))
    out: list[tuple[str, str]] = []
    # A sentence starts with a capital, ASCII or not ("... Netherlands. Ł. Hübner is with").
    for sentence in re.split(r"(?<=[A-Za-z]{2}\.)\s+(?=[^\W\d_a-z])", text):
        match = _IS_WITH.search(sentence)
        if not match:
            continue
        subject = sentence[:match.start()]
        place = re.split(r"\s*\(e-?mail|\s+e-?mail:", match.group("place"), flags=re.I)[0]
        for part in re.split(r",?\s+and\s+(?:also\s+|is\s+)?(?:with|at)\s+(?:the\s+)?", place):
            cleaned = _clean_affiliation(part)
            if not cleaned or not INSTITUTION.search(cleaned) or EMAIL.search(cleaned):
                continue
            key = _keyed(out, cleaned, "#with")
            for name in names:
                surname = name.name.split()[-1] if name.name.split() else ""
                if len(surname) > 1 and re.search(rf"\b{re.escape(surname)}\b", subject, re.I):
                    name.markers.append(key)
    return out


_ADDRESS_LABEL = re.compile(r"^(e-?mail( address)?|url)\s*:", re.I)
_OTHER_ADDRESS_LABEL = re.compile(r"^(current|present|permanent) address\s*:", re.I)
_LISTED_ENTRY = re.compile(r"^\[\d+\]|^\d+\.\s")


def _end_addresses(doc: ParsedDocument, names: list[_Name]) -> list[tuple[str, str]]:
    """Addresses printed after the text (AMS style): each author's address paragraphs (one or
    more, set apart by a gap) followed by an "E-mail address:" line, in the authors' order.

    Every address paragraph right above an e-mail line belongs to that author's group (an
    author printed without an e-mail joins the next group); the groups are linked to the
    authors when there is one per author.
    """
    groups: list[list[str]] = []
    paragraphs: list[list[str]] = []
    in_caps: list[bool] = []
    labelled = False
    # The two last pages read as one stream: addresses of authors without an e-mail at the
    # foot of one page join the group of the first e-mail on the next.
    for page in doc.pages[-2:]:
        previous: Line | None = None
        for line in (line for block in page.blocks
                     if block.role not in PAGE_FURNITURE
                     for line in block.lines):
            text = line.text.strip()
            gap = previous is None or line.bbox[1] - previous.bbox[3] > 0.9 * line.size
            previous = line
            if _OTHER_ADDRESS_LABEL.match(text):
                continue  # where the author is now, not the affiliation the paper gives
            if _ADDRESS_LABEL.match(text):
                groups.append(_addresses_above(paragraphs))
                paragraphs, in_caps, labelled = [], [], True
            elif gap or not paragraphs:
                paragraphs.append([text])
                in_caps.append(_small_caps(line))
            else:
                paragraphs[-1].append(text)
    if labelled:  # authors without an e-mail after the last one that has one
        groups.append(_addresses_above(paragraphs))
    else:
        # No e-mail at all: the addresses that close the paper, set in small capitals.
        tail = len(paragraphs)
        while tail and in_caps[tail - 1]:
            tail -= 1
        groups.append(_addresses_above(paragraphs[tail:]))
    groups = [group for group in groups if group]
    out: list[tuple[str, str]] = []
    for i, group in enumerate(groups):
        keys = [_keyed(out, address, "#end") for address in group]
        if len(groups) == len(names):
            names[i].markers.extend(keys)
    return out


_SMALL_CAPS_FONT = re.compile(r"caps|csc|smcp|[-_+]sc(?:\b|\d)", re.I)


def _small_caps(line: Line) -> bool:
    """The line is set in a small-capitals font (by the font's name: CMCSC10, LMRomanCaps10,
    Minion-SC...)."""
    return bool(line.spans) and all(_SMALL_CAPS_FONT.search(span.font) for span in line.spans
                                    if span.text.strip())


def _addresses_above(paragraphs: list[list[str]]) -> list[str]:
    """The address paragraphs that end `paragraphs` (text, then an author's addresses), in
    print order: from the last one up to the first that is no address."""
    found: list[str] = []
    for lines in reversed(paragraphs):
        text = " ".join(lines)
        if re.fullmatch(r"\d{1,4}", text) or (
                re.fullmatch(r"\d{1,4}\s+\D{1,60}|\D{1,60}\s+\d{1,4}", text)
                and not INSTITUTION.search(text)):
            continue  # a page number, alone or with its running head ("6 H. J. PATEL ET AL.")
        address = _clean_affiliation(text)
        if _LISTED_ENTRY.match(lines[0]) or not INSTITUTION.search(address) \
                or len(address.split()) > 40:
            break
        found.insert(0, address)
    return found


_ADDRESS_END = re.compile(
    r"\s*(?:[•·|;]|\be-?mail\b|\burl\b|\bhttps?://|\btel\b|\bphone\b|\bfax\b|\borcid\b).*$",
    re.I)


def _named_end_addresses(doc: ParsedDocument, names: list[_Name]) -> list[tuple[str, str]]:
    """Addresses printed after the text, each opening with its author's name ("Ann Lee,
    University of Alder, Norway • E-mail: ...") and running to the e-mail or a blank gap."""
    out: list[tuple[str, str]] = []
    for page in doc.pages[-2:]:
        out = _named_addresses(list(page.lines()), names, out)
    return out


_NAME_LEAD = re.compile(rf"^[\s{re.escape(MARKER_SYMBOLS)}\d]*(?:corresponding authors?\s*:\s*)?",
                        re.I)


def _named_addresses(lines: list[Line], names: list[_Name],
                     out: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """Entries that open with an author's name and give the address after a comma or colon
    ("Ann Lee, University of Alder, Norway", "*Corresponding author: Ann Lee, ...",
    "Bo Chan: Birch Institute, ..."), each linked to its author."""
    out = list(out or [])
    if not names:
        return out

    def owner_of(text: str) -> tuple[_Name, str] | None:
        rest = text[_NAME_LEAD.match(text).end():]  # type: ignore[union-attr]
        for name in names:
            if rest.startswith(name.name) and rest[len(name.name):len(name.name) + 1] in ",:":
                return name, rest[len(name.name) + 1:]
        return None

    for i, line in enumerate(lines):
        found = owner_of(squash(line.text))
        if found is None:
            continue
        owner, first = found
        # "L. M. Patel, A. S. Andrés, and T. Nakamura are with the School of ...": a list of
        # names then "are with", no institution before it, is the "is with" form, read there.
        sentence = " ".join(squash(ln.text) for ln in lines[i:i + 4])
        with_form = _IS_WITH.search(sentence)
        if with_form and not INSTITUTION.search(sentence[:with_form.start()]):
            continue
        # The list's right edge, from the lines around the entry set in its size (not a stamp
        # in the margin, nor a running head or a reference above the list that runs wider).
        right = max(ln.bbox[2] for ln in lines[max(0, i - 8):i + 8]
                    if abs(ln.size - line.size) < 0.5)
        entries = [[first]]
        for prev, nxt in itertools.pairwise(lines[i:i + 4]):
            more = squash(nxt.text)
            if _ADDRESS_END.search(entries[-1][-1]) or owner_of(more) is not None \
                    or nxt.bbox[1] - prev.bbox[3] > 0.9 * nxt.size:
                break
            if _starts_new_address(prev, nxt, right):
                entries.append([more])  # the line above ended short: a second address
            else:
                entries[-1].append(more)  # a wrapped line
        for parts in entries:
            address = _clean_affiliation(_ADDRESS_END.sub("", " ".join(parts)))
            if INSTITUTION.search(address) and len(address.split()) <= 40:
                owner.markers.append(_keyed(out, address, "#name"))
    return out


_AFFILIATION_LABEL = re.compile(r"^\W*(?:authors?['’]?\s+)?(?:affiliations?|addresses)\s*:?\s*$",
                                re.I)


def _fuller_at_the_end(doc: ParsedDocument, names: list[_Name],
                       affiliations: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The header's short affiliations ("Vrije Universiteit Amsterdam" under a name) replaced
    by the full addresses a journal prints after the text (JSS): under an "Affiliation:" label,
    the authors' names on a line (one, or several who share the address), then the address a
    part a line, to the e-mail or URL line. A short one is replaced by the address that holds
    most of its words; an address no short one stands for (an institution the header printed
    in a form no rule read) is added; short ones of authors the list leaves out stay."""
    if not names:
        return affiliations
    lines = [line for page in doc.pages[-2:] for block in page.blocks
             if block.role not in PAGE_FURNITURE | {"banner"}
             for line in block.lines]
    start = next((i for i, line in enumerate(lines)
                  if _AFFILIATION_LABEL.match(line.text.strip())), None)
    if start is None:
        return affiliations
    own_names = {_name_key(name.name) for name in names}
    groups: list[list[str]] = []
    parts: list[str] | None = None
    contacts_ended = False
    previous = lines[start]
    for line in lines[start + 1:]:
        text = squash(line.text)
        # An address is stacked at the line pitch: a blank of two lines or more ends it (the
        # journal's colophon at the foot of the page is no part of the last one); it may go on
        # at the top of the next page.
        blank = line.bbox[1] - previous.bbox[3]
        gap = blank > 2 * line.size
        previous = line
        # Names open an address; "and" alone opens a second one of the same authors, and so
        # does an institution set apart by a blank under their e-mail and URL lines.
        if all(_name_key(name) in own_names for name in _NAME_LIST_SPLIT.split(text)) \
                or (parts and text.lower() == "and"):
            parts = []
            groups.append(parts)
        elif parts is None and contacts_ended and not gap and blank > 0.5 * line.size \
                and INSTITUTION.search(text):
            parts = [text.rstrip(" ,;")]
            groups.append(parts)
        elif parts is None or gap or _ADDRESS_LABEL.match(text):
            # The e-mail and URL lines under an address close it.
            label = bool(_ADDRESS_LABEL.match(text)) and not gap
            contacts_ended = label and (parts is not None or contacts_ended)
            parts = None
        else:
            parts.append(text.rstrip(" ,;"))
    # Under the label, a name's lines are its address: two parts or more, or one that names
    # an institution.
    addresses = [_clean_affiliation(_join_parts(parts)) for parts in groups
                 if len(parts) >= 2 or INSTITUTION.search(" ".join(parts))]
    addresses = [a for a in dict.fromkeys(addresses) if a and len(a.split()) <= 40]
    out = list(affiliations)
    used: set[str] = set()
    for k, (marker, short) in enumerate(out):
        words = set(re.findall(r"\w+", short.lower()))
        if len(words) < 2:
            continue  # too little to know the same institution by ("MIT", "Google")
        share, fuller = max(((1.0 if compact(short) in compact(a) else
                              len(words & set(re.findall(r"\w+", a.lower()))) / len(words), a)
                             for a in addresses), default=(0.0, ""))
        if share >= 0.66:
            out[k] = (marker, fuller)
            used.add(fuller)
    out += [("", a) for a in addresses if a not in used]
    return list({compact(text): (marker, text) for marker, text in out}.values())


def _name_key(name: str) -> tuple[str, str]:
    """A person's first and last names: one name printed with its middle names in full in one
    place and as initials in another ("Rune Haubo Bojesen Christensen", "Rune Haubo B
    Christensen") has one key."""
    words = [compact(word) for word in name.split()]
    words = [word for word in words if word]
    return (words[0], words[-1]) if len(words) >= 2 else ("", "".join(words))


_NAME_LIST_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
"""What separates the names of authors who share one address ("Kurt Hornik, Achim Zeileis")."""


def _starts_new_address(line: Line, following: Line, right: float) -> bool:
    """The line under `line` starts another address rather than wrapping it: `line` does not
    stop inside a phrase, and it was ended on purpose (the next line's first word would have
    fitted in the room left before the text's right edge `right`) or the next line opens with
    an institution's name."""
    text = following.text.strip()
    if not text or _mid_phrase(line.text):
        return False  # an address never ends on a comma or a joining word
    # (an institution word alone, "Research," / "University", ends the name above it)
    lead = text.split(",")[0]
    return first_word_fits(right - line.bbox[2], text, following.bbox[2] - following.bbox[0]) \
        or (bool(INSTITUTION.search(lead)) and len(lead.split()) >= 2)


def _mid_phrase(text: str) -> bool:
    """A line that stops inside a phrase: after a comma, a hyphen or a joining word, or on a
    postcode of its own after a comma ("..., 2628" / "CD Delft": the town is on the next line)."""
    return bool(re.search(r"[,-]$|\s(of|and|for|the|de|del|di|der|des|für|du|at|in|&)$"
                          r"|,\s*\d[\d\-]*\d$", text.rstrip(), re.I))


_FROM_STATEMENT = re.compile(r"^From (?:the )?(?=[A-Z])")


def _from_statement(doc: ParsedDocument) -> list[tuple[str, str]]:
    """Affiliations given as one statement, as medical journals print them on the first page or
    after the text: "From the Department of ..., University of ...; X Hospital, Y; and Z."."""
    for page in doc.pages:
        for block in page.blocks:
            starts = [i for i, line in enumerate(block.lines) if _FROM_STATEMENT.match(line.text)]
            if not starts:
                continue
            lines: list[str] = []
            for line in block.lines[starts[0]:starts[0] + 10]:
                lines.append(line.text)
                if line.text.rstrip().endswith("."):
                    break
            text = _FROM_STATEMENT.sub("", join_lines(lines)).rstrip(" .")
            if is_prose(text) or not INSTITUTION.search(text.split(";")[0]):
                continue
            parts = [re.sub(r"^(?:and|the)\s+", "", part.strip()) for part in text.split(";")]
            return [(f"#from{k}", _clean_affiliation(part)) for k, part in enumerate(parts)
                    if part and len(part.split()) <= 40]
    return []


def _unresolved_markers(names: list[_Name], affiliations: list[tuple[str, str]]) -> set[str]:
    """Author markers that no affiliation found so far carries."""
    known = {key for marker, _ in affiliations for key in _marker_keys(marker)}
    return {key for name in names for key in name.markers
            if not key.startswith("#") and key not in known}


_DETAILS_HEADING = re.compile(
    r"^(?:authors?['’]? details|author affiliations|authors and affiliations)\b[:.]?\s*", re.I)
"""The heading of the affiliation list some journals print after the text."""


def _author_details(doc: ParsedDocument) -> list[tuple[str, str]]:
    """The 'Author details' list some journals print at the end with every affiliation: the
    heading runs in or stands alone over the list, each address led by its raised number."""
    for page in doc.pages[-4:]:
        for k, block in enumerate(page.blocks):
            if not block.lines or not _DETAILS_HEADING.match(block.lines[0].text):
                continue
            lines = list(block.lines)
            if len(lines) == 1 and not _DETAILS_HEADING.sub("", lines[0].text).strip():
                lines += page.blocks[k + 1].lines if k + 1 < len(page.blocks) else []
            found: list[tuple[str, str]] = []
            marker = ""
            text = ""
            for n, line in enumerate(lines):
                if n and SKIP_ZONE.match(line.text.strip()):
                    break  # the editorial history under the list ("Received: ...")
                for piece in pieces(line):
                    if piece.marker and re.fullmatch(r"\d{1,2}", piece.text.strip()):
                        if text.strip():
                            found.append((marker, text))
                        marker, text = piece.text.strip(), ""
                    else:
                        text += piece.text
                text += " "
            if text.strip():
                found.append((marker, text))
            out = [(m, _clean_affiliation(_DETAILS_HEADING.sub("", t.strip())))
                   for m, t in found if m]
            return [(m, t) for m, t in out if t]
    return []


# --- abstract ----------------------------------------------------------------------------------


STRUCTURED_HEAD = re.compile(
    r"^(background|context|objectives?|purpose|aims?|rationale|importance|introduction)"
    r"\s*[:.]?\s+\S", re.I)
"""The first label of a structured abstract printed with no "Abstract" heading."""


def _abstract_anchor(pages: list[Page]) -> tuple[Page, Block, int] | None:
    labelled = _labelled_abstract(pages)
    if labelled or not pages:
        return labelled
    # A structured abstract with no heading: its first run-in label ("Background:") in bold
    # or followed by a colon, opening a block on the first page.
    page = pages[0]
    for block in page.blocks:
        if block.bbox[1] > 0.6 * page.height:
            continue
        for i, line in enumerate(block.lines):
            # Past the block's first line only where the text layer put a line of other type
            # above it in the same block (an editorial line in small type over the abstract).
            if i and abs(block.lines[i - 1].size - line.size) <= 0.5:
                continue
            match = STRUCTURED_HEAD.match(line.text)
            if match and (line.spans[0].is_bold or re.match(r"^\w+\s*:", line.text)):
                return page, block, i
    return None


def _labelled_abstract(pages: list[Page]) -> tuple[Page, Block, int] | None:
    for label in (ABSTRACT_HEAD, OTHER_ABSTRACT_HEAD):
        for page in pages:
            for block in page.blocks:
                for i, line in enumerate(block.lines):
                    text = line.text
                    match = label.match(text)
                    if not match:
                        continue
                    rest = text[match.end():]
                    heading_only = not rest.strip()
                    starts_bold = bool(line.spans) and line.spans[0].is_bold
                    word = len(match.group(1))
                    if heading_only or starts_bold or _styled_label(line, word) \
                            or text[:word].isupper() \
                            or text[word:word + 1] in ".:—–-" or _hanging_label(block, i):
                        return page, block, i
    return None


def _styled_label(line: Line, length: int) -> bool:
    """The line opens with a word of `length` characters set in italics, the text after it
    upright: a run-in label ("*Abstract* This document ...")."""
    spans = [span for span in line.spans if span.text.strip()]
    if len(spans) < 2 or not spans[0].is_italic or spans[1].is_italic:
        return False
    return len(spans[0].text.strip()) == length


def _hanging_label(block: Block, index: int) -> bool:
    """The line's first word is a label set in the margin: a wide gap after it, and the
    paragraph's next line indented to where the text after the gap starts ("Abstract    This
    is ..." / "            it is based on ..."), not a justified line's wide space."""
    line = block.lines[index]
    words = [span for span in line.spans if span.text.strip()]
    if len(words) < 2 or len(words[0].text.split()) != 1 or index + 1 >= len(block.lines):
        return False
    text_start = words[1].bbox[0]
    return text_start - words[0].bbox[2] >= 0.6 * line.size \
        and abs(block.lines[index + 1].bbox[0] - text_start) <= 2


def _abstract(pages: list[Page], anchor: tuple[Page, Block, int] | None, body: float,
              zone: list[Row], title_bottom: float, vocab: Vocabulary) -> str | None:
    lines: list[str] = []
    if anchor:
        page, block, index = anchor
        head = block.lines[index]
        first = line_text(head, drop_markers=True)
        rest = OTHER_ABSTRACT_HEAD.sub("", ABSTRACT_HEAD.sub("", first, count=1), count=1)
        if rest:
            lines.append(rest)
        content = block.lines[index + 1:]
        start = page.blocks.index(block)
        if not content and not rest:
            start = _block_below(page, start)
        size = _content_size(content) or _content_size(_following_lines(page, start)) or body
        kept, ended = _until_link(content)
        lines.extend(kept)
        if not ended:  # the abstract's block did not end it
            lines.extend(_collect_paragraphs(page, start + 1, size, block.column,
                                             len(" ".join(lines).split()),
                                             label=None if rest else head))
    else:
        page = pages[0]
        zone_bottom = max((row.bottom for row in zone), default=title_bottom)
        start = None
        first_line = 0
        found = _unlabelled_abstract_start(page, zone_bottom - 1)
        if found and found[2] < _body_top(page, title_bottom, body,
                                          page.blocks[found[0]].column):  # (body is no abstract)
            start, first_line = found[0], found[1]
        if start is None:
            return None
        block = page.blocks[start]
        size = block.size
        kept, ended = _until_link(block.lines[first_line:])
        lines.extend(kept)
        if not ended:  # the block did not end it
            lines.extend(_collect_paragraphs(page, start + 1, size, block.column,
                                             len(" ".join(lines).split())))
    lines.extend(_run_on(pages, page, lines, size))
    text = squash(vocab.join(lines))
    return text or None


def _abstract_alone_on_next_page(pages: list[Page], vocab: Vocabulary) -> str | None:
    """An unlabelled abstract set on a page of its own after a title page (a preprint's
    title page of names and addresses, then one paragraph alone on the next page): the first
    page holds no running text and the second nothing but one paragraph of prose."""
    if len(pages) < 2 or pages[1].number != pages[0].number + 1:
        return None
    if any(len(block.text.split()) >= 40 and is_prose(block.text) for block in pages[0].blocks
           if block.role not in PAGE_FURNITURE):
        return None
    blocks = [block for block in pages[1].blocks
              if block.role not in PAGE_FURNITURE and block.text.strip()]
    text = " ".join(block.text for block in blocks)
    if not 1 <= len(blocks) <= 3 or len(text.split()) < 50 or not is_prose(text) \
            or any(_BODY_HEAD.match(block.lines[0].text) or NUMBERED_HEAD.match(
                block.lines[0].text) for block in blocks):
        return None
    return squash(vocab.join([line.text for block in blocks for line in block.lines])) or None


def _run_on(pages: list[Page], page: Page, lines: list[str], size: float) -> list[str]:
    """The abstract's last sentence carried over to the next page: when the abstract so far
    ends the page's text (a page number at most below it) in mid-sentence."""
    if not lines or re.search(r"[.!?]\W*$", lines[-1]):
        return []
    after = next((p for p in pages if p.number == page.number + 1), None)
    text_blocks = [b for b in page.blocks
                   if b.text.strip() and not re.fullmatch(r"[\divx]+", b.text.strip(), re.I)]
    if after is None or not text_blocks:
        return []
    last = squash(text_blocks[-1].lines[-1].text)
    if not last or not squash(lines[-1]).endswith(last[-20:]):
        return []
    return _collect_paragraphs(after, 0, size, -1, len(" ".join(lines).split()))


_COPYRIGHT_NOTICE = re.compile(r"(?:©|\(c\)|\bCopyright\b)\s*(?:(?:19|20)\d\d\b|the authors?\b)",
                               re.I)


def _type_of(line: Line) -> tuple[str, float] | None:
    """The font and size of the line's first printed span."""
    span = next((span for span in line.spans if span.text.strip()), None)
    return (span.font, round(span.size, 1)) if span is not None else None


def _set_like(block: Block, label: Line) -> bool:
    """`block` is a label of its own set in the type of `label` (a line of three words at
    most, in the same font and size)."""
    return len(block.lines) == 1 and len(block.text.split()) <= 3 \
        and _type_of(block.lines[0]) == _type_of(label) is not None


def _structured(block: Block) -> bool:
    """Whether the block is part of a structured abstract: it holds a label line of its own
    or opens a line with a run-in label ("Background: ...")."""
    return any(_abstract_label(block.lines, k) or re.match(r"[A-Z][A-Za-z ]{2,30}:\s", line.text)
               for k, line in enumerate(block.lines))


def _abstract_label(lines: list[Line], k: int) -> bool:
    """Line k is a structured abstract's label on a line of its own ("BACKGROUND", "METHODS"):
    a word or three set smaller than the text that follows it in the same block. A section
    heading is never smaller than the text."""
    return k + 1 < len(lines) and len(lines[k].text.split()) <= 3 \
        and lines[k].size < lines[k + 1].size - 0.3


def _until_link(lines: list[Line]) -> tuple[list[str], bool]:
    """Line texts up to a line that is only a link (a code URL printed under the abstract), a
    copyright notice, or a keywords line or section heading the text layer put in the
    abstract's block; and whether one of these ended the text."""
    out: list[str] = []
    for k, line in enumerate(lines):
        text = line_text(line, drop_markers=True)
        if k + 1 < len(lines) and broken_label(line, lines[k + 1]):
            out.append(re.sub(r"\s*\S+\s*$", "", text))  # "... magnitude. Key" / "words: ..."
            return out, True
        bare = text.strip(" \ufffd*†0123456789")
        if out and not out[-1].endswith(":") and LINK_ONLY.fullmatch(bare):
            return out, True
        if out and k and len(bare) == 1 and bare.isupper() \
                and line.size >= 1.8 * lines[k - 1].size:
            return out, True  # a drop cap: the text after the abstract opens with it
        # A line that opens in lower case under one that ends no sentence goes on with that
        # sentence ("... to assess their / significance. Furthermore"): no heading.
        runs_on = text[:1].islower() and bool(out) and not out[-1].rstrip().endswith((".", ":"))
        if not runs_on and (KEYWORD_HEAD.match(text)
                            or (STOP_HEAD.match(text) and not _abstract_label(lines, k))):
            return out, True
        notice = _COPYRIGHT_NOTICE.search(text)
        if notice and (out or notice.start() > 0):
            # "... confirm this conclusion. © 2011 American Institute of Physics.": the
            # publisher's notice closes the abstract.
            if text[:notice.start()].strip():
                out.append(text[:notice.start()].strip())
            return out, True
        if _abstract_label(lines, k) and text[:1].isupper() and not text.endswith(":"):
            text += ":"  # "BACKGROUND" over its text reads "BACKGROUND: ..."
        start = keyword_label_start(line)
        if start:  # the keywords run in after the abstract's last sentence
            out.append(line.text[:start].strip())
            return out, True
        out.append(text)
    return out, False


def _block_below(page: Page, index: int) -> int:
    """Index of the block to read after a heading: the next one under it (column mix-ups)."""
    head = page.blocks[index]
    for offset, block in enumerate(page.blocks[index + 1:index + 5], start=index + 1):
        overlaps = block.bbox[0] < head.bbox[2] and block.bbox[2] > head.bbox[0]
        # A short paragraph under a centred heading may not reach under it; it still starts
        # close beside its edge (not in a margin column of its own).
        aside = max(block.bbox[0] - head.bbox[2], head.bbox[0] - block.bbox[2], 0.0)
        close_under = block.column == head.column and aside < 2 * head.size \
            and 0 <= block.bbox[1] - head.bbox[3] < head.size \
            and bool(re.search(r"[^\W\d_]{2}", block.text))
        if block.bbox[1] >= head.bbox[1] and (overlaps or close_under):
            return offset - 1
    return index


def _following_lines(page: Page, start: int) -> list[Line]:
    """The lines of the first block of text after `start` (of the next two: a short label may
    come first); not of both, whose sizes could tie (the abstract, then small addresses)."""
    for block in page.blocks[start + 1:start + 3]:
        if any(len(line.text) > 20 for line in block.lines):
            return block.lines
    return []


def _content_size(lines: list[Line]) -> float | None:
    sizes = [round(line.size, 1) for line in lines if len(line.text) > 20]
    return max(set(sizes), key=sizes.count) if sizes else None


def _collect_paragraphs(page: Page, start: int, size: float, column: int,
                        words: int, label: Line | None = None) -> list[str]:
    out: list[str] = []
    previous = page.blocks[start - 1] if start > 0 else None
    # A label set apart from the text by its type ends the abstract when it comes again.
    styled = label is not None and start < len(page.blocks) \
        and _type_of(label) != _type_of(page.blocks[start].lines[0])
    for block in page.blocks[start:]:
        text = block.text
        if not text.strip():
            continue
        first = block.lines[0].text
        if styled and out and label is not None and _set_like(block, label):
            break  # a label in the abstract label's own type: another language's abstract
        # A heading set smaller than its text is a structured abstract's label only after
        # an abstract that has labels (Science Advances: "INTRODUCTION" over the text).
        label_like = _abstract_label(block.lines, 0) and (
            previous is None or _structured(previous)
            # (right under the "Abstract" heading: the first label of a structured abstract)
            or (len(previous.lines) == 1 and len(previous.text.split()) <= 3))
        if (STOP_HEAD.match(first) and not label_like) \
                or NUMBERED_HEAD.match(first) or _bar_keywords(block) \
                or KEYWORD_HEAD.match(first) or OTHER_ABSTRACT_HEAD.match(first):
            break  # (the last: the abstract again, in another language)
        if re.fullmatch(r"\d+", text.strip()) and previous is not None \
                and block.bbox[2] < previous.bbox[0]:
            continue  # a draft's line number in the margin, left of the text
        if re.fullmatch(r"[\divx]+", text.strip(), re.I) or URL.match(text.strip(" \ufffd")):
            break
        if abs((_content_size(block.lines) or block.size) - size) > 0.7:
            break
        # A jump up into the next column ends the abstract, unless a sentence runs on there.
        ended = not out or bool(re.search(r"[.!?:)\]]\W*$", out[-1]))
        # So does a blank of two lines or more under it: the text starts there without a
        # heading (letters, communications).
        if previous is not None and block.column == previous.column and words >= 30 \
                and block.bbox[1] - previous.bbox[3] > 2.0 * size:
            break
        if previous is not None and block.column != column and column != -1 \
                and block.bbox[1] < previous.bbox[1] and words > 60 and ended:
            break
        # So does a block beside the last one, to its right, when the labels missed the
        # columns (every block "column 0" under a grid of author blocks).
        if previous is not None and block.bbox[0] >= previous.bbox[2] - 2 and words > 60 \
                and ended and out:
            break
        # So does text set wider on both sides than the abstract's indented measure (the
        # abstract environment of most classes), heading or not.
        if previous is not None and ended and out and len(previous.lines) >= 2 \
                and block.bbox[0] < previous.bbox[0] - size \
                and block.bbox[2] > previous.bbox[2] + size:
            break
        kept, ended = _until_link(block.lines)
        out.extend(kept)
        if ended:
            break
        words += len(text.split())
        previous = block
        if words > 700:
            break
    return out


# --- keywords ----------------------------------------------------------------------------------


def keyword_label_start(line: Line) -> int | None:
    """Where a keyword label starts in the line's text: 0 when the line opens with it, or the
    offset of a bold or italic label run in after the sentence that ends the abstract ("...
    regime. Keywords: ..."); None when the line has no label."""
    if KEYWORD_HEAD.match(line.text):
        return 0
    offset = 0
    text = "".join(span.text for span in line.spans)
    lead = len(text) - len(text.lstrip())
    for index, span in enumerate(line.spans):
        # The label may be set in bold or italic, and may take several spans ("Key words:").
        if index and (span.is_bold or span.is_italic) and span.text.strip() \
                and re.search(r"[.!?]\s*$", text[:offset]) \
                and KEYWORD_HEAD.match(text[offset:].lstrip()):
            return offset - lead + len(span.text) - len(span.text.lstrip())
        offset += len(span.text)
    return None


_LABEL_TAIL = re.compile(r"^(?:words?|terms)\b\s*[.:—–-]+\s*", re.I)
"""The second word of a run-in "Key words:" / "Index Terms:" label that a line break split."""


def broken_label(previous: Line, line: Line) -> re.Match[str] | None:
    """A keyword label the line broke: "Key" (or "Key-", hyphenated) ends a line after a
    sentence (the abstract's last), "words:" opens the next. The match covers the label's part
    on `line`."""
    if not re.search(r"(?:^|[.!?]\s+)(?:key|index)-?\s*$", previous.text, re.I):
        return None
    return _LABEL_TAIL.match(line.text)


_NEXT_LABEL = re.compile(r"^\s*[A-Z][\w-]*(?: [\w-]+){0,3}\s*:\s")
"""A run-in label opening the line under a keyword list ("MSC2020 subject classifications: ",
"AMS Classification: "): the list ended above it."""


_FOREIGN_KEYWORDS = re.compile(
    r"mots[- ]cl|palabras|palavras|schl[üu]ssel|parole chiave", re.I)
"""Keyword labels of other languages: a paper that prints English keywords too is indexed by
those (as by its English abstract)."""


def _keywords(pages: list[Page], vocab: Vocabulary) -> list[str]:
    foreign: list[str] = []
    for words, label in _keyword_lists(pages, vocab):
        if not _FOREIGN_KEYWORDS.match(label):
            return words
        foreign = foreign or words
    return foreign


def _keyword_lists(pages: list[Page], vocab: Vocabulary) -> Iterator[tuple[list[str], str]]:
    """Every labelled keyword list of the pages, in reading order, with its label."""
    for page in pages:
        for b, block in enumerate(page.blocks):
            for i, line in enumerate(block.lines):
                start = keyword_label_start(line)
                match = KEYWORD_HEAD.match(line.text[start:]) if start is not None else None
                if not match and i:
                    start, match = 0, broken_label(block.lines[i - 1], line)
                if not match:
                    continue
                parts = [line.text[start + match.end():]]
                size = line.size
                for follow in block.lines[i + 1:]:
                    if len(parts) == 1 and not parts[0].strip() and abs(follow.size - size) <= 3:
                        size = follow.size  # a label alone, set smaller: its keywords' size
                    if STOP_HEAD.match(follow.text) or abs(follow.size - size) > 1.5 \
                            or _note_line(follow.text) or _NEXT_LABEL.match(follow.text):
                        break  # (the last: another run-in label under the list)
                    parts.append(follow.text)
                below = _block_below(page, b) + 1  # a label alone: the block under it
                held = b  # the block whose last line the keywords end on
                if not parts[0].strip() and len(parts) == 1 and below < len(page.blocks):
                    parts = [ln.text for ln in page.blocks[below].lines]
                    held = below
                    size = page.blocks[below].size
                if held + 1 < len(page.blocks) and not parts[-1].rstrip().endswith("."):
                    # A keyword line that wraps into a block of its own right under it.
                    last = page.blocks[held].lines[-1]
                    nxt = page.blocks[held + 1]
                    # A line ending with a separator, or filled to the column's edge (its
                    # last keyword wraps), goes on for sure: allow a double-spaced blank.
                    column = page.blocks[held].column
                    edge = max(other.bbox[2] for other in page.blocks if other.column == column)
                    goes_on = re.search(r"[,;·•]\s*$", parts[-1]) or (
                        nxt.lines and nxt.lines[0].text.strip() and not first_word_fits(
                            edge - last.bbox[2], nxt.lines[0].text,
                            nxt.lines[0].bbox[2] - nxt.lines[0].bbox[0], spare=1))
                    reach = 1.6 if goes_on else 0.8
                    # (Line boxes of tight leading overlap: a negative gap is no gap.)
                    if nxt.lines and -0.25 * size <= nxt.bbox[1] - last.bbox[3] < reach * size \
                            and abs(nxt.size - size) <= 0.5 and len(nxt.lines) <= 2 \
                            and not STOP_HEAD.match(nxt.lines[0].text) \
                            and not NUMBERED_HEAD.match(nxt.lines[0].text) \
                            and not _note(nxt):
                        parts += [ln.text for ln in nxt.lines]
                text = fix_accents(squash(vocab.join(parts)))
                # Separators: commas, semicolons, middle dots and bullets (which some text
                # layers turn into " . "), dashes between spaces.
                separators = r"[,;·•|]|\s[—–]\s" + (r"|\s\.\s" if " . " in text else "")
                if re.search(r"\s[—–]\s", text):
                    # Keywords parted by dashes (AAS, MNRAS) hold commas of their own:
                    # "minor planets, asteroids: general — surveys".
                    separators = r"\s[—–]\s|;"
                words = [squash(w).strip(" .;") for w in re.split(separators, text)]
                lines = [squash(fix_accents(p)).strip(" .;") for p in parts if p.strip()]
                if len(words) == 1 and len(lines) >= 2 and all(
                        len(ln.split()) <= 6 for ln in lines):
                    # A keyword box with one keyword per line and no separators.
                    words = lines
                gaps = [w for p in parts for w in re.split(r"(?<=\S)\s{2,}(?=\S)", p.strip())]
                if len(words) == 1 and len(gaps) >= 2:
                    # Keywords parted by gaps: separators the text layer has no character for.
                    words = [squash(fix_accents(w)).strip(" .;") for w in gaps]
                words = [w for w in words if w and len(w) < 80]
                if words:
                    yield words, match.group(0)


_BAR_SEPARATOR = re.compile(r"\s[|·•]\s")


def _unlabelled_keywords(page: Page, title_bottom: float) -> list[str]:
    """Keywords printed with no label, as some journals set them under the abstract: a line or
    two of three or more short phrases parted by vertical bars or middle dots, no digits and
    no sentence in them."""
    for block in page.blocks:
        if block.bbox[1] < title_bottom or block.bbox[1] > page.height * 0.6:
            continue
        parts = _bar_keywords(block)
        if parts:
            return parts
    return []


def _bar_keywords(block: Block) -> list[str]:
    """The phrases of a block of unlabelled keywords (a line or two of three or more short
    phrases parted by vertical bars or middle dots, no digits and no sentence), else []."""
    if len(block.lines) > 2 or block.role not in ("body", ""):
        return []
    text = squash(join_lines([line.text for line in block.lines]))
    parts = [part.strip() for part in _BAR_SEPARATOR.split(text)]
    if len(parts) >= 3 and not re.search(r"\d|[.;!?]", text) and all(
            part and len(part.split()) <= 5 for part in parts):
        return parts
    return []


def _note(block: Block) -> bool:
    return _note_line(block.lines[0].text) or bool(EMAIL.search(block.text))


def _note_line(text: str) -> bool:
    """A note, not more keywords: it opens with a marker symbol or gives an e-mail address
    ("*Corresponding author. E-mail: ...")."""
    opening = text.strip()[:1]
    return bool(opening and opening in MARKER_SYMBOLS) or bool(EMAIL.search(text))


# --- bibliographic facts -----------------------------------------------------------------------


_ARXIV_NOTE = re.compile(r"^\W*(?:[A-Za-z]+\s+){0,3}arXiv\s*:", re.I)
"""A front-matter line stating the paper's arXiv id ("Supersedes arXiv:2106.08114.",
"Preprint arXiv:..."), not a citation in a sentence."""


def _front_matter_arxiv(page: Page) -> re.Match[str] | None:
    """The arXiv id a note line above the first section gives, if one does."""
    for line in page.lines():
        if _FIRST_SECTION.match(line.text) or re.match(r"^\W*introduction\s*$", line.text, re.I):
            return None
        if _ARXIV_NOTE.match(line.text):
            return ARXIV.search(line.text)
    return None


def _bibliography(doc: ParsedDocument, page: Page, title_bottom: float, header: Header) -> None:
    margin = " \n".join(page.margin_text)
    edge_lines = [line.text for line in page.lines()
                  if line.bbox[3] <= title_bottom - 5 or line.bbox[1] > page.height * 0.88
                  or line.bbox[3] < page.height * 0.1]
    page_lines = [line.text for line in page.lines()]
    stamp = ARXIV.search(margin) or ARXIV.search("\n".join(edge_lines)) \
        or _front_matter_arxiv(page)
    if stamp:
        header.arxiv_id = stamp.group(1)
        when = _date(margin[stamp.end():stamp.end() + 40] if stamp.string is margin else "")
        if when:
            header.publish_date, header.year = when, when.year
    meta_text = " ".join(doc.metadata.get(k, "") for k in ("subject", "keywords"))
    for source in ("\n".join(page_lines), meta_text, _cite_this(doc)):
        doi = IDS.find_doi(source)
        if doi:
            header.doi = doi
            break
    # The journal's own footer is set in the bottom margin or in small type; the last lines of
    # running text (which may name a journal and a year in passing) are not a venue.
    body = doc.body_font_size
    footer = [line.text for line in list(page.lines())[-6:]
              if line.bbox[1] > page.height * 0.8 or line.size < body * 0.9]
    header.venue = _venue(edge_lines + footer)
    licence = [squash(line.text) for block in page.blocks for line in block.lines
               if LICENSE.search(line.text)]
    licence += [text for text in page.margin_text if LICENSE.search(text)]
    if licence:
        header.license = licence[0][:300]
    if header.year is None:
        header.year, date_found = _year(page, edge_lines, header.venue)
        header.publish_date = header.publish_date or date_found


def _cite_this(doc: ParsedDocument) -> str:
    for page in doc.pages[-2:]:
        for block in page.blocks:
            if re.search(r"cite this article", block.text, re.I):
                return block.text
    return ""


_ISO_DATE = re.compile(
    r"(?<![\d/.])(19[5-9]\d|20[0-4]\d)([-/])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
"""A date written year first, "2017-12-08" or "2021/03/02"."""


def _date(text: str, day_required: bool = True) -> date | None:
    match = DATE.search(text)
    iso = _ISO_DATE.search(text)
    if iso and (not match or iso.start() < match.start()):  # "Accepted 2017-12-08"
        try:
            return date(int(iso.group(1)), int(iso.group(3)), int(iso.group(4)))
        except ValueError:
            return None
    if not match or (day_required and match.group(7)):
        return None
    if match.group(1):
        day, month, year = match.group(1), match.group(2), match.group(3)
    elif match.group(4):
        month, day, year = match.group(4), match.group(5), match.group(6)
    else:
        month, day, year = match.group(7), "1", match.group(8)
    try:
        return date(int(year), MONTHS[month[:3].lower()], int(day))
    except ValueError:
        return None


def _venue(lines: list[str]) -> str | None:
    for text in lines:
        text = squash(text)
        if len(text) < 8 or EMAIL.search(text) or ARXIV.search(text):
            continue
        if re.match(r"^(©|copyright|licen|this (is|work)|doi|https?:)", text, re.I):
            continue
        if VENUE.search(text) and (YEAR.search(text) or re.search(r"proceedings|journal", text,
                                                                   re.I)):
            return text
    return None


def _year(page: Page, edge_lines: list[str], venue: str | None) -> tuple[int | None, date | None]:
    texts = [squash(line.text) for line in page.lines()]
    for text in edge_lines + texts:
        # A citation line of the article itself: "Psychopharmacology (2017) 234:421–426",
        # "Ann Intern Med. 2004;140:910-922", "Sol. Energy Mater. 137 (2015) 1–5".
        cited = re.search(r"\((19[5-9]\d|20[0-4]\d)\)\s*\d+\s*[:(,]"
                          r"|\b(19[5-9]\d|20[0-4]\d)\s*;\s*\d+\s*[:(]\s*\d"
                          r"|\b\d+\s*[-–]\s*\d+\s*\((19[5-9]\d|20[0-4]\d)\)"
                          r"|\b\d{1,4}\s*\((19[5-9]\d|20[0-4]\d)\)\s*\d+\s*[-–]\s*\d+\b", text)
        if cited:
            return int(next(g for g in cited.groups() if g)), None
    for i, text in enumerate(texts):
        # How to cite the article, author-date: "Citation: A. Lee (2011). Title. Journal."
        if re.match(r"(?:citation|cite (?:this article|as)|to cite this article|how to cite)\b",
                    text, re.I):
            year = re.search(r"\((19[5-9]\d|20[0-4]\d)\)", " ".join(texts[i:i + 3]))
            if year:
                return int(year.group(1)), None
    published = _dated(texts + page.margin_text, r"published|posted|available online|publication")
    if published:
        return published.year, published
    if venue and YEAR.search(venue):
        return int(YEAR.findall(venue)[-1]), None
    for text in edge_lines:
        if re.search(r"volume|issue|vol\.", text, re.I) and YEAR.search(text):
            return int(YEAR.findall(text)[-1]), None
    for text in edge_lines + texts:
        # The issue's line under its ISSN: "ISSN: 0008-4085 / 2003 / pp. 2-7".
        if re.search(r"\bISSN\b", text) and YEAR.search(text):
            return int(YEAR.findall(text)[-1]), None
    for text in texts:
        # "Copyright c 2009": a circled c drawn around a plain "c" comes out as the letter.
        # "© The Author(s) 2007": the holder may come before the year.
        match = re.search(r"(©|copyright)\s*(?:©\s*|c\u20dd?\s*|\(c\)\s*)?"
                          r"(?:the authors?(?:\(s\))?,?\s*)?(\d{4})", text, re.I)
        if match:
            return int(match.group(2)), None
    for pattern in (r"accepted|received", r"dated|\bdate\s*:"):  # amsart's "Date: May 2, 2022."
        when = _dated(texts, pattern)
        if when:
            return when.year, None
    when = _dated(texts + page.margin_text, r"submitted|draft version|preprint", day=False)
    if when:
        return when.year, None
    for text in texts[:40] + edge_lines:
        # A line that is only a date, as \date{} prints it under the authors or a preprint's
        # footer beside "Preprint submitted to ...".
        when = _date(text, day_required=False)
        if when and len(text) <= 30:
            return when.year, when
    for text in edge_lines:
        if VENUE.search(text) and YEAR.search(text):
            return int(YEAR.findall(text)[-1]), None
    for text in edge_lines:
        # A conference's acronym with its year in the running head: "IPAC2018, Vancouver".
        glued = re.search(r"\b[A-Z]{2,}['’-]?((?:19[5-9]|20[0-4])\d)\b", text)
        if glued:
            return int(glued.group(1)), None
    return None, None


def _dated(texts: list[str], pattern: str, day: bool = True) -> date | None:
    """The date printed right after a label ("Received 27 December 2010; accepted ...");
    with `day` False a month and year will do ("Preprint submitted ... May 2016")."""
    for text in texts:
        for label in re.finditer(pattern, text, re.I):
            when = _date(text[label.end():label.end() + 40], day)
            if when:
                return when
    return None


__all__ = ["Header", "extract_header"]
