"""OCR of pages with no usable text layer (scans), with Tesseract.

A page is rendered with PyMuPDF and read by the `tesseract` command (Debian's `tesseract-ocr`)
in hOCR form: words with their boxes and confidences, grouped in blocks and lines, each line with
Tesseract's estimate of its text size. `ocr_page` turns that into the same "dict" structure
`page.get_text("dict")` gives for a native page, so `paperflow.pdf.read_page` and every
extractor read a scan unchanged.

Why the command rather than PyMuPDF's own `get_textpage_ocr`: one Tesseract pass gives both the
words and their confidences (MuPDF's OCR text page has no confidences), it costs about half the
CPU (MuPDF's build of Tesseract took 6.5 s of CPU on a page the command reads in 3.3 s), its
options can be set (no inverted-text pass), and it runs in a process of its own with a timeout.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import statistics
import string
import subprocess
import tempfile
import time
import unicodedata
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pymupdf

from paperflow.pdf import OCR_FONT, covering_image

INSTALL_HINT = (
    "install Tesseract with `scripts/ensure_tesseract.sh` "
    "(Debian/Ubuntu: `apt-get install tesseract-ocr tesseract-ocr-eng`; macOS: "
    "`brew install tesseract`)"
)
SIZE_PER_X_SIZE = 1.11
"""Points of font size per point of Tesseract's line `x_size` (its ascender-to-descender
estimate), the median over 2,343 lines of the evaluation papers' rasterised first pages."""
CAP_HEIGHT = 0.663
"""Height of capitals, digits and ascender letters per point of size (trimmed mean; Times,
Computer Modern, Helvetica and Calibri lie within a few percent of it)."""
X_HEIGHT = 0.468
"""Height of the letters without ascenders or descenders per point of size."""
_CAP_HEIGHT_LETTERS = frozenset("bdfhklt" + string.ascii_uppercase + string.digits)
_X_HEIGHT_LETTERS = frozenset("acemnorsuvwxz")
MAX_PIXELS = 20_000_000
"""A page is rendered at a lower resolution than asked when it would exceed this many pixels."""
MIN_DPI = 150
"""A scan is never read at less than this (a coarser scan is upsampled to it)."""
BUDGET_SHARE = 0.6
"""Share of the parse's wall-clock limit OCR may use before it starts no more pages."""
PAGE_TIMEOUT_SECONDS = 180.0
"""Wall-clock limit of one page's Tesseract run (the sandbox's limits apply on top)."""

_WS = re.compile(r"\s+")
_BAD_CATEGORIES = {"Cc", "Cs", "Co", "Cn"}
_LATIN_VOWELS = set("aeiouyAEIOUYàáâãäåæèéêëìíîïòóôõöøœùúûüýÿÀÁÂÃÄÅÆÈÉÊËÌÍÎÏÒÓÔÕÖØŒÙÚÛÜÝ")


class OcrError(RuntimeError):
    """Tesseract failed on a page (crashed, timed out, or gave output that cannot be read)."""


@dataclass
class OcrResult:
    """One page read by OCR."""

    text_dict: dict[str, Any]
    """The page in `page.get_text("dict")` form: blocks of lines of word spans."""
    confidence: float | None
    """Mean word confidence, 0-100 (Tesseract's scale); None when no word was found."""
    words: int
    seconds: float
    dpi: int


# --- availability -------------------------------------------------------------------------


def tesseract_command() -> str | None:
    """The `tesseract` executable on PATH, or None."""
    return shutil.which("tesseract")


def tessdata_dir(language: str = "eng") -> Path | None:
    """The folder holding `<language>.traineddata`: `TESSDATA_PREFIX` (or its `tessdata`
    subfolder), else Debian's and other usual install places."""
    candidates: list[Path] = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        candidates += [Path(prefix), Path(prefix) / "tessdata"]
    for pattern in ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata",
                    "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata",
                    "/usr/share/tesseract/tessdata"):
        candidates += [Path(p) for p in sorted(glob.glob(pattern), reverse=True)]
    first = language.split("+")[0]
    for folder in candidates:
        if (folder / f"{first}.traineddata").is_file():
            return folder
    return None


