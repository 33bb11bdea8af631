"""The reference list: found, split into entries, and each entry parsed."""

from __future__ import annotations

import itertools
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

from paperflow.identifiers import ARXIV_IN_TEXT, ARXIV_OLD_IN_TEXT, DOI, URL, find_doi
from paperflow.layout import (
    PAGE_FURNITURE,
    PAGE_NUMBER,
    REFERENCES_HEADING,
    first_word_fits,
    is_bold_line,
    margin_key,
    running_texts,
)
from paperflow.models import Reference
from paperflow.pdf import Line, Page, ParsedDocument

_CAPTION_ROW = re.compile(r"^(?:Figure|FIGURE|Fig\.|FIG\.|Table|TABLE)\s*\d+[.:]\s+[A-Z(]")
"""A figure's or table's caption: never an entry, nor any part of one."""
_STOP_RE = re.compile(
    r"^(?:[A-Z]\.?\s+|\d+\.?\s+)?(?:appendix|appendices|supplementary|supplemental|"
    r"supporting\s+information|acknowledg|author\s+contributions?|competing\s+interests|"
    r"additional\s+information|conflicts?\s+of\s+interest|data\s+availability|"
    r"author\s+information|figure\s+legends|tables?\s*$|received:|citation:|copyright\b)",
    re.IGNORECASE,
)
_MARKERS = {
    "bracket": re.compile(r"^\[(\d{1,4})\]\s*"),
    "paren": re.compile(r"^\((\d{1,4})\)\s*"),
    "half_paren": re.compile(r"^(\d{1,4})\)\s*"),  # "1) A. Author, ..." (JPSJ, some physics)
    # "51. 4WARN", "98. 121 Cities Mortality ...": an entry may open with a number of its own.
    "dot": re.compile(r"^(\d{1,4})\.\s+(?=\D|\d*[A-Za-z]|\d+\s+[A-Z][a-z])"),
    "bare": re.compile(r"^(\d{1,4})\s+(?=[^\W\d_])"),
}
_PARTICLES = ("van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "la", "le",
              "ten", "ter", "dos", "das", "al-", "el-", "d'", "d’", "bin", "ibn")
_NAME_START_RE = re.compile(r"^[^\W\d_][\w'’\-.]*(?:[\s,]|$)")
_NAMES_FIRST_RE = re.compile(r"^(?:[A-Z]\.[\s\-]|[^\W\d_][\w'’\-]+,\s)")
"""An entry opening with an author: an initial ("O. Smith") or a surname and a comma."""
_YEAR_RE = re.compile(r"(?<![\d/.:–\-])((?:19|20)\d{2})[a-z]?(?![\d/–\-])")


@dataclass(slots=True)
class _Row:
    """One printed line with the position facts the splitter needs."""

    page: int
    column: int
    x0: float
    y0: float
    size: float
    bold: bool
    text: str
    x1: float = 0.0
    edge: float = 0.0
    """Where the justified lines of this row's page column end (0 when none are)."""


def extract_references(doc: ParsedDocument) -> list[Reference]:
    """Find the reference section, split it into entries and parse each one."""
    return [parse_reference(text) for text in reference_entries(doc)]


def reference_entries(doc: ParsedDocument) -> list[str]:
    """The reference list as raw entry strings, one line each."""
    rows = _rows(doc)
    best: list[str] = []
    # A word like "Reference" can also head a table column: keep the heading with most entries.
    for start in _heading_starts(rows):
        entries = _split_section(rows[start + 1:])
        if len(entries) >= len(best):
            best = entries
    if best:
        return best
    start = _headless_start(rows, doc.body_font_size)
    if start is None:
        return []
    return _split_section(rows[start:])


