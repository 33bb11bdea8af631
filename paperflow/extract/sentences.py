"""Running text of a paper as sentences: body paragraphs only, split with care for abbreviations.

Shared by the summary, highlight, question and key-phrase extractors. Running text is told apart
from headers, footers, captions, tables and equations by font size (the body font), position and
shape; paragraphs broken across columns, pages and footnotes are rejoined before splitting.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from paperflow.layout import (
    BACK_MATTER,
    CAPTION,
    NUMBERED_HEADING,
    PAGE_FURNITURE,
    REFERENCES_HEADING,
)
from paperflow.pdf import Block, Line, Page, ParsedDocument, join_lines

STOPWORDS = frozenset(re.findall(r"\S+", """
a about above according across after afterwards again against all almost alone along already also
although always am among amongst an and another any anyhow anyone anything anyway anywhere are
around as at be became because become becomes becoming been before beforehand behind being below
beside besides between beyond both but by can cannot could did do does doing done down due during
each either else elsewhere enough especially etc even ever every everyone everything everywhere
except few first for former formerly from further furthermore had has have having he hence her here
hereby herein hers herself him himself his how however i if in indeed instead into is it its itself
just last latter least less let like likely made mainly make makes many may me meanwhile might more
moreover most mostly much must my myself namely neither never nevertheless next no nobody none nor
not nothing now nowhere of off often on once one only onto or other others otherwise our ours
ourselves out over overall own per perhaps rather really respectively same second several she
should show shown shows since so some somehow something sometimes somewhat still such than that the
their theirs them themselves then thence there thereafter thereby therefore therein thereof these
they third this those though through throughout thus to together too toward towards two under
unless until up upon us use used uses using very via was we well were what whatever when whence
whenever where whereas whereby wherein whether which while who whoever whole whom whose why will
with within without would yet you your yours yourself yourselves i.e e.g et al cf vs viz
"""))

_ABBREVIATIONS = frozenset(re.findall(r"\S+", """
al e.g i.e cf vs viz fig figs eq eqs eqn eqns sec secs sect tab tabs no nos ref refs approx resp
dr mr mrs ms prof st jr inc ltd co corp vol vols pp ch chap app appx proc conf dept univ est ca
"""))

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-']*[A-Za-z0-9]|[A-Za-z]")
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*(?:\s*\[[\d,\s–-]+\])?\Z")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of running text, as printed, with where it was found."""

    text: str
    page: int
    section: str
    """The heading of the section it belongs to, lower-case without numbering ('' if none)."""
    index: int
    in_abstract: bool = False


@dataclass(slots=True)
class Body:
    """A paper's running text: sentences in reading order, section headings and the abstract."""

    sentences: list[Sentence] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    abstract: str | None = None
    title: str | None = None
    page_texts: list[str] = field(default_factory=list)
    cache: dict[object, object] = field(default_factory=dict)
    """Results derived from this body (scores, key phrases), so extractors share the work."""


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits inside words, inner hyphens)."""
    return [w.lower() for w in _WORD.findall(text)]


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix strip so plural and simple verb forms share one key."""
    if len(word) <= 4:
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"),
                         ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed content words: the tokens that carry a sentence's topic."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 2 and w.isalpha()]


