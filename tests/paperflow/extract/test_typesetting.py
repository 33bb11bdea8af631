"""Typesetting rules of the layout stage and the front matter, each on a generated document.

Every test builds the convention it checks (a footnote affiliation, an author grid, an endnote
list, ...) with PyMuPDF, so the rule is tested as a rule, not as one paper's quirk.
"""

from __future__ import annotations

import pymupdf
import pytest

from paperflow.extract.header import Header, extract_header
from paperflow.extract.references import reference_entries
from paperflow.identifiers import find_doi
from paperflow.layout import analyse_layout
from paperflow.pdf import ParsedDocument, parse_layout

PROSE = ("the method reads each page of the paper and finds the parts a reader needs, and it "
         "does so from how the page is set rather than from a list of words that match one "
         "journal; we show that the rules carry over to papers they were not written for")


def _runs(page: pymupdf.Page, x: float, y: float,
          runs: list[tuple[str, float, str, float]]) -> None:
    """Write (text, size, font, rise) runs left to right on one baseline."""
    for text, size, font, rise in runs:
        page.insert_text((x, y - rise), text, fontsize=size, fontname=font)
        x += pymupdf.get_text_length(text, fontname=font, fontsize=size)


def _prose(page: pymupdf.Page, x: float, y: float, lines: int, width: int = 95,
           size: float = 10, pitch: float = 1.3) -> float:
    words = (PROSE + " ") * 20
    for i in range(lines):
        page.insert_text((x, y), words[i * 7: i * 7 + width].strip(), fontsize=size)
        y += size * pitch
    return y


def _analysed(doc: pymupdf.Document) -> ParsedDocument:
    data = doc.tobytes()
    doc.close()
    return analyse_layout(parse_layout(data))


def _title_and_names(page: pymupdf.Page, names: list[tuple[str, str]]) -> None:
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    runs: list[tuple[str, float, str, float]] = []
    for i, (name, marker) in enumerate(names):
        runs.append(((", " if i else "") + name, 11, "helv", 0))
        if marker:
            runs.append((marker, 7, "helv", 4))
    _runs(page, 72, 120, runs)


def _marked_names_over_text(doc: pymupdf.Document) -> pymupdf.Page:
    """A page: the title, "Ann Lee¹, Bo Chan²", an abstract and text, room for footnotes."""
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 8)
    _prose(page, 72, 320, 20)
    return page


def test_numbered_footnote_affiliations_linked_to_markers() -> None:
    """Affiliations as first-page footnotes whose numbers are set at full size."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    page.insert_text((72, 760), "1 Department of Physics, University of Alder, Alder 1010, Norway",
                     fontsize=8)
    page.insert_text((72, 772), "2 School of Chemistry, Birch Institute of Technology, Birch,",
                     fontsize=8)
    page.insert_text((80, 782), "Canada", fontsize=8)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "Department of Physics, University of Alder, Alder 1010, Norway",
        "School of Chemistry, Birch Institute of Technology, Birch, Canada",
    ]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


@pytest.mark.parametrize("country", ["Iceland", "Ecuador", "Viet Nam", "Brasil"])
def test_author_grid_cell_with_two_addresses_cut_after_its_country(country: str) -> None:
    """A cell holding two addresses, one under the other, is cut after the line ending with a
    country, whichever country it is."""
    header = _author_grid(["Department of Physics", "University of Alder",
                           f"102 Alder, {country}", "Faculty of Law",
                           "Birch Institute of Technology", "Birch, Poland"])
    assert [a.name for a in header.authors] == ["Rosa Alvarez", "Tom Berg"]
    assert header.affiliations == [
        f"Department of Physics, University of Alder, 102 Alder, {country}",
        "Faculty of Law, Birch Institute of Technology, Birch, Poland",
    ]
    assert [a.affiliation_indices for a in header.authors] == [[0, 1], [1]]


def test_a_surname_that_names_a_country_still_ends_a_line_of_names() -> None:
    """'M. I. Jordan' is an author, not the end of an address."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ana Lopez", "1"), ("Michael I. Jordan", "2")])
    _runs(page, 72, 140, [("1", 7, "helv", 4), ("University of Alder, Alder, Sweden", 9,
                                                "helv", 0)])
    _runs(page, 72, 152, [("2", 7, "helv", 4), ("Birch Institute of Technology, Birch, Poland",
                                                9, "helv", 0)])
    page.insert_text((72, 190), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 72, 205, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ana Lopez", "Michael I. Jordan"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def _ieee_first_page(names: tuple[float, str], footnotes: list[tuple[float, str]]) -> Header:
    """An IEEE-like first page: title, a line of names (x, text), a run-in abstract, two
    columns and footnote lines (y, text) at its foot."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 80), "Storage for Scalable Video Servers", fontsize=22)
    page.insert_text((names[0], 110), names[1], fontsize=11)
    _runs(page, 43, 140, [("Abstract", 9, "hebo", 0), ("—We place scalable video on disks.",
                                                       9, "hebo", 0)])
    _prose(page, 43, 160, 30, width=48)
    _prose(page, 310, 140, 40, width=48)
    for y, line in footnotes:
        page.insert_text((43, y), line, fontsize=8)
    return extract_header(_analysed(doc))


def test_is_with_footnotes_and_society_grades() -> None:
    """IEEE style: "X is with the ..." footnotes; "Member, IEEE" is no author."""
    header = _ieee_first_page((150, "Ed Chang and Avi Zakhor, Member, IEEE"), [
        (700, "E. Chang is with the University of Alder, Alder, CA 94720 USA."),
        (710, "A. Zakhor is with the Birch Corporation, Birch, MA 02139 USA.")])
    assert [a.name for a in header.authors] == ["Ed Chang", "Avi Zakhor"]
    assert header.affiliations == ["University of Alder, Alder, CA 94720 USA",
                                   "Birch Corporation, Birch, MA 02139 USA"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_is_with_footnote_opening_with_a_list_of_names() -> None:
    """'L. M. Patel, R. Alvarez, and T. Berg are with ...' opens with an author's name and a
    comma, yet it is no "name, address" entry: the names run on to "are with"."""
    header = _ieee_first_page((120, "L. M. Patel, Rosa Alvarez, and Tom Berg"), [
        (690, "L. M. Patel, R. Alvarez, and T. Berg are"),
        (699, "with the University of Alder, Alder, Sweden."),
        (710, "T. Berg is with the Birch Institute of Technology, Birch, Poland.")])
    assert [a.name for a in header.authors] == ["L. M. Patel", "Rosa Alvarez", "Tom Berg"]
    assert header.affiliations == ["University of Alder, Alder, Sweden",
                                   "Birch Institute of Technology, Birch, Poland"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [0, 1]]


def _author_grid(first_cell: list[str]) -> Header:
    """A title over two author blocks side by side (the first one's lines given), then an
    abstract and a column of text."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((120, 70), "Grids of Authors in Conference Papers", fontsize=20)
    blocks = [(100, "Rosa Alvarez", first_cell),
              (360, "Tom Berg", ["Faculty of Law", "Birch Institute of Technology",
                                 "Birch, Poland"])]
    for x, name, lines in blocks:
        page.insert_text((x, 110), name, fontsize=11)
        for i, line in enumerate(lines):
            page.insert_text((x, 124 + 12 * i), line, fontsize=10)
    top = 124 + 12 * len(first_cell) + 40
    page.insert_text((50, top), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 50, top + 15, 12, width=48, size=9)
    _prose(page, 320, top, 40, width=48)
    return extract_header(_analysed(doc))


def test_author_grid_blocks() -> None:
    """Per-author blocks side by side: each name takes the address printed under it."""
    header = _author_grid(["Department of Physics", "University of Alder", "Alder, Sweden"])
    assert [a.name for a in header.authors] == ["Rosa Alvarez", "Tom Berg"]
    assert header.affiliations == [
        "Department of Physics, University of Alder, Alder, Sweden",
        "Faculty of Law, Birch Institute of Technology, Birch, Poland",
    ]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_structured_abstract_without_heading_and_degrees() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 80), "Surveillance Systems for Early Detection", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 104), "Dena M. Bravo, MD, MS; Kate McDonald, MPH; and Wen Smith, BA",
                     fontsize=9, fontname="hebo")
    y = 130.0
    for label in ("Background:", "Methods:", "Conclusions:"):
        _runs(page, 72, y, [(label, 9, "hebo", 0), (" surveillance systems were reviewed.",
                                                    9, "hebo", 0)])
        y = _prose(page, 72, y + 12, 3, size=9) + 8
    _prose(page, 72, y + 40, 25, size=11)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Dena M. Bravo", "Kate McDonald", "Wen Smith"]
    assert header.abstract is not None
    assert header.abstract.startswith("Background: surveillance systems were reviewed.")
    assert "Conclusions: surveillance" in header.abstract


def test_structured_abstract_under_an_editorial_line_in_the_same_block() -> None:
    """PNAS-like web page: the small "Edited by ..." line and the structured abstract's first
    part ("Background: ...", under 35 words) share one block of the text layer: the abstract
    starts at its label, and neither the label's part nor the editorial line is an address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((48, 70), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 48, 96, [("Ann Lee", 10, "helv", 0), ("a", 6, "helv", 3),
                         (" and Bo Chan", 10, "helv", 0), ("a", 6, "helv", 3)])
    _runs(page, 48, 110, [("a", 5, "helv", 3),
                          ("Department of Physics, University of Alder, Alder, Norway", 7.6,
                           "helv", 0)])
    page.insert_text((48, 124), "Edited by Cy Dorn, Birch University; received 9 April 2021; "
                     "accepted 13 September 2021", fontsize=7.6)
    parts = [("Background:", "The analysis reads the page and finds the parts a reader"
              " needs.", "It does so from how the page is set."),
             ("Methods:", "The rules use positions, sizes and the order of lines on the",
              "page, never a list of words matching one journal or one paper."),
             ("Results:", "The rules carry over to papers they were not written for.", "")]
    y = 137.0
    for label, first, second in parts:
        page.insert_text((48, y), f"{label} {first}", fontsize=10.5)
        if second:
            page.insert_text((48, y + 13.5), second, fontsize=10.5)
        y += 34 if second else 20
    page.insert_text((48, y + 20), "1. Introduction", fontsize=11.5, fontname="hebo")
    _prose(page, 48, y + 40, 30, size=10.5)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Alder, Norway"]
    assert header.abstract is not None
    assert header.abstract.startswith("Background: The analysis reads the page")
    assert "Results: The rules carry over" in header.abstract


def test_endnote_list_with_superscript_numbers_and_no_heading() -> None:
    doc = pymupdf.open()
    _prose(doc.new_page(width=612, height=792), 72, 72, 50)
    page = doc.new_page(width=612, height=792)
    y = _prose(page, 72, 72, 20)
    for n in range(1, 9):
        _runs(page, 72, y + 14, [(str(n), 5, "helv", 3),
                                 (f"A. Author{n} and B. Writer, Phys. Rev. {n}, 1{n}3 (2001).",
                                  8, "helv", 0)])
        y += 10
    entries = reference_entries(_analysed(doc))
    assert len(entries) == 8
    assert entries[0].startswith("1 A. Author1") and entries[-1].startswith("8 A. Author8")


def test_references_heading_in_french_and_lost_entry_number() -> None:
    doc = pymupdf.open()
    _prose(doc.new_page(width=612, height=792), 72, 72, 50)
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 100), "Références", fontsize=12, fontname="hebo")
    y = 120.0
    for n in range(1, 7):
        label = f"{n}." if n != 4 else ""  # the text layer lost one entry's number
        page.insert_text((72, y), f"{label} Dupont, J. Un titre de plus, {1990 + n}.".strip(),
                         fontsize=9)
        y += 12
    assert len(reference_entries(_analysed(doc))) == 5


def test_dangling_label_rejoins_its_line() -> None:
    """A "[2]" the text layer keeps apart (a drawn same-author dash) goes back to its entry."""
    doc = pymupdf.open()
    _prose(doc.new_page(width=612, height=792), 72, 72, 50)
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 100), "REFERENCES", fontsize=9)
    page.insert_text((72, 120), "[1] E. Chang, “Scalable data placement,” in Proc. SPIE, 1994.",
                     fontsize=8)
    page.insert_text((72, 132), "[2]", fontsize=8)
    page.draw_line((90, 130), (115, 130))
    page.insert_text((118, 132), ", “Rate staggering for video,” in Proc. ACM MM, 1995.",
                     fontsize=8)
    page.insert_text((72, 144), "[3] H. Chen, “A storage technique,” J. Parallel Comput., 1995.",
                     fontsize=8)
    entries = reference_entries(_analysed(doc))
    assert [e[:4] for e in entries] == ["[1] ", "[2] ", "[3] "]
    assert "Rate staggering" in entries[1]


def test_roles_running_heads_page_numbers_banners_and_sidebars() -> None:
    doc = pymupdf.open()
    for number in range(1, 5):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 40), "Journal of Examples 12 (2020) 1-10", fontsize=8)
        page.insert_text((290, 820), str(number), fontsize=9)
        if number == 1:
            page.insert_text((40, 300), "Edited by:", fontsize=7, fontname="hebo")
            page.insert_text((40, 310), "Jo Editor, Alder University", fontsize=7)
            for i in range(12):
                page.insert_text((40, 340 + 10 * i), f"Side note line {i} on the", fontsize=7)
            page.insert_text((180, 120), "Received 1 May 2020; accepted 2 June 2020", fontsize=8)
            _prose(page, 180, 160, 40, width=70)
        else:
            _prose(page, 72, 100, 45)
    parsed = _analysed(doc)
    roles = {block.text: block.role for page in parsed.pages for block in page.blocks}
    assert roles["Journal of Examples 12 (2020) 1-10"] == "running_head"
    assert roles["3"] == "page_number"
    assert roles["Received 1 May 2020; accepted 2 June 2020"] == "banner"
    assert {block.role for block in parsed.pages[0].blocks
            if block.bbox[0] < 100 and 200 < block.bbox[1] < 800} == {"sidebar"}
    assert all(block.evidence for page in parsed.pages for block in page.blocks
               if block.role != "body")


def test_margin_column_with_a_word_set_apart_at_its_right_is_one_sidebar() -> None:
    """A web article's margin column of addresses, where a wrapped line left one word at the
    column's right ("Correspondence:" ... "Ngozi"): the whole column is the sidebar, not the
    one block that ends left of that word; the header beside it is read without it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    margin = [(135, "Faculty of Mathematics,"), (146, "Max Planck Institute for"),
              (157, "Mathematics, Brazil"), (176, "Institute of Physics,"),
              (186, "Alder Institute of"), (196, "Technology, Alder,"), (206, "Sweden"),
              (226, "Correspondence:"), (237, "Ann Lee,"), (247, "lee@alder.example.org"),
              (266, "Received 11 May 2016;"), (276, "accepted 24 December"), (286, "2016")]
    for y, text in margin:
        marker = {135: "1", 176: "2"}.get(y)
        if marker:
            _runs(page, 48, y, [(marker, 5, "helv", 3), (text, 8, "helv", 0)])
        else:
            page.insert_text((48, y), text, fontsize=8)
    page.insert_text((138, 226), "Ngozi", fontsize=8)
    page.insert_text((181, 90), "A Study of Layout Rules for Papers", fontsize=19,
                     fontname="hebo")
    _runs(page, 181, 150, [("Ann Lee", 11, "helv", 0), ("1,*", 7, "helv", 4),
                           (" and Bo Chan", 11, "helv", 0), ("2", 7, "helv", 4)])
    page.insert_text((181, 200), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 181, 218, 40, width=70, size=11)
    parsed = _analysed(doc)
    assert {block.role for block in parsed.pages[0].blocks if block.bbox[2] < 170} \
        == {"sidebar"}
    header = extract_header(parsed)
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "Faculty of Mathematics, Max Planck Institute for Mathematics, Brazil",
        "Institute of Physics, Alder Institute of Technology, Alder, Sweden"]


def test_columns_found_under_a_grid_of_centred_author_blocks() -> None:
    """ACM style: three rows of three centred author blocks (name, address, country) over two
    columns; the middle blocks stand across the gutter. The columns are still found, so the
    abstract in the left column ends at its own end, not in the right column's text."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 95, "A Study of Layout Rules for Papers", 17)
    names = iter(["Ann Lee", "Bo Chan", "Cy Dorn", "Di Ek", "Ed Fox", "Flo Gil", "Gus Hu",
                  "Hal Ito", "Ivy Jay"])
    for row in range(3):
        for centre in (142, 306, 470):
            y = 130 + 58 * row
            for k, (text, size) in enumerate([(next(names), 12), ("National Laboratory for", 10),
                                              ("Mechanical Engineering", 10), ("Belgium", 10)]):
                width = pymupdf.get_text_length(text, fontname="helv", fontsize=size)
                page.insert_text((centre - width / 2, y + 13 * k), text, fontsize=size)
    page.insert_text((54, 320), "ABSTRACT", fontsize=10.9, fontname="hebo")
    abstract_end = _prose(page, 54, 336, 8, width=52, size=9)
    page.insert_text((54, abstract_end + 30), "1 INTRODUCTION", fontsize=10.9, fontname="hebo")
    _prose(page, 54, abstract_end + 46, 20, width=52, size=9)
    right = [f"Right column sentence number {i} goes on about the method." for i in range(30)]
    for i, text in enumerate(right):
        page.insert_text((318, 322 + 11.7 * i), text, fontsize=9)
    parsed = _analysed(doc)
    assert parsed.pages[0].columns == 2
    header = extract_header(parsed)
    assert len(header.authors) == 9
    assert header.abstract is not None and "Right column" not in header.abstract


def test_white_space_band_is_read_before_the_columns_below() -> None:
    """A two-column box above the article's two columns is read first, left then right."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "BOX LEFT starts the box.", fontsize=9)
    _prose(page, 72, 72, 8, width=45, size=9)
    page.insert_text((320, 60), "BOX RIGHT ends the box.", fontsize=9)
    _prose(page, 320, 72, 8, width=45, size=9)
    page.insert_text((72, 260), "BODY LEFT starts the article.", fontsize=10)
    _prose(page, 72, 274, 30, width=45)
    page.insert_text((320, 260), "BODY RIGHT goes on.", fontsize=10)
    _prose(page, 320, 274, 30, width=45)
    text = parse_layout(doc.tobytes()).pages[0].text
    order = [text.index(mark) for mark in ("BOX LEFT", "BOX RIGHT", "BODY LEFT", "BODY RIGHT")]
    assert order == sorted(order)


def test_doi_cut_at_a_line_break_is_mended() -> None:
    assert find_doi("doi: 10.1073/pnas\n.0805913105 PNAS") == "10.1073/pnas.0805913105"
    assert find_doi("DOI 10.1007/s00213-\n016-4477-5\nOpen") == "10.1007/s00213-016-4477-5"
    assert find_doi("see 10.1234/abc.\nThe next sentence") == "10.1234/abc"


def test_kerning_splits_are_joined_once_for_every_extractor() -> None:
    """A word set with wide kerning comes out of the text layer as "Ho w e v er"."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "However, these complexes bind strongly.", fontsize=10)
    xref = page.get_contents()[0]
    stream = doc.xref_stream(xref).decode()
    font = next(line for line in stream.splitlines() if "Tf" in line).split("Tf")[0]
    kerned = ("[(Ho) -250 (w) -250 (e) -250 (v) -250 (er,) -600 (the) -600 (comple) -250 (x) "
              "-250 (es) -600 (are) -600 (stable.)] TJ")
    doc.update_stream(xref, f"{stream}\nBT {font}Tf 72 100 Td {kerned} ET\n".encode())
    text = _analysed(doc).pages[0].text
    assert "However, the complexes are stable." in text
    assert "Ho w" not in text


def _marked_names(page: pymupdf.Page, y: float) -> None:
    _runs(page, 72, y, [("Ann Lee", 11, "helv", 0), ("1", 7, "helv", 4),
                        (", Bo Chan", 11, "helv", 0), ("2", 7, "helv", 4)])


def _marked_affiliations(page: pymupdf.Page, y: float) -> None:
    _runs(page, 72, y, [("1", 6, "helv", 3),
                        ("Department of Physics, University of Alder, Norway", 9, "helv", 0)])
    _runs(page, 72, y + 12, [("2", 6, "helv", 3),
                             ("School of Chemistry, Birch Institute, Canada", 9, "helv", 0)])


def test_authors_printed_above_the_title() -> None:
    """Some journals set the author line first, the title under it, then the addresses."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _marked_names(page, 80)
    page.insert_text((72, 110), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _marked_affiliations(page, 135)
    page.insert_text((72, 180), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 198, 8)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_cover_page_before_the_article() -> None:
    """A repository cover sheet (citation, terms of use) precedes the article's first page."""
    doc = pymupdf.open()
    cover = doc.new_page(width=595, height=842)
    cover.insert_text((72, 80), "Institutional Repository of Alder", fontsize=14,
                      fontname="hebo")
    cover.insert_text((72, 120), "Lee, A. and Chan, B. (2019) A study of layout rules for papers.",
                      fontsize=10)
    cover.insert_text((72, 134), "Journal of Layout 12, 345-367. This is the accepted version.",
                      fontsize=10)
    _prose(cover, 72, 170, 4)
    header = _article_after_a_cover(doc, title_size=18)
    assert header.abstract and header.abstract.startswith("the method reads")


def _article_after_a_cover(doc: pymupdf.Document, title_size: float) -> Header:
    """The article's first page after the cover in `doc`; its header, checked."""
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=title_size,
                     fontname="hebo")
    _marked_names(page, 120)
    _marked_affiliations(page, 140)
    page.insert_text((72, 185), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 203, 8)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert len(header.affiliations) == 2
    return header


