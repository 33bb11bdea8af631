"""How OCR'd words become the layout the extractors read: sizes, markers and the header rules
for text whose sizes are estimates. Pages are written as hOCR (what Tesseract gives) with
letter boxes set as a font sets them, so each rule is tested without running Tesseract."""

from __future__ import annotations

import pymupdf

from paperflow import ocr
from paperflow.extract.header import _split_names, extract_header
from paperflow.layout import analyse_layout
from paperflow.pdf import Line, ParsedDocument, Span, read_page

SCALE = 0.5
"""Points per pixel of the hOCR image (144 dpi)."""
PAGE = pymupdf.Rect(0, 0, 612, 792)
CAPITAL_HEIGHT = set("bdfhklt") | {chr(c) for c in range(ord("A"), ord("Z") + 1)} | set(
    "0123456789")
X_LETTERS = set("acemnorsuvwxz")


def _word(text: str, x: float, baseline: float, size: float) -> tuple[str, float]:
    """A word's hOCR with a box per character; `^` starts a raised marker ("Lee^1,2")."""
    chars: list[str] = []
    raised = False
    boxes: list[tuple[float, float, float, float]] = []
    for ch in text:
        if ch == "^":
            raised = True
            continue
        width = 0.5 * size * (0.6 if raised else 1.0)
        if raised:
            bottom, height = baseline - 0.35 * size, 0.45 * size
        elif ch in CAPITAL_HEIGHT:
            bottom, height = baseline, 0.663 * size
        elif ch in X_LETTERS:
            bottom, height = baseline, 0.468 * size
        elif ch in "gjpqy":
            bottom, height = baseline + 0.2 * size, 0.668 * size
        else:  # punctuation
            bottom, height = baseline + 0.1 * size, 0.8 * size
        boxes.append((x, bottom - height, x + width, bottom))
        chars.append(
            f"<span class='ocrx_cinfo' title='x_bboxes {x:.0f} {bottom - height:.0f} "
            f"{x + width:.0f} {bottom:.0f}; x_conf 95'>{ch}</span>")
        x += width
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return (f"<span class='ocrx_word' title='bbox {x0:.0f} {y0:.0f} {x1:.0f} {y1:.0f}; "
            f"x_wconf 95'>{''.join(chars)}</span>", x1)


def _hocr(lines: list[tuple[str, float, float, float, float | None]]) -> str:
    """(text, left, baseline, size, Tesseract's x_size or None for the usual one) per line, in
    pixels; each line is a block of its own."""
    areas = []
    for text, left, baseline, size, x_size in lines:
        words, x = [], left
        for token in text.split():
            html, right = _word(token, x, baseline, size)
            words.append(html)
            x = right + 0.3 * size
        top, bottom = baseline - 0.75 * size, baseline + 0.25 * size
        x_size = x_size or size / ocr.SIZE_PER_X_SIZE
        box = f"{left:.0f} {top:.0f} {x:.0f} {bottom:.0f}"
        areas.append(
            f"<div class='ocr_carea' title='bbox {box}'><p class='ocr_par'>"
            f"<span class='ocr_line' title='bbox {box}; baseline 0 {-0.25 * size:.0f}; "
            f"x_size {x_size:.1f}'>{''.join(words)}</span></p></div>")
    return ("<html xmlns='http://www.w3.org/1999/xhtml'><body><div class='ocr_page'>"
            + "".join(areas) + "</div></body></html>")


def _scanned_page(lines: list[tuple[str, float, float, float, float | None]]) -> ParsedDocument:
    """A one-page document whose text was read by OCR from `lines` (see `_hocr`)."""
    image = (round(PAGE.width / SCALE), round(PAGE.height / SCALE))
    text, _ = ocr.hocr_to_dict(_hocr(lines), PAGE, image)
    blank = pymupdf.open()
    page = read_page(blank.new_page(width=PAGE.width, height=PAGE.height), textpage=text)
    page.text_source = "ocr"
    return analyse_layout(ParsedDocument(1, [page]))


BODY = [(f"we read the page of each paper {i} and find the parts a reader needs from how "
         "the page is set", 120.0, 700.0 + 40 * i, 20.0, None) for i in range(12)]


def test_a_line_size_follows_its_letters_not_tesseracts_row_height() -> None:
    """An equation's subscripts and parentheses made Tesseract's row height (x_size) 1.6 times
    the text's; the letters' own heights keep the line at the body's size."""
    doc = _scanned_page([("Ea = Bb (ier) and", 120, 300, 20, 36), *BODY])
    sizes = {line.text: line.size for line in doc.pages[0].lines()}
    equation = sizes["Ea = Bb (ier) and"]
    assert abs(equation - sizes[BODY[0][0]]) <= 0.5, sizes
    # x_size alone would have given 36 px * 1.11 * 0.5 = 20 pt.
    assert equation < 12


