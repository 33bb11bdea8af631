"""Front-matter conventions of publisher LaTeX classes (revtex, acmart, jmlr, spie, asme, ...).

Each convention was met on a class's own sample paper, which no earlier rule read right; each
test builds the convention with PyMuPDF, with other words, so it checks the rule, not the paper.
"""

from __future__ import annotations

import pymupdf

from paperflow.extract.header import _block_below, extract_header
from paperflow.pdf import Block, Line, Page, Span
from tests.paperflow.extract.test_typesetting import PROSE, _analysed, _prose, _runs

SENTENCE = "We measure how often the rule holds on pages it was not written for."


def _page(doc: pymupdf.Document) -> pymupdf.Page:
    return doc.new_page(width=612, height=792)


def _names(header: object) -> list[str]:
    return [author.name for author in header.authors]  # type: ignore[attr-defined]


def _two_columns(page: pymupdf.Page, top: float) -> None:
    """Running text in two columns from `top` down, with a numbered first heading."""
    page.insert_text((60, top), "I. INTRODUCTION", fontsize=9, fontname="hebo")
    _prose(page, 60, top + 20, 30, width=48)
    _prose(page, 320, top, 32, width=48)


def test_short_unlabelled_abstract_above_the_keywords() -> None:
    """A 25-word abstract with no heading, then "Keywords:", then a longer lead paragraph:
    the paragraph the keywords follow is the abstract (AIP, JPSJ, APA)."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((100, 90), "Sample Title of a Short Letter", fontsize=14)
    _runs(page, 136, 124, [("A. Lee", 10, "helv", 0), ("1", 7, "helv", 4),
                           (" and B. Chan", 10, "helv", 0), ("2", 7, "helv", 4)])
    _runs(page, 136, 140, [("1", 6, "helv", 3), ("Department of Physics, Alder University", 9,
                                                 "helv", 0)])
    _runs(page, 136, 152, [("2", 6, "helv", 3), ("Birch Institute of Technology", 9, "helv", 0)])
    page.insert_text((136, 170), "(Dated: 27 December 2018)", fontsize=9)
    page.insert_text((136, 190), "An article usually includes an abstract, a concise summary of "
                     "the work covered", fontsize=10)
    page.insert_text((136, 202), "at length in the body. It is used for secondary publications.",
                     fontsize=10)
    page.insert_text((136, 226), "Keywords: first keyword, second keyword", fontsize=10)
    _prose(page, 100, 256, 6)
    header = extract_header(_analysed(doc))
    assert header.abstract == ("An article usually includes an abstract, a concise summary of "
                               "the work covered at length in the body. It is used for "
                               "secondary publications.")
    assert header.affiliations == ["Department of Physics, Alder University",
                                   "Birch Institute of Technology"]
    assert header.keywords == ["first keyword", "second keyword"]


def test_abstract_across_both_columns_above_a_two_column_body() -> None:
    """APS style: the abstract has no heading and no keywords; its short paragraphs run across
    both columns, under the addresses, above the two-column body. An address line over it
    that starts at another left edge is no part of it."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((180, 60), "Manuscript Title of the Sample", fontsize=12)
    page.insert_text((230, 92), "Ann Author and Bo Second", fontsize=10)
    page.insert_text((90, 106), "Departamento de Física, Universidad de Alder, Calle 4, 07000 "
                     "Alder, México.", fontsize=9)
    page.insert_text((120, 130), "An article usually includes an abstract, a concise summary "
                     "of the work covered at length in the", fontsize=9)
    page.insert_text((110, 140), "main body of the article.", fontsize=9)
    page.insert_text((110, 154), "Usage: Secondary publications and information retrieval "
                     "purposes.", fontsize=9)
    page.insert_text((110, 168), "Structure: You may use the description environment to "
                     "structure your abstract.", fontsize=9)
    _two_columns(page, 200)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.startswith("An article usually includes an abstract")
    assert header.abstract.endswith("to structure your abstract.")
    assert header.affiliations == [
        "Departamento de Física, Universidad de Alder, Calle 4, 07000 Alder, México"]