def test_running_text_naming_a_journal_is_no_venue_or_year() -> None:
    """The last lines of running text on page one may cite a journal and a year in passing; the
    venue (and a year from it) comes only from the page's margins or its small-type footer."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 178, 30)
    page.insert_text((72, y), "as reported in Nature Physics 12, 345 (2011) for thin films.",
                     fontsize=10)
    header = extract_header(_analysed(doc))
    assert header.venue is None and header.year is None
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 30)
    page.insert_text((72, 800), "Journal of Layout Research 12 (2019) 345-367", fontsize=7)
    header = extract_header(_analysed(doc))
    assert header.year == 2019


def _spaced_lines(page: pymupdf.Page, y: float, lines: list[str], pitch: float = 26,
                  font: str = "helv") -> float:
    for text in lines:
        page.insert_text((72, y), text, fontsize=11, fontname=font)
        y += pitch
    return y


def test_double_spaced_manuscript_paragraphs_and_unlabelled_abstract() -> None:
    """A double-spaced manuscript (every line its own block in the text layer): the unlabelled
    abstract under the address list is read as one paragraph and ends no affiliation."""
    full = [(PROSE * 2)[i:i + 88].strip() for i in range(0, 5 * 88, 88)]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _marked_affiliations(page, 150)
    y = _spaced_lines(page, 200, [*full, "and it ends here."], font="hebo")
    page.insert_text((72, y + 10), "Introduction", fontsize=13, fontname="hebo")
    _spaced_lines(page, y + 40, full * 4)
    page = doc.new_page(width=595, height=842)
    _spaced_lines(page, 72, full * 5)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert header.abstract is not None
    assert header.abstract.startswith(full[0]) and header.abstract.endswith("and it ends here.")


def test_double_spaced_abstract_whose_first_line_runs_into_the_margin() -> None:
    """The same manuscript with its abstract's first line overfull (set a little past the right
    edge, as TeX does with a word it cannot break): the lines after it are still full lines of
    one paragraph, so the abstract is read whole and ends no address."""
    lines = [(PROSE * 2)[i:i + 66].strip().ljust(66, "s") for i in range(0, 6 * 66, 66)]
    lines = [f"{lines[0]} it", *lines[1:], "the end."]  # 66 letters a line: one right edge
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _marked_affiliations(page, 150)
    y = _spaced_lines(page, 200, lines, font="cour")
    page.insert_text((72, y + 10), "Introduction", fontsize=13, fontname="hebo")
    _spaced_lines(page, y + 40, lines[1:5] * 3, font="cour")
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert header.abstract is not None
    assert header.abstract.startswith(lines[0]) and header.abstract.endswith("the end.")


def _numbered_list(page: pymupdf.Page, y: float, entries: list[str]) -> None:
    for i, entry in enumerate(entries, 1):
        page.insert_text((72, y), f"{i}. {entry}", fontsize=10)
        y += 14


def test_numbered_reference_list_at_body_size_without_heading() -> None:
    """Nature-style: the list closes the paper with no heading, numbered "1." at body size;
    a numbered enumeration inside the text is no reference list."""
    refs = [f"{name}, A. B. & Doe, C. Study of layout number {i}. J. Layout {i}, {i}0 ({1990 + i})."
            for i, name in enumerate(["Smith", "Chen", "Garcia", "Rossi", "Kim", "Patel",
                                      "Brown", "Dubois"], 1)]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    y = _prose(page, 72, 160, 30)
    _numbered_list(page, y + 10, refs)
    assert len(reference_entries(_analysed(doc))) == 8
    steps = [f"Step number {i} of the method reads the page and marks the blocks." for i in
             range(1, 9)]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    y = _prose(page, 72, 160, 10)
    _numbered_list(page, y + 10, steps)
    _prose(page, 72, y + 140, 30)
    assert reference_entries(_analysed(doc)) == []


def test_names_with_their_email_addresses_beside_them() -> None:
    """Kluwer style: "Ann Lee (lee@alder.no), Bo Chan" under the title, the address below."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 72, 120, [("Ann Lee (", 11, "helv", 0), ("lee@alder.no", 11, "cour", 0),
                          ("), Bo Chan and Cy Dorn", 11, "helv", 0)])
    page.insert_text((72, 136), "Department of Physics, University of Alder, Norway", fontsize=9)
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 188, 8)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dorn"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway"]


def test_addresses_after_the_text_opening_with_the_authors_names() -> None:
    """SMF style: "Ann Lee, University of Alder, Norway • E-mail : ..." at the end."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", ""), ("Cy Diaz", ""), ("Di Eng", ""),
                            ("Ed Fox", ""), ("Fa Gil", ""), ("Gu Ho", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 30)
    page = doc.new_page(width=595, height=842)
    _prose(page, 72, 72, 20)
    page.insert_text((72, 400), "Ann Lee, Department of Physics, University of Alder, Norway "
                     "\u2022 E-mail : lee@alder.no", fontsize=9)
    page.insert_text((72, 430), "Bo Chan, School of Chemistry, Birch Institute, Canada",
                     fontsize=9)
    page.insert_text((80, 442), "E-mail : chan@birch.ca", fontsize=9)
    # A second address on a line of its own (the line above ends short), then one that wraps.
    page.insert_text((72, 472), "Cy Diaz, Institute of Optics, Cedar University, Japan",
                     fontsize=9)
    page.insert_text((80, 484), "Department of Physics, University of Alder, Norway", fontsize=9)
    page.insert_text((72, 514), "Di Eng, Laboratory of Materials Science and Engineering, "
                     "National Institute for Research on Layout, Typesetting", fontsize=9)
    page.insert_text((80, 526), "and Printing, Elm, Chile", fontsize=9)
    # The widest line of the list, ending a phrase; the next opens with an institution.
    page.insert_text((72, 556), "Ed Fox, Institute of Optics and Photonics, Cedar University of "
                     "Science and Technology, Kyoto, Japan", fontsize=9)
    page.insert_text((80, 568), "School of Chemistry, Birch Institute, Canada", fontsize=9)
    # Ragged right may break early: a line that stops on a comma still wraps.
    page.insert_text((72, 598), "Fa Gil, Institute of Optics, Cedar University, Kyoto,",
                     fontsize=9)
    page.insert_text((80, 610), "Japan", fontsize=9)
    # A line full to the list's edge, the next opening with an institution word alone: the
    # end of the name above, not an address.
    page.insert_text((72, 640), "Gu Ho, Graduate School of Electrical, Optical and Layout "
                     "Engineering, Centre for Applied Mathematics", fontsize=9)
    page.insert_text((80, 652), "Research, Elm, Chile", fontsize=9)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Physics, University of Alder, Norway",
        "School of Chemistry, Birch Institute, Canada",
        "Institute of Optics, Cedar University, Japan",
        "Laboratory of Materials Science and Engineering, National Institute for Research on "
        "Layout, Typesetting and Printing, Elm, Chile",
        "Institute of Optics and Photonics, Cedar University of Science and Technology, Kyoto, "
        "Japan", "Institute of Optics, Cedar University, Kyoto, Japan",
        "Graduate School of Electrical, Optical and Layout Engineering, Centre for Applied "
        "Mathematics Research, Elm, Chile"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [0, 2], [3], [1, 4],
                                                               [5], [6]]


def test_address_after_the_text_wraps_against_its_own_right_edge() -> None:
    """Whether a line of an end address was ended on purpose is judged against the edge of the
    lines set in its size: a running head in smaller type above the list runs wider, and by
    its edge "Paulo," would have fitted after "05508-090 São"."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 30)
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 380), "ANN LEE AND BO CHAN, A STUDY OF LAYOUT RULES FOR PAPERS, "
                     "SET IN SMALL CAPITALS ACROSS THE PAGE", fontsize=7)
    page.insert_text((72, 400), "Ann Lee, Department of Physics, University of Alder, "
                     "05508-090 São", fontsize=9)
    page.insert_text((80, 412), "Paulo, Brazil \u2022 E-mail : lee@alder.br", fontsize=9)
    page.insert_text((72, 430), "Bo Chan, School of Chemistry, Birch Institute of Technology, "
                     "Canada", fontsize=9)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Physics, University of Alder, 05508-090 São Paulo, Brazil",
        "School of Chemistry, Birch Institute of Technology, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_english_abstract_preferred_to_one_in_another_language() -> None:
    """A paper with a "Resumo" and an "Abstract" is indexed by its English abstract; a
    "Résumé. —" label alone still opens the abstract."""
    for first, second in (("Resumo", "Abstract"), ("Résumé. -", None)):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
        page.insert_text((72, 160), first, fontsize=11, fontname="hebo")
        page.insert_text((72, 178), "o método lê cada página do artigo e encontra as partes.",
                         fontsize=10)
        if second:
            page.insert_text((72, 210), second, fontsize=11, fontname="hebo")
            _prose(page, 72, 228, 6)
        else:
            _prose(page, 72, 196, 6)
        _prose(page, 72, 330, 20)
        abstract = extract_header(_analysed(doc)).abstract
        assert abstract is not None
        expected = "the method reads" if second else "o método lê"
        assert abstract.startswith(expected), (first, abstract[:60])


def test_keyword_box_with_one_keyword_per_line() -> None:
    """Elsevier CAS: "Keywords:" over a narrow box of keywords, one per line, no separators."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Keywords:", fontsize=9, fontname="hebo")
    for i, keyword in enumerate(["compressed sensing", "natural language processing",
                                 "Monte Carlo methods"]):
        page.insert_text((72, 172 + 11 * i), keyword, fontsize=9)
    page.insert_text((250, 160), "ABSTRACT", fontsize=9, fontname="hebo")
    _prose(page, 250, 172, 8, width=50, size=9)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["compressed sensing", "natural language processing",
                               "Monte Carlo methods"]


def test_unlabelled_abstract_after_the_address_in_one_text_block() -> None:
    """AIAA style: an unlabelled abstract set right under the address line, which the text
    layer puts in the same block; a word like "program" in its first line is no address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 136), "Department of Physics, University of Alder, Norway", fontsize=10)
    opening = "the program reads each page of the paper and finds the parts a reader needs"
    page.insert_text((72, 156), opening, fontsize=10)
    _prose(page, 72, 169, 7)
    page.insert_text((72, 290), "1. Introduction", fontsize=12, fontname="hebo")
    _prose(page, 72, 310, 25)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway"]
    assert header.abstract is not None and header.abstract.startswith(opening)


def test_job_title_footnotes_are_no_affiliations() -> None:
    """AIAA style: the authors' positions in symbol-marked footnotes ("Research Scientist.")."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "*"), ("Bo Chan", "#")])
    page.insert_text((72, 136), "Department of Physics, University of Alder, Norway", fontsize=10)
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 188, 8)
    _prose(page, 72, 320, 25)
    page.insert_text((72, 760), "* Research Scientist.", fontsize=8)
    page.insert_text((72, 772), "# Associate Professor", fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway"]


def test_a_double_spaced_manuscripts_title_keeps_its_spaced_lines() -> None:
    """A manuscript set double-spaced spaces its title's lines as widely as its paragraphs'
    lines; in print, the same gap under a title's line ends the title."""
    def title(pitch: float, first_page_lines: int = 20) -> str | None:
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 90), "A Study of Layout Rules", fontsize=18, fontname="tiro")
        page.insert_text((72, 90 + 18 * 2.8), "for Double-Spaced Papers", fontsize=18,
                         fontname="tiro")
        page.insert_text((72, 200), "Ann Lee, Bo Chan", fontsize=11)
        page.insert_text((72, 260), "Abstract", fontsize=11, fontname="hebo")
        _prose(page, 72, 280, first_page_lines, pitch=pitch)
        _prose(doc.new_page(width=595, height=842), 72, 72, 25, pitch=pitch)
        return extract_header(_analysed(doc)).title

    assert title(2.4) == "A Study of Layout Rules for Double-Spaced Papers"
    # A first page of names and addresses with a short abstract: the next page's text tells.
    assert title(2.4, first_page_lines=3) == "A Study of Layout Rules for Double-Spaced Papers"
    assert title(1.2) == "A Study of Layout Rules"


def _one_author_page(doc: pymupdf.Document, under_the_name: list[str]) -> pymupdf.Page:
    """A first page: the title, "Ann Lee" and the lines `under_the_name`, an "Abstract" label
    at y 170; the text is the caller's."""
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 120), "Ann Lee", fontsize=12)
    for k, line in enumerate(under_the_name):
        page.insert_text((72, 136 + 14 * k), line, fontsize=10)
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    return page


def test_a_date_written_year_first_under_the_author_is_no_address() -> None:
    """"Version 2.2, 2022/12/06" under the name (a year-first date, slashes or hyphens) dates
    the paper; it is no affiliation."""
    for dated in ("Version 2.2, 2022/12/06", "Released 2022-12-06"):
        doc = pymupdf.open()
        page = _one_author_page(doc, [dated])
        _prose(page, 72, 188, 30)
        header = extract_header(_analysed(doc))
        assert [a.name for a in header.authors] == ["Ann Lee"]
        assert header.affiliations == [], dated
        assert header.year == 2022


def test_the_last_column_of_an_author_grid_in_small_type_is_no_sidebar() -> None:
    """Three author cells a row, set smaller than the text under them, their address lines as
    long as a sentence: the right-hand cells are no margin column, whatever their size."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 60), "Sparse Transport for Interpretable Clustering", fontsize=16,
                     fontname="hebo")
    names = [["Ann Lee", "Bo Chan", "Cy Dee"], ["Di Evans", "Eva Diaz", "Fu Gale"]]
    for r, row in enumerate(names):
        for c, name in enumerate(row):
            x, y = 60 + 175 * c, 100 + 54 * r
            page.insert_text((x, y), name, fontsize=9, fontname="hebo")
            page.insert_text((x, y + 11), "Centre for Electrical Engineering Research",
                             fontsize=8)
            page.insert_text((x, y + 21), "France", fontsize=8)
            page.insert_text((x, y + 31), f"{name.split()[0].lower()}@example.org", fontsize=8)
    page.insert_text((60, 230), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 60, 246, 6)
    _prose(page, 60, 330, 30, width=50)
    _prose(page, 310, 330, 30, width=50)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == [name for row in names for name in row]


@pytest.mark.parametrize(("note", "year"), [
    ("Date: February 21, 2022.", 2022),  # amsart's \\date, printed in a first-page footnote
    ("ISSN: 0008-4085 / 2003 / pp. 2-7 / Canadian Layout Association", 2003),
], ids=["date label", "ISSN line"])
def test_the_year_from_a_date_label_or_the_issn_line_at_the_page_foot(note: str,
                                                                       year: int) -> None:
    """A labelled date or the issue's ISSN line at the foot of the first page dates the paper,
    far below the lines a bare date is looked for in."""
    doc = pymupdf.open()
    page = _one_author_page(doc, [])
    _prose(page, 72, 188, 45)
    page.insert_text((72, 790), note, fontsize=8)
    page.insert_text((295, 805), "1", fontsize=7)
    for number in (2, 3):
        later = doc.new_page(width=595, height=842)
        _prose(later, 72, 72, 50)
        later.insert_text((295, 805), str(number), fontsize=7)
    assert extract_header(_analysed(doc)).year == year


def _footnoted_header(names: list[tuple[str, str]], notes: list[tuple[float, str]]) -> Header:
    """The front matter of a page: the title, the marked names, an abstract, text, and
    footnote lines (y, text) at 8 pt."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, names)
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 188, 8)
    _prose(page, 72, 320, 25)
    for y, note in notes:
        page.insert_text((72, y), note, fontsize=8)
    return extract_header(_analysed(doc))


def test_positions_opening_footnote_addresses() -> None:
    """Engineering societies' footnotes: a position, then the address ("Professor, Department
    of ..."); a second sentence naming another institution is a second address, and a word
    hyphenated at the footnote's line end is mended."""
    header = _footnoted_header([("Ann Lee", "1"), ("Bo Chan", "2")], [
        (748, "1 Professor, Department of Physics, University of Alder, Norway."),
        (760, "2 Society Fellow, School of Biology, Birch Institute of Tech-"),
        (770, "nology. Formerly, Research Assistant, Department of Chemistry, Cedar University.")])
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Biology, Birch Institute of Technology",
                                   "Department of Chemistry, Cedar University"]
    assert [(a.name, a.affiliation_indices) for a in header.authors] == [
        ("Ann Lee", [0]), ("Bo Chan", [1, 2])]


def test_footnote_addresses_without_an_institution_word() -> None:
    """A footnote an author's marker points at, holding an address of proper names ("Mila,
    Alder, Canada"), is an affiliation; a note of words ("English translation by ...") or
    one no author is marked with is none."""
    header = _footnoted_header([("Ann Lee", "a"), ("Bo Chan", "b,c")], [
        (736, "a Mila, Alder, Canada"), (748, "b GERAD, HEC Birch"),
        (760, "c English translation by Cy Dee"), (772, "d Cedar, Norway")])
    assert header.affiliations == ["Mila, Alder, Canada", "GERAD, HEC Birch"]
    assert [(a.name, a.affiliation_indices) for a in header.authors] == [
        ("Ann Lee", [0]), ("Bo Chan", [1])]


def test_affiliations_in_a_from_statement_after_the_text() -> None:
    """Medical journals: "From the Department of ...; X Hospital, Y; and Z." after the text;
    a sentence of running text that opens with "From the" is none."""
    def paper(statement: str) -> list[str]:
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
        page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
        _prose(page, 72, 178, 30)
        page = doc.new_page(width=595, height=842)
        y = _prose(page, 72, 72, 20)
        page.insert_text((72, y + 20), statement, fontsize=8)
        return extract_header(_analysed(doc)).affiliations

    assert paper("From the Department of Physics, University of Alder, Norway; Birch Hospital, "
                 "Birch, Canada; and Cedar Institute, Chile.") == [
        "Department of Physics, University of Alder, Norway", "Birch Hospital, Birch, Canada",
        "Cedar Institute, Chile"]
    assert paper("From the results of the survey at the university we conclude that it works.") \
        == []


def test_numbered_entry_opening_with_a_number_of_its_own() -> None:
    """"98. 121 Cities Mortality Reporting System ..." keeps the list going."""
    refs = [f"{name} A, Doe C. Study of layout number {i}. J Layout. {1990 + i};{i}:1-9."
            for i, name in enumerate(["Smith", "Chen", "Garcia", "Rossi"], 1)]
    refs[1] = "121 Cities Mortality Reporting System: History. Atlanta: CDC; 2003."
    refs[2] = "2020 Census Report on Layout. Washington: Census Bureau; 2021."
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    y = _prose(page, 72, 160, 30)
    page.insert_text((72, y + 10), "References", fontsize=11, fontname="hebo")
    _numbered_list(page, y + 30, refs)
    entries = reference_entries(_analysed(doc))
    assert [entry[:3] for entry in entries] == ["1. ", "2. ", "3. ", "4. "]


