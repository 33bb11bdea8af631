"""Front matter of papers set with LaTeX's plain classes and the JSS class (R package vignettes,
reports, technical notes): no abstract, a table of contents, addresses at the end or in a
footnote.

Each convention was met on such papers, which no earlier rule read right; each test builds it
with PyMuPDF, with other words, so it checks the rule, not the paper.
"""

from __future__ import annotations

import pymupdf

from paperflow.extract.header import extract_header
from tests.paperflow.extract.test_typesetting import _analysed, _runs

PARAGRAPH = [
    "The method reads each page of the paper and finds the parts a reader needs, and it does",
    "so from how the page is set rather than from a list of words that match one journal; we",
    "show that the rules carry over to papers they were not written for, and we say where not.",
    "Each rule is a fact of typesetting, so it holds on any paper set the same way as this one.",
]


def _page(doc: pymupdf.Document) -> pymupdf.Page:
    return doc.new_page(width=612, height=792)


def _lines(page: pymupdf.Page, x: float, y: float, lines: list[str], size: float = 10,
           font: str = "helv") -> float:
    for line in lines:
        page.insert_text((x, y), line, fontsize=size, fontname=font)
        y += size * 1.2
    return y


def _byline(page: pymupdf.Page, lines: list[str]) -> float:
    """A centred title and the \\author/\\date lines under it; the y under them."""
    page.insert_text((180, 120), "Sample Package Notes on Layout", fontsize=17)
    y = 150.0
    for line in lines:
        page.insert_text((230, y), line, fontsize=12)
        y += 16
    return y


def _jss_paper(doc: pymupdf.Document, cells: list[tuple[float, str, str]]) -> pymupdf.Page:
    """A JSS paper: a title page with (x, name, short affiliation) cells, names in bold over
    their places, an abstract and keywords; and a last page that opens the "Affiliation:"
    list (the page is returned for the addresses to be written at y = 176 and under)."""
    page = _page(doc)
    page.insert_text((150, 120), "Finite Models of Layout with Alder", fontsize=17)
    for x, name, place in cells:
        page.insert_text((x, 160), name, fontsize=12, fontname="hebo")
        page.insert_text((x, 174), place, fontsize=10.9)
    page.insert_text((280, 210), "Abstract", fontsize=10, fontname="hebo")
    _lines(page, 110, 228, PARAGRAPH, size=9)
    page.insert_text((90, 290), "Keywords: layout, models, R.", fontsize=10)
    page.insert_text((72, 330), "1. Introduction", fontsize=14, fontname="hebo")
    _lines(page, 72, 354, PARAGRAPH)
    last = _page(doc)
    _lines(last, 72, 80, PARAGRAPH)
    last.insert_text((72, 160), "Affiliation:", fontsize=10, fontname="hebo")
    return last


def test_a_table_of_contents_is_neither_abstract_nor_address() -> None:
    """A report with no abstract: title, names, date, then "Contents" with dot leaders out to
    page numbers, then the first section. The contents (30 "words" of dots and more) are no
    abstract, and neither they nor the section's text are addresses."""
    doc = pymupdf.open()
    page = _page(doc)
    y = _byline(page, ["Ann Lee", "Bo Chan", "November 25, 2022"])
    page.insert_text((72, y + 20), "Contents", fontsize=14, fontname="hebo")
    leaders = " ." * 40
    y = _lines(page, 86, y + 44, [f"Getting started{leaders} 1", f"Reading the output{leaders} 2",
                                  f"Fitting many models at once{leaders} 4",
                                  f"Plotting and checking{leaders} 7"])
    page.insert_text((72, y + 24), "Introduction", fontsize=12, fontname="hebo")
    _lines(page, 72, y + 48, PARAGRAPH * 2)
    header = extract_header(_analysed(doc))
    assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan"]
    assert header.abstract is None
    assert header.affiliations == []


