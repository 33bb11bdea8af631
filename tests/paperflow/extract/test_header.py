
import pymupdf

from paperflow.extract.header import extract_header
from paperflow.extract.header_layout import fix_accents
from paperflow.pdf import parse_layout

BODY = [
    "Running text of the paper fills the page at the body size so that the layout reader",
    "can tell the size of ordinary prose from the larger title and the smaller footnotes.",
    "Each of these lines is long enough to count as running text in the body of the paper.",
]


def _write(page: pymupdf.Page, x: float, y: float,
           runs: list[tuple[str, float, str, float]]) -> None:
    """Write runs of (text, size, font, rise) left to right on one baseline."""
    for text, size, font, rise in runs:
        page.insert_text((x, y - rise), text, fontsize=size, fontname=font)
        x += pymupdf.get_text_length(text, fontname=font, fontsize=size)


def _body(page: pymupdf.Page, y: float, count: int = 12) -> None:
    for i in range(count):
        page.insert_text((72, y + 13 * i), BODY[i % len(BODY)], fontsize=10)


def _labelled_paper() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "Preprint. Under review.", fontsize=8)
    page.insert_text((72, 100), "Learning to Read Scientific Papers", fontsize=18,
                     fontname="hebo")
    page.insert_text((72, 122), "with Layout Heuristics", fontsize=18, fontname="hebo")
    _write(page, 72, 150, [("Alice Smith", 11, "helv", 0), ("1", 7, "helv", 4),
                           (", Bob Jones", 11, "helv", 0), ("1,2", 7, "helv", 4),
                           (" and Carol White", 11, "helv", 0), ("2", 7, "helv", 4)])
    _write(page, 72, 168, [("1", 6, "helv", 3),
                           ("Department of Physics, University of Somewhere, Springfield",
                            9, "helv", 0)])
    _write(page, 72, 180, [("2", 6, "helv", 3), ("Example Research Lab, Metropolis",
                                                 9, "helv", 0)])
    page.insert_text((72, 194), "alice@somewhere.edu", fontsize=9)
    page.insert_text((72, 230), "Abstract", fontsize=11, fontname="hebo")
    abstract = [
        "We study how the structure of the first page reveals the title, the authors and",
        "the abstract of a scientific paper without any trained model. Our extrac-",
        "tion reads font sizes and positions and reaches high accuracy on real papers.",
    ]
    for i, line in enumerate(abstract):
        page.insert_text((72, 248 + 12 * i), line, fontsize=9.5)
    _write(page, 72, 300, [("Keywords: ", 9.5, "hebo", 0),
                           ("layout analysis, metadata extraction; PDF.", 9.5, "helv", 0)])
    page.insert_text((72, 330), "1 Introduction", fontsize=11, fontname="hebo")
    _body(page, 350)
    page.insert_text((72, 760), "doi:10.1234/paperflow.5678", fontsize=8)
    page.insert_text((30, 600), "arXiv:2304.02623v1 [cs.CL] 5 Apr 2023", fontsize=14,
                     rotate=90)
    _body(doc.new_page(width=612, height=792), 72, 40)
    data = doc.tobytes()
    doc.close()
    return data


def _unlabelled_paper(meta_title: str) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "Journal of Testing Things", fontsize=24, fontname="tiit")
    page.insert_text((72, 110), "Counting Sheep in Low Light", fontsize=16, fontname="hebo")
    page.insert_text((72, 135), "Dana Grey and Eve Black", fontsize=11)
    page.insert_text((72, 150), "Institute of Ovine Studies, Woolton", fontsize=9,
                     fontname="heit")
    paragraph = [
        "Sheep are hard to count at night because they are dark and they move around a lot,",
        "and farmers who try to count them often fall asleep before they are finished. We",
        "present a method that counts sheep in low light with a camera and a lamp, and we",
        "show that it works on three farms over a whole winter with almost no errors at all.",
    ]
    for i, line in enumerate(paragraph):
        page.insert_text((90, 185 + 12 * i), line, fontsize=9)
    page.insert_text((72, 260), "1 Introduction", fontsize=11, fontname="hebo")
    _body(page, 280, 30)
    doc.set_metadata({"title": meta_title})
    data = doc.tobytes()
    doc.close()
    return data


def test_labelled_header_fields() -> None:
    header = extract_header(parse_layout(_labelled_paper()))
    assert header.title == "Learning to Read Scientific Papers with Layout Heuristics"
    assert [a.name for a in header.authors] == ["Alice Smith", "Bob Jones", "Carol White"]
    assert header.affiliations == [
        "Department of Physics, University of Somewhere, Springfield",
        "Example Research Lab, Metropolis",
    ]
    assert [a.affiliation_indices for a in header.authors] == [[0], [0, 1], [1]]
    assert header.authors[0].email == "alice@somewhere.edu"
    assert header.abstract is not None
    assert header.abstract.startswith("We study how the structure of the first page")
    assert "Our extraction reads font sizes" in header.abstract
    assert header.abstract.endswith("high accuracy on real papers.")
    assert "Keywords" not in header.abstract
    assert header.keywords == ["layout analysis", "metadata extraction", "PDF"]
    assert header.keywords_printed
    assert header.doi == "10.1234/paperflow.5678"
    assert header.arxiv_id == "2304.02623"
    assert header.year == 2023
    assert header.publish_date is not None and header.publish_date.isoformat() == "2023-04-05"


def test_unlabelled_abstract_banner_and_garbage_metadata() -> None:
    header = extract_header(parse_layout(_unlabelled_paper("Microsoft Word - draft3.doc")))
    assert header.title == "Counting Sheep in Low Light"
    assert [a.name for a in header.authors] == ["Dana Grey", "Eve Black"]
    assert header.affiliations == ["Institute of Ovine Studies, Woolton"]
    assert header.abstract is not None
    assert header.abstract.startswith("Sheep are hard to count at night")
    assert header.abstract.endswith("with almost no errors at all.")
    assert header.keywords == [] and not header.keywords_printed
    assert header.doi is None and header.arxiv_id is None


def test_metadata_title_used_only_when_printed() -> None:
    printed = extract_header(parse_layout(_unlabelled_paper("Counting  sheep in low light")))
    assert printed.title == "Counting sheep in low light"
    unprinted = extract_header(parse_layout(_unlabelled_paper("A Completely Different Paper")))
    assert unprinted.title == "Counting Sheep in Low Light"


def test_fix_accents_composes_tex_marks() -> None:
    assert fix_accents("Departamento de F \u00b4\u0131sica") == "Departamento de Física"
    assert fix_accents("G \u0308oteborg, Vall`es") == "Göteborg, Vallès"
    # A word that opens with an accented capital keeps the space before it; inside a word in
    # capitals the space is TeX's kerning.
    assert fix_accents("Noémie and Anaïs \u0307Zukowski") == "Noémie and Anaïs Żukowski"
    assert fix_accents("Anaïs \u02d9Zukowski, M \u00a8ULLER") == "Anaïs Żukowski, MÜLLER"