def test_footnotes_that_open_with_the_authors_names() -> None:
    """De Gruyter style: "*Corresponding author: Ann Lee, Department ..., e-mail: ..." and
    "Bo Chan: School of ..." footnotes; an inline "Abstract:" paragraph ends at "Keywords:"."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "*"), ("Bo Chan", "")])
    page.insert_text((72, 150), "Abstract: the method reads each page of the paper and finds "
                     "the parts a reader needs.", fontsize=10)
    page.insert_text((72, 164), "Keywords: layout, reading order, metadata", fontsize=10)
    _prose(page, 72, 200, 30)
    page.insert_text((72, 740), "*Corresponding author: Ann Lee, Department of Physics, "
                     "University of Alder,", fontsize=8)
    page.insert_text((72, 750), "Alder, Norway, e-mail: lee@alder.no", fontsize=8)
    page.insert_text((72, 762), "Bo Chan: School of Chemistry, Birch Institute of Technology, "
                     "Birch, Canada", fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Physics, University of Alder, Alder, Norway",
        "School of Chemistry, Birch Institute of Technology, Birch, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]
    assert header.abstract == ("the method reads each page of the paper and finds the parts a "
                               "reader needs.")
    assert header.keywords == ["layout", "reading order", "metadata"]


def test_summary_page_before_the_article_repeats_the_title() -> None:
    """Cell style: a first page of panels (Graphical Abstract, Authors, In Brief, Highlights)
    under the title; the article's own first page prints the title again over its summary."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((50, 90), "A Study of Layout Rules for Papers", fontsize=20, fontname="hebo")
    for y, label in ((200, "Graphical Abstract"), (240, "Authors"), (280, "In Brief")):
        page.insert_text((330, y), label, fontsize=10, fontname="hebo")
    page.insert_text((330, 254), "Ann Lee, Bo Chan", fontsize=9)
    page = doc.new_page(width=612, height=792)
    page.insert_text((50, 80), "A Study of Layout Rules for Papers", fontsize=18, fontname="hebo")
    _marked_names(page, 105)
    _marked_affiliations(page, 125)
    page.insert_text((50, 170), "SUMMARY", fontsize=9, fontname="hebo")
    _prose(page, 50, 184, 8)
    _prose(page, 50, 300, 25)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_keywords_separated_by_vertical_bars() -> None:
    """PNAS: "Keywords: layout | reading order | metadata"."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 8)
    page.insert_text((72, 300), "Keywords: layout | reading order | metadata", fontsize=8)
    _prose(page, 72, 330, 20)
    assert extract_header(_analysed(doc)).keywords == ["layout", "reading order", "metadata"]


def test_contact_block_under_the_addresses_is_no_affiliation() -> None:
    """JMIR style: names with degrees, numbered addresses, then a "Corresponding Author:" block
    repeating one name and address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 80), "A Study of Layout Rules for Papers", fontsize=18, fontname="hebo")
    _runs(page, 72, 108, [("Ann Lee, MD, PhD", 10, "helv", 0), ("1", 6, "helv", 3),
                          ("; Bo Chan, MSc", 10, "helv", 0), ("2", 6, "helv", 3)])
    _marked_affiliations(page, 128)
    page.insert_text((72, 160), "Corresponding Author:", fontsize=9, fontname="hebo")
    page.insert_text((72, 172), "Ann Lee, MD, PhD", fontsize=9)
    page.insert_text((72, 184), "Department of Physics, University of Alder, Alder, Norway",
                     fontsize=9)
    page.insert_text((72, 220), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 238, 8)
    _prose(page, 72, 360, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


def test_plos_symbols_and_author_notes_under_the_addresses() -> None:
    """PLOS: "Ann Lee1¤*", notes under the addresses marked with their own symbols ("¤ Current
    address: ...", "☯ These authors contributed equally ...") are no affiliations."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1\u00a4*"), ("Bo Chan", "2"), ("Cy Dorn", "1")])
    _marked_affiliations(page, 140)
    page.insert_text((72, 166), "\u00a4 Current address: Cedar Institute, Cedar, Chile", fontsize=8)
    page.insert_text((72, 177), "* lee@alder.no", fontsize=8)
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 8)
    _prose(page, 72, 330, 25)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dorn"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [0]]


def test_equal_contribution_symbol_is_a_marker() -> None:
    """PLOS's ☯ after a superscript number is part of the marker, not of the name."""
    from paperflow.extract.header_layout import pieces
    from paperflow.pdf import Line, Span

    name = Span("Ann Lee", (72, 100, 110, 111), 10, "Helvetica", 0)
    mark = Span("1\u262f", (110, 98, 116, 104), 6, "Helvetica", 1)
    parts = pieces(Line([name, mark], (72, 98, 116, 111)))
    assert [(p.text, p.marker) for p in parts] == [("Ann Lee", False), ("1\u262f", True)]


def test_names_separated_by_vertical_bars() -> None:
    """Wiley: "Ann Lee1 | Bo Chan2 | Cy Dorn1", then a "Correspondence" block."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 105), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 72, 130, [("Ann Lee", 10, "helv", 0), ("1", 6, "helv", 3),
                          (" | Bo Chan", 10, "helv", 0), ("2", 6, "helv", 3),
                          (" | Cy Dorn", 10, "helv", 0), ("1", 6, "helv", 3)])
    _marked_affiliations(page, 150)
    page.insert_text((72, 180), "Correspondence", fontsize=8, fontname="hebo")
    page.insert_text((72, 190), "Ann Lee, Department of Physics, University of Alder, Norway.",
                     fontsize=8)
    page.insert_text((72, 250), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 268, 8)
    _prose(page, 72, 400, 25)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dorn"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [0]]
    assert len(header.affiliations) == 2


def test_editorial_history_under_the_addresses_is_no_affiliation() -> None:
    """OUP: "FOR PUBLISHER ONLY Received on 5 February 2005; revised on ...; accepted on ..."
    set right under the numbered addresses."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _marked_affiliations(page, 140)
    page.insert_text((72, 166), "FOR PUBLISHER ONLY Received on 5 February 2005; revised on "
                     "3 March 2005; accepted on 21 April 2005", fontsize=8)
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 8)
    _prose(page, 72, 330, 25)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


def test_authors_addresses_footnote_paragraph() -> None:
    """ACM journals: one first-page footnote "Authors' addresses: Ann Lee, ..., e-mail; Bo Chan,
    ..." with the entries split by semicolons."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 8)
    _prose(page, 72, 300, 25)
    page.insert_text((72, 750), "Authors' addresses: Ann Lee, University of Alder, Alder, Norway, "
                     "lee@alder.no; Bo Chan, Birch", fontsize=8)
    page.insert_text((72, 760), "Institute of Technology, Birch, Canada, chan@birch.ca.",
                     fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["University of Alder, Alder, Norway",
                                   "Birch Institute of Technology, Birch, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_byline_word_before_the_names() -> None:
    """"by Ann Lee and Bo Chan" (older papers, reports, SMF's "par"): the word is no name."""
    for lead in ("by ", "By ", "par "):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), "A Study of Layout Rules for Papers", fontsize=18,
                         fontname="hebo")
        page.insert_text((72, 125), lead + "Ann Lee and Bo Chan", fontsize=11)
        page.insert_text((72, 140), "Department of Physics, University of Alder, Norway",
                         fontsize=9)
        page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
        _prose(page, 72, 188, 6)
        _prose(page, 72, 300, 25)
        header = extract_header(_analysed(doc))
        assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"], lead


def test_addresses_after_the_text_one_group_per_author() -> None:
    """AMS style: after the references, each author's address paragraphs (two for the first,
    none printed with an e-mail for the last) above an "E-mail address:" line."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", ""), ("Cy Diaz", "")])
    page.insert_text((72, 160), "Abstract.", fontsize=9, fontname="hebo")
    _prose(page, 120, 160, 6, size=9)
    _prose(page, 72, 260, 20)
    end = doc.new_page(width=595, height=842)
    y = _prose(end, 72, 80, 8)
    addresses = [("Department of Physics, University of Alder, Norway", None),
                 ("Institute of Optics, Birch Institute of Technology, Canada", "ann@alder.no"),
                 ("School of Chemistry, University of Cedar, 3000 Leuven, Belgium", "bo@cedar.be"),
                 ("Laboratory of Materials, Elm Research Centre, Japan", None)]
    y += 30
    for address, email in addresses:
        end.insert_text((90, y), address, fontsize=8, fontname="tiro")
        y += 10
        if email:
            end.insert_text((90, y), f"E-mail address: {email}", fontsize=8, fontname="tiit")
            y += 10
        y += 12
    header = extract_header(_analysed(doc))
    assert header.affiliations == [a for a, _ in addresses]
    linked = {a.name: [header.affiliations[i] for i in a.affiliation_indices]
              for a in header.authors}
    assert linked == {"Ann Lee": [addresses[0][0], addresses[1][0]],
                      "Bo Chan": [addresses[2][0]], "Cy Diaz": [addresses[3][0]]}


def test_labelled_abstract_ends_at_a_blank_before_unheaded_text() -> None:
    """Letters and communications start the text under the abstract without a heading, after
    a blank of a few lines; paragraphs of the text itself follow at the usual spacing."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    _runs(page, 72, 170, [("Abstract: ", 9, "hebo", 0), ("We study a family of estimators "
                                                         "for urban traffic data.", 9, "helv", 0)])
    y = _prose(page, 72, 181.7, 5, size=9)
    for paragraph in range(2):  # the text: indented paragraphs, three blank lines below
        y += 3 * 9 if paragraph == 0 else 2
        page.insert_text((82, y), "Traffic counts were collected in four cities over a",
                         fontsize=9)
        y = _prose(page, 72, y + 11.7, 6, size=9)
    abstract = extract_header(_analysed(doc)).abstract or ""
    assert abstract.startswith("We study a family of estimators for urban traffic data.")
    assert "Traffic counts" not in abstract
    assert len(abstract.split()) >= 60, abstract


def test_iso_date_after_an_editorial_label_gives_the_year() -> None:
    """"Accepted in <journal> 2017-12-08" in the footer: the date written the ISO way."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 30)
    page.insert_text((72, 800), "Accepted in Quanta 2017-12-08, click the title to verify.",
                     fontsize=7)
    assert extract_header(_analysed(doc)).year == 2017


def test_marked_address_list_lines_and_symbols() -> None:
    """Lettered addresses closed by ";": an unmarked line under an open entry wraps it, even when
    it reads like a place; ACS's ∥ and ⊥ continue the marker sequence after † ‡ § ¶."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    # PyMuPDF's built-in CJK fallback font has the ∥ glyph that the base-14 fonts lack.
    page.insert_font(fontname="cjk", fontbuffer=pymupdf.Font("cjk").buffer)
    _title_and_names(page, [("Ann Lee", "a"), ("Bo Chan", "b"), ("Cy Diaz", "")])
    after_names = 72 + sum(pymupdf.get_text_length(text, fontsize=size) for text, size in
                           (("Ann Lee", 11), ("a", 7), (", Bo Chan", 11), ("b", 7),
                            (", Cy Diaz", 11)))
    page.insert_text((after_names, 116), "\u2225", fontsize=7, fontname="cjk")
    _runs(page, 72, 150, [("a", 7, "helv", 3), ("Max Planck Institute for Layout Research, "
                                                "3010 Melbourne, Australia;", 11, "helv", 0)])
    _runs(page, 72, 164, [("b", 7, "helv", 3), ("Department of Earth Sciences, University of "
                                                "Edinburgh, Kings Buildings, EH8 9YL", 11,
                                                "helv", 0)])
    page.insert_text((250, 178), "Edinburgh, UK", fontsize=11)
    page.insert_text((72, 189), "\u2225", fontsize=7, fontname="cjk")
    page.insert_text((79, 192), "School of Chemistry, Birch Institute, Canada", fontsize=11)
    page.insert_text((72, 230), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 248, 20)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Max Planck Institute for Layout Research, 3010 Melbourne, Australia",
        "Department of Earth Sciences, University of Edinburgh, Kings Buildings, EH8 9YL "
        "Edinburgh, UK", "School of Chemistry, Birch Institute, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [2]]


def test_column_text_level_with_the_header_is_no_affiliation() -> None:
    """Two columns under a spanning header: the right column starts higher than the abstract's
    head in the left one, so its first lines sit level with the last address line."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _runs(page, 150, 140, [("1", 6, "helv", 3), ("Department of Physics, University of Alder, "
                                                 "Norway", 9, "helv", 0)])
    _runs(page, 150, 152, [("2", 6, "helv", 3), ("School of Chemistry, Birch Institute, Canada",
                                                 9, "helv", 0)])
    page.insert_text((60, 175), "Abstract: the method reads each page of the paper and", fontsize=9)
    _prose(page, 60, 186, 30, width=52, size=9)
    page.insert_text((320, 150), "framework outperforms the memory footprint in both syn-",
                     fontsize=9)
    _prose(page, 320, 161, 40, width=52, size=9)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


@pytest.mark.parametrize(("lines", "names"), [
    # A centred author line cut after "von": the surname on the next line is the same name.
    ([(72, "Ann Lee, Bo Chan & Anne-Sophie von"), (150, "Neumann")],
     ["Ann Lee", "Bo Chan", "Anne-Sophie von Neumann"]),
    # Cut inside a double-barrelled surname, and after "H.-J." (which keeps its periods).
    ([(72, "Ann Lee, Bo Chan & Lukasz Müller-"), (72, "Lüdenscheidt, Pedro Silva and H.-J."),
      (72, "Thompson")],
     ["Ann Lee", "Bo Chan", "Lukasz Müller-Lüdenscheidt", "Pedro Silva", "H.-J. Thompson"]),
    # An equation's line from a garbage text layer (digits, carets, parentheses) is no name.
    ([(72, "Ann Lee and Bo Chan"), (72, "- 3r^oitf^i, (0 ^(0 + 6q^i (0/^2(0")],
     ["Ann Lee", "Bo Chan"]),
    # ... while a name with words in parentheses is still a name.
    ([(72, "Ann Lee and William (Bill) Smith")], ["Ann Lee", "William (Bill) Smith"]),
])
def test_name_wrapped_to_the_next_line(lines: list[tuple[float, str]],
                                       names: list[str]) -> None:
    """A byline cut inside a name: the name's two parts are one name; and what no name is."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    y = 120.0
    for x, text in lines:
        page.insert_text((x, y), text, fontsize=11)
        y += 16
    page.insert_text((72, y + 30), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, y + 48, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == names


def test_surname_under_the_byline_with_its_accent_set_before_the_capital() -> None:
    """Kluwer style: the byline cut after a given name, the surname opening the next line with
    the e-mail address beside it and its accent printed before the capital (TeX's "\\.Z"
    comes out as a dot then "Z"): the two parts are one name, the accent composed."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="cjk", fontbuffer=pymupdf.Font("cjk").buffer)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 120), "Ann Lee, Bo Chan and Paolo", fontsize=11, fontname="cjk")
    page.insert_text((72, 136), "\u02d9Zukowski (zukowski@alder.no)", fontsize=11,
                     fontname="cjk")
    page.insert_text((72, 150), "Department of Physics, University of Alder, Norway", fontsize=9)
    page.insert_text((72, 180), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 198, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Paolo \u017bukowski"]
    assert header.authors[2].email == "zukowski@alder.no"


def test_title_wrapped_with_and_alone_on_its_middle_line() -> None:
    """A double-spaced bold title broken as "... Time Series" / "and" / "Medical Imaging ...":
    the line holding only "and" is set in the title's face, so it is part of the title (and
    the title is no author line)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i, text in enumerate(["A Study of Layout Rules for Papers", "and",
                              "Typesetting of Their Headers"]):
        page.insert_text((72, 90 + 24 * i), text, fontsize=17, fontname="hebo")
    page.insert_text((72, 170), "Ann Lee, Bo Chan and Cy Dorn", fontsize=12)
    page.insert_text((72, 200), "Department of Physics, University of Alder, Norway", fontsize=10)
    page.insert_text((72, 240), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 260, 30)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers and Typesetting of Their Headers"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dorn"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway"]


def test_full_address_after_the_text_replaces_the_short_one_under_the_names() -> None:
    """JSS style: only "University of Alder" under each name on the title page; after the text,
    under "Affiliation:", each name on a line and its full address a part a line (cut by a page
    break and a running head) up to the e-mail line: the full address is the affiliation."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred(page, 90, "A Study of Layout Rules for Papers", 17)
    for x, name in ((140, "Ann Lee"), (330, "Bo Chan")):
        page.insert_text((x, 130), name, fontsize=12)
        page.insert_text((x, 144), "University of Alder", fontsize=10.9)
    page.insert_text((280, 180), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 100, 196, 8)
    _prose(page, 72, 320, 30)
    end = doc.new_page(width=595, height=842)
    end.insert_text((81, 80), "2   A Study of Layout Rules", fontsize=10)
    _prose(end, 81, 110, 20)
    end.insert_text((81, 700), "Affiliation:", fontsize=11, fontname="hebo")
    for i, text in enumerate(["Ann Lee", "Department of Physics", "Faculty of Sciences",
                              "University of Alder", "Alder Road 12"]):
        end.insert_text((81, 718 + 13.5 * i), text, fontsize=10.9)
    last = doc.new_page(width=595, height=842)
    last.insert_text((81, 80), "A Study of Layout Rules   3", fontsize=10)
    for i, text in enumerate(["1234 Alder, Norway", "E-mail: ann@alder.example.org", "",
                              "Bo Chan", "Department of Physics", "Faculty of Sciences",
                              "University of Alder", "Alder Road 12", "1234 Alder, Norway",
                              "E-mail: bo@alder.example.org"]):
        last.insert_text((81, 120 + 13.5 * i), text, fontsize=10.9)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["Department of Physics, Faculty of Sciences, University of "
                                   "Alder, Alder Road 12, 1234 Alder, Norway"]


def test_address_closing_the_paper_in_small_capitals() -> None:
    """AMS style with no e-mail at all: the one address after the references is known by its
    small capitals (the font's name: CMCSC8), not by a label; in the text face it is not."""
    for small_caps in (True, False):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                         fontname="hebo")
        page.insert_text((72, 120), "ANN LEE", fontsize=11)
        page.insert_text((72, 160), "Abstract.", fontsize=9, fontname="hebo")
        _prose(page, 120, 160, 6, size=9)
        _prose(page, 72, 260, 20)
        end = doc.new_page(width=595, height=842)
        end.insert_text((72, 80), "References", fontsize=11, fontname="hebo")
        y = 100.0
        for i in range(1, 6):
            end.insert_text((72, y), f"[{i}] B. Chan, Layout rules, Journal of Layout {i} "
                            f"(2001), {i}1-{i}9.", fontsize=8)
            y += 11
        end.insert_font(fontname="scaps", fontbuffer=pymupdf.Font("tiro").buffer)
        end.insert_text((90, y + 25), "Institute of Statistics, University of Alder, Norway",
                        fontsize=8, fontname="scaps")
        for xref in range(1, doc.xref_length()):
            kind = doc.xref_get_key(xref, "Type")[1]
            if small_caps and kind == "/Font" and "Nimbus" in doc.xref_get_key(xref,
                                                                               "BaseFont")[1]:
                doc.xref_set_key(xref, "BaseFont", "/CMCSC8")
        header = extract_header(_analysed(doc))
        expected = ["Institute of Statistics, University of Alder, Norway"] if small_caps else []
        assert header.affiliations == expected


def test_year_from_a_preprint_footer_date_or_a_copyright_holder_line() -> None:
    """Elsevier's "Preprint submitted to X" footer with the date far to its right (its own
    line in the text layer), and OUP's "© The Author 2007. Published by ...": the year."""
    for footer, year in ((("Preprint submitted to Layout Letters", "November 20, 2016"), 2016),
                         (("\u00a9 The Author 2007. Published by Layout Press. All rights "
                           "reserved.", ""), 2007)):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
        page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
        _prose(page, 72, 178, 40)
        page.insert_text((72, 790), footer[0], fontsize=8)
        if footer[1]:
            page.insert_text((440, 790), footer[1], fontsize=8)
        assert extract_header(_analysed(doc)).year == year, footer


def test_keyword_line_ending_with_a_comma_goes_on_past_a_double_spaced_blank() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _spaced_lines(page, 180, [PROSE[:80], PROSE[80:160]], pitch=24)
    page.insert_text((72, y), "Keywords: signal processing, compressed sensing, Bayesian "
                     "inference,", fontsize=11)
    page.insert_text((72, y + 24), "protein structure", fontsize=11)
    page.insert_text((72, y + 72), "1. Introduction", fontsize=11, fontname="hebo")
    _spaced_lines(page, y + 96, [PROSE[:80]] * 10, pitch=24)
    assert extract_header(_analysed(doc)).keywords == [
        "signal processing", "compressed sensing", "Bayesian inference", "protein structure"]


def test_keyword_label_alone_reads_the_block_under_it_not_the_next_in_order() -> None:
    """A "KEYWORDS" label whose page order puts the other column's paragraph next (reading
    order gone wrong where one column turns into two): the keywords are the block under it."""
    from paperflow.extract.header import Vocabulary, _keywords
    from paperflow.pdf import Block, Line, Page, Span

    def block(text: str, box: tuple[float, float, float, float]) -> Block:
        return Block([Line([Span(text, box, 9.0, "Helvetica", 0)], box)], box)

    label = block("KEYWORDS", (54, 515, 129, 525))
    other = block("In this work we analyse a new framework (2024); Nakamura et al. (1992).",
                  (317, 515, 560, 589))
    words = block("graph neural networks, program synthesis, turbulence", (54, 531, 296, 549))
    page = Page(1, 612, 792, [label, other, words])
    doc = ParsedDocument(1, [page])
    assert _keywords([page], Vocabulary(doc)) == ["graph neural networks", "program synthesis",
                                                  "turbulence"]


def test_centred_heading_astride_the_gutter_of_an_author_grid_spans_it() -> None:
    """Two columns of author blocks, then "Abstract" centred under them (narrower than the
    gap between the blocks): the abstract is read after both columns of authors."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((120, 110), "A Study of Layout Rules for Papers", fontsize=16,
                     fontname="hebo")
    # The left blocks end just left of the page's centre, the right ones start past it.
    for right, x, top, (names, place, country) in (
            (300, None, 160, ("Ann Lee and Bo Chan", "Faculty of Physics", "Alder University")),
            (None, 330, 160, ("Cy Diaz and Di Eng", "School of Chemistry", "Birch Institute")),
            (300, None, 215, ("Ed Fox", "Department of Optics", "Cedar University")),
            (None, 330, 215, ("Flo Gee", "Laboratory of Materials", "Elm Institute"))):
        for y, text, font in ((top, names, "tiro"), (top + 15, place, "tiit"),
                              (top + 30, country, "tiit")):
            width = pymupdf.get_text_length(text, fontname=font, fontsize=12)
            page.insert_text((x if x is not None else right - width, y), text, fontsize=12,
                             fontname=font)
    width = pymupdf.get_text_length("Abstract", fontname="tibo", fontsize=12)
    page.insert_text((306 - width / 2, 285), "Abstract", fontsize=12, fontname="tibo")
    y = _prose(page, 72, 305, 6, width=95)
    page.insert_text((72, y + 20), "1. Introduction", fontsize=12, fontname="tibo")
    _prose(page, 72, y + 40, 20, width=95)
    analysed = _analysed(doc)
    order = [block.text for block in analysed.pages[0].blocks]
    heading = next(i for i, text in enumerate(order) if text == "Abstract")
    assert analysed.pages[0].blocks[heading].column == -1
    assert all(i < heading for i, text in enumerate(order) if "Institute" in text
               or "University" in text), order
    header = extract_header(analysed)
    assert header.abstract is not None and header.abstract.startswith("the method reads")
    assert "Chemistry" not in header.abstract
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Diaz", "Di Eng",
                                                "Ed Fox", "Flo Gee"]


def test_hanging_labels_just_over_a_gutter_edge_stay_in_their_column() -> None:
    """The last page of a two-column reference list: the left column full, the right one with
    three entries whose first lines (hanging labels) start left of their continuation lines, a
    little over the gutter as the continuation lines measure it. They stay in the right column,
    read after the left one."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    first = "A. Author, B. Writer and C. Reader, \u201cLayout rules for reading"
    rest = ["papers in their columns,\u201d Journal of Layout Studies, vol.", "12, pp. 1-20, 2001."]
    y = 74.0
    for i in range(1, 13):
        entries = [(71, i)] + ([(311, i + 12)] if i <= 3 else [])
        for x, number in entries:
            page.insert_text((x, y), f"[{number}] {first}", fontsize=8)
            page.insert_text((x + 20, y + 10), rest[0], fontsize=8)
            page.insert_text((x + 20, y + 20), rest[1], fontsize=8)
            if x == 71:  # longer entries on the left: the right column's labels are few
                page.insert_text((x + 20, y + 30), rest[0], fontsize=8)
                page.insert_text((x + 20, y + 40), rest[1], fontsize=8)
        y += 54
    order = [b.text for b in parse_layout(doc.tobytes()).pages[0].blocks]
    starts = [int(text[1:text.index("]")]) for text in order if text.startswith("[")]
    assert starts == sorted(starts), starts