def _rows(doc: ParsedDocument) -> list[_Row]:
    """Every line in reading order, without running headers, footers and page numbers."""
    repeated = running_texts(doc)
    rows: list[_Row] = []
    known_edges: dict[tuple[int, int], float] = {}
    for page in doc.pages:
        lines = _ordered_lines(page)
        if not lines:
            continue
        top = min(line.bbox[1] for _, line in lines)
        bottom = max(line.bbox[3] for _, line in lines)
        # A page of one-line entries alone takes the edge its columns had on earlier pages.
        edges = {column: edge for (columns, column), edge in known_edges.items()
                 if columns == page.columns}
        edges.update(_justified_edges(lines))
        known_edges.update({(page.columns, column): edge for column, edge in edges.items()})
        for column, line in lines:
            text = _with_entry_number(line)
            y0, y1 = line.bbox[1], line.bbox[3]
            in_margin = y1 < 0.12 * page.height or y0 > 0.88 * page.height
            at_edge = y0 <= top + 3 or y1 >= bottom - 3
            if PAGE_NUMBER.match(text) and (at_edge or in_margin):
                continue
            if in_margin and margin_key(text) in repeated:
                continue
            rows.append(_Row(page.number, column, line.bbox[0], y0, _size(line),
                             is_bold_line(line), text, line.bbox[2], edges.get(column, 0.0)))
    return rows


def _size(line: Line) -> float:
    """The line's type size, with letters set as small capitals counted at the size of the
    capital they follow ("H" + "ORGAN" a size smaller: "HORGAN" in USENIX and ACM lists), so a
    line of small-capital names is not a line of smaller type."""
    weights: Counter[float] = Counter()
    previous = None
    for span in line.spans:
        text = span.text.strip()
        if not text:
            continue
        size = round(span.size, 1)
        follows_capital = previous is not None and previous.text[-1:].isupper()
        if follows_capital and previous is not None and text.replace("-", "").isupper() \
                and 0.7 * previous.size <= span.size <= 0.9 * previous.size:
            size = round(previous.size, 1)
        weights[size] += len(text)
        previous = span
    return max(weights, key=lambda key: weights[key]) if weights else line.size


def _justified_edges(lines: list[tuple[int, Line]]) -> dict[int, float]:
    """Per column, the right edge shared by three or more long lines (justified text): a list
    of one-line entries may end well short of it on a page that also holds the text above."""
    ends: dict[int, Counter[int]] = {}
    for column, line in lines:
        if len(line.text) > 40:
            ends.setdefault(column, Counter())[round(line.bbox[2])] += 1
    edges: dict[int, float] = {}
    for column, counts in ends.items():
        edge, count = counts.most_common(1)[0]
        if count >= 3:
            edges[column] = float(edge)
    return edges


def _with_entry_number(line: Line) -> str:
    """The line's text, with a superscript entry number set apart ("¹M. Bode" -> "1 M. Bode"),
    as endnote lists print them."""
    text = re.sub(r"\s+", " ", line.text).strip()
    spans = [span for span in line.spans if span.text.strip()]
    if len(spans) > 1 and re.fullmatch(r"\d{1,4}", spans[0].text.strip()) and (
        spans[0].is_superscript or spans[0].size < 0.85 * spans[1].size
    ):
        number = spans[0].text.strip()
        text = f"{number} {text[len(number):].lstrip()}"
    return text


def _ordered_lines(page: Page) -> list[tuple[int, Line]]:
    """The page's lines in reading order, with columns the layout pass may have missed.

    A reference list that fills only part of a second column has too few lines for the page's
    column detection, and sorting by height alone would interleave the two columns.
    """
    lines = [(block.column, line) for block in page.blocks
             if block.role not in PAGE_FURNITURE
             for line in block.lines if line.text]
    if page.columns > 1 or len(lines) < 6:  # three lines a side at least
        return lines
    wide = [line for _, line in lines if len(line.text) > 3]
    for step in range(int(0.3 * page.width), int(0.7 * page.width), 2):
        x = float(step)
        if any(line.bbox[0] < x < line.bbox[2] for line in wide):
            continue
        left = [line for line in wide if line.bbox[2] <= x]
        right = [line for line in wide if line.bbox[0] >= x]
        if min(len(left), len(right)) >= 3:
            split = [(int(line.bbox[0] >= x), line) for _, line in lines]
            return sorted(split, key=lambda item: (item[0], item[1].bbox[1], item[1].bbox[0]))
    return lines


def _heading_starts(rows: list[_Row]) -> list[int]:
    return [i for i, row in enumerate(rows)
            if len(row.text) < 40 and REFERENCES_HEADING.match(row.text)]