def test_markers_closed_by_a_parenthesis() -> None:
    """AIP: raised markers "1, a)" after each name; the parenthesis is part of the marker."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((100, 90), "A Title for the Marker Test", fontsize=14)
    _runs(page, 136, 124, [("Ann Lee,", 10, "helv", 0), ("1, a)", 7, "helv", 4),
                           (" Bo Chan,", 10, "helv", 0), ("1, b)", 7, "helv", 4),
                           (" and Cy Diaz", 10, "helv", 0), ("2, c)", 7, "helv", 4)])
    _runs(page, 136, 140, [("1)", 6, "helv", 3), ("Department of Physics, Alder University", 9,
                                                  "helv", 0)])
    _runs(page, 136, 152, [("2)", 6, "helv", 3), ("School of Chemistry, Birch College", 9,
                                                  "helv", 0)])
    page.insert_text((100, 180), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 100, 196, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Ann Lee", "Bo Chan", "Cy Diaz"]
    assert header.affiliations == ["Department of Physics, Alder University",
                                   "School of Chemistry, Birch College"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [1]]


def test_roles_and_collaborations_in_parentheses_are_no_names() -> None:
    """A role after a name ("(Researcher)", whose word would read as an institution) and a
    collaboration on a line of its own ("(CLEO Collaboration)") are asides, not authors."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 90), "A Specimen Title for Asides", fontsize=17)
    _runs(page, 72, 120, [("Ann K. Lee", 12, "helv", 0), ("a,1", 8, "helv", 4),
                          (" (Researcher), Bo Chan", 12, "helv", 0), ("b", 8, "helv", 4),
                          (" (Co-ordinator) and Cy Diaz", 12, "helv", 0), ("a", 8, "helv", 4)])
    page.insert_text((72, 136), "(CLEO Collaboration)", fontsize=12)
    _runs(page, 72, 156, [("a", 6, "helv", 3), ("Department of Physics, Alder University", 8,
                                                "helv", 0)])
    _runs(page, 72, 168, [("b", 6, "helv", 3), ("Birch Institute of Technology", 8, "helv", 0)])
    page.insert_text((72, 196), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 212, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Ann K. Lee", "Bo Chan", "Cy Diaz"]
    assert header.affiliations == ["Department of Physics, Alder University",
                                   "Birch Institute of Technology"]


def test_capital_names_sharing_one_place_line() -> None:
    """ACM journals: "NAME∗ and NAME∗, Institution, Country" (the marker touches "and"), then
    a line per author; both names of the first line share its place."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((46, 80), "The Name of the Title", fontsize=14, fontname="hebo")
    _runs(page, 46, 118, [("ANN LEE", 10.9, "helv", 0), ("*", 8, "helv", 4),
                          ("and B.K. CHAN", 10.9, "helv", 0), ("*", 8, "helv", 4),
                          (", Institute for Clarity in Documentation, USA", 9, "helv", 0)])
    _runs(page, 46, 131, [("EVA DIAZ", 10.9, "helv", 0), (", The Alder Group, Iceland", 9,
                                                          "helv", 0)])
    _prose(page, 46, 160, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Ann Lee", "B.K. Chan", "Eva Diaz"]
    assert header.affiliations == ["Institute for Clarity in Documentation, USA",
                                   "The Alder Group, Iceland"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [1]]


def test_mixed_case_names_each_with_its_place() -> None:
    """"Name, Institution, City" a line per author, in mixed case, with nothing else to read
    as an author line: each line gives a name and its affiliation."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 80), "A Method of Extracting Energy from Fresh Cucumbers", fontsize=14,
                     fontname="hebo")
    page.insert_text((72, 110), "Sam U. Llaun, Academy of Lagado, Lagado, Balnibarbi", fontsize=10)
    page.insert_text((72, 124), "James Incandenza, Interdependence University, Boston, MA",
                     fontsize=10)
    # JACoW: several names share the place, a name with a particle among them.
    page.insert_text((72, 138), "Eva van der Berg, Bo de Chan, Alder Institute, Oslo, Norway",
                     fontsize=10)
    page.insert_text((72, 164), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 180, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Sam U. Llaun", "James Incandenza", "Eva van der Berg",
                              "Bo de Chan"]
    assert header.affiliations == ["Academy of Lagado, Lagado, Balnibarbi",
                                   "Interdependence University, Boston, MA",
                                   "Alder Institute, Oslo, Norway"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [2], [2]]