def test_keyword_label_run_in_after_the_abstracts_last_sentence() -> None:
    """"... in the low-temperature regime.    Keywords:" on one line, the keywords under it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 178, 5)
    _runs(page, 72, y, [("rate in the low-temperature regime.", 10, "helv", 0),
                        ("      Keywords:", 10, "hebo", 0)])
    page.insert_text((72, y + 13), "finite element method, spectroscopy, topological in-",
                     fontsize=10)
    page.insert_text((72, y + 26), "sulators", fontsize=10)
    page.insert_text((72, y + 60), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 72, y + 80, 30)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["finite element method", "spectroscopy", "topological insulators"]
    assert header.abstract is not None
    assert header.abstract.endswith("rate in the low-temperature regime.")


def test_is_with_footnotes_of_a_short_paper_with_a_long_small_type_reference_list() -> None:
    """IEEE: "X and Y are with ..." footnotes at 8 pt under 10 pt text, on a paper whose 8 pt
    references outweigh its text (the paper's most common size is the footnotes' size); a
    footnote sentence may start with a capital that is not ASCII ("É. Kim is with ...")."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", ""), ("Émile Kim", "")])
    page.insert_text((72, 160), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 72, 178, 36)
    page.insert_text((72, 700), "Ann Lee and Bo Chan are with the Department of Physics, "
                     "University of Alder, Norway. \u00c9. Kim is with", fontsize=8)
    page.insert_text((72, 710), "the School of Chemistry, Birch Institute, Canada.", fontsize=8)
    for _ in range(3):
        refs = doc.new_page(width=612, height=792)
        for i in range(70):
            refs.insert_text((72, 60 + 10 * i), f"[{i}] A. Author, B. Writer, and C. Reader, "
                             "Layout rules, Journal of Layout, vol. 1, pp. 1-9, 2001.",
                             fontsize=8)
    analysed = _analysed(doc)
    assert analysed.body_font_size == 8.0  # the references' size, not the text's
    header = extract_header(analysed)
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [1]]


def test_address_lines_wrapped_into_a_city_and_country_and_raised_letter_markers() -> None:
    """Kluwer style (name, then its address under it): a full-width address line wrapped into
    "Edinburgh, UK" is one address. SPIE style: letter markers set a little smaller and raised
    (no superscript flag in the text layer) are markers, not part of the address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 120), "Ann Lee", fontsize=11)
    page.insert_text((72, 133), "Department of Electrical Engineering, University of Alder "
                     "Research, EH8 9YL", fontsize=9, fontname="tiit")
    page.insert_text((72, 144), "Edinburgh, UK", fontsize=9, fontname="tiit")
    page.insert_text((72, 162), "Bo Chan", fontsize=11)
    page.insert_text((72, 175), "School of Chemistry, Birch Institute of Technology, Canada",
                     fontsize=9, fontname="tiit")
    page.insert_text((72, 210), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 228, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Electrical Engineering, University of Alder Research, EH8 9YL "
        "Edinburgh, UK", "School of Chemistry, Birch Institute of Technology, Canada"]

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "a"), ("Bo Chan", "b")])
    for y, letter, address in ((150, "a", "Department of Physics, University of Alder, Norway;"),
                               (165, "b", "School of Chemistry, Birch Institute, Canada")):
        page.insert_text((72, y - 3), letter, fontsize=10)  # 10 pt on a 12 pt line, raised
        page.insert_text((78, y), address, fontsize=12)
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_name_led_author_lines_whose_second_place_wraps() -> None:
    """ACM style "NAME, Place and Other Place": the other place may wrap onto a line alone."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 120), "ANN LEE, Birch University, Canada", fontsize=9)
    page.insert_text((72, 132), "BO CHAN, Birch University, Canada and Institute for Advanced",
                     fontsize=9)
    page.insert_text((72, 144), "Chemistry, Germany", fontsize=9)
    page.insert_text((72, 156), "CY DIAZ, Institute for Advanced Chemistry, Germany", fontsize=9)
    page.insert_text((72, 190), "We propose rules for reading the first page of a paper from how"
                     " it is set, and we test them on papers they were not written for.",
                     fontsize=9)
    _prose(page, 72, 202, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Birch University, Canada",
                                   "Institute for Advanced Chemistry, Germany"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0, 1], [1]]


def test_heading_centred_between_a_names_column_and_an_emails_column() -> None:
    """PMLR style: names and addresses on the left, e-mails on the right, "Abstract" centred
    under them: a column that holds only that heading is no column, the heading spans."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((90, 48), "Proceedings of Layout Research vol 1:1-7, 2013", fontsize=8)
    page.insert_text((357, 48), "Conference on Layout 2013", fontsize=8)
    page.insert_text((150, 100), "A Study of Layout Rules for Papers", fontsize=14,
                     fontname="hebo")
    for i, (name, email) in enumerate((("Ann Lee", "lee@alder.no"), ("Bo Chan", "chan@birch.ca"),
                                       ("Cy Diaz", "diaz@cedar.jp"), ("Di Eng", "eng@elm.cl"))):
        y = 140 + 53 * i
        page.insert_text((90, y), name, fontsize=10)
        page.insert_text((90, y + 12), "Laboratory of Computer Science", fontsize=10)
        page.insert_text((90, y + 24), "Centre for Layout Research", fontsize=10)
        page.insert_text((460, y), email, fontsize=10)
    width = pymupdf.get_text_length("Abstract", fontname="hebo", fontsize=12)
    page.insert_text((306 - width / 2, 380), "Abstract", fontsize=12, fontname="hebo")
    y = _prose(page, 110, 398, 8, width=80)
    page.insert_text((90, y + 20), "1. Introduction", fontsize=12, fontname="hebo")
    _prose(page, 90, y + 40, 20, width=90)
    analysed = _analysed(doc)
    [heading] = [b for b in analysed.pages[0].blocks if b.text == "Abstract"]
    assert heading.column == -1
    abstract = extract_header(analysed).abstract or ""
    assert abstract.startswith("the method reads each page") and "@" not in abstract


def test_abstract_stops_at_a_paragraph_up_and_to_the_right_when_columns_were_missed() -> None:
    """A page whose columns the layout did not find (a three-wide author grid over two text
    columns): every block is "column 0", so the abstract stops at the next block when it sits
    beside it, higher up, after a finished sentence."""
    from paperflow.extract.header import _collect_paragraphs
    from paperflow.pdf import Block, Line, Page, Span

    def block(text: str, box: tuple[float, float, float, float]) -> Block:
        return Block([Line([Span(text, box, 9.0, "Helvetica", 0)], box)], box)

    words = " ".join(["the method reads each page of the paper"] * 8) + "."
    abstract = block(words, (53, 348, 296, 443))
    right = block("We study an efficient algorithm for climate models on three data sets.",
                  (318, 389, 560, 495))
    page = Page(1, 612, 792, [block("ABSTRACT", (54, 333, 124, 342)), abstract, right])
    assert _collect_paragraphs(page, 1, 9.0, 0, 0) == [words]


def _conclusion_then_references(doc: pymupdf.Document) -> pymupdf.Page:
    """A page of text and a "References" heading at y = 250, the list to go under it."""
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 72), "Conclusion", fontsize=11, fontname="hebo")
    _prose(page, 72, 90, 10)
    page.insert_text((72, 250), "References", fontsize=11, fontname="hebo")
    return page


def test_author_year_list_one_entry_per_line_without_indent_or_spacing() -> None:
    """Entries set flush left, single-spaced, no hanging indent: an entry ends where its line
    ends short (the next entry's first word would have fitted); a long one wraps to the edge."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    entries = ["A. Núñez and I. Jensen, 1983, Journal of Layout Research, 74, 466",
               "B. Thompson, S. Hübner, K. Tanaka, and Y. Novák, 1982, Layout Physics, 102, 167",
               "C. Ben-David, 1999, Transactions on Layout, 21, 553",
               "D. Schröder and A. de la Fuente, 1989, Physical Review of Layout and Typesetting "
               "Rules for Papers, Volume 74",
               "E. Nakamura, A. Chen, and C. Clarke, 2016, Journal of Layout Research, 58, 787",
               "F. Lefèvre, 1985, Layout Letters, 38, 304"]
    y = 268.0
    for entry in entries:
        text = entry
        while text:  # wrap at the right edge (x = 452)
            cut = len(text)
            while pymupdf.get_text_length(text[:cut], fontsize=9) > 380:
                cut = text.rfind(" ", 0, cut)
            page.insert_text((72, y), text[:cut], fontsize=9)
            text = text[cut:].strip()
            y += 10.5
    found = reference_entries(_analysed(doc))
    assert len(found) == len(entries), found
    assert found[3].endswith("Volume 74")


def test_one_line_entries_end_short_of_the_text_edge_not_the_longest_entry() -> None:
    """The same list when no entry wraps: the longest entry still ends short of where the
    justified text above ends, and on a next page of entries alone the edge is the one the
    column had before; the entry after the longest is an entry of its own."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i in range(12):  # justified text: every line ends at the same x
        page.insert_text((72, 72 + 13 * i), (PROSE * 2)[i * 5: i * 5 + 78], fontsize=10,
                         fontname="cour")
    page.insert_text((72, 250), "References", fontsize=11, fontname="hebo")
    first = ["A. Núñez and I. Jensen, 1983, Journal of Layout Research, 74, 466",
             "B. Thompson, S. Hübner, K. Tanaka, and Y. Novák, 1982, Layout Physics, 102, 167",
             "C. Ben-David, 1999, Transactions on Layout, 21, 553",
             "D. Schröder, 1989, Review of Layout, 74, 12"]
    rest = ["E. Nakamura and A. Chen, 2016, Journal of Layout Research, 58, 787",
            "F. Lefèvre, G. Ørsted, H. Lindqvist, and I. Costa, 1985, Layout Letters, 38, 304",
            "J. Okafor, 2001, Annals of Layout, 7, 745",
            "K. Mendoza and L. Smith, 2005, Communications on Layout, 71, 23"]
    for i, entry in enumerate(first):
        page.insert_text((72, 268 + 10.5 * i), entry, fontsize=9)
    page = doc.new_page(width=595, height=842)
    for i, entry in enumerate(rest):
        page.insert_text((72, 72 + 10.5 * i), entry, fontsize=9)
    found = reference_entries(_analysed(doc))
    assert found == first + rest


def test_two_column_list_ending_in_three_lines_a_column_on_the_last_page() -> None:
    """The list's last page holds three lines in each column, too few for the page's column
    detection: the list's own reads the left column before the right."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((51, 60), "References", fontsize=10, fontname="hebo")
    entries = [f"{name}, {1970 + i}, Journal of Layout Research, {i}, {100 + i}"
               for i, name in enumerate(["A. Lee", "B. Chan", "C. Dorn", "D. Ek", "E. Fox",
                                         "F. Gil", "G. Hu", "H. Ito", "I. Jay", "J. Kim",
                                         "K. Lim", "L. Moe"])]
    for i, entry in enumerate(entries):  # a full page: two columns of six entries
        page.insert_text((51 if i < 6 else 321, 80 + 26 * (i % 6)), entry, fontsize=8)
    last = doc.new_page(width=612, height=792)
    tail = ["M. Nye, 1997, Layout Letters, 104, 597",
            "N. Oda, 2000, Communications on",
            "Layout, 50, 149",
            "O. Park, 1986, Communications on Layout, 62, 854",
            "P. Quinn, H. Ruiz, and J. W. Sato,",
            "2005, Journal of Layout Research, 90, 374"]
    for i, text in enumerate(tail[:3]):
        last.insert_text((51 if i != 2 else 60, 68 + 15 * i), text, fontsize=8)
    for i, text in enumerate(tail[3:]):
        last.insert_text((321 if i != 2 else 330, 68 + 13 * i), text, fontsize=8)
    found = reference_entries(_analysed(doc))
    assert found == [*entries, "M. Nye, 1997, Layout Letters, 104, 597",
                     "N. Oda, 2000, Communications on Layout, 50, 149",
                     "O. Park, 1986, Communications on Layout, 62, 854",
                     "P. Quinn, H. Ruiz, and J. W. Sato, 2005, Journal of Layout Research, "
                     "90, 374"]


def test_short_bracketed_list_without_heading_closes_the_paper() -> None:
    """A letter (APS reprint style): three "[n]" references right after the text, no heading;
    a "[1]"-"[2]" pair cited inside the text is no list."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 72), "Introduction", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 90, 12)
    page.insert_text((72, y), "[1] and [2] show that the rules hold; we extend them here.",
                     fontsize=10)
    y = _prose(page, 72, y + 13, 12)
    for i, entry in enumerate(["Z. Brandão, \u201cLayout rules,\u201d Journal of Layout, vol. 54, "
                               "pp. 615-620, 2020.",
                               "H. Patel, \u201cReading papers,\u201d Layout Review B, vol. 21, "
                               "pp. 801-825, 2006.",
                               "R. Clarke, \u201cColumns,\u201d Annals of Layout, vol. 104, "
                               "pp. 126-154, 1989."], 1):
        page.insert_text((72, y + 10), f"[{i}] {entry}", fontsize=8)
        y += 11
    found = reference_entries(_analysed(doc))
    assert [entry[:4] for entry in found] == ["[1] ", "[2] ", "[3] "], found


def test_keywords_under_a_label_alone_whose_last_keyword_wraps_past_a_double_spaced_blank() -> None:
    """A double-spaced manuscript: "Keywords" alone, the keyword line filled to the column's
    edge, its last keyword's second word on the next line after a blank."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _spaced_lines(page, 185, [(PROSE * 2)[i:i + 90].strip() for i in range(0, 270, 90)],
                      pitch=24)
    page.insert_text((72, y + 10), "Keywords", fontsize=14, fontname="hebo")
    line = "dark matter, causal inference, protein structure, thin films, high-performance"
    size = 11 * (468 / pymupdf.get_text_length(line, fontsize=11))  # set to the full measure
    page.insert_text((72, y + 40), line, fontsize=size)
    page.insert_text((72, y + 64), "computing", fontsize=size)
    page.insert_text((72, y + 110), "Introduction", fontsize=14, fontname="hebo")
    _spaced_lines(page, y + 140, [(PROSE * 2)[i:i + 90].strip() for i in range(0, 450, 90)],
                  pitch=24)
    assert extract_header(_analysed(doc)).keywords == [
        "dark matter", "causal inference", "protein structure", "thin films",
        "high-performance computing"]


def test_date_line_under_the_addresses_is_no_part_of_them() -> None:
    """\\date{} printed right under the last address (article + authblk): not an address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1")])
    _runs(page, 72, 140, [("1", 6, "helv", 3), ("Universidad de Alder, Brazil", 10, "helv", 0)])
    page.insert_text((72, 153), "October 16, 2022", fontsize=10)
    page.insert_text((72, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 208, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Universidad de Alder, Brazil"]
    assert header.year == 2022


def test_abstract_sentence_running_on_to_the_next_page() -> None:
    """A long double-spaced abstract whose last sentence goes on at the top of page 2."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 600), "Abstract", fontsize=11, fontname="hebo")
    words = (PROSE + " ") * 3
    lines = [words[i * 80:(i + 1) * 80].strip() for i in range(9)]
    y = 630.0
    for line in lines[:7]:
        page.insert_text((72, y), line, fontsize=10)
        y += 22
    page.insert_text((290, 810), "1", fontsize=10)  # the page number
    second = doc.new_page(width=595, height=842)
    second.insert_text((72, 76), lines[7], fontsize=10)
    second.insert_text((72, 98), "that we close here.", fontsize=10)
    second.insert_text((72, 150), "1 Introduction", fontsize=14, fontname="hebo")
    _prose(second, 72, 175, 30)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.endswith("that we close here."), header.abstract[-80:]


def test_hanging_indent_list_page_holding_one_wrapped_entry() -> None:
    """An author-year list with hanging indents whose last page holds a single three-line
    entry: two indented lines under one flush one are still one entry."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    entry = ["A. Núñez and I. Jensen, \u201cLayout Rules for Reading the Papers of",
             "Many Journals and Their Columns,\u201d Journal of Layout Research,",
             "vol. 74, pp. 466-470, 1983."]
    y = 268.0
    for _ in range(10):
        page.insert_text((72, y), entry[0], fontsize=9)
        page.insert_text((86, y + 11), entry[1], fontsize=9)
        page.insert_text((86, y + 22), entry[2], fontsize=9)
        y += 36
    last = doc.new_page(width=595, height=842)
    last.insert_text((72, 76), entry[0].replace("A. Núñez", "Z. Brandão"), fontsize=9)
    last.insert_text((86, 87), entry[1], fontsize=9)
    last.insert_text((86, 98), entry[2], fontsize=9)
    found = reference_entries(_analysed(doc))
    assert len(found) == 11, found[-3:]
    assert found[-1].startswith("Z. Brandão") and found[-1].endswith("1983."), found[-1]


def test_publishers_notice_closes_an_unlabelled_abstract() -> None:
    """A letter (AIP style): an unlabelled abstract whose last line ends with the publisher's
    notice, the text starting under it with no heading."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    y = _prose(page, 90, 170, 6, width=85)
    page.insert_text((90, y), "rules that hold. \u00a9 2011 Layout Institute of Physics.",
                     fontsize=10)
    _prose(page, 72, y + 30, 30)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.endswith("rules that hold."), header.abstract[-80:]