def _headless_start(rows: list[_Row], body_size: float) -> int | None:
    """Where a list with no heading starts: the "[1]" (or, in type smaller than the body, the
    "1" or "1.") opening the longest numbered run; at body size, a "1." run whose entries read
    as references (names first, a year in each) and that runs on to the end of the paper."""
    best, best_len = None, 4
    for i, row in enumerate(rows):
        for name, marker in _MARKERS.items():
            match = marker.match(row.text)
            if not match or match.group(1) != "1":
                continue
            length = _chain_length(rows[i:], marker, row.size)
            if name in ("bracket", "dot") and 2 <= length <= best_len and best is None \
                    and _short_list_at_end(rows[i:], marker, row.size, length,
                                           names_first=name == "dot"):
                best = i  # a short "[1]"- or "1."-list (letters) closing the paper
                continue
            if length <= best_len:
                continue
            if name == "bracket" or row.size < 0.95 * body_size or (
                    name == "dot" and _list_of_references(rows[i:], marker, row.size, length)):
                best, best_len = i, length
    return best


def _list_of_references(rows: list[_Row], marker: re.Pattern[str], size: float,
                        length: int) -> bool:
    """Whether a numbered run at body size is a reference list: nearly every entry opens with a
    name and holds a year, and the run takes up the end of the paper (an enumeration in the
    text is followed by more text)."""
    entries = _numbered_entries(rows, marker, size)
    if len(entries) < 5:
        return False
    cited = sum(1 for entry in entries
                if _looks_like_entry_start(marker.sub("", entry, count=1))
                and _YEAR_RE.search(entry))
    last = _row_of_entry(rows, marker, length)
    return cited >= 0.8 * len(entries) and len(rows) - last <= 12 + len(rows) // 20


def _short_list_at_end(rows: list[_Row], marker: re.Pattern[str], size: float,
                       length: int, names_first: bool = False) -> bool:
    """A list of two to four numbered entries that ends the paper, each citing a year (and,
    for "1." markers, which also number steps and claims in a text, each opening with a
    name)."""
    entries = _numbered_entries(rows, marker, size)
    last = _row_of_entry(rows, marker, length)
    return len(entries) == length and all(_YEAR_RE.search(entry) for entry in entries) \
        and len(rows) - last <= 8 and (not names_first or all(
            _NAMES_FIRST_RE.match(marker.sub("", entry, count=1)) for entry in entries))


def _row_of_entry(rows: list[_Row], marker: re.Pattern[str], number: int) -> int:
    """The index of the last row that opens entry `number`."""
    return max(i for i, row in enumerate(rows)
               if (m := marker.match(row.text)) and int(m.group(1)) == number)


def _chain_length(rows: list[_Row], marker: re.Pattern[str], size: float) -> int:
    expected = 1
    for row in rows:
        match = marker.match(row.text)
        if match and _next_number(int(match.group(1)), expected, marker) \
                and _same_size(row.size, size):
            expected = int(match.group(1)) + 1
    return expected - 1


def _next_number(number: int, expected: int, marker: re.Pattern[str]) -> bool:
    """The entry number that continues the list: the expected one, or one past it when an
    entry's number was lost (delimited markers only; a bare number may be any digit)."""
    return number == expected or (number == expected + 1 and expected > 1
                                  and marker is not _MARKERS["bare"])


def _same_size(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.6, 0.07 * b)


def _split_section(rows: list[_Row]) -> list[str]:
    """Entries of the section that starts at `rows[0]`, numbered or author-year."""
    if not rows:
        return []
    ref_size = _reference_size(rows)
    best_name, best_len = None, 0
    for name, marker in _MARKERS.items():
        length = _chain_length(rows, marker, ref_size)
        if length > best_len:
            best_name, best_len = name, length
    # The list's own numbering is the one its first entry opens with: a longer run of other
    # numbers further on is another list (a collaboration's institutes after the references).
    opening = next((name for row in rows[:3] for name, marker in _MARKERS.items()
                    if (match := marker.match(row.text)) and int(match.group(1)) == 1), None)
    if opening is not None and opening != best_name:
        length = _chain_length(rows, _MARKERS[opening], ref_size)
        if length >= 3:
            best_name, best_len = opening, length
    hanging = _author_year_entries(rows, ref_size)
    if best_name is not None and best_len >= 3 and best_len >= 0.5 * len(hanging):
        return _numbered_entries(rows, _MARKERS[best_name], ref_size)
    return hanging


