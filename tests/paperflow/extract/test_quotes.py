"""locate_quote: tolerant of layout and typography, strict about invented text."""

from __future__ import annotations

from paperflow.extract.quotes import locate_quote, normalise_for_matching
from paperflow.pdf import parse_layout
from tests.paperflow.extract.test_summary import make_pdf

PAGES = [
    "Title of the paper\n\nWe propose a ranking method that uses cita-\n"
    "tion chains to order papers."
    "\n\nIt is “robust” to noise — even at 30% corruption.",
    "Running head\n\nThe second page begins with a sentence about the evaluation.",
]


def test_normalise_folds_typography_and_hyphenation() -> None:
    folded = normalise_for_matching("It is “Robust”\u00a0— cita-\ntion")
    assert folded == 'it is "robust" - citation'


def test_finds_quotes_across_line_breaks_hyphenation_and_curly_quotes() -> None:
    assert locate_quote("We propose a ranking method that uses citation chains", PAGES) == 1
    assert locate_quote('It is "robust" to noise - even at 30% corruption.', PAGES) == 1
    assert locate_quote("The second page begins with a sentence", PAGES) == 2


def test_rejects_invented_and_short_quotes() -> None:
    assert locate_quote("We propose a ranking method that uses word counts", PAGES) is None
    assert locate_quote("citation chains to order papers. The second page begins", PAGES) is None
    assert locate_quote("We propose", PAGES) is None


def test_quote_running_across_a_page_break_past_footer_and_running_head() -> None:
    pages = [
        "Intro\n\nOur encoder reads every title and abstract and then it\n\nFooter 1",
        "Running head\n\nscores each candidate paper against the question.\n\nMore text here.",
    ]
    quote = "Our encoder reads every title and abstract and then it scores each candidate paper"
    assert locate_quote(quote, pages) == 1
    # Spliced from the middles of two blocks: not a real quote.
    assert locate_quote("every title and abstract and then it scores each", pages) == 1
    assert locate_quote("Our encoder reads every title and each candidate paper", pages) is None
    assert locate_quote("Intro Our encoder reads More text here.", pages) is None


def test_on_parsed_pdf_pages() -> None:
    pages = [[("text", "A sentence on the first page that continues onto the next page of the "
                       "paper without a break.")], [("text", "Another sentence entirely.")]]
    texts = parse_layout(make_pdf(pages)).page_texts()
    assert locate_quote("continues onto the next page of the paper", texts) == 1
    assert locate_quote("Another sentence entirely.", texts) == 2
    assert locate_quote("Another sentence that never appears.", texts) is None
