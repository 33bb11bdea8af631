"""OCR of scanned papers: real pages rasterised into image-only PDFs, read back by Tesseract."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pymupdf
import pytest

from paperflow import ocr
from paperflow.evaluate import score_paper
from paperflow.layout import analyse_layout
from paperflow.models import PaperMetadataExtraction
from paperflow.pdf import ParsedDocument, pages_needing_ocr, parse_layout
from paperflow.pipeline import PaperKey, assemble, run_groups
from paperflow.sandbox import ocr_document_limited, parse_layout_limited
from paperflow.settings import reload_settings
from tests.conftest import EVAL_DIR, SAMPLE_PDF
from tests.ocr_pages import GARBAGE, SYMBOL_SOUP, rasterise
from tests.pdfs import make_paper, make_scanned

DPI = 200
"""Scans are made and read at 200 dpi here: what a scanner gives, and quicker than 300."""


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    missing = ocr.ocr_available("eng")
    if missing:
        pytest.fail(f"OCR tests need Tesseract: run scripts/ensure_tesseract.sh "
                    f"(`make test` does). {missing}")


@lru_cache(maxsize=8)
def _scan(path: Path, pages: int = 2, noise: bool = False, layer: str | None = None) -> bytes:
    return rasterise(path.read_bytes(), pages, DPI, noise=noise, text_layer=layer)


@lru_cache(maxsize=1)
def _short_paper() -> bytes:
    """A synthetic paper's title page: little text, so quick to OCR."""
    return make_paper(pages=2, figure=False)


def _extract(data: bytes, doc: ParsedDocument) -> PaperMetadataExtraction:
    analyse_layout(doc)
    return assemble(PaperKey.of(data), doc, run_groups(doc))


def _native_first_pages(path: Path, pages: int) -> bytes:
    doc = pymupdf.open(path)
    doc.select(list(range(pages)))
    data = doc.tobytes()
    doc.close()
    return data


def test_ocr_of_a_rasterised_page_gives_words_with_positions() -> None:
    native = pymupdf.open(SAMPLE_PDF)[0]
    scan = pymupdf.open(stream=_scan(SAMPLE_PDF, 1), filetype="pdf")[0]
    assert scan.get_text().strip() == ""  # an image only

    result = ocr.ocr_page(scan, dpi=DPI)

    assert result.words > 300 and result.confidence is not None and result.confidence > 75
    spans = [span for block in result.text_dict["blocks"] for line in block["lines"]
             for span in line["spans"]]
    assert 0.9 * result.words <= len(spans) <= 1.2 * result.words
    # Every native word of the title is found by OCR at the same place on the page (within
    # a few points), with a size near the native one.
    title = [w for w in native.get_text("words")
             if w[4] in ("VESPA:", "Evolutionary") and w[1] < 150]
    assert len(title) == 2
    for x0, y0, x1, y1, word, *_ in title:
        match = [s for s in spans if s["text"].strip() == word]
        assert match, word
        box = match[0]["bbox"]
        # The same left and right edges; the ink inside the native line's box (which has room
        # for descenders below and accents above).
        assert abs(box[0] - x0) < 3 and abs(box[2] - x1) < 3, (box, (x0, y0, x1, y1))
        assert box[1] >= y0 - 2 and box[3] <= y1 + 2, (box, (x0, y0, x1, y1))
        native_size = max(s["size"] for b in native.get_text("dict")["blocks"]
                          for line in b.get("lines", []) for s in line["spans"]
                          if word in s["text"])
        assert abs(match[0]["size"] - native_size) <= 0.2 * native_size


def test_a_scanned_paper_is_read_by_ocr_with_its_source_and_confidence() -> None:
    doc = parse_layout(_scan(SAMPLE_PDF, 2), ocr_dpi=DPI)

    assert [page.text_source for page in doc.pages] == ["ocr", "ocr"]
    assert all(page.ocr_confidence and page.ocr_confidence > 75 for page in doc.pages)
    assert "Evolutionary and Selective Pressure" in doc.text
    assert not any("text layer" in w and "missing" in w for w in doc.warnings)
    assert any("Pages 1-2" in w and "read by OCR" in w and "confidence" in w
               for w in doc.warnings), doc.warnings
    # A native paper stays native.
    native = parse_layout(SAMPLE_PDF.read_bytes(), max_pages=2)
    assert {page.text_source for page in native.pages} == {"native"}
    assert not any("OCR" in w for w in native.warnings)


# The last four lost their title (V03, V28) or names (V12, V26) when OCR sizes came from
# Tesseract's row heights and names were parted only by commas.
PAPERS = ["V07_acl2020_specter", "V21_bmchsr2014_malawi", "V27_natcommun2023_limk",
          "V03_jss2007_timp", "V12_papermage2023", "V26_nar2024_intercalators",
          "V28_biorxiv2024_nanopore"]