def test_a_byline_of_comma_separated_groups_of_names_and_their_place() -> None:
    """JACoW: names then their place in one comma-separated stream in one type, wrapping
    anywhere; a place ends with a line that ends without a comma, and the next line's names
    open another group."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((60, 60), "A METHOD OF EXTRACTING ENERGY FROM CUCUMBERS", fontsize=14,
                     fontname="hebo")
    for k, line in enumerate(["Ann Lee, Bo Chan, Cy van Dee, Department of Physics,",
                              "University of Alder, Oslo, Norway",
                              "H.-J. Evans, Eva Diaz,",
                              "Birch Institute of Technology, Canada"]):
        page.insert_text((60, 90 + 14 * k), line, fontsize=12)
    page.insert_text((60, 160), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 60, 176, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Ann Lee", "Bo Chan", "Cy van Dee", "H.-J. Evans", "Eva Diaz"]
    assert header.affiliations == ["Department of Physics, University of Alder, Oslo, Norway",
                                   "Birch Institute of Technology, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [0], [1], [1]]


def _grid_cell(page: pymupdf.Page, x: float, y: float, names: list[str],
               place: list[str]) -> None:
    for name in names:
        page.insert_text((x, y), name, fontsize=12)
        y += 13
    for part in place:
        page.insert_text((x, y), part, fontsize=10)
        y += 12


def test_title_at_the_top_edge_repeated_in_running_heads_and_stacked_grid_names() -> None:
    """SIGPLAN: the title sits at the top edge and the later pages' running heads repeat it,
    yet its large type keeps it a title; in the author grid two authors of one affiliation
    are stacked in one cell, both linked to it."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((160, 40), "The Name of the Title Is Hope", fontsize=20.7)
    _grid_cell(page, 90, 90, ["Ann Lee", "Bo K. Chan"], ["Institute for Clarity", "Dublin, USA"])
    _grid_cell(page, 260, 90, ["Cy Diaz"], ["The Alder Group", "Hekla, Iceland"])
    _grid_cell(page, 420, 90, ["Di Evans"], ["Inria Paris", "Rocquencourt, France"])
    page.insert_text((60, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 60, 206, 8)
    for number in (2, 3):
        later = _page(doc)
        later.insert_text((60, 40), "The Name of the Title Is Hope", fontsize=8)
        later.insert_text((540, 40), str(number), fontsize=8)
        _prose(later, 60, 80, 40)
    header = extract_header(_analysed(doc))
    assert header.title == "The Name of the Title Is Hope"
    assert _names(header) == ["Ann Lee", "Bo K. Chan", "Cy Diaz", "Di Evans"]
    assert header.affiliations == ["Institute for Clarity, Dublin, USA",
                                   "The Alder Group, Hekla, Iceland",
                                   "Inria Paris, Rocquencourt, France"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0], [1], [2]]


def test_a_name_wrapped_in_its_grid_cell_is_one_name() -> None:
    """acmart: a long name wraps in its narrow centred cell ("Amara L." over the surname): one
    author; two names of two lines each in another cell stay two authors."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((60, 50), "A Method of Extracting Energy from Fresh Cucumbers", fontsize=16)

    def centred(centre: float, y: float, lines: list[tuple[str, float]]) -> None:
        for text, size in lines:
            width = pymupdf.get_text_length(text, fontname="helv", fontsize=size)
            page.insert_text((centre - width / 2, y), text, fontsize=size)
            y += size + 1.5

    centred(130, 90, [("Amara L.", 12), ("Okonkwo-Lindqvist", 12), ("Institute for Clarity", 10),
                      ("Dublin, USA", 10)])
    centred(300, 90, [("Ben Trovato", 12), ("Gus Tobin", 12), ("The Alder Group", 10),
                      ("Hekla, Iceland", 10)])
    centred(470, 90, [("Cy Diaz", 12), ("Inria Paris", 10), ("Rocquencourt, France", 10)])
    page.insert_text((60, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 60, 206, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Amara L. Okonkwo-Lindqvist", "Ben Trovato", "Gus Tobin",
                              "Cy Diaz"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [1], [2]]


def test_keywords_end_at_the_next_run_in_label() -> None:
    """"Keywords: ..." then "MSC2020 subject classifications: ..." on the next line: the
    classification is no keyword."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 80), "Introduction to a Probability Class", fontsize=14)
    page.insert_text((72, 104), "Ann Lee", fontsize=11)
    page.insert_text((72, 130), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 72, 146, 4)
    page.insert_text((72, 204), "Keywords: random walks ; coupling ; martingales ;", fontsize=9)
    page.insert_text((72, 215), "stopping times.", fontsize=9)
    page.insert_text((72, 226), "MSC2020 subject classifications: 60G50.", fontsize=9)
    page.insert_text((72, 237), "Submitted to ECP on January 2, 2013.", fontsize=9)
    _prose(page, 72, 270, 10)
    header = extract_header(_analysed(doc))
    assert header.keywords == ["random walks", "coupling", "martingales", "stopping times"]