def _reference_size(rows: list[_Row]) -> float:
    """The font size of the list: the most common size among its first lines."""
    sizes = Counter(round(row.size, 1) for row in rows[:8] if len(row.text) > 10)
    return sizes.most_common(1)[0][0] if sizes else rows[0].size


def _pitch(rows: list[_Row], ref_size: float) -> float:
    """Typical baseline-to-baseline distance between consecutive lines of the list."""
    gaps = [b.y0 - a.y0 for a, b in itertools.pairwise(rows)
            if a.page == b.page and a.column == b.column and 0 < b.y0 - a.y0 < 4 * ref_size]
    return statistics.median(gaps) if gaps else 1.3 * ref_size


def _is_heading(row: _Row, ref_size: float) -> bool:
    """A section heading after the list: appendix, acknowledgements, or larger/bold text."""
    text = row.text
    if len(text) > 80 or text.endswith(","):
        return False
    if _STOP_RE.match(text) and (row.bold or row.size >= ref_size + 0.5 or text.isupper()
                                 or len(text) < 30 or re.match(r"^[^:.]{3,60}:\s", text)):
        return True
    if row.size >= ref_size + 1.5 and re.match(r"^[\dA-Z]", text):
        return True
    return row.bold and row.size >= ref_size + 0.8 and bool(re.match(r"^[\dA-Z]", text))


def _numbered_entries(rows: list[_Row], marker: re.Pattern[str], ref_size: float) -> list[str]:
    """Entries opened by consecutive numbers; other lines of the list's size continue them."""
    pitch = _pitch(rows, ref_size)
    entries: list[list[_Row]] = []
    expected = 1
    closed = True
    for row in rows:
        match = marker.match(row.text)
        if match and _next_number(int(match.group(1)), expected, marker) \
                and _same_size(row.size, ref_size):
            entries.append([row])
            expected = int(match.group(1)) + 1
            closed = False
            continue
        if closed or not _same_size(row.size, ref_size):
            # Footnotes and body text in other sizes are skipped without ending the entry.
            continue
        if _is_heading(row, ref_size) or _CAPTION_ROW.match(row.text):
            closed = True
            continue
        if _far_below(entries[-1][-1], row, pitch, factor=1.9):
            closed = True
            continue
        entries[-1].append(row)
    return [_join(entry) for entry in entries]


def _far_below(prev: _Row, row: _Row, pitch: float, factor: float = 2.6) -> bool:
    """Whether `row` cannot continue the entry ending at `prev`: a wide gap in the same column,
    or a jump to another column that does not go back up to its top (footers, side boxes)."""
    if prev.page != row.page:
        return False
    if prev.column != row.column:
        return row.y0 > prev.y0 - pitch
    return row.y0 - prev.y0 > factor * pitch or row.y0 < prev.y0 - 2 * pitch


