
import pymupdf
import pytest

from paperflow.extract.references import extract_references, parse_reference
from paperflow.pdf import parse_layout
from tests.conftest import EVAL_DIR

EVAL = EVAL_DIR

BODY = "This paragraph is part of the body text of the synthetic paper and says little. " * 2


def _body_page(doc: pymupdf.Document, lines: int = 20) -> pymupdf.Page:
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 60), "Running Header of the Synthetic Paper", fontsize=8)
    y = 100.0
    for _ in range(lines):
        page.insert_text((72, y), BODY[:95], fontsize=10)
        y += 13
    return page


def _numbered_pdf() -> bytes:
    """Body, then a "References" list of numbered entries wrapped onto hanging lines."""
    doc = pymupdf.open()
    _body_page(doc)
    page = _body_page(doc, lines=6)
    y = 200.0
    page.insert_text((72, y), "References", fontsize=12, fontname="hebo")
    y += 20
    entries = [
        ["[1] A. Smith and B. Jones. A study of things that matter. In Proceedings of",
         "the Conference on Examples, pages 1-10, 2019."],
        ["[2] C. Brown. Another title about learning. Journal of Tests, 12(3):4-5, 2020.",
         "doi:10.1234/ABC.5678"],
        ["[3] D. White, E. Black, and F. Green. Deep nets for every-",
         "thing. arXiv preprint arXiv:2101.00001, 2021."],
    ]
    for entry in entries:
        for i, line in enumerate(entry):
            page.insert_text((72 if i == 0 else 88, y), line, fontsize=9)
            y += 11
    page.insert_text((290, 800), "2", fontsize=9)
    page = _body_page(doc, lines=0)
    y = 100.0
    for n in range(4, 7):
        page.insert_text((72, y), f"[{n}] G. Author{n}. Paper number {n} on topics. Venue, 2018.",
                         fontsize=9)
        y += 11
    page.insert_text((290, 800), "3", fontsize=9)
    return doc.tobytes()


def _author_year_pdf() -> bytes:
    """A "Bibliography" of author-year entries with hanging indents, over two pages."""
    doc = pymupdf.open()
    page = _body_page(doc, lines=10)
    y = 260.0
    page.insert_text((72, y), "Bibliography", fontsize=12, fontname="hebo")
    y += 20
    entries = [
        ["Smith, J. and Jones, K. (2015). Hanging indents in reference lists. Journal",
         "of Layout, 7(2), 100-120."],
        ["van Dijk, P. (2001). A single line entry about something else entirely."],
        ["Zhang, L., Wang, M., and Li, Q. (2020). Entries that run over three lines",
         "because the title is long and the venue is long as well, so it needs a third",
         "line. Proceedings of Long Things, pages 1-2."],
    ]
    for entry in entries:
        for i, line in enumerate(entry):
            page.insert_text((72 if i == 0 else 84, y), line, fontsize=9)
            y += 11
    page.insert_text((290, 800), "1", fontsize=9)
    page = _body_page(doc, lines=0)
    page.insert_text((72, 100), "Young, A. (1999). The last entry on the next page. Press.",
                     fontsize=9)
    page.insert_text((72, 140), "Appendix A: Extra Material", fontsize=12, fontname="hebo")
    page.insert_text((72, 160), "Anderson, this is appendix text that is not a reference.",
                     fontsize=9)
    return doc.tobytes()


def test_numbered_entries_across_lines_and_pages() -> None:
    refs = extract_references(parse_layout(_numbered_pdf()))
    assert len(refs) == 6
    assert refs[0].raw.startswith("[1] A. Smith and B. Jones. A study")
    assert refs[0].raw.endswith("pages 1-10, 2019.")
    assert refs[2].raw == ("[3] D. White, E. Black, and F. Green. Deep nets for everything. "
                           "arXiv preprint arXiv:2101.00001, 2021.")
    assert refs[1].doi == "10.1234/abc.5678"
    assert refs[2].arxiv_id == "2101.00001"
    assert [r.year for r in refs] == [2019, 2020, 2021, 2018, 2018, 2018]
    assert all("Header" not in r.raw and not r.raw.endswith(" 2") for r in refs)