_BOUNDARY = re.compile(
    r"""(?<=[.!?])(?:["'”’)\]]*)(?:\[\d+(?:[,–-]\s*\d+)*\])?(?:\d+(?:[,–-]\d+)*)?\s+(?=["'“‘(\[]?[A-Z0-9])"""
)


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, not at 'et al.', 'e.g.', 'Fig. 3', initials or decimals."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        piece = text[start:end]
        if not _is_boundary(text, match):
            continue
        if piece.strip():
            out.append(text[start : _trim_end(text, start, match)].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def _trim_end(text: str, start: int, match: re.Match[str]) -> int:
    """Keep closing quotes and bracketed citations with the sentence; drop trailing space."""
    return match.start() + len(match.group(0).rstrip())


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether the full stop before `match` ends a sentence rather than an abbreviation."""
    head = text[: match.start()]
    if not head.endswith("."):
        return True
    token = re.search(r"([A-Za-z.]+)\.$", head)
    if not token:
        return True
    word = token.group(1)
    if word.lower() in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "J. Smith"
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
        return False  # "e.g", "i.e", "U.S"
    return not (word.lower() == "al" or word.endswith("et al"))


def _ends_sentence(text: str) -> bool:
    return bool(_TERMINAL.search(text[-40:]))


def _strip_numbering(text: str) -> str:
    return re.sub(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.|[A-H]\.)\s*", "", text).strip()


def _heading_like(lines: list[Line], body: float) -> bool:
    """Short lines in a bold or larger font (or capitals), standing apart from the text."""
    text = join_lines([line.text for line in lines])
    if not text or len(lines) > 3 or len(text) > 100 or len(text.split()) > 14:
        return False
    if text.endswith((".", ",", ";")) and not NUMBERED_HEADING.match(text):
        return False
    if CAPTION.match(text) or not re.search(r"[A-Za-z]{3}", text):
        return False
    if re.search(r"[=@{}_]|\(\d+\)$|\s{2}", text):
        return False
    spans = [s for line in lines for s in line.spans if s.text.strip()]
    size = max(line.size for line in lines)
    if size < body - 0.8:
        return False
    bold = all(s.is_bold for s in spans)
    bigger = body + 0.6 < size < body * 2.2
    caps = text.isupper() and len(text) > 4 and size >= body - 0.3
    return bold or bigger or caps


def _run_in_lead(line: Line) -> str:
    """A bold lead-in such as 'Methods Setting' starting a paragraph's first line, or ''."""
    lead = ""
    for span in line.spans:
        if not span.text.strip():
            lead += span.text
            continue
        if not span.is_bold:
            break
        lead += span.text
    lead = lead.strip()
    rest = line.text[len(lead) :].strip() if lead and line.text.startswith(lead) else ""
    if not lead or not rest or len(lead.split()) > 8 or not re.search(r"[A-Za-z]{3}", lead):
        return ""
    if not (rest[:1].isupper() or lead.endswith((".", ":"))):
        return ""  # a bold name inside the sentence, not a heading: "TIMP is an R package"
    return lead


@dataclass(slots=True)
class _Segment:
    lines: list[Line]
    heading: bool
    lead: str = ""

    @property
    def text(self) -> str:
        text = join_lines([line.text for line in self.lines])
        if self.lead and text.startswith(self.lead):
            text = text[len(self.lead) :].strip()
        return text

    @property
    def size(self) -> float:
        sizes = [line.size for line in self.lines if line.text]
        return max(set(sizes), key=sizes.count) if sizes else 0.0


def _segments(block: Block, body: float) -> list[_Segment]:
    """A block cut where a heading line or a bold run-in lead starts a new paragraph."""
    if _heading_like(block.lines, body):
        return [_Segment(block.lines, True)]
    out: list[_Segment] = []
    for line in block.lines:
        after_stop = not out or out[-1].heading or _ends_sentence(out[-1].lines[-1].text)
        if after_stop and _heading_like([line], body) and len(block.lines) > 1:
            if out and out[-1].heading:
                out[-1].lines.append(line)
            else:
                out.append(_Segment([line], True))
            continue
        lead = _run_in_lead(line) if after_stop else ""
        if lead or not out or out[-1].heading:
            out.append(_Segment([line], False, lead))
        else:
            out[-1].lines.append(line)
    return out


def _is_margin(block: Block, page: Page) -> bool:
    top, bottom = block.bbox[1], block.bbox[3]
    return len(block.lines) <= 2 and (bottom < page.height * 0.075 or top > page.height * 0.925)


def _looks_like_prose(text: str) -> bool:
    """Mostly letters and words of ordinary length: not a table, equation or code listing."""
    if len(text) < 20:
        return bool(re.search(r"[a-z]{2,}", text))
    letters = sum(map(str.isalpha, text))
    spaces = text.count(" ")
    if letters < 0.6 * len(text) or spaces < len(text) / 16:
        return False
    upper = sum(map(str.isupper, text))
    if upper > 0.35 * letters:
        return False
    tokens = text.split()
    numeric = sum(1 for t in tokens if re.fullmatch(r"[\d.,%±()+\-–]+", t))
    return numeric < 0.3 * len(tokens)


def _repeated_lines(doc: ParsedDocument) -> set[str]:
    """Lines printed on many pages (running heads, journal footers)."""
    if len(doc.pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for page in doc.pages:
        seen = {re.sub(r"\d+", "#", line.text) for b in page.blocks[:3] + page.blocks[-3:]
                for line in b.lines}
        counts.update(seen)
    limit = max(3, len(doc.pages) // 3)
    return {text for text, n in counts.items() if n >= limit and len(text) > 3}


_CACHE: dict[int, tuple[ParsedDocument, Body]] = {}
_LOCK = threading.Lock()


def read_body(doc: ParsedDocument) -> Body:
    """The paper's running text as sentences (cached per document object)."""
    with _LOCK:
        hit = _CACHE.get(id(doc))
        if hit is not None and hit[0] is doc:
            return hit[1]
    body = _read_body(doc)
    with _LOCK:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[id(doc)] = (doc, body)
    return body


def _guess_title(doc: ParsedDocument) -> str | None:
    title = (doc.metadata.get("title") or "").strip()
    junk = re.search(r"\.(?:pdf|docx?|tex|dvi)$|^untitled|^microsoft", title, re.IGNORECASE)
    if len(re.findall(r"[A-Za-z]{3,}", title)) >= 2 and not junk:
        return title
    if not doc.pages:
        return None
    blocks = [
        b for b in doc.pages[0].blocks[:12] if len(b.text) > 10 and re.search("[a-z]", b.text)
    ]
    if not blocks:
        return None
    size = max(b.size for b in blocks)
    if size <= doc.body_font_size + 1:
        return None
    parts = [b.text for b in blocks if abs(b.size - size) < 0.3]
    return " ".join(parts)[:300] or None


_KEYWORDS = re.compile(r"^(key\s?words|index terms|ccs concepts|subjects|abbreviations)\b", re.I)
_ABSTRACT_PARTS = re.compile(
    r"^(background|objectives?|aims?|methods?|results?|conclusions?|findings|purpose|context|"
    r"significance|introduction)\b",
    re.IGNORECASE,
)


class _Reader:
    """Walks the blocks in reading order, rejoining paragraphs and tracking sections."""

    def __init__(self, doc: ParsedDocument) -> None:
        self.body_size = doc.body_font_size
        self.paragraphs: list[tuple[list[tuple[str, int]], str]] = []
        self.current: list[tuple[str, int]] = []
        self.section = ""
        self.pending: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.abstract: list[str] = []
        self.in_abstract = False
        self.started = False
        self.stopped = False

    def flush(self) -> None:
        if self.current:
            self.paragraphs.append((self.current, "abstract" if self.in_abstract else self.section))
        self.current = []

    def heading(self, text: str, page: int) -> None:
        name = _strip_numbering(text).rstrip(".:")
        self.flush()
        if REFERENCES_HEADING.match(name) or REFERENCES_HEADING.match(text):
            self.stopped = True
            return
        if re.match(r"^abstract\b", name, re.IGNORECASE) and page <= 3:
            self.in_abstract = self.started = True
            return
        if self.in_abstract and _ABSTRACT_PARTS.match(name) and not self.abstract:
            return
        self.in_abstract = False
        if re.match(r"(introduction|background)\b", name, re.IGNORECASE):
            self.started = True
        if self.started and name:
            self.pending.append(name)

    def text(self, segment: _Segment, page: int) -> None:
        text = re.sub(r"^Check for updates\s*", "", segment.text)
        if CAPTION.match(join_lines([line.text for line in segment.lines])):
            self.pending = []
            return
        if segment.lead:
            lead = _strip_numbering(segment.lead).rstrip(".:")
            if self.in_abstract and _ABSTRACT_PARTS.match(lead):
                text = join_lines([line.text for line in segment.lines])
            else:
                self.heading(segment.lead, page)
                if self.stopped:
                    return
        if re.match(r"^abstract\b", text, re.IGNORECASE) and page <= 3 and not self.abstract:
            self.flush()
            self.in_abstract = self.started = True
            text = re.sub(r"^abstract[\s.:—–-]*", "", text, flags=re.IGNORECASE)
            if len(text) < 40:
                return
        if _KEYWORDS.match(text):
            self.flush()
            self.in_abstract = False
            return
        if abs(segment.size - self.body_size) > (2.5 if self.in_abstract else 0.8):
            return
        if CAPTION.match(text) or not _looks_like_prose(text):
            self.pending = []
            return
        if BACK_MATTER.match(self.section):
            return
        if self.pending and len(text) > 30:
            for name in self.pending[-3:]:
                self.headings.append((page, name))
            self.section = self.pending[-1].lower()
            self.pending = []
            self.flush()
        if self.in_abstract:
            self.abstract.append(text)
        elif len(text) > 200:
            self.started = True
        if self.current and _ends_sentence(self.current[-1][0]):
            self.flush()
        self.current.append((text, page))


_NOT_TEXT = PAGE_FURNITURE | {"sidebar", "banner"}
"""Block roles that are never running text."""


def _read_body(doc: ParsedDocument) -> Body:
    repeated = _repeated_lines(doc)
    reader = _Reader(doc)
    for page in doc.pages:
        for block in page.blocks:
            if not block.text or block.role in _NOT_TEXT or _is_margin(block, page):
                continue
            if len(block.lines) <= 2 and re.sub(r"\d+", "#", block.lines[0].text) in repeated:
                continue
            for segment in _segments(block, reader.body_size):
                if segment.heading:
                    reader.heading(segment.text, page.number)
                else:
                    reader.text(segment, page.number)
                if reader.stopped:
                    break
            if reader.stopped:
                break
        if reader.stopped:
            break
    reader.flush()
    out = Body(
        page_texts=doc.page_texts(),
        title=_guess_title(doc),
        headings=reader.headings,
        abstract=" ".join(reader.abstract) or _first_page_abstract(doc),
    )
    index = 0
    for pieces, name in reader.paragraphs:
        joined, offsets = _join_pieces(pieces)
        cursor = 0
        for sentence in split_sentences(joined):
            at = joined.find(sentence, cursor)
            cursor = at + len(sentence) if at >= 0 else cursor
            page_number = pieces[0][1]
            for offset, number in offsets:
                if at >= offset:
                    page_number = number
            out.sentences.append(
                Sentence(sentence, page_number, name, index, in_abstract=name == "abstract")
            )
            index += 1
    return out


def _first_page_abstract(doc: ParsedDocument) -> str | None:
    """With no 'Abstract' label: the first long paragraph on page 1 (a journal's lead summary)."""
    for block in doc.pages[0].blocks if doc.pages else []:
        text = block.text
        if len(text) > 400 and _looks_like_prose(text) and len(split_sentences(text)) >= 3:
            return text
    return None


def _join_pieces(pieces: list[tuple[str, int]]) -> tuple[str, list[tuple[int, int]]]:
    """One paragraph from blocks, mending a word hyphenated across the break."""
    text = ""
    offsets: list[tuple[int, int]] = []
    for piece, page in pieces:
        piece = re.sub(r"\s+", " ", piece).strip()
        if text and re.search(r"[A-Za-z]-$", text) and piece[:1].islower():
            first = piece.split(" ", 1)[0]
            if "-" not in first:
                text = text[:-1]
            offsets.append((len(text), page))
            text += piece
        else:
            if text:
                text += " "
            offsets.append((len(text), page))
            text += piece
    return text, offsets


def term_weights(sentences: list[list[str]]) -> dict[str, float]:
    """Inverse sentence frequency of each term (smoothed)."""
    df: Counter[str] = Counter()
    for terms in sentences:
        df.update(set(terms))
    n = len(sentences) + 1
    return {term: math.log(n / (count + 0.5)) + 1.0 for term, count in df.items()}


def quality(sentence: str) -> bool:
    """A self-contained sentence of readable length: no fragment, list item, URL or formula."""
    tokens = sentence.split()
    if not 7 <= len(tokens) <= 60 or len(sentence) > 420:
        return False
    first = re.sub(r"^[\"'“‘(\[]+", "", sentence)[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    if not re.search(r"[.!?][\"'”’)\]]*(?:\s*\[[\d,\s–-]+\])?$|\.\d+(?:[,–-]\d+)*$", sentence):
        return False
    if re.search(r"https?:|www\.|@|\.{3}|…|\bet al\.\s*,", sentence):
        return False
    letters = sum(map(str.isalpha, sentence))
    if letters < 0.65 * len(sentence):
        return False
    if sentence.count("(") != sentence.count(")"):
        return False
    return not re.search(r"[=<>∑∫√≤≥∈∀∃]|\\[a-z]+", sentence)