def test_heading_centred_over_two_ragged_columns_starts_them() -> None:
    """A page of one-column text, then "REFERENCES" centred on the page over a two-column
    list whose ragged lines leave a wide gutter: the list is read after the heading, left
    column first."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _prose(page, 51, 72, 30, width=110)
    heading = "REFERENCES"
    width = pymupdf.get_text_length(heading, fontname="hebo", fontsize=10)
    page.insert_text((306 - width / 2, 500), heading, fontsize=10, fontname="hebo")
    entries = [f"{name}, {1970 + 7 * i}, Journal of Layout, {i + 3}, {100 + i}"
               for i, name in enumerate(["A. Lee", "B. Chan", "C. Ortiz and D. Novák-Smith",
                                         "E. Smith", "F. Jones", "G. Brown", "H. Kim",
                                         "I. Costa", "J. de la Cruz", "K. Ito"])]
    for i, entry in enumerate(entries):  # one left line reaches into the gutter
        x, y = (51, 520 + 16 * i) if i < 5 else (321, 520 + 16 * (i - 5))
        page.insert_text((x, y), entry, fontsize=9)
    found = reference_entries(_analysed(doc))
    assert [entry.split(",")[0] for entry in found] == [e.split(",")[0] for e in entries]


def test_centred_address_whose_country_wraps_onto_a_line_alone() -> None:
    """SPIE style: centred addresses; one stopped on a comma wraps its country ("Portugal;")
    onto a centred line alone, which goes on with the address and is no author's name."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((120, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 150, 125, [("Ann Lee", 12, "tiro", 0), ("a", 8, "tiro", 4),
                           (", Bo Chan", 12, "tiro", 0), ("b", 8, "tiro", 4)])
    lines = [("a", "Faculty of Mathematics, Universidad de Alder, 3004-516 Alder,"),
             ("", "Portugal;"),
             ("b", "Department of Neuroscience, Birch Institute of Technology, Delft, The"),
             ("", "Netherlands;")]
    y = 150.0
    for marker, text in lines:
        width = pymupdf.get_text_length(text, fontname="tiro", fontsize=12)
        x = (595 - width) / 2
        if marker:
            _runs(page, x - 5, y, [(marker, 8, "tiro", 4)])
        page.insert_text((x, y), text, fontsize=12, fontname="tiro")
        y += 16
    page.insert_text((270, y + 20), "ABSTRACT", fontsize=11, fontname="hebo")
    _prose(page, 72, y + 40, 30)
    header = extract_header(_analysed(doc))
    assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "Faculty of Mathematics, Universidad de Alder, 3004-516 Alder, Portugal",
        "Department of Neuroscience, Birch Institute of Technology, Delft, The Netherlands"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_names_parted_by_middle_dots() -> None:
    """Some journals set "Ann Lee1 · Bo Chan2": the dot parts names; a given name cut at the
    line's end ("Cy" / "Diaz3") joins its surname on the next line."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 72, 120, [("Ann Lee", 11, "tiro", 0), ("1,*", 7, "tiro", 4),
                          (" · Bo Chan", 11, "tiro", 0), ("2", 7, "tiro", 4),
                          (" · Cy", 11, "tiro", 0)])
    _runs(page, 72, 134, [("Diaz", 11, "tiro", 0), ("1", 7, "tiro", 4)])
    _runs(page, 72, 160, [("1", 6, "tiro", 3), ("Department of Physics, Alder University, Canada",
                                                 8, "tiro", 0)])
    _runs(page, 72, 170, [("2", 6, "tiro", 3), ("School of Chemistry, Birch Institute, Norway",
                                                 8, "tiro", 0)])
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan", "Cy Diaz"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [0]]


def _sidebar_page(doc: pymupdf.Document, side_size: float) -> None:
    """A banner and the title across the page; below, a column of article facts in type of
    `side_size` beside a structured abstract in 10 pt; then the text across the page."""
    page = doc.new_page(width=595, height=842)
    page.insert_text((48, 55), "RESEARCH ARTICLE", fontsize=8, fontname="hebo")
    page.insert_text((48, 85), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 48, 110, [("Ann Lee", 10.5, "tiro", 0), ("1", 7, "tiro", 3)])
    _runs(page, 48, 125, [("1", 6, "tiro", 3), ("Department of Physics, Alder University, "
                                                "Canada", 8, "tiro", 0)])
    facts = [["OPEN ACCESS"], ["Citation: Lee A (2023) A", "Study of Layout Rules for",
                               "Papers. Open J Sci 19(4):", "e6666927."],
             ["Received: 25 August 2023"], ["Published: 19 October 2023"],
             ["Copyright: © 2023 Lee.", "This is an open access", "article distributed under",
              "the terms of the licence."]]
    y = 160.0
    for group in facts:  # paragraphs apart, in blocks of their own beside the abstract's
        for fact in group:
            page.insert_text((48, y), fact, fontsize=side_size)
            y += 1.35 * side_size
        y += 2.2 * side_size
    page.insert_text((193, 170), "Abstract", fontsize=11, fontname="hebo")
    y = 188.0
    for label in ("Background", "Methods", "Results"):
        page.insert_text((193, y), f"{label}: the method reads each page of the paper and",
                         fontsize=10)
        _prose(page, 193, y + 13, 2, width=60)
        y += 13 * 3 + 6
    page.insert_text((48, 390), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 48, 408, 25)


def test_article_facts_beside_part_of_the_page_are_a_sidebar() -> None:
    """A column of small type beside the abstract only (a banner and the title run across the
    page above it) is a sidebar: the abstract beside it is read whole. The same column set as
    large as the abstract ("Article info" beside "Abstract") is a column of the page."""
    doc = pymupdf.open()
    _sidebar_page(doc, 7.2)
    header = extract_header(_analysed(doc))
    assert header.abstract.startswith("Background: the method")
    assert "Results: the method" in header.abstract
    assert "Received" not in header.abstract

    doc = pymupdf.open()
    _sidebar_page(doc, 10)
    parsed = _analysed(doc)
    assert "sidebar" not in {block.role for block in parsed.pages[0].blocks}


def test_author_details_list_after_balanced_columns() -> None:
    """Affiliations only at the end, under an "Author details" heading set under the last
    column and over a full-width list of addresses run together, each led by a raised number;
    the editorial dates under the list are no part of it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 178, 20)
    page = doc.new_page(width=595, height=842)
    _prose(page, 48, 60, 22, width=45)
    _prose(page, 308, 60, 20, width=45)
    page.insert_text((48, 360), "Author details", fontsize=11, fontname="hebo")
    _runs(page, 48, 380, [("1", 5.4, "tiro", 3.4),
                          ("Department of Physics, Alder University, Canada. ", 8, "tiro", 0),
                          ("2", 5.4, "tiro", 3.4),
                          ("School of Chemistry, Birch Institute, Kraków,", 8, "tiro", 0)])
    _runs(page, 48, 390, [("Poland.", 8, "tiro", 0)])
    page.insert_text((48, 400), "Received: 25 April 2011 Accepted: 10 December 2011",
                     fontsize=8)
    page.insert_text((48, 425), "References", fontsize=11, fontname="hebo")
    _numbered_list(page, 445, [f"A. Author. A title of a paper. J. Examples {n}, 1 (2001)."
                               for n in range(1, 6)])
    parsed = _analysed(doc)
    order = [block.text for block in parsed.pages[1].blocks]
    heading = next(i for i, text in enumerate(order) if text.startswith("Author details"))
    assert all(not text.startswith("the method") for text in order[heading:]), order
    header = extract_header(parsed)
    assert header.affiliations == ["Department of Physics, Alder University, Canada",
                                   "School of Chemistry, Birch Institute, Kraków, Poland"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_keyword_line_filled_to_the_edge_stops_at_a_note_under_it() -> None:
    """A keyword line that reaches the column's edge may wrap past a double-spaced blank, but
    not into the corresponding-author note under it."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 185, 6, size=10)
    page.insert_text((72, y + 12), "Key words: statistical mechanics, Monte Carlo methods, "
                     "distributed systems, signal processing", fontsize=10)
    page.insert_text((72, y + 38), "*Corresponding author. E-mail: lee@example.org",
                     fontsize=10)
    page.insert_text((72, y + 70), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 72, y + 88, 20)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["statistical mechanics", "Monte Carlo methods",
                               "distributed systems", "signal processing"]


@pytest.mark.parametrize("paragraph_lines", [10, 2])
def test_marked_address_in_a_margin_column_wraps_onto_an_institution(
        paragraph_lines: int) -> None:
    """Addresses in the left margin column of a one-column page: an unmarked line under a
    marked entry goes on with it, even when it names an institution ("... Nairobi" /
    "Institute of Technology,"). The text beside the column may be one paragraph or short
    ones (a structured abstract's, two lines each)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for y, (marker, text) in zip(range(140, 195, 11), [
            ("1", "School of Biology, Nairobi"), ("", "Institute of Technology,"),
            ("", "Nairobi, Kenya"), ("2", "Department of Physics,"),
            ("", "Alder University, Canada")], strict=True):
        _runs(page, 48, y, [(marker, 5.4, "tiro", 3), (text, 7.9, "tiro", 0)])
    page.insert_text((48, 205), "Received 13 January 2010;", fontsize=7.9)
    page.insert_text((181, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 181, 120, [("Ann Lee", 11, "tiro", 0), ("1", 7, "tiro", 4),
                           (" and Bo Chan", 11, "tiro", 0), ("2", 7, "tiro", 4)])
    page.insert_text((181, 150), "Abstract", fontsize=11, fontname="hebo")
    y = 168.0
    for _ in range(10 // paragraph_lines):
        y = _prose(page, 181, y, paragraph_lines, width=60) + 14
    _prose(page, 181, 380, 20, width=60)
    parsed = _analysed(doc)
    assert {block.role for block in parsed.pages[0].blocks if block.bbox[2] < 170} \
        == {"sidebar"}
    header = extract_header(parsed)
    assert header.affiliations == ["School of Biology, Nairobi Institute of Technology, "
                                   "Nairobi, Kenya", "Department of Physics, Alder University, "
                                   "Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_clinical_byline_labels_alone_and_addresses_under_the_abstract() -> None:
    """Names with degrees; a structured abstract whose labels stand in small capitals on lines
    of their own ("BACKGROUND" over its text, no section heading); the numbered addresses in
    small type under the abstract, as many lines as the abstract has (sizes that tie)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((48, 80), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    _runs(page, 48, 110, [("Ann Lee, MD, PhD", 10, "tiro", 0), ("1", 7, "tiro", 3),
                          ("; and Bo Chan, MPH", 10, "tiro", 0), ("2", 7, "tiro", 3)])
    page.insert_text((48, 140), "Abstract", fontsize=11, fontname="hebo")
    y = 158.0
    for label in ("BACKGROUND", "METHODS", "RESULTS"):
        page.insert_text((48, y), label, fontsize=8, fontname="hebo")
        page.insert_text((48, y + 12), f"In the {label.lower()}, the method reads each page "
                         "of the paper and finds the parts a reader needs.", fontsize=10)
        y += 30
    for marker, text in (("1", "Department of Physics, Alder University, Canada"),
                         ("2", "School of Chemistry, Birch Institute, Norway")):
        _runs(page, 48, y, [(marker, 5.6, "tiro", 2), (text, 8.2, "tiro", 0)])
        y += 10
    for filler in ("Corresponding Author: Ann Lee, Alder University (lee@example.org).",
                   "Accepted for publication in the Journal of Layout Studies, volume one."):
        page.insert_text((48, y), filler, fontsize=8.2)
        y += 10
    page.insert_text((48, y + 20), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 48, y + 38, 25)
    header = extract_header(_analysed(doc))
    assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.abstract is not None
    assert header.abstract.startswith("BACKGROUND: In the background, the method")
    assert "RESULTS: In the results" in header.abstract
    assert header.affiliations == ["Department of Physics, Alder University, Canada",
                                   "School of Chemistry, Birch Institute, Norway"]


def test_cover_sheet_setting_the_title_smaller_than_the_article_and_dating_it() -> None:
    """A cover sheet whose own name is its largest text and whose title is smaller than the
    article's: the article is the page after it, and the cover's author-date citation gives
    the year the article does not print."""
    doc = pymupdf.open()
    cover = doc.new_page(width=595, height=842)
    cover.insert_text((48, 70), "Open Research Repository", fontsize=14, fontname="hebo")
    cover.insert_text((48, 100), "A Study of Layout Rules for Papers", fontsize=12,
                      fontname="hebo")
    cover.insert_text((48, 125), "A. Lee, B. Chan", fontsize=9)
    cover.insert_text((48, 145), "Citation: A. Lee, B. Chan", fontsize=9)
    cover.insert_text((48, 156), "(2011). A Study of Layout Rules for Papers. Journal.",
                      fontsize=9)
    assert _article_after_a_cover(doc, title_size=13.5).year == 2011


def test_keywords_with_no_label_parted_by_vertical_bars() -> None:
    """Some journals print the keywords under the abstract with no label, parted by bars."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "")])
    y = _prose(page, 72, 150, 6)
    page.insert_text((72, y + 6), "topological insulators | optimization | galaxies: "
                     "evolution | Bayesian inference", fontsize=8.8)
    page.insert_text((72, y + 40), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 72, y + 58, 20)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["topological insulators", "optimization", "galaxies: evolution",
                               "Bayesian inference"]


def test_keywords_one_per_line_in_a_narrow_column_beside_the_abstract() -> None:
    """"ARTICLE HISTORY" and "KEYWORDS" in a narrow column of small type beside the abstract
    (a margin column for the layout): the keywords are read there, one per line."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "")])
    page.insert_text((72, 160), "ABSTRACT", fontsize=8, fontname="hebo")
    _prose(page, 72, 175, 8, width=60)
    for y, text in zip(range(160, 230, 9), ["ARTICLE HISTORY", "Received 15 January 2015",
                                            "Accepted 9 August 2015", "KEYWORDS",
                                            "program synthesis", "statistical mechanics",
                                            "thin films"], strict=False):
        page.insert_text((430, y), text, fontsize=7.1)
    page.insert_text((72, 300), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 72, 318, 25)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["program synthesis", "statistical mechanics", "thin films"]


@pytest.mark.parametrize("rows", [3, 5])
def test_columns_under_a_grid_of_author_blocks(rows: int) -> None:
    """Centred author blocks three to a row hide the gutter of the two columns below the
    abstract: the columns are found under the header's last full-width block, also when the
    grid pushes the abstract past the middle of the page."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((150, 70), "A STUDY OF LAYOUT RULES", fontsize=18, fontname="hebo")
    for row in range(rows):
        for col, x in enumerate((60, 250, 440)):
            for k, text in enumerate((f"Author Name{row}{col}", "Department of Physics",
                                      "Alder University", "name@example.org")):
                page.insert_text((x, 100 + row * 60 + k * 11), text, fontsize=8)
    top = 120 + rows * 60
    _prose(page, 48, top, 4)
    page.insert_text((308, top + 80), "the right column opens higher than the left one does",
                     fontsize=10)
    _prose(page, 308, top + 93, 20, width=45)
    page.insert_text((48, top + 92), "1. Introduction", fontsize=11, fontname="hebo")
    _prose(page, 48, top + 110, 20, width=45)
    order = [block.text for block in _analysed(doc).pages[0].blocks]
    heading = next(i for i, text in enumerate(order) if text.startswith("1. Introduction"))
    right = next(i for i, text in enumerate(order) if text.startswith("the right column"))
    assert heading < right, order


def test_short_numbered_reference_list_closing_the_paper() -> None:
    """Three "1."-entries at body size, no heading, closing the paper before its end notes,
    are the reference list; three numbered claims closing a paper are not."""
    refs = ["O. Smith-Jones and M. Hubner, Low-rank embeddings, J. Chem. Phys. 46, 496 (1999).",
            "Chen, A. B. Coupled estimation. IEEE Trans. Signal Process. 105, 49 (2000).",
            "M. Muller, Causal sensors from power grids, Mon. Not. R. Astron. Soc. 105 (2020)."]
    claims = ["The method of 2019 reads each page of the paper as it is set.",
              "Our rules of 2020 carry over to papers they were not written for.",
              "The results of 2021 hold for every template we tried."]
    found = []
    for entries in (refs, claims):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
        y = _prose(page, 72, 160, 30)
        _numbered_list(page, y + 10, entries)
        page.insert_text((72, y + 70), "Acknowledgements We thank the referees.", fontsize=10)
        found.append(reference_entries(_analysed(doc)))
    assert [entry[:10] for entry in found[0]] == ["1. O. Smit", "2. Chen, A", "3. M. Mull"]
    assert found[1] == []


def test_gap_under_a_column_heading_is_no_band_break() -> None:
    """A heading's white space crossing both columns is no band break when the text flows down
    the left column past it and on into the right column's top (which opens mid-sentence)."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "Abstract", fontsize=14)
    page.insert_text((72, 84), "ABSTRACT TEXT is short and ends here.", fontsize=10)
    _prose(page, 72, 97, 6, width=45)
    page.insert_text((72, 175), "ends the abstract.", fontsize=10)
    page.insert_text((320, 62), "hardware, RIGHT TOP goes on with the sentence.", fontsize=10)
    _prose(page, 320, 75, 8, width=45)
    page.insert_text((320, 175), "and its paragraph ends.", fontsize=10)
    for x, heading in ((72, "1 Introduction"), (320, "2 Related Work")):
        page.insert_text((x, 235), heading, fontsize=14)
        _prose(page, x, 260, 35, width=45)
    page.insert_text((72, 724), "INTRO LEFT ends the column with modest", fontsize=10)
    text = parse_layout(doc.tobytes()).pages[0].text
    order = [text.index(mark) for mark in ("ABSTRACT TEXT", "INTRO LEFT", "RIGHT TOP",
                                           "Related Work")]
    assert order == sorted(order)


def _centred(page: pymupdf.Page, y: float, text: str, size: float = 12) -> None:
    width = pymupdf.get_text_length(text, fontname="helv", fontsize=size)
    page.insert_text(((page.rect.width - width) / 2, y), text, fontsize=size)


def test_author_groups_filling_the_title_page_before_an_abstract_on_the_next() -> None:
    """revtex's groups (names, then their address) fill the whole first page when the abstract
    opens the next one: every group is read, not only those in the page's top part."""
    towns = ["Alder", "Birch", "Cedar", "Dove", "Elm", "Fir", "Gale", "Hazel"]
    groups = [(f"{first} {town}son, {second} {town}berg", f"Institute of Physics, University of "
               f"{town}, Norway") for town, (first, second) in
              zip(towns, [("Ann", "Bo"), ("Cy", "Di"), ("Ed", "Flo"), ("Gus", "Hal"),
                          ("Ida", "Jo"), ("Kai", "Lu"), ("Mo", "Ned"), ("Ola", "Pia")],
                  strict=True)]
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 80, "Layout Rules for Long Author Lists", 16)
    y = 120.0
    for names, address in groups:
        _centred(page, y, names)
        _centred(page, y + 20, address)
        y += 78
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 90, 10)
    page.insert_text((72, 250), "1 Introduction", fontsize=12, fontname="hebo")
    _prose(page, 72, 270, 30)
    header = extract_header(_analysed(doc))
    assert len(header.authors) == 16 and header.authors[-1].name == "Pia Hazelberg"
    assert header.affiliations == [address for _, address in groups]


def test_address_lines_split_after_a_postcode_and_stacked_a_part_a_line() -> None:
    """An address line stopped on its postcode goes on with the town on the next line; an
    address printed a part a line, centred under the name, is one address with commas."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 80, "Layout Rules for Postcodes and Stacks", 16)
    _runs(page, 150, 112, [("Ann Lee", 12, "helv", 0), ("1", 7, "helv", 4),
                           (", Bo Chan", 12, "helv", 0), ("2", 7, "helv", 4)])
    _runs(page, 72, 134, [("1", 7, "helv", 4), ("Department of Mechanical Engineering, Centre "
                                                "for Engineering Research, 2628", 12, "helv", 0)])
    _centred(page, 148, "CD Delft, The Netherlands")
    _runs(page, 150, 162, [("2", 7, "helv", 4), ("School of Chemistry, Birch Institute, Canada",
                                                 12, "helv", 0)])
    page.insert_text((72, 200), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "Department of Mechanical Engineering, Centre for Engineering Research, 2628 CD Delft, "
        "The Netherlands", "School of Chemistry, Birch Institute, Canada"]

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 80, "Layout Rules for Postcodes and Stacks", 16)
    _centred(page, 112, "Ann Lee")
    for i, part in enumerate(["Laboratory of Applied Mathematics",
                              "Max Planck Institute for Mechanical Engineering", "Portugal"]):
        _centred(page, 130 + 14 * i, part)
    page.insert_text((72, 200), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Laboratory of Applied Mathematics, Max Planck Institute for Mechanical Engineering, "
        "Portugal"]


def test_contact_block_opening_with_its_label_ends_the_addresses() -> None:
    """"*Corresponding author: name" under the addresses opens a contact block: its job title
    and street address are no author and no affiliation, even with the abstract a page on."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 80, "Layout Rules for Contact Blocks", 16)
    _marked_names(page, 112)
    _marked_affiliations(page, 130)
    page.insert_text((72, 200), "*Corresponding author: Bo Chan, PhD", fontsize=11)
    for i, line in enumerate(["Associate Professor", "4939 Charles Katz Dr., Rm 1041",
                              "University of Alder, Alder, Norway"]):
        page.insert_text((250, 215 + 14 * i), line, fontsize=11)
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 90, 10)
    _prose(page, 72, 270, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


def test_two_column_reference_list_of_a_few_entries_under_full_width_text() -> None:
    """A reference list of six short entries set in two columns under a one-column text: the
    columns are found (strictly: no line crosses the gap) and each entry is read whole."""
    refs = ["M. Nguyen, 2002, Nature Physics, 25, 7",
            "T. K. von Kanel and H. Smith-Jones, 1990, Nature Physics,", "103, 198",
            "C. H. Bianchi, 2005, Nature Physics, 52, 720"]
    right = ["M. Orsted, L. Hakansson, J. F. Bianchi, and A. Fernandez,",
             "2011, Nature Physics, 45, 146", "P. K. Nunez, A. Dvorak, and A. Weber, 1988,",
             "Journal of Computational Physics, 27, 870",
             "M. Kowalski, 1996, Physical Review B, 20, 47", "A. Weber, 1999, Nature, 4, 10"]
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    _prose(page, 51, 160, 40, width=100)
    page = doc.new_page(width=612, height=792)
    _prose(page, 51, 68, 9, width=100)
    _centred(page, 205, "REFERENCES", 10)
    ys = [219, 238, 254, 273]
    xs = [51, 51, 60, 51]
    for text, x, y in zip(refs, xs, ys, strict=True):
        page.insert_text((x, y + 8), text, fontsize=9)
    for i, text in enumerate(right):
        indent = 9 if i in (1, 3) else 0
        page.insert_text((321 + indent, 227 + 13 * i), text, fontsize=9)
    entries = reference_entries(_analysed(doc))
    assert [e.split(",")[0] for e in entries] == [
        "M. Nguyen", "T. K. von Kanel and H. Smith-Jones", "C. H. Bianchi", "M. Orsted",
        "P. K. Nunez", "M. Kowalski", "A. Weber"]


def test_addresses_after_the_text_running_on_to_the_next_page() -> None:
    """AMS style, the addresses running over a page break: those at the foot of one page (no
    e-mail) join the first group of the next, read past its running head and page number."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", ""), ("Cy Diaz", "")])
    page.insert_text((72, 160), "Abstract.", fontsize=9, fontname="hebo")
    _prose(page, 120, 160, 6, size=9)
    _prose(page, 72, 260, 30)
    end = doc.new_page(width=612, height=792)
    _prose(end, 72, 80, 40)
    foot = ["Laboratory of Materials Science, Universidad de Alder, Alder, Poland",
            "Institute of Chemistry, University of Birch, Birch, Sweden"]
    for i, address in enumerate(foot):
        end.insert_text((90, 640 + 30 * i), address, fontsize=8, fontname="tiro")
    last = doc.new_page(width=612, height=792)
    last.insert_text((127, 102), "3", fontsize=7)
    last.insert_text((268, 102), "A. LEE ET AL.", fontsize=7)
    top = ["Faculty of Neuroscience, Cedar Institute of Technology, Cedar, Germany",
           "School of Physics, University of Dove, Dove, Norway"]
    for i, (address, email) in enumerate(zip(top, ["cy@cedar.de", "bo@dove.no"], strict=True)):
        last.insert_text((90, 126 + 34 * i), address, fontsize=8, fontname="tiro")
        last.insert_text((90, 136 + 34 * i), f"E-mail address: {email}", fontsize=8,
                         fontname="tiit")
    header = extract_header(_analysed(doc))
    assert header.affiliations == [*foot, *top]


def test_keyword_labels_in_italic_run_in_or_alone_in_smaller_type() -> None:
    """"Key words:" in italic, run in after the abstract's last sentence on its line; and a
    "KEYWORDS" label alone on its line, in type smaller than the keywords listed under it."""
    keywords = ["compressed sensing", "natural language processing", "Monte Carlo methods"]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 176, 6)
    _runs(page, 72, y, [("and it ends here. ", 10, "helv", 0), ("Key words: ", 10, "heit", 0),
                        (", ".join(keywords), 10, "helv", 0)])
    _prose(page, 72, y + 40, 30)
    assert extract_header(_analysed(doc)).keywords == keywords

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((420, 160), "KEYWORDS", fontsize=6.3, fontname="hebo")
    for i, keyword in enumerate(keywords):
        page.insert_text((420, 171 + 10.5 * i), keyword, fontsize=7.9)
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 176, 12, width=55)
    assert extract_header(_analysed(doc)).keywords == keywords


def test_abstract_ends_where_it_starts_again_in_another_language() -> None:
    """SMF style: "Abstract. — ..." and, right under it at the same size, "Résumé (title). —
    ...": the French version is no part of the English abstract."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((140, 170), "Abstract. - We study a family of estimators for layout.",
                     fontsize=8)
    y = _prose(page, 140, 180, 5, width=80, size=8)
    page.insert_text((140, y), "and it ends here.", fontsize=8)
    page.insert_text((140, y + 14), "Résumé (Un algorithme efficace). - Nous présentons un "
                     "algorithme efficace pour les données.", fontsize=8)
    page.insert_text((140, y + 24), "La méthode est validée avec un coût de calcul modeste.",
                     fontsize=8)
    page.insert_text((250, y + 60), "1. Introduction", fontsize=10)
    _prose(page, 113, y + 80, 30, width=85)
    abstract = extract_header(_analysed(doc)).abstract
    assert abstract is not None and abstract.startswith("We study a family")
    assert abstract.endswith("and it ends here.")


@pytest.mark.parametrize("first_part", ["Key", "Key-"])  # "Keywords:" hyphenated: "Key-"
def test_keyword_label_broken_across_two_lines(first_part: str) -> None:
    """A run-in "Key words:" label the line broke: "Key" ends the abstract's last line, "words:"
    opens the next. The keywords are read, and the abstract ends before the label."""
    keywords = ["numerical simulation", "signal processing", "Bayesian inference"]
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 160), "Abstract", fontsize=11, fontname="hebo")
    y = _prose(page, 72, 176, 6)
    _runs(page, 72, y, [("and it ends here. ", 10, "helv", 0), (first_part, 10, "heit", 0)])
    _runs(page, 72, y + 13, [("words: ", 10, "heit", 0), (", ".join(keywords), 10, "helv", 0)])
    _prose(page, 72, y + 50, 30)
    header = extract_header(_analysed(doc))
    assert header.keywords == keywords
    assert header.abstract is not None and header.abstract.endswith("and it ends here.")