def test_author_year_entries_by_hanging_indent() -> None:
    refs = extract_references(parse_layout(_author_year_pdf()))
    assert [r.raw.split(" ", 1)[0] for r in refs] == ["Smith,", "van", "Zhang,", "Young,"]
    assert refs[2].raw.endswith("Proceedings of Long Things, pages 1-2.")
    assert refs[0].authors == ["Smith, J.", "Jones, K."]
    assert refs[0].title == "Hanging indents in reference lists"
    assert refs[0].venue == "Journal of Layout"
    assert refs[1].year == 2001
    assert refs[3].title == "The last entry on the next page"
    assert not any("appendix" in r.raw for r in refs)


def test_no_reference_section() -> None:
    doc = pymupdf.open()
    _body_page(doc)
    assert extract_references(parse_layout(doc.tobytes())) == []


def test_parse_acl_style_entry() -> None:
    ref = parse_reference(
        "Iz Beltagy, Kyle Lo, and Arman Cohan. 2019. SciBERT: A pretrained language model for "
        "scientific text. In Proceedings of EMNLP, pages 3615-3620."
    )
    assert ref.authors == ["Iz Beltagy", "Kyle Lo", "Arman Cohan"]
    assert ref.year == 2019
    assert ref.title == "SciBERT: A pretrained language model for scientific text"
    assert ref.venue == "Proceedings of EMNLP"
    assert ref.doi is None and ref.arxiv_id is None


def test_parse_journal_entry_with_doi_url() -> None:
    ref = parse_reference(
        "12. Parsons, J. T., Horwitz, A. R. & Schwartz, M. A. Cell adhesion: integrating "
        "cytoskeletal dynamics. Nat. Rev. Mol. Cell Biol. 11, 633-643 (2010). "
        "https://doi.org/10.1038/NRM2957."
    )
    assert ref.authors == ["Parsons, J. T.", "Horwitz, A. R.", "Schwartz, M. A."]
    assert ref.title == "Cell adhesion: integrating cytoskeletal dynamics"
    assert ref.venue == "Nat. Rev. Mol. Cell Biol"
    assert ref.year == 2010
    assert ref.doi == "10.1038/nrm2957"
    assert ref.url is None


@pytest.mark.parametrize(
    ("raw", "arxiv_id", "year"),
    [
        ("[4] J. Hisano and Y. Omura, arXiv:1506.03931v2 [Inspire].", "1506.03931", None),
        ("[1] Hu W. and Barkana R. Phys. Rev. Lett. 85, 1158 (2000), [astro-ph/0003365].",
         "astro-ph/0003365", 2000),
        ("Chen, X. 2019. A title. ArXiv, abs/1711.04168.", "1711.04168", 2019),
        ("Kopp, O.: Markdown Records. In: ZEUS, vol. 2072. CEUR-WS.org (2018)", None, 2018),
    ],
)
def test_parse_identifiers_and_years(raw: str, arxiv_id: str | None, year: int | None) -> None:
    ref = parse_reference(raw)
    assert ref.arxiv_id == arxiv_id
    assert ref.year == year


def test_parse_vancouver_entry_with_url() -> None:
    ref = parse_reference(
        "3. Afgan E, Baker D, van den Beek M: The Galaxy platform. Nucleic Acids Res 2016, "
        "44:W3-W10. Available from: http://example.org/galaxy/. DOI 10.1093/nar/gkw343."
    )
    assert ref.authors == ["Afgan E", "Baker D", "van den Beek M"]
    assert ref.title == "The Galaxy platform"
    assert ref.year == 2016
    assert ref.url == "http://example.org/galaxy/"
    assert ref.doi == "10.1093/nar/gkw343"