def test_the_title_is_two_lines_of_one_size_estimated_apart() -> None:
    """The title's two lines estimated at 17 and 18 pt are one title; a logo's one word read
    at a larger size is set aside."""
    doc = _scanned_page([
        ("mace", 80, 120, 70, None),
        ("Rules That Carry Over to Papers", 200, 260, 36, None),
        ("They Were Not Written For", 260, 310, 34, None),
        ("Ann Lee^1 and Bo Chan^2", 300, 380, 22, None),
        ("^1University of Leeds, Leeds, UK", 240, 430, 18, None),
        ("^2University of Oslo, Oslo, Norway", 240, 470, 18, None),
        *BODY,
    ])
    header = extract_header(doc)
    assert header.title == "Rules That Carry Over to Papers They Were Not Written For"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]


def test_a_marker_set_apart_by_a_space_is_read_as_a_marker() -> None:
    """A marker printed after a space ("Bartek 1,2,*", read "1:2\"*") is no part of a name."""
    doc = _scanned_page([
        ("A Study of How Markers Are Set Apart", 200, 260, 36, None),
        ("Jiri Bartek ^1:2\"* and Ann Lee ^2", 300, 330, 22, None),
        ("^1Danish Cancer Society, Copenhagen, Denmark", 240, 380, 18, None),
        ("^2University of Oslo, Oslo, Norway", 240, 420, 18, None),
        *BODY,
    ])
    spans = [span for line in doc.pages[0].lines() for span in line.spans
             if span.is_superscript]
    assert [span.text.strip() for span in spans][:2] == ["1,2†*", "2"]
    header = extract_header(doc)
    assert [a.name for a in header.authors] == ["Jiri Bartek", "Ann Lee"]


def test_names_set_apart_by_wide_spaces_are_separate_names() -> None:
    """A byline of names parted only by wide spaces (their markers unreadable)."""
    doc = _scanned_page([
        ("A Study of Bylines Without Commas", 200, 260, 36, None),
        ("Russell Authur", 200, 330, 22, None),
        *BODY,
    ])
    line = next(line for line in doc.pages[0].lines() if line.text.startswith("Russell"))
    right = line.spans[-1].bbox[2]
    # Three more names on the same baseline, each after a gap of about one em.
    spans = list(line.spans)
    x = right
    for name in ("Erin Bransom", "Stefan Candra", "Regan Huff"):
        x += 11.0
        for word in name.split():
            width = 2.8 * len(word)
            spans.append(Span(word + " ", (x, line.bbox[1], x + width, line.bbox[3]),
                              line.size, "OCR", 0))
            x += width + 3.3
    byline = Line(spans, (line.bbox[0], line.bbox[1], x, line.bbox[3]))
    names = [name.name for name in _split_names([byline], 0)]
    assert names == ["Russell Authur", "Erin Bransom", "Stefan Candra", "Regan Huff"]


def test_a_displays_symbols_read_as_text_are_no_title_and_no_address() -> None:
    """OCR reads a column of equations as text, its sub- and superscripts making it look
    larger than the title: lines set like a formula, and a line of letters between two of
    them, are neither the title nor a name or an address."""
    display = [("D, + OV exexy + Hgex + YO [ZU yy + V2]", 700, 120, 44, None),
               ("(tanh*): Ay (1) BD) [3 rA, (07 2400g (04", 700, 190, 46, None),
               ("AOL GOx+ AO LAO", 700, 260, 48, None),
               ("+ 12G(t) yAo(t) + 18 r#o(t) a(t)", 700, 330, 44, None),
               ("-1- 12^(OV^o(0 + lSr^oit)^2(t)", 700, 410, 44, None)]
    doc = _scanned_page([
        ("Exact Solutions of the General", 60, 120, 36, None),
        ("Shallow Water Wave Models", 60, 170, 36, None),
        ("Ann Lee and Bo Chan", 60, 240, 22, None),
        ("Department of Physics, University of Leeds,", 60, 300, 18, None),
        ("Leeds LS2 9JT, United Kingdom", 60, 330, 18, None),
        ("Z. Naturforsch. 54a, 272-273 (1999);", 60, 375, 18, None),
        ("received December 15, 1998", 60, 405, 18, None),
        *display,
        *BODY,
    ])
    header = extract_header(doc)
    assert header.title == "Exact Solutions of the General Shallow Water Wave Models"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "Department of Physics, University of Leeds, Leeds LS2 9JT, United Kingdom"]