def test_column_line_level_with_the_addresses_is_no_address() -> None:
    """The right column's text rises level with the last address; its first line opens with a
    sentence's end and a raised citation ("settings. 1,13 Our approach ..."): no address."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 100, "Layout Rules for Columns Beside Addresses", 12)
    _runs(page, 200, 116, [("Ann Lee", 10.5, "helv", 0), ("1", 6, "helv", 4),
                           (", Bo Chan", 10.5, "helv", 0), ("2", 6, "helv", 4)])
    _runs(page, 150, 130, [("1", 6, "helv", 3), ("National Laboratory for Physics, Alder, "
                                                 "Norway", 9, "helv", 0)])
    _runs(page, 150, 141, [("2", 6, "helv", 3), ("School of Chemistry, Birch Institute, Canada",
                                                 9, "helv", 0)])
    page.insert_text((55, 200), "Abstract: We propose a new framework for layout.", fontsize=9)
    _prose(page, 55, 211, 8, width=50, size=9)
    _runs(page, 317, 160, [("settings. ", 9, "helv", 0), ("1,13", 6, "helv", 3),
                           (" Our approach reduces the convergence rate on", 9, "helv", 0)])
    page.insert_text((317, 171), "three benchmark data sets.", fontsize=9)
    page.insert_text((327, 184), "This paper introduces a systematic comparison of methods",
                     fontsize=9)
    _prose(page, 317, 195, 40, width=50, size=9)
    _prose(page, 55, 320, 30, width=50, size=9)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["National Laboratory for Physics, Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


def test_addresses_opening_with_the_names_markers_whatever_they_say() -> None:
    """Marked lines under marked names are their addresses, even with no word an institution
    has ("aAffiliation1, Address, City, Country"); footnotes under markers no name carries
    annotate the text and are no addresses."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Anna A. Author", "a"), ("Barry B. Author", "b")])
    for y, marker, address in ((140, "a", "Affiliation1, Address, City, Country;"),
                               (155, "b", "Affiliation2, Address, City, Country")):
        _runs(page, 72, y, [(marker, 7, "helv", 4), (address, 11, "helv", 0)])
    page.insert_text((72, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 208, 6)
    _prose(page, 72, 320, 20)
    page.insert_text((72, 760), "*The basic format was developed in 1995 at the Alder National "
                     "Laboratory", fontsize=8)
    page.insert_text((72, 772), "\u2020Sizes are given in points; one inch is 72.27 points at "
                     "the Birch Institute", fontsize=8)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Anna A. Author", "Barry B. Author"]
    assert header.affiliations == ["Affiliation1, Address, City, Country",
                                   "Affiliation2, Address, City, Country"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_footnotes_under_markers_no_name_carries_are_no_addresses() -> None:
    """With the addresses nowhere to be found, first-page footnotes whose markers no author
    carries (notes on the text) are still no addresses."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Anna A. Author", "a"), ("Barry B. Author", "b")])
    page.insert_text((72, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 208, 6)
    _prose(page, 72, 320, 20)
    _runs(page, 72, 760, [("*", 7, "helv", 3), ("The basic format was developed in 1995 at the "
                                                 "Alder National Laboratory", 8, "helv", 0)])
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Anna A. Author", "Barry B. Author"]
    assert header.affiliations == []


def test_authors_in_a_margin_column_beside_the_title() -> None:
    """ASME: the title and abstract in a wide right column; each author's name, in larger
    type, over the address lines, e-mail and society grade, in a narrow column at the left."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((228, 66), "Rules for Pages Set in", fontsize=22, fontname="hebo")
    page.insert_text((228, 92), "Two Unequal Columns", fontsize=22, fontname="hebo")
    y = 88.0
    for name, lines in (("Ann Lee", ["Department of Physics,", "University of Alder,",
                                     "Alder 1010, Norway", "email: lee@alder.no"]),
                        ("Bo Chan", ["Fellow ASME", "Birch Heat Transfer Laboratory,",
                                     "Birch Institute of Technology,", "Birch, BC, Canada",
                                     "email: chan@birch.ca"])):
        width = pymupdf.get_text_length(name, fontname="hebo", fontsize=12)
        page.insert_text((197 - width, y), name, fontsize=12, fontname="hebo")
        y += 12
        for line in lines:
            width = pymupdf.get_text_length(line, fontsize=8)
            page.insert_text((197 - width, y), line, fontsize=8)
            y += 10
        y += 14
    y = _prose(page, 228, 120, 9, width=60, size=9)
    page.insert_text((228, y + 8), "Keywords: layout, margins, columns", fontsize=9)
    page.insert_text((60, 300), "1 Introduction", fontsize=10, fontname="hebo")
    _prose(page, 60, 316, 30, width=100)
    header = extract_header(_analysed(doc))
    assert header.title == "Rules for Pages Set in Two Unequal Columns"
    assert [(a.name, a.email) for a in header.authors] == [
        ("Ann Lee", "lee@alder.no"), ("Bo Chan", "chan@birch.ca")]
    assert header.affiliations == [
        "Department of Physics, University of Alder, Alder 1010, Norway",
        "Birch Heat Transfer Laboratory, Birch Institute of Technology, Birch, BC, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_name_over_address_blocks_read_alike() -> None:
    """LaTeX's "A \\\\ Place \\and B \\\\ Place": one block per author, the name over its place in
    the same type; a place that reads like a name ("ENSIMAG, Grenoble INP") is a place when
    the other block's place names an institution."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((218, 180), "Using Matrices in Packages", fontsize=17)
    for y, text in ((208, "Christophe Dutang"), (222, "ENSIMAG, Grenoble INP"),
                    (252, "Vincent Goulet"), (266, "Ecole d'actuariat, Universite Laval")):
        width = pymupdf.get_text_length(text, fontsize=12)
        page.insert_text((306 - width / 2, y), text, fontsize=12)
    page.insert_text((134, 330), "1 Introduction", fontsize=14, fontname="hebo")
    _prose(page, 134, 350, 30, width=80)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Christophe Dutang", "Vincent Goulet"]
    assert header.affiliations == ["ENSIMAG, Grenoble INP", "Ecole d'actuariat, Universite Laval"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1]]


def test_names_going_on_after_an_email_address_in_the_byline() -> None:
    """A byline whose e-mail address opens its second line ("(bo@birch.ca), Cy Dunn, ..."):
    the names after it are names, not an address opening with a marker."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 120), "Ann Lee, Bo Chan", fontsize=11)
    _runs(page, 72, 134, [("(", 11, "helv", 0), ("bo@birch.ca", 11, "cour", 0),
                          ("),", 11, "tiro", 0), (" Cy Dunn, Di Egan", 11, "helv", 0)])
    page.insert_text((72, 152), "Division of Materials Science, Alder University, Norway",
                     fontsize=9)
    page.insert_text((72, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 208, 6)
    _prose(page, 72, 320, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dunn", "Di Egan"]
    assert header.affiliations == ["Division of Materials Science, Alder University, Norway"]


def test_unlabelled_abstract_beside_a_second_column_opening_with_a_section() -> None:
    """Quantum style: a two-column page whose first column holds an unheaded abstract, and whose
    second column opens with section 2 higher than the abstract's top. The second column is read
    after the first, so its heading does not end the header above the abstract."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    page.insert_text((72, 140), "1 University of Alder, Norway", fontsize=7)
    page.insert_text((72, 150), "2 Institute of Birch, Oslo, Norway", fontsize=7)
    bottom = _prose(page, 72, 196, 12, width=45, size=10)
    page.insert_text((72, bottom + 14), "1 Introduction", fontsize=13, fontname="hebo")
    _prose(page, 72, bottom + 34, 30, width=45)
    page.insert_text((310, 190), "2 Related Work", fontsize=13, fontname="hebo")
    _prose(page, 310, 210, 40, width=45)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None and header.abstract.startswith(PROSE[:40])


def _title_page(lines: list[tuple[float, str, float, str]], abstract_y: float) -> Header:
    """A title, then (y, text, size, font) lines, then an "Abstract" heading over prose."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    for y, text, size, font in lines:
        page.insert_text((72, y), text, fontsize=size, fontname=font)
    page.insert_text((72, abstract_y), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, abstract_y + 18, 30)
    return extract_header(_analysed(doc))


def test_names_each_followed_by_affiliations_in_parentheses() -> None:
    """"Name (Institution, Place; Institution, Place)", one a line or run on with "and"."""
    header = _title_page([
        (120, "Ann Lee (Department of Physics, University of Alder, Norway)", 10, "helv"),
        (134, "Bo van der Chan (School of Chemistry, Birch Institute of Technology, Canada;",
         10, "helv"),
        (148, "Department of Physics, University of Alder, Norway) and Cy Dee (Cedar", 10,
         "helv"),
        (162, "Research Centre, Cedar, Chile)", 10, "helv"),
        (180, "Address for correspondence: Ann Lee, ann@alder.no", 9, "helv"),
    ], 210)
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo van der Chan", "Cy Dee"]
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute of Technology, Canada",
                                   "Cedar Research Centre, Cedar, Chile"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0, 1], [2]]


def test_addresses_numbered_at_full_size_under_marked_names() -> None:
    """"1 Faculty of ..." with the number in the text's own size: list labels when they count
    1, 2, 3 down the addresses."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1,2"), ("Bo Chan", "3"), ("Cy Dee", "2")])
    for i, address in enumerate(["Faculty of Physics, University of Alder, Norway",
                                 "Birch Institute of Technology, Canada",
                                 "Cedar Research Centre, Chile"]):
        page.insert_text((72, 140 + 12 * i), f"{i + 1} {address}", fontsize=9)
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Faculty of Physics, University of Alder, Norway",
                                   "Birch Institute of Technology, Canada",
                                   "Cedar Research Centre, Chile"]
    assert [a.affiliation_indices for a in header.authors] == [[0, 1], [2], [1]]


@pytest.mark.parametrize("heads", [True, False], ids=["column heads", "no heads"])
def test_a_table_of_authors(heads: bool) -> None:
    """Name | affiliation | e-mail rows, a row an author, under one-word column heads (no
    names) or none: the cells beside a name are its affiliation, wrapped or not."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "A Study of Layout Rules for Papers", fontsize=18,
                     fontname="hebo")
    if heads:
        for x, head in ((72, "Author"), (220, "Affiliation"), (430, "E-mail")):
            page.insert_text((x, 125), head, fontsize=9, fontname="hebo")
    rows = [("Ann Lee", ["University of Alder, Norway"], "ann@alder.no"),
            ("Bo Chan", ["Department of Biology, Birch Institute", "of Technology, Canada"],
             "bo@birch.ca"),
            ("Cy Dee", ["University of Alder, Norway"], "cy@alder.no")]
    y = 145.0
    for name, place, email in rows:
        page.insert_text((72, y), name, fontsize=9, fontname="hebo")
        for k, part in enumerate(place):
            page.insert_text((220, y + 11 * k), part, fontsize=9)
        page.insert_text((430, y), email, fontsize=9)
        y += 11 * len(place) + 12
    page.insert_text((72, 240), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 258, 30)
    for _ in range(2):  # (the "Affiliation" head is no JSS address label of the last pages)
        _prose(doc.new_page(width=595, height=842), 72, 72, 40)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dee"]
    assert header.affiliations == ["University of Alder, Norway",
                                   "Department of Biology, Birch Institute of Technology, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [0]]


def test_a_labelled_note_under_footnote_addresses_is_no_part_of_them() -> None:
    """"Corresponding author: ..." under the last marked address starts a note of its own."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    _runs(page, 72, 748, [("1", 6, "helv", 3), ("Department of Physics, University of Alder,",
                                                 8, "helv", 0)])
    page.insert_text((72, 758), "Norway", fontsize=8)
    _runs(page, 72, 768, [("2", 6, "helv", 3), ("Birch Institute of Technology, Canada", 8,
                                                 "helv", 0)])
    page.insert_text((72, 778), "Corresponding author: Ann Lee", fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "Birch Institute of Technology, Canada"]


def test_references_numbered_with_a_closing_parenthesis_and_an_arxiv_note() -> None:
    """JPSJ-style "1) A. Author, ..." entries; a note line above the first section giving the
    paper's own arXiv id ("Supersedes arXiv:..."), where no preprint stamp is."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((72, 150), "Supersedes arXiv:2106.08114.", fontsize=9)
    page.insert_text((72, 175), "1 Introduction", fontsize=12, fontname="hebo")
    y = _prose(page, 72, 195, 30)
    page.insert_text((72, y + 10), "References", fontsize=12, fontname="hebo")
    for i, name in enumerate(["Smith", "Chen", "Garcia", "Rossi", "Kim"], 1):
        page.insert_text((72, y + 26 + 13 * i),
                         f"{i}) A. {name}: J. Layout Stud. {i} (199{i}) {i}0.", fontsize=9)
    parsed = _analysed(doc)
    assert len(reference_entries(parsed)) == 5
    assert extract_header(parsed).arxiv_id == "2106.08114"


def test_running_heads_set_low_in_a_wide_margin_do_not_split_a_reference_list() -> None:
    """A class with wide margins sets its running heads and footer inside the page (below the
    top tenth, above the bottom tenth), alternating left and right: set apart from the text
    and repeated, they are running heads, and a list going on over the page break stays one."""
    doc = pymupdf.open()
    entries = [f"{name}, A. B., “A study of layout number {i},” J. Layout, vol. {i}, 199{i}."
               for i, name in enumerate(["Smith", "Chen", "Garcia", "Rossi", "Kim", "Patel",
                                         "Brown", "Dubois"], 1)]
    for number in range(1, 7):
        page = doc.new_page(width=595, height=842)
        head = f"{number} Lee and Chan" if number % 2 == 0 else f"Layout Rules for Papers {number}"
        page.insert_text((108, 100), head, fontsize=10)
        page.insert_text((108, 665), "Journal of Layout Studies / Revue de mise en page 2024",
                         fontsize=8)
        if number == 1:
            _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
        if number < 5:
            _prose(page, 108, 160, 35, width=80)
        elif number == 5:
            _prose(page, 108, 160, 10, width=80)
            page.insert_text((108, 320), "References", fontsize=10, fontname="hebo")
            for k, entry in enumerate(entries[:3]):
                page.insert_text((108, 345 + 12 * k), entry, fontsize=8)
        else:
            for k, entry in enumerate(entries[3:]):
                page.insert_text((108, 125 + 12 * k), entry, fontsize=8)
    assert len(reference_entries(_analysed(doc))) == 8


def test_a_further_affiliation_noted_as_also_at_is_the_same_place() -> None:
    """"†also at Alder University, Norway" under addresses that name it already."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    _runs(page, 72, 748, [("1", 6, "helv", 3), ("Department of Physics, University of Alder,"
                                                 " Norway", 8, "helv", 0)])
    _runs(page, 72, 760, [("2", 6, "helv", 3), ("also at Department of Physics, University of"
                                                 " Alder, Norway", 8, "helv", 0)])
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway"]


def _centred_at(page: pymupdf.Page, centre: float, y: float, text: str, size: float = 11,
             font: str = "helv") -> None:
    width = pymupdf.get_text_length(text, fontname=font, fontsize=size)
    page.insert_text((centre - width / 2, y), text, fontsize=size, fontname=font)


def test_two_address_blocks_side_by_side_are_two_affiliations() -> None:
    """One author with two affiliations set beside each other, a block of lines each (a
    conference template): each column is read down as one address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred_at(page, 297, 90, "A Study of Layout Rules for Papers", 16, "hebo")
    _centred_at(page, 297, 118, "Ann Lee", 12, "tiit")
    for centre, lines in ((190, ["Signal Group, Music Technology Area", "Alder University, "
                                 "Alder, Norway"]),
                          (405, ["Sound Group, Acoustics Department", "Alder University, "
                                 "Alder, Norway"])):
        for k, text in enumerate(lines):
            _centred_at(page, centre, 136 + 13 * k, text, 11, "tiro")
    _centred_at(page, 297, 190, "Abstract", 11, "hebo")
    _prose(page, 72, 208, 6)
    _prose(page, 72, 320, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee"]
    assert header.affiliations == [
        "Signal Group, Music Technology Area, Alder University, Alder, Norway",
        "Sound Group, Acoustics Department, Alder University, Alder, Norway"]


def test_a_title_column_beside_the_article_keeps_the_front_matter_to_itself() -> None:
    """A letters page: title, name, an address a part a line and the abstract down the left
    column while the article's text runs in the right one, level with them."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for k, text in enumerate(["Layout Rules for", "Letters Journals"]):
        page.insert_text((50, 80 + 22 * k), text, fontsize=18, fontname="hebo")
    page.insert_text((50, 150), "Ann Lee", fontsize=10, fontname="hebo")
    for k, text in enumerate(["Alder University", "Birch Road", "County Alder", "Norway"]):
        page.insert_text((50, 162 + 11 * k), text, fontsize=10)
    page.insert_text((50, 230), "Abstract.", fontsize=10, fontname="hebo")
    _prose(page, 50, 244, 10, width=45)
    _prose(page, 50, 400, 25, width=45)
    # The right column: short paragraphs and a heading, each a block ending level with the
    # names and addresses (not one block running on past them).
    for top in (80, 128):
        _prose(page, 310, top, 3, width=45)
    page.insert_text((310, 172), "3 Environments", fontsize=11, fontname="hebo")
    page.insert_text((310, 188), "3.1 Abstract", fontsize=10, fontname="heit")
    _prose(page, 310, 204, 40, width=45)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee"]
    assert header.affiliations == ["Alder University, Birch Road, County Alder, Norway"]


def test_by_set_as_a_word_of_its_own_opens_the_byline() -> None:
    """"*By* Ann Lee and Bo Chan", the word a span of its own: it is no part of a name."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred_at(page, 297, 90, "A Study of Layout Rules for Papers", 16, "hebo")
    _runs(page, 220, 118, [("By", 11, "tiit", 0), (" Ann Lee and Bo Chan", 11, "tiro", 0)])
    _centred_at(page, 297, 134, "Alder University, Alder, Norway", 10, "tiit")
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 188, 6)
    _prose(page, 72, 300, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]


def test_an_italic_run_in_abstract_label_and_a_note_mark_after_the_title() -> None:
    """"*Abstract* This document ...": the label set in italics, no punctuation; the title's
    note symbol ("∗") is no part of the title."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _runs(page, 200, 90, [("The Alder Class", 16, "hebo", 0), ("*", 9, "helv", 6)])
    _centred_at(page, 297, 118, "Ann Lee", 11)
    _runs(page, 120, 150, [("Abstract", 9, "tiit", 0), (" This document describes the class "
                                                          "alder, a template", 9, "tiro", 0)])
    page.insert_text((120, 161), "for typesetting papers for the Alder congress.", fontsize=9,
                     fontname="tiro")
    page.insert_text((270, 190), "Contents", fontsize=10, fontname="hebo")
    _prose(page, 72, 210, 30)
    header = extract_header(_analysed(doc))
    assert header.title == "The Alder Class"
    assert header.abstract == ("This document describes the class alder, a template for "
                               "typesetting papers for the Alder congress.")


def test_a_membership_grade_under_the_name_is_no_affiliation() -> None:
    """"Student Member" over "ASAE" under the author's name: a grade in a society."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred_at(page, 297, 90, "A Study of Layout Rules for Papers", 16, "hebo")
    _centred_at(page, 297, 118, "Ann Lee", 12)
    _centred_at(page, 297, 132, "Student Member", 8)
    _centred_at(page, 297, 143, "ASAE", 8)
    page.insert_text((72, 180), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 198, 6)
    _prose(page, 72, 300, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee"]
    assert header.affiliations == []


def test_a_drafts_line_numbers_in_the_margin_do_not_end_the_abstract() -> None:
    """A draft with its lines numbered down the left margin: a number beside the gap between
    the abstract's two paragraphs is no page number; the abstract goes on."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred_at(page, 306, 100, "A Study of Layout Rules for Papers", 16, "hebo")
    _centred_at(page, 306, 128, "By Ann Lee", 11)
    _centred_at(page, 306, 170, "Abstract", 11, "hebo")
    lines = [(190, "This is a test of the layout rules for abstracts that run over two"),
             (201, "short paragraphs in a draft."),
             (215, "It was changed to test the features of the class.")]
    for y, text in lines:
        page.insert_text((170, y), text, fontsize=9)
    for k, y in enumerate(range(176, 260, 14)):  # the margin's numbers, one every 14 pt
        page.insert_text((100, y), str(k + 10), fontsize=8)
    _centred_at(page, 306, 270, "Contents", 11, "hebo")
    page.insert_text((130, 290), "1. Introduction", fontsize=11)
    _prose(page, 130, 320, 25, width=80, size=11)
    header = extract_header(_analysed(doc))
    assert header.abstract == ("This is a test of the layout rules for abstracts that run over "
                               "two short paragraphs in a draft. It was changed to test the "
                               "features of the class.")


def test_a_title_in_letter_spaced_capitals_is_read_as_words() -> None:
    """"T H E  T I T L E": capitals set with tracking, the text layer's spaces between the
    letters of a word, a wider one between words."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    writer = pymupdf.TextWriter(page.rect)
    font = pymupdf.Font("tiro")
    x = 220.0
    for word in ("LAYOUT", "RULES"):
        for letter in word:
            writer.append((x, 100), letter, font=font, fontsize=16)
            x += font.text_length(letter, fontsize=16) + 3.0  # the tracking
        x += 9.0  # a word space, wider
    writer.write_text(page)
    _centred_at(page, 306, 130, "Ann Lee", 11)
    page.insert_text((72, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 188, 6)
    _prose(page, 72, 300, 20)
    header = extract_header(_analysed(doc))
    assert header.title == "LAYOUT RULES"


@pytest.mark.parametrize(("first_line", "expected"), [
    ("Department of Mechanical and Process Engineering, Technical",
     ["Department of Mechanical and Process Engineering, Technical University of Alder, 102 "
      "Alder, Norway"]),
    ("Department of Mechanical Engineering, Alder Research Institute",
     ["Department of Mechanical Engineering, Alder Research Institute",
      "University of Birch, 102 Birch, Sweden"])])
def test_an_address_line_broken_because_it_was_full_goes_on(
        first_line: str, expected: list[str]) -> None:
    """A centred address in a letters column: a first line that fills the column, whose next
    line's first word would not have fitted on it, was broken by TeX (one address); a line
    with room left for that word ended on purpose (two addresses)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred_at(page, 180, 80, "Layout Rules for Letters", 14, "hebo")
    _centred_at(page, 180, 104, "Ann Lee and Bo Chan", 10)
    second = "University of Alder, 102 Alder, Norway" if "Technical" in first_line \
        else "University of Birch, 102 Birch, Sweden"
    for k, text in enumerate([first_line, second]):
        _centred_at(page, 180, 122 + 11 * k, text, 9, "tiro")
    page.insert_text((50, 160), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 50, 174, 8, width=54)
    _prose(page, 50, 300, 30, width=54)
    _prose(page, 330, 80, 50, width=50)  # the other column, beside the front matter
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == expected


def test_line_numbers_beside_every_line_are_no_part_of_the_front_matter() -> None:
    """A review copy numbers every line down the left margin, beside the names, the
    addresses and an unlabelled abstract of one-line blocks: the numbers get a role of their
    own, the addresses keep no digits and the abstract's lines join again."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 100), "A Study of Layout Rules for Papers", fontsize=14,
                     fontname="hebo")
    rows = [(124, "ANN LEE, Alder University, Norway", 9),
            (140, "BEN CHAN, Birch Institute of Technology, Sweden", 9),
            (170, "We study how a page is set and read the parts a reader needs from how it", 8),
            (181, "is set rather than from a list of words that match one journal; the rules", 8),
            (192, "carry over to papers they were not written for.", 8)]
    for y, text, size in rows:
        page.insert_text((72, y), text, fontsize=size)
    for k, y in enumerate(range(100, 700, 11)):  # a number every 11 pt, the text or not
        page.insert_text((46, y), str(k + 1), fontsize=6)
    page.insert_text((72, 230), "1 INTRODUCTION", fontsize=9, fontname="hebo")
    _prose(page, 72, 250, 30, width=90, size=9)
    analysed = _analysed(doc)
    numbers = [block for block in analysed.pages[0].blocks if block.role == "line_number"]
    assert len(numbers) >= 40 and all(block.text.isdigit() for block in numbers)
    header = extract_header(analysed)
    assert [a.name for a in header.authors] == ["Ann Lee", "Ben Chan"]
    assert header.affiliations == ["Alder University, Norway",
                                   "Birch Institute of Technology, Sweden"]
    assert header.abstract == " ".join(text for _, text, size in rows if size == 8)


@pytest.mark.parametrize("between", [":", "–"])
def test_a_title_that_cannot_end_where_its_type_changes_goes_on(between: str) -> None:
    """"The lps class:" over "layout for ..." in smaller type, or two parts with a lone dash
    set between them: one title. (A second part in smaller type after a complete title is
    a subtitle the title leaves out.)"""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    if between == ":":
        _centred_at(page, 306, 100, "The Layout Rules:", 17, "tiro")
        _centred_at(page, 306, 120, "reading papers by how they are set", 14, "tiro")
    else:
        _centred_at(page, 306, 100, "The Layout Rules", 17, "tiro")
        writer = pymupdf.TextWriter(page.rect)  # (the base-14 fonts have no en dash)
        writer.append((302, 122), "–", font=pymupdf.Font("tiro"), fontsize=17)
        writer.write_text(page)
        _centred_at(page, 306, 144, "Reading Papers by How They Are Set", 17, "tiro")
    _centred_at(page, 306, 176, "Ann Lee", 12)
    _centred_at(page, 306, 210, "Abstract", 10, "hebo")
    _prose(page, 130, 226, 5, width=80)
    _prose(page, 100, 320, 25, width=90, size=11)
    header = extract_header(_analysed(doc))
    assert header.title == ("The Layout Rules: reading papers by how they are set" if between == ":"
                            else "The Layout Rules – Reading Papers by How They Are Set")
    assert [a.name for a in header.authors] == ["Ann Lee"]


def test_a_label_in_the_abstract_labels_type_ends_the_abstract() -> None:
    """The abstract again in another language under a label set like "Abstract" (bold, the
    same size): the English abstract ends there, whatever the other language's word is."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred_at(page, 306, 100, "A Study of Layout Rules for Papers", 17, "tiro")
    _centred_at(page, 306, 130, "Ann Lee", 12)
    _centred_at(page, 306, 170, "Abstract", 10, "hebo")
    page.insert_text((150, 186), "The method reads each page by how it is set.", fontsize=10)
    _centred_at(page, 306, 214, "Laburpena", 10, "hebo")
    page.insert_text((150, 230), "Metodoak orrialde bakoitza irakurtzen du.", fontsize=10)
    page.insert_text((100, 280), "1 Introduction", fontsize=12, fontname="hebo")
    _prose(page, 100, 300, 25, width=90, size=11)
    header = extract_header(_analysed(doc))
    assert header.abstract == "The method reads each page by how it is set."


def test_an_address_of_three_capitalised_parts_under_a_name_in_its_cell() -> None:
    """Author blocks side by side, each a name over "NASA, Hampton, Virginia": an address's
    form (a body, its town, its region), though no word of it says institution."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred_at(page, 306, 100, "A Study of Layout Rules for Papers", 17, "tiro")
    for centre, name, place in ((220, "Ann Lee", "NASA, Hampton, Virginia"),
                                (400, "Bo Chan", "AIAA, Reston, Virginia")):
        _centred_at(page, centre, 130, name, 12)
        _centred_at(page, centre, 146, place, 10)
    _centred_at(page, 306, 180, "Abstract", 10, "hebo")
    _prose(page, 150, 196, 4, width=70)
    _prose(page, 100, 280, 25, width=90, size=11)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["NASA, Hampton, Virginia", "AIAA, Reston, Virginia"]


def test_a_reference_lists_numbers_set_apart_are_no_line_numbers() -> None:
    """Plain numbers down the left of a reference list, set as large as its entries: labels
    of the entries, not a draft's line numbers."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 80), "References", fontsize=12, fontname="hebo")
    y = 100.0
    for k in range(12):
        page.insert_text((72, y), str(k + 1), fontsize=10)
        # (far enough right that the text layer makes the number a block of its own)
        page.insert_text((140, y), f"A. Author{k}, A study of layout rules, Journal of Layout "
                                   f"{k + 3} (2020) {k + 10}-{k + 20}.", fontsize=10)
        y += 26
    analysed = _analysed(doc)
    assert not any(block.role == "line_number" for block in analysed.pages[0].blocks)
    assert len(reference_entries(analysed)) == 12


def test_title_from_the_metadata_printed_under_a_larger_banner_heads_the_authors() -> None:
    """A journal's banner set larger than the title ("IJDC | General Article"), the title the
    PDF's metadata names printed under it: the authors are looked for under the title, so the
    title's last line ("Layout Rules", name-like) sets no author style of its own."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred_at(page, 297, 60, "LRJ | General Article", 20, "hebo")
    _centred_at(page, 297, 112, "A Study of Papers and their", 16, "hebo")
    _centred_at(page, 297, 134, "Layout Rules", 16, "hebo")
    _centred_at(page, 297, 176, "Ann Lee", 11.5)
    _centred_at(page, 297, 190, "Alder University", 10.5)
    _centred_at(page, 297, 236, "Abstract", 11.5, "hebo")
    _prose(page, 120, 256, 8, width=75, size=9.5)
    _prose(page, 72, 400, 25, size=10)
    doc.set_metadata({"title": "A Study of Papers and their Layout Rules"})
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Papers and their Layout Rules"
    assert [a.name for a in header.authors] == ["Ann Lee"]
    assert header.affiliations == ["Alder University"]


def test_entries_parted_by_a_conjunction_alone_on_its_row() -> None:
    """"BY" over the first entry and "AND" between the next, each entry a name (a society, a
    press: no person's name) over its address in smaller type; e-mail lines are no address."""
    doc = pymupdf.open()
    page = doc.new_page(width=432, height=648)
    _centred_at(page, 216, 110, "A STUDY OF LAYOUT RULES FOR PAPERS", 12)
    rows = [(150, "BY", 6), (166, "Alder Mathematical Society", 10), (181, "Technical Support", 9),
            (193, "P. O. Box 6248", 9), (205, "Providence, RI 02940", 9),
            (217, "e-mail: support@alder.example.org", 9), (240, "AND", 6),
            (256, "The Birch University Press", 10), (280, "AND", 6),
            (296, "Cedar Journal Editorial Board", 10), (311, "P.O. Box 39099", 9),
            (323, "Jerusalem 91390", 9), (335, "Israel", 9)]
    for y, text, size in rows:
        _centred_at(page, 216, y, text, size)
    page.insert_text((72, 370), "Abstract.", fontsize=9, fontname="hebo")
    _prose(page, 120, 370, 4, width=60, size=9)
    _prose(page, 72, 440, 12, width=70, size=10)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == [
        "Alder Mathematical Society", "The Birch University Press",
        "Cedar Journal Editorial Board"]
    assert header.affiliations == [
        "Technical Support, P. O. Box 6248, Providence, RI 02940",
        "P.O. Box 39099, Jerusalem 91390, Israel"]


def _cover_page_with_margin_notes() -> pymupdf.Document:
    """A one-page cover: the title, "NAME, Place" lines, a structured abstract, and a narrow
    margin column of notes in much smaller type holding more text than the page beside it."""
    doc = pymupdf.open()
    page = doc.new_page(width=504, height=720)
    page.insert_text((46, 200), "A Study of Layout Rules", fontsize=12, fontname="hebo")
    for k, (name, place) in enumerate([("ANN LEE", "Alder University, USA"),
                                       ("BEN CHANG", "Birch Institute, Iceland"),
                                       ("CARL DUVAL", "Cedar Laboratories, France")]):
        page.insert_text((46, 228 + 12 * k), f"{name}, {place}", fontsize=8)
    for k, (head, text) in enumerate([
            ("PROBLEM STATEMENT", "In this document we discuss how to write an article well."),
            ("METHODS", "This document provides templates for the article and its parts."),
            ("RESULTS", "We hope the templates help the reader to write papers of their own.")]):
        page.insert_text((46, 280 + 34 * k), head, fontsize=9, fontname="hebo")
        page.insert_text((46, 294 + 34 * k), text, fontsize=9)
    notes = ("Authors' addresses: Ann Lee, Alder University, 12 Alder Road, Alder, USA; Bo "
             "Chan, Birch Institute, 1 Birch Circle, Hekla, Iceland; Cy Duval, Cedar "
             "Laboratories, 8 Cedar Drive, Paris, France; permission to make copies of this "
             "work for personal or classroom use is granted without fee provided that copies "
             "are not made or distributed for profit and that they bear this notice and the "
             "full citation on the first page of the article")
    y = 236.0
    for start in range(0, len(notes), 22):
        page.insert_text((380, y), notes[start:start + 22], fontsize=6)
        y += 7
    return doc


def test_a_narrow_margin_column_in_much_smaller_type_is_a_sidebar_however_long() -> None:
    """The margin notes hold more text than the cover beside them: in type a fifth smaller
    than every long line beside, the column is still a sidebar, and no line of it joins the
    author lines it shares baselines with."""
    parsed = _analysed(_cover_page_with_margin_notes())
    assert {block.role for block in parsed.pages[0].blocks if block.bbox[0] > 370} \
        == {"sidebar"}
    header = extract_header(parsed)
    assert [a.name for a in header.authors] == ["Ann Lee", "Ben Chang", "Carl Duval"]
    assert header.affiliations == ["Alder University, USA", "Birch Institute, Iceland",
                                   "Cedar Laboratories, France"]


def test_keyword_lines_under_the_addresses_are_no_address() -> None:
    """JPSJ: no abstract; "KEYWORDS:" under the addresses with the keywords in a hanging block,
    whose last line opens with a capital ("Carlo methods"): a keyword, not an address."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _runs(page, 72, 140, [("1", 6, "helv", 3), ("University of Alder, Alder, Norway", 9,
                                                  "tiit", 0)])
    _runs(page, 72, 152, [("2", 6, "helv", 3), ("Birch Institute of Technology, Canada", 9,
                                                  "tiit", 0)])
    page.insert_text((72, 176), "KEYWORDS: program synthesis, information retrieval, topo-",
                     fontsize=9)
    hang = 72 + pymupdf.get_text_length("KEYWORDS: ", fontname="helv", fontsize=9)
    page.insert_text((hang, 187), "logical insulators, protein structure, Monte", fontsize=9)
    page.insert_text((hang, 198), "Carlo methods", fontsize=9)
    page.insert_text((72, 230), "1. Introduction", fontsize=10, fontname="hebo")
    _prose(page, 72, 246, 30)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == ["University of Alder, Alder, Norway",
                                   "Birch Institute of Technology, Canada"]
    assert header.keywords == ["program synthesis", "information retrieval",
                               "topological insulators", "protein structure",
                               "Monte Carlo methods"]


def test_masthead_journal_name_set_larger_than_the_title_is_no_title() -> None:
    """Elsevier: the journal's name in the masthead (14 pt) over a 13.5 pt title; the page's
    citation line ("Journal Name 137 (2015) 1-5") names the journal."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred(page, 40, "Layout Materials & Reading Cells 137 (2015) 1-5", size=6.5)
    _centred(page, 62, "Contents lists available at ScienceDirect", size=8)
    _centred(page, 90, "Layout Materials & Reading Cells", size=14.2)
    _centred(page, 118, "journal homepage: www.example.org/locate/jlro", size=8)
    page.insert_text((72, 170), "A Study of Layout Rules for Papers", fontsize=13.7)
    _marked_names(page, 200)
    _marked_affiliations(page, 218)
    page.insert_text((72, 270), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 72, 288, 8)
    _prose(page, 72, 420, 25)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]


def test_journal_e_mail_in_a_banner_over_the_title_does_not_cut_the_title_off() -> None:
    """A banner beside the title's top ("Turk J Med Sci / 2009; 39: 361-365 / E-mail: ...")
    holds the journal's address: the title under it is still read."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i, text in enumerate(("J Layout Stud", "2009; 39 (3): 361-365", "© Layout Society",
                              "E-mail: office@layout.example.org")):
        page.insert_text((400, 40 + 11 * i), text, fontsize=9)
    page.insert_text((72, 130), "A Study of Layout Rules for Papers", fontsize=16,
                     fontname="tibo")
    _marked_names(page, 160)
    _marked_affiliations(page, 178)
    page.insert_text((72, 230), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 72, 248, 8)
    _prose(page, 72, 380, 25)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers"


def test_author_in_the_margin_level_with_the_title_and_its_address_further_down() -> None:
    """A margin column: the author's name level with a centred title, its address (wrapped in
    the narrow column) further down; the abstract under the title opens a little left of the
    title's first line."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((180, 130), "A Study of Layout Rules for", fontsize=16, fontname="tibo")
    page.insert_text((220, 150), "Papers Set in Columns", fontsize=16, fontname="tibo")
    page.insert_text((45, 130), "Ann LEE", fontsize=9)
    for i, text in enumerate(("The School of Physical", "Education and Sports,",
                              "Alder University,", "Alder - NORWAY")):
        page.insert_text((45, 286 + 9 * i), text, fontsize=7.5)
    y = 182
    for _ in range(30):
        page.insert_text((172, y), PROSE[:80], fontsize=9)
        y += 11.5
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee"]
    assert header.affiliations == [
        "The School of Physical Education and Sports, Alder University, Alder - NORWAY"]


def test_number_sign_in_an_address_is_no_marker() -> None:
    """"Camino El Observatorio #1515": "#" before a digit is a number sign."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _runs(page, 72, 140, [("1", 6, "helv", 3), ("Universidad de Alder, Camino El Observatorio "
                                                  "#1515, Santiago, Chile", 9, "helv", 0)])
    _runs(page, 72, 152, [("2", 6, "helv", 3), ("Birch Institute of Technology, Canada", 9,
                                                  "helv", 0)])
    page.insert_text((72, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 208, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Universidad de Alder, Camino El Observatorio #1515, Santiago, Chile",
        "Birch Institute of Technology, Canada"]


@pytest.mark.parametrize(("line", "expected"), [
    ("Keywords: minor planets, asteroids: general — surveys",
     ["minor planets, asteroids: general", "surveys"]),
    ("Key words: galaxies: clusters, general – methods: numerical",
     ["galaxies: clusters, general", "methods: numerical"]),
])
def test_keywords_parted_by_dashes_keep_their_commas(line: str, expected: list[str]) -> None:
    """AAS and MNRAS keywords: parted by dashes, each may hold commas and colons."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    page.insert_font(fontname="cjk", fontbuffer=pymupdf.Font("cjk").buffer)  # has the dashes
    page.insert_text((72, 300), line, fontsize=9, fontname="cjk")
    assert extract_header(_analysed(doc)).keywords == expected


def test_keywords_parted_by_gaps_the_text_layer_has_no_separator_for() -> None:
    """"Key words: Protein Content · Silk Gland · Initial stage": the dots are drawn in a font
    with no character codes, so the text layer holds gaps only."""
    doc = pymupdf.open()
    _marked_names_over_text(doc)
    page = doc[0]
    _runs(page, 72, 300, [("Key words:", 9, "hebo", 0), (" Protein Content ", 9, "helv", 0)])
    x = 72 + pymupdf.get_text_length("Key words: Protein Content ", fontname="helv", fontsize=9)
    page.insert_text((x + 8, 300), " Silk Gland ", fontsize=9)
    x += 8 + pymupdf.get_text_length(" Silk Gland ", fontname="helv", fontsize=9)
    page.insert_text((x + 8, 300), " Initial stage of spinning", fontsize=9)
    assert extract_header(_analysed(doc)).keywords == [
        "Protein Content", "Silk Gland", "Initial stage of spinning"]


def test_title_line_with_a_tall_radical_stays_under_the_line_above() -> None:
    """"... in pp" / "Collisions at √s = 7 TeV ...": the radical's box reaches into the line
    above, which must not make the two lines one row read left to right."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((86, 250), "Combined Measurement of the Boson Mass in pp", fontsize=17)
    page.insert_text((80, 272), "Collisions at", fontsize=17)
    page.insert_text((80 + pymupdf.get_text_length("Collisions at ", fontsize=17), 266), "√",
                     fontsize=30)
    page.insert_text((200, 272), "s = 7 and 8 TeV with Two Experiments", fontsize=17)
    _centred(page, 330, "The ALDER and BIRCH Collaborations", size=14)
    page.insert_text((72, 400), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 420, 8)
    _prose(page, 72, 540, 20)
    header = extract_header(_analysed(doc))
    assert header.title is not None
    assert header.title.startswith("Combined Measurement of the Boson Mass in pp Collisions at")
    assert [a.name for a in header.authors] == ["The ALDER and BIRCH Collaborations"]


def test_abstract_ends_where_wider_text_starts_without_a_heading() -> None:
    """NeurIPS: the abstract is set indented on both sides; the introduction under it, set to
    the full measure, has no heading."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _title_and_names(page, [("Ann Lee", ""), ("Bo Chan", "")])
    page.insert_text((280, 170), "Abstract", fontsize=12, fontname="hebo")
    y = _prose(page, 144, 190, 5, width=70)
    page.insert_text((144, y), "and we show that the rules carry over to other papers.",
                     fontsize=10)
    _prose(page, 108, y + 30, 20, width=95)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.endswith("the rules carry over to other papers.")


def test_department_line_over_its_university_line_is_one_address() -> None:
    """Centred lines broken on purpose after the units: "Department of ..., School of ..."
    over "The Alder University in Cairo, New Cairo 11835, Egypt" is one address."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((122, 100), "A Study of Layout Rules for Papers", fontsize=17)
    _centred(page, 128, "Ann Lee, Bo Chan, and Cy Dee", size=10)
    _centred(page, 139, "Department of Computer Science and Engineering, School of Sciences "
             "and Engineering", size=10)
    _centred(page, 150, "The Alder University in Cairo, New Cairo 11835, Egypt", size=10)
    page.insert_text((144, 198), "Abstract: " + PROSE[:60], fontsize=10)
    _prose(page, 144, 210, 8, width=70)
    _prose(page, 108, 340, 20)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Computer Science and Engineering, School of Sciences and Engineering, "
        "The Alder University in Cairo, New Cairo 11835, Egypt"]


def test_preprint_label_under_the_title_is_no_author() -> None:
    """The arXiv template's "A PREPRINT" under the title, over the names."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 100, "A STUDY OF LAYOUT RULES FOR PAPERS", size=13.8)
    _centred(page, 160, "A PREPRINT", size=8)
    _centred(page, 190, "Ann Lee, Bo Chan, Cy Dee", size=10)
    _centred(page, 202, "DPIA, University of Alder, Via delle Scienze 206, 33100 Alder, Italy",
             size=10)
    _centred(page, 280, "ABSTRACT", size=9.6)
    _prose(page, 108, 304, 8, width=80)
    _prose(page, 72, 450, 20)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dee"]
    assert header.affiliations == [
        "DPIA, University of Alder, Via delle Scienze 206, 33100 Alder, Italy"]


def test_names_with_their_e_mail_in_parentheses() -> None:
    """"Jim Wyllie (wyllie@almaden.ibm.com)": the parenthesis holds the author's e-mail, no
    place; "To appear in ..." under the names is no address either."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 120, "A Study of Layout Rules for Papers", size=16)
    _centred(page, 150, "Ann Lee (lee@alder.ibm.example.com)", size=12)
    _centred(page, 175, "To appear in Journal of Layout", size=12)
    page.insert_text((90, 210), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 90, 236, 8)
    _prose(page, 90, 360, 25)
    header = extract_header(_analysed(doc))
    assert [(a.name, a.email) for a in header.authors] == [("Ann Lee",
                                                             "lee@alder.ibm.example.com")]
    assert header.affiliations == []


def test_jacow_byline_whose_laboratory_is_known_by_its_acronym() -> None:
    """JACoW: "Ann Lee, Bo Chan," / "FNAL, Batavia, IL 60510, USA" / "Cy Dee, Alder University,
    Lagado, Norway": a place ending on a country is a place, acronym or not."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred(page, 60, "TUNER TESTING OF A DRESSED CAVITY FOR LAYOUT", size=14)
    _centred(page, 90, "Ann Lee, Bo Chan, Eve Fox,", size=12)
    _centred(page, 104, "FNAL, Batavia, IL 60510, USA", size=12)
    _centred(page, 118, "Cy Dee, Alder University, 48823 Lagado, Norway", size=12)
    page.insert_text((72, 150), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 168, 8)
    _prose(page, 72, 290, 25)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Eve Fox", "Cy Dee"]
    assert header.affiliations == ["FNAL, Batavia, IL 60510, USA",
                                   "Alder University, 48823 Lagado, Norway"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [0], [1]]


def test_keyword_line_of_a_table_on_the_second_page_is_no_keywords() -> None:
    """The body starts on the first page ("1 Introduction"): a "Keywords: ..." line in a table
    on the second page is the text's, not the paper's keywords."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    page.insert_text((72, 300), "1 Introduction", fontsize=11, fontname="hebo")
    page = doc.new_page(width=595, height=842)
    _prose(page, 72, 72, 20)
    page.insert_text((72, 400), "Keywords: storm, evacuate, coast, rain, hurricane", fontsize=9)
    page.insert_text((72, 414), "Table 1: Sample discovered relation.", fontsize=9)
    header = extract_header(_analysed(doc))
    assert not header.keywords_printed


def test_year_from_a_volume_year_pages_citation_line() -> None:
    """Elsevier: "Journal Name 137 (2015) 1–5" over the title; received the year before."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred(page, 40, "Layout Materials & Reading Cells 137 (2015) 1-5", size=6.5)
    page.insert_text((72, 130), "A Study of Layout Rules for Papers", fontsize=14)
    _marked_names(page, 160)
    _marked_affiliations(page, 178)
    page.insert_text((72, 220), "Received 12 December 2014", fontsize=7)
    page.insert_text((72, 250), "Abstract", fontsize=10, fontname="hebo")
    _prose(page, 72, 268, 8)
    _prose(page, 72, 400, 25)
    assert extract_header(_analysed(doc)).year == 2015


def test_numbered_list_with_names_in_small_capitals() -> None:
    """USENIX: "[28] I" + "SARD" set a size smaller (small capitals): the entry's line is of
    the list's size, and the list goes on past it."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    y = 270.0
    for number in range(1, 9):
        runs: list[tuple[str, float, str, float]] = [(f"[{number}] ", 8, "tiro", 0)]
        names = ("ISARD", "BUDIU", "YUAN", "BIRRELL", "FETTERLY") if number == 4 else ("LEE",)
        for name in names:
            runs += [(name[0], 8, "tiro", 0), (name[1:], 6.4, "tiro", 0), (", ", 8, "tiro", 0)]
        if number != 4:
            runs.append(("A. Layout of papers, their parts and their rules.", 8, "tiro", 0))
        _runs(page, 72, y, runs)
        page.insert_text((90, y + 10), "Dryad: distributed data-parallel programs, 2007.",
                         fontsize=8, fontname="tiro")
        y += 24
    assert len(reference_entries(_analysed(doc))) == 8


def test_author_year_list_ends_at_the_figure_captions_after_it() -> None:
    """AASTeX: the figures (their captions) printed after the reference list."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    y = 270.0
    for i, name in enumerate(("Alder", "Birch", "Cedar", "Dove")):
        page.insert_text((72, y), f"{name}, A., Lee, B., & Chan, C. 201{i}, in Proceedings of "
                         "the Layout Society", fontsize=9)
        page.insert_text((82, y + 11), f"Conference on Papers, 21{i}, 355", fontsize=9)
        y += 22
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 400), "Figure 1. Postage stamps showing, from top to bottom, "
                     "detections of real", fontsize=9)
    page.insert_text((72, 411), "objects and synthetic objects.", fontsize=9)
    page.insert_text((72, 500), "Figure 2. Histogram of transformed magnitudes.", fontsize=9)
    assert len(reference_entries(_analysed(doc))) == 4


