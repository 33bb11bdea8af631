"""Finding a quote in the paper's text, tolerant of line breaks, hyphenation and typography."""

from __future__ import annotations

import re
import unicodedata

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u00a0": " ",
})


def normalise_for_matching(text: str) -> str:
    """Fold case, typography, hyphenation at line ends and white space, keeping word order."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    text = re.sub(r"(\w)- (\w)", r"\1\2", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip().casefold()


def _squash(text: str) -> str:
    """Letters and digits only: the last resort against spacing differences."""
    return re.sub(r"[\W_]+", "", text)


def locate_quote(quote: str, page_texts: list[str]) -> int | None:
    """The 1-based page on which `quote` occurs (possibly running onto the next), or None."""
    needle = normalise_for_matching(quote)
    if len(needle) < 12:
        return None
    squashed_needle = _squash(needle)
    pages = [normalise_for_matching(text) for text in page_texts]
    for index, page in enumerate(pages):
        if needle in page or squashed_needle in _squash(page):
            return index + 1
    for index in range(len(pages) - 1):
        joined = _squash(pages[index][-len(needle) * 2 :] + " " + pages[index + 1][: len(needle) * 2])
        if squashed_needle in joined:
            return index + 1
    return None