def test_text_under_the_first_numbered_section_is_no_abstract() -> None:
    """Section 1, whatever its name ("1 Rounding of dates"), set in larger bold type right under
    the byline: the paper has no abstract, and its first paragraph is body text."""
    doc = pymupdf.open()
    page = _page(doc)
    y = _byline(page, ["Ann Lee", "Birch Clinic", "Oct 2016"])
    page.insert_text((72, y + 24), "1   Rounding of dates", fontsize=14, fontname="hebo")
    _lines(page, 72, y + 48, PARAGRAPH * 2)
    header = extract_header(_analysed(doc))
    assert header.abstract is None
    assert header.affiliations == ["Birch Clinic"]


def test_a_sentence_running_onto_a_line_that_opens_with_a_heading_word() -> None:
    """In an abstract, a line opening in lower case with "significance." (a heading word of
    some journals) under a line that ends no sentence goes on with the abstract."""
    doc = pymupdf.open()
    page = _page(doc)
    y = _byline(page, ["Ann Lee", "Alder University"])
    page.insert_text((280, y + 20), "Abstract", fontsize=9, fontname="hebo")
    _lines(page, 110, y + 40, [
        "This note shows a package that fits models and tests them, and it makes tools available",
        "to show where the structure of a series changes and to assess their",
        "significance. Furthermore, it is shown how new data can be monitored.",
    ], size=9)
    page.insert_text((90, y + 90), "Keywords: structure, monitoring, R.", fontsize=10)
    page.insert_text((72, y + 130), "1. Introduction", fontsize=14, fontname="hebo")
    _lines(page, 72, y + 154, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.endswith("Furthermore, it is shown how new data can be monitored.")


def test_a_circled_digit_opening_an_address_is_its_marker() -> None:
    """A symbol font whose encoding is lost turns the † and ‡ before the addresses into circled
    digits (❸, ❹) set at full size: they are markers, not part of the address."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((150, 120), "Checking Diagnostics in Linear Relationships", fontsize=17)
    page.insert_text((180, 160), "Ann Lee*", fontsize=12)
    page.insert_text((340, 160), "Bo Chan**", fontsize=12)
    writer = pymupdf.TextWriter(page.rect)  # one text object, as TeX sets a line
    dingbats, helvetica = pymupdf.Font("zadb"), pymupdf.Font("helv")
    for y, digit, address in [
            (178, "\u2778", "Institut für Statistik, Alder Universität, Austria"),
            (192, "\u2779", "Institut für Biometrie, Birch Universität, Germany")]:
        writer.append((100, y), digit, font=dingbats, fontsize=12)
        writer.append(writer.last_point, address, font=helvetica, fontsize=9)
    writer.write_text(page)
    page.insert_text((72, 230), "1   Introduction", fontsize=14, fontname="hebo")
    _lines(page, 72, 254, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Institut für Statistik, Alder Universität, Austria",
                                   "Institut für Biometrie, Birch Universität, Germany"]


def test_a_footnote_address_runs_on_to_its_email_line() -> None:
    """A \\thanks footnote: the address wraps, and its last part shares a line with the
    e-mail address ("Germany. ann@alder.de"); the country is the address's."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((180, 120), "Map overlay and aggregation in alder", fontsize=17)
    _runs(page, 250, 160, [("Ann Lee", 12, "helv", 0), ("*", 8, "helv", 4)])
    page.insert_text((250, 184), "January 19, 2023", fontsize=12)
    page.insert_text((280, 214), "Abstract", fontsize=10, fontname="hebo")
    _lines(page, 100, 232, PARAGRAPH)
    _runs(page, 72, 700, [("*", 6, "helv", 3), ("Institute for Geoinformatics, University of "
                                                "Alder, Main Strasse 253, 48151 Alder,", 8,
                                                "helv", 0)])
    page.insert_text((72, 710), "Germany. ann.lee@uni-alder.de", fontsize=8)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["Institute for Geoinformatics, University of Alder, "
                                   "Main Strasse 253, 48151 Alder, Germany"]


def test_an_annotated_date_under_the_address_is_no_part_of_it() -> None:
    """\\date{Jan. 2008 (added note in June 2010)} under the last address."""
    doc = pymupdf.open()
    page = _page(doc)
    y = _byline(page, ["Ann Lee", "École de statistique, Université Alder"])
    page.insert_text((230, y), "Jan. 2008 (added note in June 2010)", fontsize=8)
    page.insert_text((72, y + 40), "1   Introduction", fontsize=14, fontname="hebo")
    _lines(page, 72, y + 64, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert header.affiliations == ["École de statistique, Université Alder"]


def test_full_addresses_after_the_text_replace_the_short_ones() -> None:
    """JSS: the title page prints a short affiliation under each name; after the references an
    "Affiliation:" list gives each address in full under the names it belongs to, two authors
    of one address on one line ("Bo Chan, Cy Dunn"), a name there perhaps with its middle name
    in full ("Ann Beth Lee" for the title page's "Ann Lee")."""
    doc = pymupdf.open()
    last = _jss_paper(doc, [(90, "Ann Lee", "Alder University"),
                            (250, "Bo Chan", "Birch Institute of Technology"),
                            (420, "Cy Dunn", "Birch Institute of Technology")])
    _lines(last, 72, 176, ["Ann Beth Lee", "Department of Statistics", "Alder University",
                           "Main Street 15", "6020 Alder, Austria", "E-mail: ann@alder.at"])
    _lines(last, 72, 260, ["Bo Chan, Cy Dunn", "Group of Layout Studies",
                           "Birch Institute of Technology", "Side Road 2", "1090 Birch, Austria",
                           "E-mail: bo@birch.at, cy@birch.at"])
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Department of Statistics, Alder University, Main Street 15, 6020 Alder, Austria",
        "Group of Layout Studies, Birch Institute of Technology, Side Road 2, 1090 Birch, Austria",
    ]


def test_a_date_or_a_sentence_under_the_names_is_no_address() -> None:
    """Templates print "This version was compiled on <date>" or a sentence about the document
    under the byline, in the addresses' type: neither a date nor a sentence that names no
    institution is a place."""
    for note in ["This version was compiled on January 11, 2022",
                 "The examples developed in this note are meant to supplement our earlier book"]:
        doc = pymupdf.open()
        page = _page(doc)
        y = _byline(page, ["Ann Lee and Bo Chan", note])
        page.insert_text((280, y + 20), "Abstract", fontsize=10, fontname="hebo")
        _lines(page, 100, y + 40, PARAGRAPH)
        header = extract_header(_analysed(doc))
        assert header.affiliations == [], note
        assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan"]


def test_keywords_parted_by_bars_close_a_short_unlabelled_abstract() -> None:
    """PNAS-style: no "Abstract" heading, a short paragraph in small type, then keywords with no
    label parted by vertical bars ("layout | rules | R"): the paragraph is the abstract however
    short, and the keyword line is no part of it; nor is the editorial line set in smaller type
    right on top of it ("Edited by ...; received ...")."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((50, 70), "Writing a package that reads pages", fontsize=20)
    page.insert_text((52, 96), "Ann Lee and Bo Chan", fontsize=8)
    page.insert_text((52, 122), "Edited by Cy Dunn, Alder University; received 24 January 2018; "
                     "accepted 13 September 2018", fontsize=5.5)
    short = PARAGRAPH[0].split()[:14], PARAGRAPH[1].split()[:14]
    y = _lines(page, 52, 130, [" ".join(words) for words in short] + ["is the source on it."],
               size=7)
    page.insert_text((52, y + 6), "layout | rules | R | C++", fontsize=6.7)
    page.insert_text((52, y + 30), "1. Introduction", fontsize=9, fontname="hebo")
    _lines(page, 52, y + 46, PARAGRAPH * 2, size=8.6)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.startswith("The method reads each page")
    assert header.abstract.endswith("is the source on it.")
    assert header.keywords == ["layout", "rules", "R", "C++"]


def test_a_company_with_its_legal_form_is_no_author() -> None:
    """A name over its employer, a company named with its legal form ("Birch Pharma AG"): the
    company is an affiliation, not a second author of the block."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((150, 120), "Simultaneous Checks in General Layouts", fontsize=17)
    for y, line in [(160, "Ann Lee"), (178, "Alder University"), (210, "Bo Chan"),
                    (228, "Statistical Methods, Clinical Sciences"), (246, "Birch Pharma AG"),
                    (264, "CH-4002 Basel, Switzerland")]:
        page.insert_text((220, y), line, fontsize=14)
    page.insert_text((280, 310), "Abstract", fontsize=10, fontname="hebo")
    _lines(page, 100, 330, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert [author.name for author in header.authors] == ["Ann Lee", "Bo Chan"]


def test_addresses_after_the_text_when_the_header_named_no_institution() -> None:
    """JSS again, the names over words no rule takes for an institution ("Debian Project"):
    the "Affiliation:" list gives the addresses; "and" alone opens an author's second one; the
    journal's colophon at the foot of the page, two lines and more below, is none."""
    doc = pymupdf.open()
    last = _jss_paper(doc, [(150, "Ann Lee", "Birch Project"), (350, "Bo Chan", "Alder Fans")])
    _lines(last, 72, 176, ["Ann Lee", "Birch Project", "River Forest, IL, United States of America",
                           "E-mail: ann@birch.org", "Bo Chan", "Section for Statistics",
                           "Alder University", "DK-2800 Lyngby, Denmark", "and", "Alder Fans",
                           "Bringetoften 7", "DK-3500 Værløse, Denmark"])
    _lines(last, 72, 700, ["Journal of Layout Software", "published by the Foundation for Alder",
                           "July 2008, Volume 27, Issue 3"])
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Birch Project, River Forest, IL, United States of America",
        "Section for Statistics, Alder University, DK-2800 Lyngby, Denmark",
        "Alder Fans, Bringetoften 7, DK-3500 Værløse, Denmark",
    ]


def test_an_address_stacked_a_part_a_line_keeps_a_phrase_broken_across_lines() -> None:
    """\\author{Ann Lee \\\\ Royal Alder Institute \\\\ of Sea Research \\\\ ...}: a part that opens
    with "of" goes on with the phrase above it, with no comma between."""
    doc = pymupdf.open()
    page = _page(doc)
    y = _byline(page, ["Ann Lee", "Royal Alder Institute", "of Sea Research (RAISR)",
                       "Yerseke, The Netherlands"])
    page.insert_text((280, y + 20), "Abstract", fontsize=10, fontname="hebo")
    _lines(page, 100, y + 40, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Royal Alder Institute of Sea Research (RAISR), Yerseke, The Netherlands"]


def test_the_printed_title_stands_when_the_metadata_left_a_word_out() -> None:
    """The PDF's metadata title (hyperref's pdftitle) may leave out the printed title's first
    article ("Object Oriented ..." for "An Object Oriented ..."): the title lines hold it with
    more words, so they are the title."""
    doc = pymupdf.open()
    doc.set_metadata({"title": "Object Oriented Framework for Layout Analysis"})
    page = _page(doc)
    page.insert_text((118, 120), "An Object Oriented Framework for Layout", fontsize=17)
    page.insert_text((210, 142), "Analysis", fontsize=17)
    page.insert_text((240, 180), "Ann Lee", fontsize=12)
    page.insert_text((280, 210), "Abstract", fontsize=10, fontname="hebo")
    _lines(page, 100, 230, PARAGRAPH)
    header = extract_header(_analysed(doc))
    assert header.title == "An Object Oriented Framework for Layout Analysis"


def test_a_second_address_under_the_first_ones_email_and_url_lines() -> None:
    """JSS: one author with two addresses, the second set apart by a blank under the first
    one's e-mail and URL lines, with no name over it: it is the same author's second address;
    the journal's colophon further down is none."""
    doc = pymupdf.open()
    last = _jss_paper(doc, [(250, "Ann Lee", "Alder University")])
    y = _lines(last, 72, 176, ["Ann Lee", "Institute for Layout", "Alder University",
                               "Main Street 15", "6020 Alder, Austria",
                               "E-mail: ann@alder.at", "URL: http://layout.alder.at/"])
    _lines(last, 72, y + 8, ["Birch Open Source Software GmbH", "Side Road 2",
                             "1090 Birch, Austria", "URL: http://www.birch.at/"])
    _lines(last, 72, 700, ["Journal of Layout Software", "published by the Alder Foundation"])
    header = extract_header(_analysed(doc))
    assert header.affiliations == [
        "Institute for Layout, Alder University, Main Street 15, 6020 Alder, Austria",
        "Birch Open Source Software GmbH, Side Road 2, 1090 Birch, Austria",
    ]