def test_reference_numbering_is_the_one_its_first_entry_opens_with() -> None:
    """CERN: "[1]" ... "[5]" under "References", then a collaboration's institutes numbered
    "1 Department of ..." ... "9 ...": a longer list, but not the references."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    y = 270.0
    for number in range(1, 6):
        page.insert_text((72, y), f"[{number}] A. Lee, Layout of papers, Phys. Lett. 1{number} "
                         "(1964) 321", fontsize=9)
        y += 12
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 80), "The Alder Collaboration", fontsize=11, fontname="hebo")
    for number in range(1, 10):
        page.insert_text((72, 100 + 12 * number), f"{number} Department of Physics, University "
                         f"of Town{number}, Norway", fontsize=9)
    assert len(reference_entries(_analysed(doc))) == 5


def test_names_with_e_mail_in_parentheses_each_over_its_address() -> None:
    """Kluwer: "Ann Lee (lee@alder.example.org)" over its address, name by name: the e-mail
    parentheses do not make a list of names with bracketed places."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((130, 100), "A Study of Layout Rules for Papers", fontsize=14.3)
    for i, (name, place) in enumerate((
            ("Ann Lee (lee@alder.example.org)", "Institute of Computer Science, Alder, Canada"),
            ("Bo Chan (chan@birch.example.org)", "School of Biology, Birch University, Norway"),
            ("Cy Dee", "Cedar Institute of Technology, 412 96 Cedar, Sweden"))):
        page.insert_text((130, 155 + 29 * i), name, fontsize=10.9)
        page.insert_text((130, 167 + 29 * i), place, fontsize=9, fontname="tiit")
    page.insert_text((130, 260), "Abstract. " + PROSE[:60], fontsize=9)
    _prose(page, 130, 272, 6, width=80, size=9)
    _prose(page, 130, 380, 25, width=80)
    header = extract_header(_analysed(doc))
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan", "Cy Dee"]
    assert len(header.affiliations) == 3