@pytest.mark.parametrize("paper", PAPERS)
def test_scanned_eval_papers_match_the_native_extraction(paper: str) -> None:
    assert EVAL_DIR.is_dir(), f"the evaluation papers are expected at {EVAL_DIR}"
    gt = json.loads((EVAL_DIR / f"{paper}.gt.json").read_text(encoding="utf-8"))["gt"]
    pdf = EVAL_DIR / f"{paper}.pdf"
    # The first page holds these papers' title, authors and abstract: one page keeps it quick
    # (`benchmarks/ocr.py` reads two pages of every evaluation paper).
    native_data = _native_first_pages(pdf, 1)
    native = score_paper(paper, _extract(native_data, parse_layout(native_data)), gt, 0.0)
    scan_data = _scan(pdf, 1, noise=paper.endswith("malawi"))
    scanned = score_paper(paper, _extract(scan_data, parse_layout(scan_data, ocr_dpi=DPI)),
                          gt, 0.0)

    for name in ("title", "abstract"):
        assert scanned.fields["soft"][name][0] >= native.fields["soft"][name][0], name
    found, _, expected = scanned.fields["soft"]["authors"]
    native_found = native.fields["soft"]["authors"][0]
    assert found >= 0.8 * native_found and found >= 0.5 * expected, (found, native_found)


def test_a_garbage_text_layer_triggers_ocr() -> None:
    assert not ocr.is_garbage("We study metadata extraction from scientific PDFs. " * 3)
    assert not ocr.is_garbage("这是一篇关于机器学习的论文。我们提出了一种新的方法。" * 2)
    assert not ocr.is_garbage("1.23 4.56 (0.12) 7.89 10.11 Table 2 " * 8)  # a page of numbers
    assert not ocr.is_garbage("12")  # a lone page number is too little to judge
    assert ocr.is_garbage("")
    assert ocr.is_garbage("\ufffd\ufffd\x01 \ufffd\x03 " * 20)
    assert ocr.is_garbage(SYMBOL_SOUP)
    assert ocr.is_garbage("xqzt brwpl ghjk mnbv cxzq wrtp lkjh gfds vbnm qwrt " * 3)

    for layer in (GARBAGE, SYMBOL_SOUP):
        scan = rasterise(_short_paper(), 1, DPI, text_layer=layer)
        plain = parse_layout(scan, ocr=False)
        assert plain.pages[0].text.strip() and ocr.needs_ocr(plain.pages[0])
        assert ocr.needs_ocr(pymupdf.open(stream=scan, filetype="pdf")[0])
        read = parse_layout(scan, ocr_dpi=150)
        assert read.pages[0].text_source == "ocr"
        assert "Structured Extraction" in read.pages[0].text
        assert "\ufffd" not in read.pages[0].text


def _scan_with_layer(data: bytes, title_size: float, size: float, image: bool = True) -> bytes:
    """Page 1 of `data` as a scan with an invisible text layer of its words, as another OCR
    program writes one: every line at its printed place, in one font, the title's lines at
    `title_size` and the others at `size` (the program's guesses, not the print's)."""
    src = pymupdf.open(stream=data, filetype="pdf")
    page = src[0]
    out = pymupdf.open()
    target = out.new_page(width=page.rect.width, height=page.rect.height)
    if image:
        pixmap = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY, alpha=False)
        target.insert_image(target.rect, stream=pixmap.tobytes("png"))
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            span = line["spans"][0]
            text = "".join(s["text"] for s in line["spans"])
            guess = title_size if span["size"] >= 18 else size
            target.insert_text(span["origin"], text, fontsize=guess, render_mode=3)
    return out.tobytes()


def test_a_scans_ocr_layer_keeps_its_words_and_takes_its_sizes_from_the_print() -> None:
    """A scan whose invisible OCR layer set the title smaller than the body: its first page's
    line sizes are measured by OCR from the image, so the title is found; the words stay the
    layer's. Invisible text on a page with no scan under it is native text, left alone."""
    paper = _short_paper()
    scan = _scan_with_layer(paper, title_size=8, size=10)

    as_is = parse_layout(scan, ocr=False)
    assert as_is.pages[0].text_source == "ocr-layer"
    assert not any("OCR" in w for w in as_is.warnings), as_is.warnings
    assert _extract(scan, as_is).title != "Structured Extraction of Scientific Papers at Scale"

    measured = parse_layout(scan, ocr_dpi=150)
    page = measured.pages[0]
    assert page.text_source == "ocr-layer" and page.text == as_is.pages[0].text
    sizes = {line.text: line.size for line in page.lines()}
    title = "Structured Extraction of Scientific Papers at Scale"
    assert sizes["Structured Extraction of Scientific Papers at"] > 1.4 * sizes[
        "Ada Lovelace and Alan Turing"] > 1.4 * 8, sizes
    assert _extract(scan, measured).title == title
    assert pages_needing_ocr(measured) == [1]  # the flow's OCR step measures it too

    hidden = parse_layout(_scan_with_layer(paper, 8, 10, image=False))
    assert hidden.pages[0].text_source == "native"