def test_short_abstract_under_a_centred_heading_and_inline_name_numbers() -> None:
    """JMLR: a one-line abstract under a centred "Abstract" heading that does not reach under
    it; the names carry their numbers inline ("Ann Lee1"); the second name follows the first
    author's e-mail address on its line."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((188, 100), "Full Title of the Article", fontsize=14.3, fontname="hebo")
    page.insert_text((90, 150), "Ann Lee1", fontsize=10.9, fontname="hebo")
    _runs(page, 210, 150, [("lee@alder.edu and ", 10, "cour", 0), ("Bo Chan2", 10.9, "hebo", 0)])
    page.insert_text((90, 166), "Alder University", fontsize=10, fontname="helv")
    page.insert_text((280, 240), "Abstract", fontsize=12, fontname="hebo")
    page.insert_text((110, 256), "This is the abstract of this short article.", fontsize=10)
    page.insert_text((90, 300), "1. Introduction", fontsize=12, fontname="hebo")
    _prose(page, 90, 320, 12)
    header = extract_header(_analysed(doc))
    assert header.abstract == "This is the abstract of this short article."
    assert _names(header) == ["Ann Lee", "Bo Chan"]


def test_abstract_label_hanging_in_the_margin() -> None:
    """"Abstract" set in the margin beside its indented paragraph, in the text's own face,
    with no colon: the wide gap after it makes it a label."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((90, 170), "Example of a Journal Article", fontsize=20.7)
    page.insert_text((90, 205), "Will Robertson", fontsize=14.3)
    page.insert_text((108, 250), "Address", fontsize=10.9)
    page.insert_text((160, 250), "Adelaide, Australia", fontsize=10.9)
    page.insert_text((105, 300), "Abstract", fontsize=10.9)
    words = PROSE.split()
    for i in range(4):
        page.insert_text((154, 300 + 13 * i), " ".join(words[i * 9:(i + 1) * 9]), fontsize=10.9)
    page.insert_text((90, 400), "1 Introduction", fontsize=17.2)
    _prose(page, 90, 430, 12, size=12)
    header = extract_header(_analysed(doc))
    assert header.abstract == " ".join(words[:36])


def test_numbered_address_with_its_e_mail() -> None:
    """"1. Department ..., University ..., name@host" under "Name1": the number is the marker
    and the e-mail address does not make the line an e-mail line."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((43, 80), "The Bioimpedance Class", fontsize=15.9, fontname="hebo")
    _runs(page, 43, 112, [("Dag Langmyhr", 11, "hebo", 0), ("1", 7, "helv", 4)])
    page.insert_text((43, 130), "1. Department of Informatics, University of Oslo, dag@ifi.uio.no",
                     fontsize=9)
    page.insert_text((43, 170), "Abstract", fontsize=9, fontname="hebo")
    _prose(page, 43, 184, 6, width=60, size=9)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Dag Langmyhr"]
    assert header.affiliations == ["Department of Informatics, University of Oslo"]
    assert [a.affiliation_indices for a in header.authors] == [[0]]


def test_printed_title_over_metadata_words_spread_over_keywords() -> None:
    """The PDF's metadata title is trusted only where the page prints it word for word: the
    same words spread over a keyword list ("ASME conference paper, LaTeX template") do not
    count. A paper number in larger type ("IMECE2023-0042") is no title either."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((440, 60), "IMECE2023-0042", fontsize=14.5, fontname="hebo")
    page.insert_text((134, 150), "A TEMPLATE FOR MECHANICAL CONFERENCE PAPERS", fontsize=10,
                     fontname="hebo")
    page.insert_text((200, 180), "Ann Lee, Bo Chan", fontsize=9)
    page.insert_text((60, 220), "ABSTRACT", fontsize=10, fontname="hebo")
    _prose(page, 60, 236, 8)
    page.insert_text((60, 350), "Keywords: ASME conference paper, LaTeX template, BibTeX",
                     fontsize=9)
    doc.set_metadata({"title": "ASME Conference Paper LaTeX Template"})
    header = extract_header(_analysed(doc))
    assert header.title == "A TEMPLATE FOR MECHANICAL CONFERENCE PAPERS"


