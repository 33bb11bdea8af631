import pymupdf
import pytest

from paperflow.errors import EmptyInputError, EncryptedPdfError, InvalidPdfError, PermanentError
from paperflow.pdf import clean_text, join_lines, parse_layout, validate_pdf_bytes
from tests.pdfs import (
    HTML_PAGE,
    make_encrypted,
    make_pages,
    make_paper,
    make_scanned,
    make_zero_pages,
    png_bytes,
)


def test_reads_text_in_order_with_fonts() -> None:
    doc = parse_layout(make_paper(title="A Short Title"))
    assert doc.page_count == 3
    first = doc.pages[0]
    assert first.blocks[0].text == "A Short Title"
    assert first.blocks[0].size == pytest.approx(18, abs=0.5)
    assert "Abstract" in first.text
    assert doc.body_font_size == pytest.approx(10, abs=0.6)


def _two_column_page() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "A Title Spanning Both Columns of the Page", fontsize=16)
    for i in range(30):
        page.insert_text((72, 100 + 14 * i), f"left column line {i:02d} with words", fontsize=9)
        page.insert_text((320, 100 + 14 * i), f"right column line {i:02d} more words", fontsize=9)
    data = doc.tobytes()
    doc.close()
    return data


def test_two_columns_read_left_column_first() -> None:
    page = parse_layout(_two_column_page()).pages[0]
    assert page.columns == 2
    text = page.text
    assert text.index("A Title") < text.index("left column line 00")
    assert text.index("left column line 29") < text.index("right column line 00")


def test_three_columns() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=792, height=612)
    for i in range(25):
        for col, x in enumerate((40, 290, 540)):
            page.insert_text((x, 60 + 14 * i), f"col{col} line {i:02d} text", fontsize=9)
    parsed = parse_layout(doc.tobytes()).pages[0]
    assert parsed.columns == 3
    text = parsed.text
    assert text.index("col0 line 24") < text.index("col1 line 00") < text.index("col2 line 00")


def test_join_lines_mends_hyphenation_only_between_lowercase() -> None:
    assert join_lines(["extrac-", "tion works"]) == "extraction works"
    assert join_lines(["state-of-the-", "Art"]) == "state-of-the- Art"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EmptyInputError, "empty"),
        (HTML_PAGE, InvalidPdfError, "HTML page"),
        (png_bytes(), InvalidPdfError, "PNG image"),
        (make_paper()[:4000], InvalidPdfError, "truncated"),
    ],
    ids=["empty", "html", "png", "truncated"],
)
def test_rejects_what_is_not_a_whole_pdf(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        validate_pdf_bytes(data)
    with pytest.raises(PermanentError):
        parse_layout(data)


def test_encrypted_pdf_is_a_clear_permanent_error() -> None:
    with pytest.raises(EncryptedPdfError, match="password"):
        parse_layout(make_encrypted())


def test_zero_pages() -> None:
    with pytest.raises(InvalidPdfError, match="zero pages"):
        parse_layout(make_zero_pages())


def test_scanned_paper_is_degraded_not_failed() -> None:
    doc = parse_layout(make_scanned())
    assert doc.page_count == 1
    assert doc.text == ""
    assert any("text layer" in w for w in doc.warnings)


def test_thousands_of_pages_are_capped_with_a_warning() -> None:
    data = make_pages(3000)
    doc = parse_layout(data, max_pages=500)
    assert doc.page_count == 3000
    assert len(doc.pages) == 500
    assert doc.pages[-1].text == "Page text 500"
    assert any("3000 pages" in w and "PAPERFLOW_MAX_PAGES" in w for w in doc.warnings)


def test_line_and_block_text_and_size_are_remembered_until_changed() -> None:
    """Text and size are read hundreds of thousands of times per paper, so they are memoised;
    code that edits spans or lines in place says so with `changed()`, and the codec never
    stores the memo."""
    from paperflow import codec
    from paperflow.pdf import Block, Line, Span

    def span(text: str, size: float) -> Span:
        return Span(text, (0.0, 0.0, 10.0, 10.0), size, "Helvetica", 0)

    line = Line([span("Results ", 10.0), span("hold", 10.0)], (0.0, 0.0, 50.0, 10.0))
    block = Block([line, Line([span("Big", 14.0)], (0.0, 12.0, 50.0, 24.0)),
                   Line([span("too", 10.0)], (0.0, 26.0, 50.0, 36.0))], (0.0, 0.0, 50.0, 36.0))
    assert (line.text, line.size, block.text, block.size) == ("Results hold", 10.0,
                                                             "Results hold Big too", 10.0)
    assert b"Results hold Big" not in codec.dumps(block), "memo stored"
    assert codec.loads(codec.dumps(block)) == block

    line.spans[:0] = [span("1. ", 14.0), span("Overall findings: ", 14.0)]
    assert line.text == "Results hold", "memo kept until changed()"
    block.changed()
    assert line.text == "1. Overall findings: Results hold" and line.size == 14.0
    assert block.text.startswith("1. Overall findings: Results hold Big") and block.size == 14.0


def test_tex_font_slots_left_as_control_codes_are_spelled_out() -> None:
    """A TeX font with no Unicode map leaves its ligatures and quotes as their slots' codes
    (T1: ff/fi/fl/ffi/ffl at 0x1B-0x1F, quotes at 0x10/0x11; OT1: ligatures at 0x0B-0x0F);
    Python counts 0x1C-0x1F as white space, so "modi\\x1ced" would read "modi ed"."""
    assert clean_text("a (slightly) modi\x1ced version") == "a (slightly) modified version"
    assert clean_text("so many di\x1berent things") == "so many different things"
    assert clean_text("SAS \x10type 3\x11 tests") == "SAS \u201ctype 3\u201d tests"
    assert clean_text("\x0crst \x0dow, the sta\x0b") == "first flow, the staff"
    assert clean_text("Universit\u00e4t, \x1dow") == "Universität, flow"
    # Not beside a letter, 0x0B-0x0D are line and page breaks, not ligatures.
    assert clean_text("1 \x0c 2") == "1 \x0c 2"
    assert clean_text("plain text") == "plain text"