def ocr_available(language: str = "eng") -> str | None:
    """None when OCR can run in `language`; else why not, with how to install what is missing."""
    if tesseract_command() is None:
        return f"Tesseract is not installed (no `tesseract` command on PATH): {INSTALL_HINT}"
    folder = tessdata_dir(language)
    missing = [lang for lang in language.split("+")
               if folder is None or not (folder / f"{lang}.traineddata").is_file()]
    if missing:
        return (f"Tesseract has no language data for {', '.join(missing)!s} (no "
                f"<lang>.traineddata in TESSDATA_PREFIX or /usr/share/tesseract-ocr/*/tessdata): "
                f"install it (Debian: `apt-get install tesseract-ocr-{missing[0]}`).")
    return None


# --- when a page needs OCR ----------------------------------------------------------------


def page_text(page: Any) -> str:
    """The text of a `paperflow.pdf.Page`, a raw `get_text("dict")` dict or a `pymupdf.Page`."""
    if isinstance(page, pymupdf.Page):
        return str(page.get_text("text"))
    if isinstance(page, dict):
        return " ".join(span.get("text", "")
                        for block in page.get("blocks", []) if block.get("type", 0) == 0
                        for line in block.get("lines", []) for span in line.get("spans", []))
    return str(getattr(page, "text", "") or "")


_CONSONANT_RUN = re.compile(r"[^aeiouyAEIOUY\W\d_]{6,}")
_LETTER_RUN = re.compile(r"[^\W\d_]{2,}")
_NOT_ALNUM = re.compile(r"[\W_]+")
_PRINTABLE_ASCII = re.compile(r"[!-~]+")
_TOKENS_JUDGED = 200
"""Word-like tokens are counted on at most this many tokens spread over the page: a garbage
layer is garbage throughout, and a page of references has thousands of tokens."""


def _word_like(token: str) -> bool:
    """A token that could be a word: letters, with a vowel and no long consonant run if Latin."""
    if len(token) < 2 or not token.isalpha():
        return False
    if not token.isascii() and max(token) >= "\u0250":
        return True  # Greek, Cyrillic, CJK...: no cheap test; trust it
    if token[1:] != token[1:].lower() and token != token.upper():
        return False  # "aBqD": mixed case inside a word
    if not any(ch in _LATIN_VOWELS for ch in token):
        return False
    return not _CONSONANT_RUN.search(token)