def test_ocr_off_by_setting_leaves_the_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_OCR", "false")
    reload_settings()
    try:
        doc = parse_layout(_scan(SAMPLE_PDF, 1))
    finally:
        monkeypatch.undo()
        reload_settings()
    assert doc.text == "" and doc.pages[0].text_source == "native"
    assert doc.pages[0].ocr_confidence is None
    assert any("No page has a usable text layer" in w and "OCR is turned off" in w
               for w in doc.warnings), doc.warnings


def test_a_long_scan_stops_ocr_within_the_parse_time_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_PARSE_WALL_SECONDS", "0.5")  # a budget of 0.3 s
    reload_settings()
    try:
        doc = parse_layout(rasterise(make_paper(pages=3, figure=False), 3, 100), ocr_dpi=100)
    finally:
        monkeypatch.undo()
        reload_settings()
    sources = [page.text_source for page in doc.pages]
    assert sources[0] == "ocr" and sources[-1] == "native", sources
    assert any("OCR stopped after 0.3 s" in w and "PAPERFLOW_PARSE_WALL_SECONDS" in w
               for w in doc.warnings), doc.warnings


def test_missing_tesseract_gives_a_warning_saying_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    assert "not installed" in (ocr.ocr_available() or "")
    doc = parse_layout(_scan(SAMPLE_PDF, 1))
    assert doc.text == ""
    assert any("Tesseract is not installed" in w and "apt-get install tesseract-ocr" in w
               and "scripts/ensure_tesseract.sh" in w for w in doc.warnings), doc.warnings


def test_a_blank_scan_keeps_the_text_layer_warning() -> None:
    doc = parse_layout(make_scanned(), ocr_dpi=100)
    assert doc.text == ""
    assert any("text layer" in w and "found no text" in w for w in doc.warnings), doc.warnings


def test_ocr_runs_inside_the_parse_sandbox() -> None:
    """`parse_layout_limited` parses in the resource-limited child: OCR works there too."""
    doc = parse_layout_limited(rasterise(_short_paper(), 1, DPI), 10)
    assert doc.pages[0].text_source == "ocr" and "Structured Extraction" in doc.text


def test_the_flow_parses_first_and_reads_scanned_pages_as_a_step_of_their_own() -> None:
    """`parse_pdf` defers OCR; `ocr_pages` reads the scanned pages, sandboxed as well."""
    data = rasterise(_short_paper(), 1, DPI)
    parsed = parse_layout_limited(data, 10, defer_ocr=True)
    assert parsed.pages[0].text_source == "native" and parsed.text.strip() == ""
    assert pages_needing_ocr(parsed) == [1]
    assert not any("OCR" in w or "text layer" in w for w in parsed.warnings), parsed.warnings

    read = ocr_document_limited(data, parsed)
    assert read.pages[0].text_source == "ocr" and read.pages[0].ocr_confidence
    assert "Structured Extraction" in read.text
    assert any("read by OCR" in w for w in read.warnings), read.warnings
    assert parsed.pages[0].text_source == "native"  # the parsed document is left as it was

    native_data = _short_paper()
    native = parse_layout_limited(native_data, 10, defer_ocr=True)
    assert pages_needing_ocr(native) == [] and ocr_document_limited(native_data, native) is native


def test_rotated_ocr_lines_go_to_the_margin() -> None:
    hocr = (
        "<html xmlns='http://www.w3.org/1999/xhtml'><body><div class='ocr_page'>"
        "<div class='ocr_carea' title='bbox 0 0 100 1000'><p class='ocr_par'>"
        "<span class='ocr_line' title='bbox 10 10 40 900; textangle 90; x_size 30'>"
        "<span class='ocrx_word' title='bbox 10 10 40 300; x_wconf 90'>arXiv:2101.00001v1"
        "</span></span>"
        "<span class='ocr_line' title='bbox 50 10 90 40; baseline 0 -5; x_size 28'>"
        "<span class='ocrx_word' title='bbox 50 10 70 40; x_wconf 80'>Hello</span>"
        "<span class='ocrx_word' title='bbox 72 10 90 40; x_wconf 70'>world</span>"
        "</span></p></div></div></body></html>"
    )
    text, confidences = ocr.hocr_to_dict(hocr, pymupdf.Rect(0, 0, 50, 500), (100, 1000))
    rotated, plain = text["blocks"][0]["lines"]
    assert rotated["dir"][0] < 0.5 and plain["dir"] == (1.0, 0.0)
    assert [s["text"] for s in plain["spans"]] == ["Hello ", "world"]
    assert plain["spans"][0]["bbox"] == (25.0, 5.0, 35.0, 20.0)
    assert confidences == [90.0, 80.0, 70.0]