def _author_year_entries(rows: list[_Row], ref_size: float) -> list[str]:
    """Entries of a hanging-indent list: an entry starts where a line sits at the left edge."""
    pitch = _pitch(rows, ref_size)
    section: list[_Row] = []
    for row in rows:
        if _is_heading(row, ref_size) or _CAPTION_ROW.match(row.text):
            break  # (figures and tables printed after the list: AASTeX)
        section.append(row)
    lefts = _column_lefts(section, ref_size)
    rights: dict[tuple[int, int], float] = {}
    for row in section:
        key = (row.page, row.column)
        rights[key] = max(rights.get(key, 0.0), row.x1, row.edge)
    entries: list[list[_Row]] = []
    closed = True
    for row in section:
        if not _same_size(row.size, ref_size):
            continue
        left, indented = lefts.get((row.page, row.column), (row.x0, False))
        at_left = row.x0 <= left + 1.5
        gap = entries and _far_below(entries[-1][-1], row, pitch)
        if indented:
            # The hanging indent alone marks an entry: names may be lower case ("pdfplumber.").
            starts = at_left and bool(re.match(r"^[\w“\"'‘(]", row.text))
        else:
            prev = entries[-1][-1] if entries else None
            starts = _looks_like_entry_start(row.text) and (
                prev is None or prev.page != row.page or prev.column != row.column
                or row.y0 - prev.y0 > 1.35 * min(pitch, 1.3 * ref_size)
                # The entry above ended short: one entry per line, no indent, no spacing.
                or first_word_fits(rights[(prev.page, prev.column)] - prev.x1, row.text,
                                   row.x1 - row.x0)
            )
        if starts:
            entries.append([row])
            closed = False
        elif not closed and not gap:
            entries[-1].append(row)
        else:
            closed = True
    return [_join(entry) for entry in entries if len(" ".join(r.text for r in entry)) > 15]


def _column_lefts(rows: list[_Row], ref_size: float) -> dict[tuple[int, int], tuple[float, bool]]:
    """Per page column: the x where entries start and whether continuation lines are indented."""
    groups: dict[tuple[int, int], list[float]] = {}
    for row in rows:
        if _same_size(row.size, ref_size):
            groups.setdefault((row.page, row.column), []).append(row.x0)
    indents: list[float] = []
    lefts: dict[tuple[int, int], float] = {}
    for key, xs in groups.items():
        counts = Counter(round(x) for x in xs)
        shared = [x for x, n in counts.items() if n >= 2]
        left = min(shared) if shared else min(xs)
        left = min((x for x in xs if x >= left - 1.5), default=left)
        lefts[key] = left
        indents.extend(x - left for x in xs if 3 <= x - left <= 40)
    typical = statistics.median(indents) if indents else 0.0
    # A hanging indent shows on wrapped entries only: a few consistent indents are enough.
    indented = bool(indents) and typical > 0 and all(abs(i - typical) <= 2 for i in indents)
    if indented:
        # A column holding one wrapped entry has more indented lines than entry starts: its
        # left edge is the line set the list's indent to the left of the others.
        for key, xs in groups.items():
            if abs(lefts[key] - min(xs) - typical) <= 2:
                lefts[key] = min(xs)
    return {key: (left, indented) for key, left in lefts.items()}


def _looks_like_entry_start(text: str) -> bool:
    """Whether a line can open an author-year entry: a capitalised name or an organisation."""
    first = text.split(" ", 1)[0].lower()
    if any(first.startswith(p) for p in _PARTICLES) and len(text) > 3:
        return True
    return bool(_NAME_START_RE.match(text)) and text[:1].isupper() and not re.match(
        r"^[A-Z][a-z]+\s+\d", text
    )


_URL_END_RE = re.compile(r"(?:(?:https?://|doi\.org/|10\.\d{4,9}/)\S*[/\-_:]|www\.)$")


def _join(rows: list[_Row]) -> str:
    """Join an entry's lines into one line, mending line-end hyphens and broken URLs."""
    out = ""
    for row in rows:
        line = row.text
        if not out:
            out = line
        elif re.search(r"[a-z]-$", out) and line[:1].islower():
            out = out[:-1] + line
        elif _URL_END_RE.search(out) or (re.search(r"[A-Z][a-z]*-$", out) and line[:1].isupper()):
            out += line
        else:
            out = f"{out} {line}"
    return re.sub(r"\s+", " ", out).strip()


