"""Finding a quote in the paper's text, tolerant of line breaks, hyphenation and typography.

A quote may run from one column or page into the next with a footnote, running head or figure
printed in between; it is still found when it ends one text block and resumes at the start of a
later one, but never when stitched from the middles of unrelated passages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...",
    "\u00ad": None, "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
})

_MIN_NEEDLE = 12
_BLOCKS_AHEAD = 12
"""How many text blocks later a quote interrupted by footnotes or figures may resume."""


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


@lru_cache(maxsize=8)
def _prepared(page_texts: tuple[str, ...]) -> tuple[list[str], list[str], list[tuple[int, str]]]:
    """Per page: normalised text and its squashed form; and every text block, squashed.

    A block that ends a sentence gets a trailing '.', which no squashed quote contains: a quote
    may carry on from a block broken mid-sentence, never splice two paragraphs together.
    """
    pages = [normalise_for_matching(text) for text in page_texts]
    squashed = [_squash(page) for page in pages]
    blocks: list[tuple[int, str]] = []
    for number, text in enumerate(page_texts, start=1):
        for part in re.split(r"\n\s*\n", text):
            normalised = normalise_for_matching(part)
            block = _squash(normalised)
            if block:
                ends = bool(re.search(r"[.!?][\"')\]]*$", normalised))
                blocks.append((number, block + "." if ends else block))
    return pages, squashed, blocks


def locate_quote(quote: str, page_texts: list[str]) -> int | None:
    """The 1-based page on which `quote` occurs (possibly running onto the next), or None."""
    needle = normalise_for_matching(quote)
    if len(needle) < _MIN_NEEDLE:
        return None
    squashed_needle = _squash(needle)
    if len(squashed_needle) < _MIN_NEEDLE - 2:
        return None
    pages, squashed_pages, blocks = _prepared(tuple(page_texts))
    for index, page in enumerate(pages):
        if needle in page or squashed_needle in squashed_pages[index]:
            return index + 1
    for index in range(len(pages) - 1):
        span = len(squashed_needle) * 2
        joined = squashed_pages[index][-span:] + squashed_pages[index + 1][:span]
        if squashed_needle in joined:
            return index + 1
    return _across_blocks(squashed_needle, blocks)


def _across_blocks(needle: str, blocks: list[tuple[int, str]]) -> int | None:
    """A quote that ends one block and carries on at the start of later blocks."""
    probe = needle[:8]
    for index, (page, block) in enumerate(blocks):
        for split in _prefix_splits(needle, block, probe):
            if _continues(needle[split:], blocks, index + 1, page, depth=0):
                return page
    return None


def _prefix_splits(needle: str, block: str, probe: str) -> list[int]:
    """Lengths k such that `block` ends with the first k characters of `needle`."""
    out = [k for k in range(1, min(len(probe), len(block) + 1)) if block.endswith(needle[:k])]
    start = max(0, len(block) - len(needle))
    at = block.find(probe, start)
    while at != -1:
        if needle.startswith(block[at:]):
            out.append(len(block) - at)
        at = block.find(probe, at + 1)
    return out


def _continues(rest: str, blocks: list[tuple[int, str]], start: int, page: int, depth: int) -> bool:
    """Whether `rest` starts one of the next few blocks (on this page or the next)."""
    for index in range(start, min(start + _BLOCKS_AHEAD, len(blocks))):
        number, block = blocks[index]
        if number - page > 1:
            break
        if block.startswith(rest):
            return True
        # The quote may run through this whole block into yet another one.
        if depth < 2 and len(block) >= 3 and rest.startswith(block) and _continues(
            rest[len(block) :], blocks, index + 1, page, depth + 1
        ):
            return True
    return False