def is_garbage(text: str) -> bool:
    """True when a text layer is missing or unusable: empty, mostly U+FFFD or control/private
    characters, mostly symbols, or (for a page's worth of text) hardly any word-like token."""
    compact = "".join(text.split())
    if not compact:
        return True
    # Printable ASCII is never bad: only the rest is looked up, one character at a time.
    rest = _PRINTABLE_ASCII.sub("", compact)
    bad = sum(1 for ch in rest if ch == "\ufffd" or unicodedata.category(ch) in _BAD_CATEGORIES)
    if bad / len(compact) > 0.3:
        return True
    if len(compact) < 50:
        return False  # too little to judge: a page number, a stamp
    letters = len(_NOT_ALNUM.sub("", compact))
    if letters / len(compact) < 0.4:
        return True
    tokens = _LETTER_RUN.findall(text)
    if len(tokens) < 5:
        return False
    tokens = tokens[::max(1, len(tokens) // _TOKENS_JUDGED)]
    return sum(1 for t in tokens if _word_like(t)) / len(tokens) < 0.3


def needs_ocr(page: Any) -> bool:
    """Whether a page has no text layer, or one of garbage (see `is_garbage`), or is the first
    page of a scan whose invisible text layer needs its sizes measured (`measure_layer_sizes`).

    `page` is a `paperflow.pdf.Page`, a raw `get_text("dict")` dict or a `pymupdf.Page`.
    """
    return is_garbage(page_text(page)) or _layer_to_measure(page)


def _layer_to_measure(page: Any) -> bool:
    """The first page of a scan with a usable invisible OCR layer (a layer of garbage is
    replaced by our OCR instead, like a missing one)."""
    return getattr(page, "text_source", None) == "ocr-layer" and page.number == 1 \
        and not is_garbage(page_text(page))


def measure_layer_sizes(page: Any, measured: Any) -> Any:
    """`page`, an invisible OCR text layer over a scan, with each line's size taken from the
    printed line under it as our OCR (`measured`, the same page read by `paperflow.ocr`)
    estimates it from letter heights; the words stay the layer's.

    The program that made such a layer sets every word in one font at sizes of its own: on a
    1999 scan the title came out smaller than the authors and equations larger than both,
    while the front-matter rules read the title and the author lines by their printed size.
    A line no measured line overlaps keeps its size.
    """
    from paperflow.pdf import Block, Line

    targets = [line for line in measured.lines() if line.text.strip()]
    blocks: list[Block] = []
    for block in page.blocks:
        lines: list[Line] = []
        for line in block.lines:
            size = _printed_size(line.bbox, targets)
            if size is None or not line.size:
                lines.append(line)
                continue
            scale = size / line.size
            lines.append(Line([replace(span, size=round(span.size * scale, 2))
                               for span in line.spans], line.bbox))
        blocks.append(replace(block, lines=lines))
    return replace(page, blocks=blocks)


def _printed_size(box: tuple[float, float, float, float], measured: list[Any]) -> float | None:
    """The size of the measured lines level with `box` and under it, weighted by how much of
    its width each covers (the median weight), or None."""
    weighted: list[tuple[float, float]] = []
    for line in measured:
        x0, y0, x1, y1 = line.bbox
        rise = min(box[3], y1) - max(box[1], y0)
        width = min(box[2], x1) - max(box[0], x0)
        if width > 0 and rise > 0.5 * min(box[3] - box[1], y1 - y0):
            weighted.append((line.size, width))
    if not weighted:
        return None
    weighted.sort()
    half, total = sum(w for _, w in weighted) / 2, 0.0
    for size, width in weighted:
        total += width
        if total >= half:
            return size
    return weighted[-1][0]


# --- running Tesseract --------------------------------------------------------------------


def is_blank(page: pymupdf.Page) -> bool:
    """Nothing visible is drawn on the page (no image, path or visible text): no OCR needed.

    MuPDF lists what the page draws without rendering it (a millisecond a page)."""
    return all(entry[0] == "ignore-text" for entry in page.get_bboxlog())


def _scan_dpi(page: pymupdf.Page) -> int | None:
    """The resolution of an image covering most of the page (a scan), or None."""
    info = covering_image(page)
    if info is None or not info.get("width"):
        return None
    box = pymupdf.Rect(info["bbox"])
    return round(min(info["width"] / (box.width / 72), info["height"] / (box.height / 72)))


def render_for_ocr(page: pymupdf.Page, dpi: int) -> tuple[bytes, int]:
    """The page as a greyscale PGM image at `dpi` (lowered for huge pages), and the dpi used.

    PGM, not PNG: Tesseract reads both, and a PGM costs nothing to encode (a PNG of a page took
    0.04-0.1 s of the 2-2.5 s a page's OCR costs).

    A page that is one scanned image is rendered at the scan's own resolution when that is
    lower (down to `MIN_DPI`): upsampling adds no detail, costs CPU, and turns a noisy scan's
    speckles into blobs Tesseract reads as letters.
    """
    rect = page.rect
    scan_dpi = _scan_dpi(page)
    if scan_dpi is not None and scan_dpi < dpi:
        dpi = max(MIN_DPI, scan_dpi)
    pixels = rect.width * rect.height * (dpi / 72.0) ** 2
    if pixels > MAX_PIXELS:
        dpi = max(36, int(dpi * (MAX_PIXELS / pixels) ** 0.5))
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    return pixmap.tobytes("pgm"), dpi


def tesseract_args(image: str, output: str, dpi: int, language: str = "eng") -> list[str]:
    """The command reading `image` into `output`.hocr (or stdout for "-"), single-threaded
    (pages run in parallel instead) and with no inverted-text pass."""
    command = tesseract_command()
    if command is None:
        raise OcrError(f"Tesseract is not installed: {INSTALL_HINT}")
    args = [command, image, output, "-l", language, "--dpi", str(dpi), "--psm", "3",
            "-c", "tessedit_do_invert=0"]
    folder = tessdata_dir(language)
    if folder is not None:
        args[1:1] = ["--tessdata-dir", str(folder)]
    return [*args, "-c", "hocr_char_boxes=1", "hocr"]


_ENV_ONE_THREAD = {"OMP_THREAD_LIMIT": "1"}


def run_tesseract(image: bytes, dpi: int, language: str = "eng",
                  timeout: float = PAGE_TIMEOUT_SECONDS) -> str:
    """Tesseract's hOCR for one image (PGM or PNG bytes)."""
    args = tesseract_args("-", "-", dpi, language)
    try:
        done = subprocess.run(args, input=image, capture_output=True, timeout=timeout,
                              env={**os.environ, **_ENV_ONE_THREAD}, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OcrError(f"Tesseract took more than {timeout:g} s on one page") from exc
    except OSError as exc:
        raise OcrError(f"Tesseract could not be started ({exc})") from exc
    if done.returncode != 0:
        raise OcrError(_failure(done.returncode, done.stderr))
    return done.stdout.decode("utf-8", "replace")


def _failure(code: int, stderr: bytes) -> str:
    message = stderr.decode("utf-8", "replace").strip().splitlines()
    return f"Tesseract failed (exit code {code}): {message[-1] if message else 'no message'}"


@dataclass
class _Job:
    """A page's Tesseract run in the background."""

    process: subprocess.Popen[bytes]
    output: Path
    rect: pymupdf.Rect
    size: tuple[int, int]
    dpi: int
    started: float


def _title(element: ET.Element) -> dict[str, list[str]]:
    """hOCR's `title` properties: "bbox 1 2 3 4; x_wconf 91" -> {"bbox": [...], ...}."""
    out: dict[str, list[str]] = {}
    for part in (element.get("title") or "").split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


_LINE_CLASSES = {"ocr_line", "ocr_header", "ocr_textfloat", "ocr_caption"}


SUPERSCRIPT = 1
"""PyMuPDF's superscript span flag (`paperflow.pdf.SUPERSCRIPT_FLAG`)."""
_MARKER_KEEP = re.compile(r"[0-9a-z,*†‡§¶#]")
_RAISED_MARKS = set("0123456789*†‡§¶#!?")
_QUOTES = set("'‘’`\"“”")
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass
class _Char:
    text: str
    box: tuple[float, float, float, float]


def _chars(word: ET.Element) -> list[_Char]:
    """The word's characters with their boxes (`hocr_char_boxes`), else the word as one."""
    out: list[_Char] = []
    for info in word.iter():
        if "ocrx_cinfo" in _classes(info):
            box = _title(info).get("x_bboxes")
            text = "".join(info.itertext())
            if box and text.strip():
                out.append(_Char(text.strip(), tuple(float(v) for v in box[:4])))  # type: ignore[arg-type]
    return out


def _split_raised(chars: list[_Char], baseline: float, x_size: float) -> tuple[int, int]:
    """Where a word's superscript marker starts and ends ("Cohan†*" -> (5, 7), "Lee1," ->
    (3, 4)); (n, n) when there is none, (0, n) when the whole word is one ("2,").

    A marker is a run of characters at the word's end (before a comma or period on the line)
    that sit well above the baseline: digits, marker symbols and the punctuation between them
    ("1,2" is often read "1:2"), or quote-like marks as tall as a dagger (an apostrophe is not).
    """
    end = len(chars)
    while end > 1 and chars[end - 1].text in ",.;" and \
            chars[end - 1].box[3] >= baseline - 0.15 * x_size:
        end -= 1
    cut = end
    # In a word of no letters (a marker set apart by a space), any raised mark is a marker.
    lettered = any(ch.text.isalpha() for ch in chars)
    while cut > 0:
        char = chars[cut - 1]
        raised = char.box[3] < baseline - 0.15 * x_size
        tall = char.box[3] - char.box[1] >= 0.45 * x_size
        if not raised or not (char.text in _RAISED_MARKS or char.text.isdigit()
                              or char.text in ",.:;" or not lettered
                              or (char.text in _QUOTES and tall)):
            break
        cut -= 1
    if cut == end or (cut > 0 and not any(ch.text.isalpha() for ch in chars[:cut])):
        return len(chars), len(chars)
    return cut, end


def _trimmed_mean(values: list[float]) -> float:
    """The mean of the middle 60 %: a misread letter or a stray accent does not move it."""
    values = sorted(values)
    cut = len(values) // 5
    middle = values[cut:len(values) - cut] or values
    return sum(middle) / len(middle)


def line_size_px(x_size: float, letters: list[_Char]) -> float:
    """A line's font size in pixels: the median of three estimates, Tesseract's `x_size` and
    the measured heights of its capital-height and of its x-height letters (each where the
    line has two or more).

    Tesseract's `x_size` alone follows what a line holds (an equation's parentheses and
    subscripts made a body line look 1.6 times its size); letter heights follow the font. On
    the evaluation papers' scanned first pages, lines more than 8 % off their page's usual
    ratio to the true size fell from 12.2 % (`x_size` alone) to 6.1 %.
    """
    estimates = [x_size * SIZE_PER_X_SIZE]
    for kind, share in ((_CAP_HEIGHT_LETTERS, CAP_HEIGHT), (_X_HEIGHT_LETTERS, X_HEIGHT)):
        heights = [c.box[3] - c.box[1] for c in letters if c.text in kind]
        if len(heights) >= 2:
            estimates.append(_trimmed_mean(heights) / share)
    return statistics.median(estimates)


def _marker_text(chars: list[_Char]) -> str:
    """A marker's text: digits and symbols the extractors know, a colon or semicolon as the comma
    it was ("1:2"); others (a dagger read as "!") as a dagger."""
    return "".join(ch.text if _MARKER_KEEP.fullmatch(ch.text) else "," if ch.text in ":;"
                   else "†" for ch in chars)


def _drop_icons(texts: list[str]) -> list[str]:
    """Remove "©" read from an ORCID or open-access icon (one not followed by a year) and "®"
    (the "Check for updates" badge): left in, they make a line of author names look like a
    copyright notice."""
    out = list(texts)
    for index, text in enumerate(texts):
        if "©" in text:
            after = " ".join([text.split("©", 1)[1], *texts[index + 1:index + 3]])
            before = texts[index - 1].lower() if index else ""
            if not _YEAR.search(after) and "copyright" not in before:
                out[index] = text.replace("©", "")
        out[index] = out[index].replace("®", "")
    return out


def hocr_to_dict(hocr: str, rect: pymupdf.Rect, image_size: tuple[int, int],
                 ) -> tuple[dict[str, Any], list[float]]:
    """hOCR in page coordinates, as `get_text("dict")` structures; plus every word's confidence.

    Every word is a span of its own (with a trailing space but the line's last), so positions
    stay per word; every span of a line has the line's size, from Tesseract's `x_size`. A raised
    marker at a word's end (an author's "†", a footnote's "2") is a superscript span of its own,
    as the extractors expect of a native text layer.
    """
    try:
        root = ET.fromstring(hocr)
    except ET.ParseError as exc:
        raise OcrError(f"Tesseract's hOCR output cannot be read ({exc})") from exc
    width, height = image_size
    sx, sy = rect.width / width, rect.height / height

    def box(values: list[str] | tuple[float, ...]) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = (float(v) for v in values[:4])
        return (rect.x0 + x0 * sx, rect.y0 + y0 * sy, rect.x0 + x1 * sx, rect.y0 + y1 * sy)

    def union(chars: list[_Char]) -> tuple[float, float, float, float]:
        return box((min(c.box[0] for c in chars), min(c.box[1] for c in chars),
                    max(c.box[2] for c in chars), max(c.box[3] for c in chars)))

    blocks: list[dict[str, Any]] = []
    confidences: list[float] = []
    for area in root.iter():
        if "ocr_carea" not in _classes(area):
            continue
        lines: list[dict[str, Any]] = []
        for line in area.iter():
            if not _classes(line) & _LINE_CLASSES:
                continue
            props = _title(line)
            if "bbox" not in props:
                continue
            raw_box = [float(v) for v in props["bbox"][:4]]
            line_box = box(raw_box)
            x_size_px = float(props.get("x_size", ["0"])[0] or 0)
            slope, offset = (float(v) for v in (props.get("baseline") or ["0", "0"])[:2])
            angle = float(props.get("textangle", ["0"])[0] or 0) % 360
            direction = (1.0, 0.0) if angle < 45 or angle > 315 else \
                (0.0, -1.0) if angle < 180 else (0.0, 1.0)
            words = [w for w in line.iter() if "ocrx_word" in _classes(w)]
            # A word has no spaces; the white space between its character elements is layout.
            texts = _drop_icons(["".join(part.strip() for part in w.itertext()) for w in words])
            # (text, box, raised marker?, ends a word) of every piece; sizes come once the
            # whole line's letters are measured.
            pieces: list[tuple[str, tuple[float, float, float, float], bool, bool]] = []
            letters: list[_Char] = []
            for index, (word, text) in enumerate(zip(words, texts, strict=True)):
                word_props = _title(word)
                if "bbox" not in word_props:
                    continue
                if "x_wconf" in word_props:
                    confidences.append(float(word_props["x_wconf"][0]))
                if not text:
                    continue
                chars = [c for c in _chars(word) if c.text not in "©®"]
                cut = end = len(chars)
                if chars and "".join(c.text for c in chars) == text and not direction[1]:
                    baseline = raw_box[3] + offset + slope * (chars[-1].box[0] - raw_box[0])
                    cut, end = _split_raised(chars, baseline,
                                             x_size_px or raw_box[3] - raw_box[1])
                    letters += chars[:cut] + chars[end:]
                if cut == len(chars):
                    word_pieces = [(text, box(word_props["bbox"]), False)]
                else:
                    word_pieces = [("".join(c.text for c in part), union(part), False)
                                   for part in (chars[:cut],) if part]
                    word_pieces.append((_marker_text(chars[cut:end]), union(chars[cut:end]),
                                        True))
                    word_pieces += [("".join(c.text for c in part), union(part), False)
                                    for part in (chars[end:],) if part]
                last_word = index == len(words) - 1
                pieces += [(text, piece_box, raised, n == len(word_pieces) - 1 and not last_word)
                           for n, (text, piece_box, raised) in enumerate(word_pieces)]
            size_px = line_size_px(x_size_px, letters) if x_size_px else \
                0.8 * (raw_box[3] - raw_box[1])
            size = round(2 * size_px * sy) / 2
            spans = [{
                "text": f"{text} " if word_end else text, "bbox": piece_box,
                "size": round(0.7 * size, 1) if raised else size, "font": OCR_FONT,
                "flags": SUPERSCRIPT if raised else 0, "color": 0,
                "origin": (piece_box[0], piece_box[3]),
            } for text, piece_box, raised, word_end in pieces]
            if spans:
                lines.append({"spans": spans, "bbox": line_box, "wmode": 0, "dir": direction})
        if lines:
            blocks.append({"type": 0, "bbox": box(_title(area).get("bbox", ["0"] * 4)),
                           "lines": lines, "number": len(blocks)})
    return {"width": rect.width, "height": rect.height, "blocks": blocks}, confidences


def ocr_page(page: pymupdf.Page, dpi: int = 300, language: str = "eng",
             timeout: float = PAGE_TIMEOUT_SECONDS) -> OcrResult:
    """OCR one page: its text as a `get_text("dict")` dict, and the mean word confidence."""
    start = time.perf_counter()
    image, used_dpi = render_for_ocr(page, dpi)
    hocr = run_tesseract(image, used_dpi, language, timeout)
    text_dict, confidences = hocr_to_dict(hocr, page.rect, _pgm_size(image))
    confidence = round(sum(confidences) / len(confidences), 1) if confidences else None
    return OcrResult(text_dict, confidence, len(confidences), time.perf_counter() - start,
                     used_dpi)


def _pgm_size(pgm: bytes) -> tuple[int, int]:
    """Width and height from a binary PGM's header ("P5\\n<width> <height>\\n255\\n")."""
    width, height = pgm[:40].split(maxsplit=3)[1:3]
    return int(width), int(height)


# --- one document's OCR -------------------------------------------------------------------


def _workers() -> int:
    """Pages read at once: one Tesseract process per core (at most 4)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _stop_jobs(jobs: dict[int, _Job], folder: tempfile.TemporaryDirectory[str] | None) -> None:
    for job in jobs.values():
        if job.process.poll() is None:
            job.process.kill()
        job.process.wait()
    jobs.clear()
    if folder is not None:
        folder.cleanup()


@dataclass
class OcrPass:
    """The OCR of one document's pages that need it: what was read, how well, what was not.

    `paperflow.pdf.parse_layout` hands it each page `needs_ocr` picks and adds its `warnings`.
    While one page is read, the next pages needing OCR are read in the background (one
    Tesseract process per core), so a scan costs its CPU time divided by the cores.
    """

    enabled: bool = True
    dpi: int = 300
    language: str = "eng"
    max_pages: int | None = None
    budget_seconds: float | None = None
    """OCR starts no page after this long (a long scan keeps its first pages, with a warning,
    instead of the whole parse being stopped by `PAPERFLOW_PARSE_WALL_SECONDS`)."""
    workers: int = field(default_factory=_workers)
    read: list[tuple[int, float | None, int]] = field(default_factory=list)
    """(page number, mean confidence, words) of every page read by OCR."""
    unread: list[int] = field(default_factory=list)
    """Pages that needed OCR and did not get it (off, or Tesseract missing)."""
    failed: list[tuple[int, str]] = field(default_factory=list)
    out_of_time: list[int] = field(default_factory=list)
    unsized: list[tuple[int, str]] = field(default_factory=list)
    """Such pages whose OCR failed (their layer's sizes stay), with the cause."""
    _began: float | None = None
    _unavailable: str | None = None
    _checked: bool = False
    _jobs: dict[int, _Job] = field(default_factory=dict)
    _scanned_to: int = -1
    _folder: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def from_settings(cls, ocr: bool | None = None, dpi: int | None = None,
                      language: str | None = None, max_pages: int | None = None) -> OcrPass:
        """Explicit values, else the `ocr`, `ocr_dpi` and `ocr_language` settings; the time
        budget is 60 % of `parse_wall_seconds`, the sandboxed parse's wall-clock limit."""
        from paperflow.settings import get_settings

        settings = get_settings()
        ocr = settings.ocr if ocr is None else ocr
        dpi = settings.ocr_dpi if dpi is None else dpi
        language = settings.ocr_language if language is None else language
        return cls(enabled=ocr, dpi=dpi, language=language, max_pages=max_pages,
                   budget_seconds=BUDGET_SHARE * settings.parse_wall_seconds)

    @property
    def unavailable(self) -> str | None:
        """Why OCR cannot run here (checked once per document), or None."""
        if not self._checked:
            self._unavailable, self._checked = ocr_available(self.language), True
        return self._unavailable

    def process(self, source: pymupdf.Page, page: Any,
                read_page: Callable[..., Any]) -> Any:
        """`page` (a `paperflow.pdf.Page` read from `source`) re-read by OCR when possible;
        else `page` as it is, recorded as unread or failed."""
        layer = _layer_to_measure(page)
        if not self.enabled or self.unavailable is not None:
            if not layer:  # a layer's text is there: only its sizes stay the layer's guesses
                self.unread.append(page.number)
            return page
        now = time.perf_counter()
        self._began = now if self._began is None else self._began
        if self.budget_seconds is not None and now - self._began > self.budget_seconds:
            self.out_of_time.append(page.number)
            return page
        try:
            if page.number not in self._jobs and is_blank(source):
                self.read.append((page.number, None, 0))  # nothing printed: nothing to read
                return page
            result = self._result(source)
            ocred = read_page(source, textpage=result.text_dict)
        except OcrError as exc:
            (self.unsized if layer else self.failed).append((page.number, str(exc)))
            return page
        except MemoryError:
            raise
        except Exception:  # MuPDF cannot render the page (damaged, or a bomb under limits)
            (self.unsized if layer else self.failed).append(
                (page.number, "the page could not be rendered for OCR"))
            return page
        if layer:
            return measure_layer_sizes(page, ocred)
        ocred.text_source = "ocr"
        ocred.ocr_confidence = result.confidence
        self.read.append((page.number, result.confidence, result.words))
        return ocred

    def _start(self, page: pymupdf.Page) -> None:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="paperflow-ocr-")
            weakref.finalize(self, _stop_jobs, self._jobs, self._folder)
        pgm, dpi = render_for_ocr(page, self.dpi)
        base = Path(self._folder.name) / f"page-{page.number}"
        image = base.with_suffix(".pgm")
        image.write_bytes(pgm)
        try:
            process = subprocess.Popen(
                tesseract_args(str(image), str(base), dpi, self.language),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env={**os.environ, **_ENV_ONE_THREAD})
        except OSError as exc:
            raise OcrError(f"Tesseract could not be started ({exc})") from exc
        self._jobs[page.number] = _Job(process, base.with_suffix(".hocr"), page.rect,
                                       _pgm_size(pgm), dpi, time.perf_counter())

    def _look_ahead(self, doc: pymupdf.Document, index: int) -> None:
        """Start the next pages whose text layer is missing or garbage, up to `workers`."""
        last = doc.page_count if self.max_pages is None else min(doc.page_count, self.max_pages)
        if self.budget_seconds is not None and self._began is not None and \
                time.perf_counter() - self._began > self.budget_seconds:
            return
        self._scanned_to = max(self._scanned_to, index)
        while len(self._jobs) < self.workers and self._scanned_to + 1 < last:
            self._scanned_to += 1
            try:
                ahead = doc[self._scanned_to]
                if is_garbage(str(ahead.get_text("text"))) and not is_blank(ahead):
                    self._start(ahead)
            except OcrError:
                return  # the page itself will fail with the cause when its turn comes
            except Exception:  # an unreadable page: parse_layout reports it
                continue

    def _result(self, page: pymupdf.Page) -> OcrResult:
        if page.number not in self._jobs:
            self._start(page)
        self._look_ahead(page.parent, page.number)
        job = self._jobs.pop(page.number)
        try:
            remaining = PAGE_TIMEOUT_SECONDS - (time.perf_counter() - job.started)
            job.process.wait(timeout=max(remaining, 1.0))
        except subprocess.TimeoutExpired as exc:
            job.process.kill()
            job.process.wait()
            raise OcrError(f"Tesseract took more than {PAGE_TIMEOUT_SECONDS:g} s on one "
                           "page") from exc
        finally:
            stderr = job.process.stderr.read() if job.process.stderr else b""
            if job.process.stderr:
                job.process.stderr.close()
        self._look_ahead(page.parent, page.number)
        if job.process.returncode != 0:
            raise OcrError(_failure(job.process.returncode, stderr))
        try:
            hocr = job.output.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise OcrError(f"Tesseract wrote no output ({exc})") from exc
        finally:
            job.output.unlink(missing_ok=True)
            job.output.with_suffix(".pgm").unlink(missing_ok=True)
        text_dict, confidences = hocr_to_dict(hocr, job.rect, job.size)
        confidence = round(sum(confidences) / len(confidences), 1) if confidences else None
        return OcrResult(text_dict, confidence, len(confidences),
                         time.perf_counter() - job.started, job.dpi)

    def close(self) -> None:
        """Stop the pages still being read and remove their files."""
        _stop_jobs(self._jobs, self._folder)
        self._folder = None

    def warnings(self, page_count: int) -> list[str]:
        """What a reader of the result should know about the pages that needed OCR (the pass
        is over: pages still being read ahead are stopped)."""
        self.close()
        out: list[str] = []
        found = [(n, c) for n, c, words in self.read if words]
        empty = [n for n, _, words in self.read if not words]
        if found:
            scored = [c for _, c in found if c is not None]
            mean = f"; mean word confidence {sum(scored) / len(scored):.0f}%" if scored else ""
            one = len(found) == 1
            out.append(
                f"{_pages([n for n, _ in found])} no usable text layer (scanned?) and "
                f"{'was' if one else 'were'} read by OCR (Tesseract, {self.language}{mean}): "
                f"{'its' if one else 'their'} text may hold recognition errors."
            )
            low = [n for n, c in found if c is not None and c < 60]
            if low:
                out.append(f"OCR confidence is low (under 60%) on pages {_ranges(low)}: "
                           "check their text; a cleaner scan or a higher PAPERFLOW_OCR_DPI "
                           "may help.")
        textless = sorted([*empty, *self.unread, *(n for n, _ in self.failed),
                           *self.out_of_time])
        if self.unread and not self.enabled:
            why = "OCR is turned off (PAPERFLOW_OCR=false)"
        elif self.unread:
            why = f"they were not read by OCR: {self.unavailable}"
        else:
            why = ""
        for number, error in self.failed:
            out.append(f"OCR of page {number} failed ({error}); its text is missing.")
        for number, error in self.unsized:
            out.append(f"Page {number} is a scan with a text layer whose sizes OCR was to "
                       f"measure, and OCR failed ({error}): the layer's own sizes were used, "
                       "so its title and authors may be misread.")
        if self.out_of_time:
            out.append(
                f"OCR stopped after {self.budget_seconds:g} s (60% of "
                f"PAPERFLOW_PARSE_WALL_SECONDS): pages {_ranges(self.out_of_time)} were not "
                "read; raise PAPERFLOW_PARSE_WALL_SECONDS (and PAPERFLOW_PARSE_CPU_SECONDS) to "
                "read a scan this long.")
        if empty:
            why = "; ".join(filter(None, [why, "OCR (Tesseract) found no text on "
                                          f"pages {_ranges(empty)}"]))
        if textless and len(textless) == page_count:
            out.append("No page has a usable text layer (a scanned paper?): text fields are "
                       "empty or unreadable"
                       + (f"; {why}." if why else "."))
        elif textless:
            out.append(f"Pages without a usable text layer (scanned?): {_ranges(textless)}; "
                       "their text is missing or unreadable" + (f"; {why}." if why else "."))
        return out


def _pages(numbers: list[int]) -> str:
    """"Page 3 has" or "Pages 1-2 have"."""
    if len(numbers) == 1:
        return f"Page {numbers[0]} has"
    return f"Pages {_ranges(numbers)} have"


def _ranges(numbers: list[int]) -> str:
    """"1-3, 5" for [1, 2, 3, 5]."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