def parse_reference(raw: str) -> Reference:
    """Parse one entry string into its parts: authors, year, title, venue and identifiers."""
    raw = re.sub(r"\s+", " ", raw).strip()
    # TeX fonts set accents as separate glyphs before the letter ("M ̈uller"): put them back.
    raw = unicodedata.normalize("NFC", re.sub(r"\s?([\u0300-\u036f])(\w)", r"\2\1", raw))
    body = raw
    for marker in _MARKERS.values():
        match = marker.match(body)
        if match:
            body = body[match.end():]
            break
    # Some typesetters put a space before commas and full stops ("Cancer , 12 ,").
    body = re.sub(r"\s+([,.;:])(?=\s|$)", r"\1", body)
    doi = _find_doi(body)
    arxiv_id = _find_arxiv(body)
    url = _find_url(body)
    masked = _mask_identifiers(body)
    authors, end = _scan_names(body)
    year: int | None = None
    rest = body[end:]
    match = _LEADING_YEAR_RE.match(rest)
    if authors and match:
        year, rest = int(match.group(1)), rest[match.end():]
    elif not authors:
        authors, rest, year = _organisation_author(body, masked)
    if year is None:
        year = _find_year(masked)
    # A collaboration named after the authors ("(SENSEI Collaboration)") is not the title.
    rest = re.sub(r"^[\s.,]*\([^()]*\)", "", rest) if re.match(r"^[\s.,]*\([^()\d]*\)", rest) \
        else rest
    title, venue = _title_and_venue(rest)
    return Reference(raw=raw, title=title, authors=authors, year=year, venue=venue, doi=doi,
                     arxiv_id=arxiv_id, url=url)


_UP = "A-ZÀ-ÖØ-ÞĀ-ſ"
_WORD = rf"[{_UP}][\w'’\-]+"
_PARTICLE = r"(?:van|von|de|der|den|del|della|di|da|du|dos|la|le|ten|ter|bin|al|el)"
_INITIALS = rf"(?:[{_UP}][a-z]?\.(?:\s*-?\s*[{_UP}][a-z]?\.)*)"
_NAME_PATTERNS = (
    # "Parsons, J. T." / "Büchler, A.O." / "van der Maaten, L."
    re.compile(rf"(?:{_PARTICLE}\s+)*{_WORD}(?:\s+{_WORD})?,\s*{_INITIALS}(?:,?\s*Jr\.)?"),
    # "Anant K. Agarwal" / "M. Aiello" / "R Manmatha" / "van Stokkum IHM"
    re.compile(rf"(?:(?:{_INITIALS}|[{_UP}]\b|{_WORD}|{_PARTICLE})\s+)+(?:{_WORD})(?=[\s,;:.(]|$)"),
    # "Hu W." / "Ovretveit J"
    re.compile(rf"(?:{_PARTICLE}\s+)*{_WORD}(?:\s+{_WORD})*\s+[{_UP}]{{1,3}}\.?(?=[\s,;:(]|$)"),
)
_SEPARATOR_RE = re.compile(r"\s*(?:,\s*(?:and\s+|&\s*)?|;\s*(?:and\s+)?|\s+and\s+|\s*&\s*)")
_ET_AL_RE = re.compile(r",?\s*et\s+al\.?")
_LEADING_YEAR_RE = re.compile(
    r"^[\s.,:]*\(?((?:19|20)\d{2})[a-z]?\)?(?=[\s.,:;]|$)[.,:;]?\s*"
)
_PAREN_YEAR_RE = re.compile(r"\((?:[A-Za-z.]+\s+)?((?:19|20)\d{2})[a-z]?\)")


def _scan_names(body: str) -> tuple[list[str], int]:
    """The author list at the start of an entry and where it ends."""
    names: list[str] = []
    pos = 0
    end = 0
    while pos < len(body) and len(names) < 200:
        matches = [m for p in _NAME_PATTERNS if (m := p.match(body, pos))]
        if not matches:
            break
        match = max(matches, key=lambda m: m.end())
        names.append(match.group(0).strip(" ,"))
        end = match.end()
        et_al = _ET_AL_RE.match(body, end)
        if et_al:
            end = et_al.end()
            break
        sep = _SEPARATOR_RE.match(body, end)
        if sep is None or sep.end() == end:
            break
        pos = sep.end()
    return names, end


def _organisation_author(body: str, masked: str) -> tuple[list[str], str, int | None]:
    """An entry led by an organisation or a lower-case name: what comes before an early year."""
    match = re.search(r"^(.{2,80}?)[.,]?\s+\(?((?:19|20)\d{2})[a-z]?\)?[.,:]", masked)
    if match and not re.search(r"\d", match.group(1)):
        return [body[: match.end(1)].strip(" .,")], body[match.end():], int(match.group(2))
    return [], body, None


