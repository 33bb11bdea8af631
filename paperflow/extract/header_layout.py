"""Layout helpers for header extraction: visual rows, footnote markers, text clean-up."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from paperflow.pdf import OCR_FONT, Line, ParsedDocument, Span

MARKER_SYMBOLS = "*†‡§¶∗⋆⋄□♯#‖∥⊥△▽∇♣♦♥♠✉☯¤\ufffd" + "".join(
    map(chr, [*range(0x2460, 0x2474), *range(0x2776, 0x2794)]))
"""Footnote symbols after names; ☯ (equal contribution) and ¤ (current address) as PLOS uses,
∥ ⊥ △ ▽ ∇ as ACS journals continue the sequence after † ‡ ¶ §; circled digits (① ❶ ➀), which
some templates number with and which a symbol font's † ‡ come out as when its encoding is lost."""
_MARKER_TEXT = re.compile(rf"^[\s\d,;){re.escape(MARKER_SYMBOLS)}α-ωa-z]{{1,10}}$")
"""A raised marker's text; AIP journals close theirs with a parenthesis ("Ann Lee1, a)")."""
_SYMBOL_ONLY = re.compile(rf"^[\s,{re.escape(MARKER_SYMBOLS)}]+$")
_COMBINING = {
    "\u0301": "\u0301", "\u00b4": "\u0301", "\u0300": "\u0300", "`": "\u0300",
    "\u0308": "\u0308", "\u00a8": "\u0308", "\u0303": "\u0303", "\u02dc": "\u0303",
    "\u0302": "\u0302", "\u02c6": "\u0302", "\u030c": "\u030c", "\u02c7": "\u030c",
    "\u0306": "\u0306", "\u02d8": "\u0306", "\u030a": "\u030a", "\u02da": "\u030a",
    "\u0327": "\u0327", "\u00b8": "\u0327", "\u0307": "\u0307", "\u02d9": "\u0307",
}
_ACCENT = re.compile(
    r" ?([\u0300-\u036f\u00b4\u00a8\u02dc\u02c6\u02c7\u02d8\u02d9\u02da\u00b8])([A-Za-zıȷ])"
)
_GRAVE = re.compile(r"(?<=[a-z])`([aeiouAEIOU])")


def fix_accents(text: str) -> str:
    """Compose accents that TeX fonts print as a separate mark before the letter ("F ́ısica")."""

    def compose(match: re.Match[str]) -> str:
        letter = {"ı": "i", "ȷ": "j"}.get(match.group(2), match.group(2))
        mark = _COMBINING.get(match.group(1), match.group(1))
        before = match.string[match.start() - 1:match.start()]
        # A capital after a space that follows a lower-case letter opens a word ("Anaïs ˙Zuk"):
        # the space is real. Inside a word ("F ́ısica", "M ¨ULLER") TeX's kerning put it there.
        keep = match.group(0).startswith(" ") and letter.isupper() and not before.isupper()
        return (" " if keep else "") + unicodedata.normalize("NFC", letter + mark)

    text = _ACCENT.sub(compose, text)
    return _GRAVE.sub(lambda m: unicodedata.normalize("NFC", m.group(1) + "\u0300"), text)


def squash(text: str) -> str:
    """Collapse white space and trim."""
    return re.sub(r"\s+", " ", text).strip()


def compact(text: str) -> str:
    """Lower-case letters and digits only: for comparing text whose spacing is unreliable."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.lower() if ch.isalnum())


def is_marker_span(span: Span, line_size: float, baseline: float | None = None) -> bool:
    """A superscript or small affiliation/footnote marker ("1,2", "†", "α"); with the line's
    `baseline` (the bottom of its full-size text), also a slightly smaller one set above it."""
    text = span.text.strip()
    if not text:
        return False
    small = span.size < 0.82 * line_size
    raised = baseline is not None and span.size < 0.95 * line_size \
        and baseline - span.bbox[3] > 0.2 * line_size
    if _SYMBOL_ONLY.match(text):
        return True
    return (span.is_superscript or small or raised) and bool(_MARKER_TEXT.match(text))


@dataclass
class Piece:
    """A run of a line's text, either words or a marker."""

    text: str
    marker: bool


_INLINE_SYMBOLS = re.compile(
    rf"((?:[{re.escape(MARKER_SYMBOLS.replace('#', ''))}]|#(?!\d))+)")
"""Marker symbols printed inline; "#" before a digit is a number sign ("Camino El Observatorio
#1515"), not a marker."""


def pieces(line: Line) -> list[Piece]:
    """Split a line into text runs and marker runs (markers: superscripts, small or symbols)."""
    size = line.size
    full = [span.bbox[3] for span in line.spans
            if span.text.strip() and abs(span.size - size) < 0.1]
    baseline = max(full) if full else None
    out: list[Piece] = []
    for span in line.spans:
        marker = is_marker_span(span, size, baseline)
        if not marker and span.text.strip():
            # Symbols printed inline at full size ("SHARMA†") are markers too.
            parts = _INLINE_SYMBOLS.split(span.text)
            for part in parts:
                if not part:
                    continue
                _append(out, part, bool(_INLINE_SYMBOLS.fullmatch(part)))
            continue
        _append(out, span.text, marker)
    return out


def _append(out: list[Piece], text: str, marker: bool) -> None:
    if not text.strip() and out:
        out[-1].text += text
        return
    if out and out[-1].marker == marker:
        out[-1].text += text
    else:
        out.append(Piece(text, marker))