def test_year_from_a_conference_acronym_in_the_running_head() -> None:
    """JACoW: "IPAC2018, Vancouver, BC, Canada" in the running head, no other date printed."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((56, 28), "9th International Particle Accelerator Conference", fontsize=9)
    page.insert_text((287, 28), "IPAC2018, Vancouver, BC, Canada", fontsize=9)
    _centred(page, 70, "TUNER TESTING OF A CAVITY FOR LAYOUT", size=14)
    _centred(page, 95, "Ann Lee, Bo Chan, Alder University, Lagado, Norway", size=12)
    page.insert_text((72, 130), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 72, 148, 8)
    _prose(page, 72, 270, 25)
    assert extract_header(_analysed(doc)).year == 2018


def _fit(text: str, left: float, right: float, size: float = 9.7) -> str:
    """The words of `text` that fit between `left` and `right` in Times at `size`."""
    words = text.split()
    while pymupdf.get_text_length(" ".join(words), fontname="tiro", fontsize=size) > right - left:
        words.pop()
    return " ".join(words)


def test_lines_run_across_a_narrow_gutter_are_cut_at_it() -> None:
    """Two columns 18 pt apart (under two ems) written line by line across both: MuPDF reads
    each baseline as one line; cut where the gap lines up with the gutter the other lines
    leave free, each column's entries are read in order."""
    doc = pymupdf.open()
    page = _conclusion_then_references(doc)
    words = (PROSE + " ") * 10
    for row in range(16):
        entry, k = divmod(row, 4)
        for left, right, number in ((72, 297, entry + 1), (315, 540, entry + 5)):
            text = f"{number}. Alder, A.B. and K. Birch, 1977. {words[:200]}" if k == 0 \
                else words[k * 40:k * 40 + 200]
            x = left if k == 0 else left + 18
            page.insert_text((x, 270 + 11.5 * row), _fit(text, x, right), fontsize=9.7,
                             fontname="tiro")
    entries = reference_entries(_analysed(doc))
    assert [entry.split(".")[0] for entry in entries] == [str(n) for n in range(1, 9)]
    assert not any(f" {n}. Alder" in entry for entry in entries for n in range(1, 9))


def test_mdpi_first_page() -> None:
    """MDPI: the journal's one-word name set large over "Article" and the title, named by the
    footer's "Materials 2020, 13, 560; doi:10.3390/..."; a marked address wrapped onto a line of
    e-mail addresses each followed by its owner's initials."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((115, 70), "materials", fontsize=24.6, fontname="tibi")
    page.insert_text((76, 110), "Article", fontsize=10, fontname="tiit")
    page.insert_text((76, 130), "A Study of Layout Rules for Papers", fontsize=17.9,
                     fontname="tibo")
    _runs(page, 76, 170, [("Ann Lee", 10, "tibo", 0), ("1", 7, "tibo", 4),
                          (", Bo Chan", 10, "tibo", 0), ("2,*", 7, "tibo", 4)])
    _runs(page, 81, 192, [("1", 6, "tiro", 3), ("College of Materials Science, Alder University "
                                                 "of Science and Technology,", 9, "tiro", 0)])
    page.insert_text((97, 203), "Alder 410114, China; lee@alder.example.edu (A.L.); "
                     "dee@alder.example.edu (C.D.);", fontsize=9)
    page.insert_text((97, 214), "fox@alder.example.edu (E.F.)", fontsize=9)
    _runs(page, 81, 228, [("2", 6, "tiro", 3), ("School of Physics, Birch University, Birch "
                                                 "410114, China; chan@birch.example.edu", 9,
                                                 "tiro", 0)])
    page.insert_text((82, 270), "Abstract: " + PROSE[:70], fontsize=10)
    _prose(page, 82, 282, 8)
    page.insert_text((77, 800), "Materials 2020, 13, 560; doi:10.3390/ma13030560", fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Layout Rules for Papers"
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.affiliations == [
        "College of Materials Science, Alder University of Science and Technology, Alder "
        "410114, China", "School of Physics, Birch University, Birch 410114, China"]


def test_unlabelled_abstract_alone_on_the_page_after_the_title_page() -> None:
    """A preprint's title page (title, names, addresses, notes), then one paragraph alone on
    the next page, no label: the abstract. The introduction starts on the page after."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _centred(page, 130, "A Study of Layout Rules for Papers", size=17)
    _marked_names(page, 200)
    _marked_affiliations(page, 220)
    page.insert_text((150, 280), "*Corresponding author: lee@alder.example.org", fontsize=9)
    page = doc.new_page(width=612, height=792)
    y = _prose(page, 97, 110, 8, width=90)
    page.insert_text((97, y), "and the rules carry over to other papers.", fontsize=10)
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 90), "1 Introduction", fontsize=12, fontname="hebo")
    _prose(page, 72, 110, 30)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.startswith("the method reads each page")
    assert header.abstract.endswith("the rules carry over to other papers.")


def test_editorial_notes_run_on_after_an_address_are_no_part_of_it() -> None:
    """Notes printed after the addresses or run on into them: "Full list of author information
    is available at the end of the article" (BMC), "4These authors contributed equally: ..."
    (Nature), "; E-Mail:" and "Tel.: ..." (MDPI 2013), an address repeated in a note."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _title_and_names(page, [("Ann Lee", "1"), ("Bo Chan", "2")])
    _runs(page, 72, 140, [("1", 6, "helv", 3), ("Department of Physics, University of Alder, "
                                                  "Norway; E-Mail:", 9, "helv", 0)])
    _runs(page, 72, 152, [("2", 6, "helv", 3), ("School of Chemistry, Birch Institute, Canada "
                                                  "Full list of author information is "
                                                  "available at the end", 9, "helv", 0)])
    _runs(page, 72, 164, [("*", 6, "helv", 3), ("Authors to whom correspondence should be "
                                                  "addressed; Tel.: +47-451-8253-3026", 9,
                                                  "helv", 0)])
    page.insert_text((72, 200), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 218, 30)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Department of Physics, University of Alder, Norway",
                                   "School of Chemistry, Birch Institute, Canada"]


def test_scientific_reports_first_page() -> None:
    """A margin column of subject areas and dates beside the title, names and small-type
    addresses (a margin column, though the addresses beside it are smaller than it); the
    abstract is the first paragraph, no label, and the text after it opens with a drop cap."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for y, text, size in ((160, "OPEN", 13.9), (195, "SUBJECT AREAS:", 9), (205, "QUANTUM", 7.5),
                          (214, "INFORMATION", 7.5),
                          (234, "QUBITS", 7.5), (249, "ATOMIC AND MOLECULAR", 7.5),
                          (258, "INTERACTIONS WITH", 7.5), (268, "PHOTONS", 7.5),
                          (300, "Received", 9), (311, "3 November 2014", 9),
                          (405, "Correspondence and", 8), (417, "requests for materials", 8)):
        page.insert_text((120 - pymupdf.get_text_length(text, fontsize=size), y), text,
                         fontsize=size)
    page.insert_text((144, 160), "A Study of Layout Rules", fontsize=23.9)
    page.insert_text((144, 186), "for Papers Set in Columns", fontsize=23.9)
    _runs(page, 144, 222, [("Ann Lee", 9.5, "helv", 0), ("1,2", 5.6, "helv", 4),
                           (", Bo Chan", 9.5, "helv", 0), ("1", 5.6, "helv", 4)])
    _runs(page, 144, 245, [("1", 5, "helv", 3), ("Department of Physics, University of Alder, "
                                                  "Lagado 48109, Norway, ", 7.5, "helv", 0),
                           ("2", 5, "helv", 3), ("Birch Institute, Canada", 7.5, "helv", 0)])
    words = (PROSE + " ") * 20
    y = 290.0
    for row in range(5):
        page.insert_text((144, y), words[row * 7: row * 7 + 80].strip(), fontsize=9.5,
                         fontname="hebo")
        y += 12
    page.insert_text((144, y), "and the rules carry over to other papers.", fontsize=9.5,
                     fontname="hebo")
    page.insert_text((144, y + 44), "S", fontsize=30)  # the text opens with a drop cap
    _prose(page, 168, y + 24, 3, width=80, size=9.3)
    _prose(page, 144, y + 60, 30, width=88, size=9.3)
    analysed = _analysed(doc)
    roles = {block.text: block.role for block in analysed.pages[0].blocks}
    assert roles["SUBJECT AREAS:"] == "sidebar"
    header = extract_header(analysed)
    assert [a.name for a in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.abstract is not None
    assert header.abstract.endswith("the rules carry over to other papers.")


def test_english_keywords_over_those_of_the_papers_own_language() -> None:
    """A French article: "Résumé" and "Mots clés :" first, then "Abstract" and "Keywords:"; the
    paper is indexed by its English keywords, as by its English abstract."""
    doc = pymupdf.open()
    page = _marked_names_over_text(doc)
    page.insert_text((72, 300), "Mots clés : dessin, évaluation psychologique, enfant",
                     fontsize=9)
    page.insert_text((72, 330), "Keywords: drawing, psychological assessment, child",
                     fontsize=9)
    assert extract_header(_analysed(doc)).keywords == ["drawing", "psychological assessment",
                                                       "child"]


def test_byline_in_french_parted_by_et() -> None:
    """"Miguel Terradas, Antoine Asselin" / "et David Poulin-Latulippe": "et" parts names."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    _centred(page, 100, "Le dessin et la psychothérapie", size=18)
    _centred(page, 140, "Ann Lee, Bo Chan", size=14)
    _centred(page, 156, "et Cy Dee-Fox", size=14)
    page.insert_text((72, 200), "Résumé : " + PROSE[:60], fontsize=9)
    _prose(page, 72, 212, 30, size=9)
    assert [a.name for a in extract_header(_analysed(doc)).authors] == ["Ann Lee", "Bo Chan",
                                                                        "Cy Dee-Fox"]


def test_small_section_heading_over_the_text_ends_an_unstructured_abstract() -> None:
    """Science Advances: "INTRODUCTION" set smaller than the text under it, right after the
    abstract: a heading, not a structured abstract's label, for the abstract had none."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((36, 80), "A Study of Layout Rules for Papers", fontsize=18)
    page.insert_text((36, 130), "Ann Lee, Bo Chan, Cy Dee*", fontsize=10, fontname="hebo")
    y = _prose(page, 36, 160, 6, width=100, size=9)
    page.insert_text((36, y), "and the rules carry over to other papers.", fontsize=9)
    page.insert_text((36, y + 20), "INTRODUCTION", fontsize=9, fontname="hebo")
    _prose(page, 36, y + 32, 25, width=100, size=9.5)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.endswith("the rules carry over to other papers.")


def test_structured_abstract_whose_labels_stand_on_lines_of_their_own() -> None:
    """"Abstract", then "BACKGROUND" / "METHODS" set smaller on lines of their own over their
    text: labels of one abstract, not section headings, from the first one on."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((48, 80), "A Study of Layout Rules for Papers", fontsize=19)
    page.insert_text((48, 130), "Ann Lee, DPhil", fontsize=11)
    page.insert_text((48, 170), "Abstract", fontsize=12, fontname="hebo")
    y = 190.0
    for label in ("BACKGROUND", "METHODS", "CONCLUSIONS"):
        page.insert_text((48, y), label, fontsize=8.8, fontname="hebo")
        y = _prose(page, 48, y + 13, 2, width=80, size=11) + 4
    page.insert_text((48, y + 30), "1. Introduction", fontsize=12, fontname="hebo")
    _prose(page, 48, y + 50, 25, size=11)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.startswith("BACKGROUND")
    assert "METHODS" in header.abstract and "CONCLUSIONS" in header.abstract