def _find_doi(text: str) -> str | None:
    doi = find_doi(text)
    return doi.lower() if doi else None


def _find_arxiv(text: str) -> str | None:
    match = ARXIV_IN_TEXT.search(text)
    if match:
        return match.group(1)
    match = ARXIV_OLD_IN_TEXT.search(text)
    return match.group(1) if match else None


def _find_url(text: str) -> str | None:
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,;:]")
        if url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        if "doi.org/" not in url.lower():
            return url
    return None


def _mask_identifiers(text: str) -> str:
    """Blank out DOIs, URLs and arXiv ids (same length) so their digits are not read as years."""
    def blank(match: re.Match[str]) -> str:
        return " " * len(match.group(0))

    for pattern in (URL, DOI, ARXIV_IN_TEXT, ARXIV_OLD_IN_TEXT):
        text = pattern.sub(blank, text)
    return text


def _find_year(text: str) -> int | None:
    """The publication year: one in parentheses first, then one set off by full stops, else the
    first year-like number."""
    match = _PAREN_YEAR_RE.search(text)
    if match:
        return int(match.group(1))
    candidates = [m for m in _YEAR_RE.finditer(text) if 1900 <= int(m.group(1)) <= 2100]
    for match in candidates:
        before, after = text[: match.start()].rstrip(), text[match.end():].lstrip()
        if before.endswith(".") and after.startswith(".") and not re.search(
            r"\b(?:vol|no|pp|p)\.$", before, re.IGNORECASE
        ):
            return int(match.group(1))
    return int(candidates[0].group(1)) if candidates else None


_TITLE_END_RE = re.compile(r"([.?!])(?:\s+(?![a-z])|$)|(\.)\s+(?=[a-z])")
_NOT_SENTENCE_END = {"vs", "e.g", "i.e", "al", "st", "dr", "no", "vol", "eds", "ed"}


def _title_and_venue(rest: str) -> tuple[str | None, str | None]:
    """The title (quoted, or the first sentence) and the venue after it."""
    rest = rest.strip(" .,;:")
    if not rest:
        return None, None
    quoted = re.match(r"^[“\"](.+?)[,.]?[”\"]\s*[,.]?\s*(.*)$", rest)
    if quoted:
        return quoted.group(1).strip(" .,") or None, _venue(quoted.group(2))
    title, after = rest, ""
    for match in _TITLE_END_RE.finditer(rest):
        word = rest[: match.start()].rsplit(" ", 1)[-1]
        if len(word) < 2 or word.lower() in _NOT_SENTENCE_END or re.fullmatch(
            rf"[{_UP}]", word
        ):
            continue
        keep = 1 if (match.group(1) or ".") in "?!" else 0
        title, after = rest[: match.start() + keep], rest[match.end():]
        break
    title = title.strip(" .,")
    # A lone abbreviation ("Phys.") means the entry has no title and goes straight to the venue.
    if len(title.split()) < 2 or _YEAR_RE.fullmatch(title) or re.match(
        r"^(?:https?:|www\.|arxiv:|doi\b|\[)", title, re.IGNORECASE
    ):
        return None, _venue(rest)
    return title, _venue(after)


_VENUE_END_RE = re.compile(
    r"(?:,\s*(?:pages|pp\.|vol\.|volume|\d)|\s+\d+\s*[(:,]|\s+\d+\.\s|\s+\d+$|"
    r"\s*\(?(?:19|20)\d{2}\)?[.,;]?\s*$|[.,]?\s+(?:URL|doi|DOI|arXiv|https?:)|\s+\((?:19|20)\d{2})",
    re.IGNORECASE,
)


def _venue(text: str) -> str | None:
    """The journal or proceedings name: what follows the title, up to volume, pages or year."""
    text = re.sub(r"^(?:In:?\s+)", "", text.strip(), flags=re.IGNORECASE)
    match = _VENUE_END_RE.search(text)
    venue = (text[: match.start()] if match else text).strip(" .,;:")
    if not venue or re.match(r"^(?:\d|URL\b|doi\b|arXiv:)", venue, re.IGNORECASE):
        return None
    return venue