def test_title_lines_with_a_journal_name_in_them() -> None:
    """A title that names a journal or proceedings in title type is still the title: a line
    opening in lower case goes on with the line above ("... a Manuscript for" / "the Journal
    of ..."), and banner words inside a large line ("... for SPIE Proceedings") are its own."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((144, 100), "Instructions for the Preparation of a Manuscript for",
                     fontsize=12)
    page.insert_text((163, 116), "the Journal of the Physical Society of Japan", fontsize=12)
    page.insert_text((200, 150), "Ann Lee and Bo Chan", fontsize=10.9)
    page.insert_text((100, 190), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 100, 206, 8)
    first = extract_header(_analysed(doc))
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((40, 60), "arXiv:2101.00001v1 [cs.CL] 1 Jan 2021", fontsize=20)
    page.insert_text((100, 100), "Reading Order on Printed Pages", fontsize=14)
    page.insert_text((200, 130), "Ann Lee and Bo Chan", fontsize=10.9)
    page.insert_text((100, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 100, 186, 8)
    stamped = extract_header(_analysed(doc))
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((120, 74), "Style template and guidelines for SPIE Proceedings",
                     fontsize=15.9, fontname="hebo")
    page.insert_text((200, 101), "Ann Lee and Bo Chan", fontsize=12)
    page.insert_text((100, 150), "ABSTRACT", fontsize=11, fontname="hebo")
    _prose(page, 100, 166, 8)
    second = extract_header(_analysed(doc))
    assert first.title == ("Instructions for the Preparation of a Manuscript for the Journal "
                           "of the Physical Society of Japan")
    assert second.title == "Style template and guidelines for SPIE Proceedings"
    assert stamped.title == "Reading Order on Printed Pages"  # an arXiv stamp opens in lower case
    assert _names(second) == ["Ann Lee", "Bo Chan"]


def test_marked_further_address_under_name_and_place_lines() -> None:
    """JACoW: "Name†, Name, Institute, City, Country" lines, then a marked "also at ..." line:
    a further affiliation (the place, without its "also at"), not part of the place above it."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((100, 80), "PREPARATION OF PAPERS FOR ACCELERATOR CONFERENCES", fontsize=14,
                     fontname="hebo")
    page.insert_text((60, 110), "A. N. Lee, H. Chan, Alder Institute of Physics, Alder, Norway",
                     fontsize=12)
    _runs(page, 60, 126, [("P. Diaz", 12, "helv", 0), ("1", 7, "helv", 4),
                          (", Birch University, Birch, Canada", 12, "helv", 0)])
    _runs(page, 60, 142, [("1", 7, "helv", 4), ("also at Cedar Laboratory, Cedar, Chile", 12,
                                                "helv", 0)])
    page.insert_text((60, 180), "Abstract", fontsize=12, fontname="hebo")
    _prose(page, 60, 196, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["A. N. Lee", "H. Chan", "P. Diaz"]
    assert header.affiliations == ["Alder Institute of Physics, Alder, Norway",
                                   "Birch University, Birch, Canada",
                                   "Cedar Laboratory, Cedar, Chile"]


def test_grid_cell_place_ending_with_its_country() -> None:
    """In a grid of author cells, the lines under a name that end with a country are its
    address even when they name no institution ("Hampton Court Palace" / "Richmond,
    England")."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((150, 60), "Place Title Here: Place Subtitle", fontsize=16, fontname="hebo")
    _grid_cell(page, 90, 100, ["Ann Lee"], ["Alder University", "Alder, Norway"])
    _grid_cell(page, 260, 100, ["Bo Chan"], ["Hampton Court Palace", "Richmond, England"])
    _grid_cell(page, 420, 100, ["Cy Diaz"], ["Birch Institute", "Birch, Canada"])
    page.insert_text((60, 190), "ABSTRACT", fontsize=11, fontname="hebo")
    _prose(page, 60, 206, 8)
    header = extract_header(_analysed(doc))
    assert _names(header) == ["Ann Lee", "Bo Chan", "Cy Diaz"]
    assert header.affiliations == ["Alder University, Alder, Norway",
                                   "Hampton Court Palace, Richmond, England",
                                   "Birch Institute, Birch, Canada"]
    assert [a.affiliation_indices for a in header.authors] == [[0], [1], [2]]



def _block(text: str, bbox: tuple[float, float, float, float], size: float = 8.0) -> Block:
    lines = [Line([Span(part, (bbox[0], bbox[1] + 10 * i, bbox[2], bbox[1] + 10 * i + size),
                        size, "Helvetica", 0)],
                  (bbox[0], bbox[1] + 10 * i, bbox[2], bbox[1] + 10 * i + size))
             for i, part in enumerate(text.split("\n"))]
    return Block(lines, bbox)


def test_abstract_heading_beside_an_article_info_column() -> None:
    """Elsevier CAS: "ARTICLE INFO" with the keywords in a narrow left column, "ABSTRACT" over
    the abstract to its right, the text layer giving both the same column: the keywords
    block just under the heading's level, far to its left, is not what the heading heads,
    the abstract under it is; a short abstract beside a centred heading's edge still is."""
    page = Page(1, 595, 842, [
        _block("A B S T R A C T", (173, 120, 234, 129), 10),
        _block("Keywords:\nquadrupole exciton\npolariton", (0, 137, 68, 160)),
        _block("This template helps you to create a properly formatted manuscript.\n"
               "Each keyword shall be separated by a command.", (173, 139, 493, 160)),
    ])
    assert _block_below(page, 0) == 1  # the abstract, the block after index 1
    centred = Page(1, 612, 792, [
        _block("Abstract", (280, 232, 332, 243), 12),
        _block("This is the abstract for this article.", (110, 249, 263, 258), 10),
        _block("1. Introduction", (90, 292, 181, 303), 12),
        _block("This is a sample article that uses the class with the option.",
               (90, 314, 522, 324), 10.9),
    ])
    assert _block_below(centred, 0) == 0


def test_banner_repeated_in_large_type_stays_a_running_head() -> None:
    """A journal's name set large at the top of every page is a running head, however large:
    only a title whose later repeats are in smaller type is kept (see the SIGPLAN test)."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((60, 40), "ALDER SCIENCE LETTERS", fontsize=18, fontname="hebo")
    page.insert_text((60, 110), "A Study of Reading Order on Printed Pages", fontsize=15)
    page.insert_text((60, 136), "Ann Lee and Bo Chan", fontsize=11)
    page.insert_text((60, 170), "Abstract", fontsize=11, fontname="hebo")
    _prose(page, 60, 186, 8)
    for number in (2, 3):
        later = _page(doc)
        later.insert_text((60, 40), "ALDER SCIENCE LETTERS", fontsize=18, fontname="hebo")
        later.insert_text((540, 40), str(number), fontsize=8)
        _prose(later, 60, 80, 40)
    header = extract_header(_analysed(doc))
    assert header.title == "A Study of Reading Order on Printed Pages"
    assert _names(header) == ["Ann Lee", "Bo Chan"]


def test_wide_space_after_a_paragraphs_first_word_is_no_label() -> None:
    """A justified line opening "Summary" with a wide word space, its next line back at the
    margin, is running text, not a hanging "Summary" label: the unlabelled abstract above
    stays the abstract."""
    doc = pymupdf.open()
    page = _page(doc)
    page.insert_text((72, 80), "A Study of Justified Lines in Papers", fontsize=16)
    page.insert_text((72, 104), "Ann Lee and Bo Chan", fontsize=11)
    _prose(page, 72, 140, 6)
    page.insert_text((72, 240), "1. Methods", fontsize=11, fontname="hebo")
    page.insert_text((72, 260), "Summary", fontsize=10)
    page.insert_text((125, 260), "statistics of every page were gathered from the text layer",
                     fontsize=10)
    page.insert_text((72, 273), "and compared with the printed page by hand, one paper at a time.",
                     fontsize=10)
    _prose(page, 72, 290, 10)
    header = extract_header(_analysed(doc))
    assert header.abstract is not None
    assert header.abstract.startswith("the method reads each page")
    assert "Summary statistics" not in header.abstract