def is_ocr_line(line: Line) -> bool:
    """Whether the line was read by OCR (its sizes are estimates)."""
    return bool(line.spans) and line.spans[0].font == OCR_FONT


def style(line: Line) -> tuple[float, bool, bool]:
    """Size (to half a point), bold and italic of the line's non-marker text."""
    size = line.size
    weights: dict[tuple[bool, bool], int] = {}
    # "and" and commas between names may be set in another face; a line of nothing else (a
    # title wrapped after "... Time Series" / "and" / "Medical ...") keeps its own face.
    for joiners in (False, True):
        for span in line.spans:
            text = span.text.strip()
            if text and not is_marker_span(span, size) and (
                    joiners or text.lower() not in ("and", ",")):
                key = (span.is_bold, span.is_italic)
                weights[key] = weights.get(key, 0) + len(text)
        if weights:
            break
    bold, italic = max(weights, key=lambda k: weights[k]) if weights else (False, False)
    return round(size * 2) / 2, bold, italic


@dataclass
class Row:
    """Lines of one page that share a baseline band, left to right."""

    lines: list[Line] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(line.bbox[1] for line in self.lines)

    @property
    def bottom(self) -> float:
        return max(line.bbox[3] for line in self.lines)

    @property
    def text(self) -> str:
        return squash(" ".join(line.text for line in self.lines))


def _core(line: Line) -> tuple[float, float]:
    """The top and bottom of the line's text in its own size: a tall symbol (a radical, a
    big operator) raises the line's box into the line above without moving its baseline."""
    size = line.size
    spans = [span.bbox for span in line.spans
             if span.text.strip() and abs(round(span.size, 1) - size) < 0.05]
    if not spans:
        return line.bbox[1], line.bbox[3]
    return min(box[1] for box in spans), max(box[3] for box in spans)


def rows_of(lines: list[Line]) -> list[Row]:
    """Group lines into visual rows by vertical overlap, top to bottom."""
    rows: list[Row] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2):
        top, bottom = _core(line)
        height = max(bottom - top, 1.0)
        if rows:
            row = rows[-1]
            overlap = min(row.bottom, bottom) - max(row.top, top)
            if overlap > 0.5 * min(height, max(row.bottom - row.top, 1.0)):
                row.lines.append(line)
                continue
        rows.append(Row([line]))
    for row in rows:
        row.lines.sort(key=lambda ln: ln.bbox[0])
    return rows


def line_text(line: Line, drop_markers: bool = False) -> str:
    """The line's text; with `drop_markers`, footnote markers after words are left out."""
    size = line.size
    spans = line.spans
    out = ""
    for i, span in enumerate(spans):
        text = span.text
        stripped = text.strip()
        # A space between glyph runs that touch is an artefact of the PDF, not a word gap.
        if not stripped and 0 < i < len(spans) - 1 \
                and spans[i + 1].bbox[0] - spans[i - 1].bbox[2] < 0.05 * size:
            continue
        if drop_markers and stripped and _is_footnote_mark(span, stripped, size, out):
            out += " " if text.endswith(" ") else ""
            continue
        out += text
    return fix_accents(squash(out))


def _is_footnote_mark(span: Span, text: str, size: float, before: str) -> bool:
    if not (span.is_superscript or span.size < 0.8 * size):
        return False
    if re.fullmatch(r"[*†‡§¶∗]+", text):
        return True
    # Digit footnote markers follow punctuation ("S2ORC,¹", "benchmarks.¹"); digits after a
    # letter are exponents or residue numbers ("His³⁸⁸") and stay.
    return bool(re.fullmatch(r"\d{1,2}(,\d{1,2})*", text)) and bool(
        re.search(r"[.,;:)\]]\s*$", before)
    )


class Vocabulary:
    """Words and hyphenated compounds seen in the document, to decide line-end hyphens."""

    def __init__(self, doc: ParsedDocument) -> None:
        self.words: set[str] = set()
        self.compounds: set[str] = set()
        for page in doc.pages:
            for line in page.lines():
                text = line.text
                tokens = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*-?", text)
                inner = tokens[1:-1] if text.endswith("-") else tokens[1:]
                for token in inner:
                    if "-" in token.strip("-"):
                        self.compounds.add(token.lower())
                    for word in token.strip("-").split("-"):
                        self.words.add(word.lower())

    def join(self, lines: list[str]) -> str:
        """Join wrapped lines, deciding for each line-end hyphen whether it belongs to a word."""
        out = ""
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            if not out:
                out = line
                continue
            end = re.search(r"([A-Za-z]+)-$", out)
            start = re.match(r"[A-Za-z0-9]+", line)
            if end and start and not out.endswith("--"):
                first, second = end.group(1), start.group(0)
                if self._keep_hyphen(first, second):
                    out += line
                else:
                    out = out[:-1] + line
            else:
                out = f"{out} {line}"
        return out

    def _keep_hyphen(self, first: str, second: str) -> bool:
        if not second[0].islower():
            return True
        low_first, low_second = first.lower(), second.lower()
        if f"{low_first}-{low_second}" in self.compounds:
            return True
        if low_first + low_second in self.words:
            return False
        return (
            len(first) >= 4 and len(second) >= 4
            and low_first in self.words and low_second in self.words
        )
