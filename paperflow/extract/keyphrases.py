"""Key phrases for papers that print no keywords.

Candidates are runs of content words between stopwords and punctuation (as in RAKE), counted over
the running text with the title and abstract weighted up; phrases the paper repeats as a unit rank
first, generic academic vocabulary is dropped, and phrases contained in a better one are merged.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from paperflow.extract.sentences import STOPWORDS, Body, read_body, stem
from paperflow.pdf import ParsedDocument

_GENERIC = frozenset(re.findall(r"\S+", """
paper papers work works study studies approach approaches method methods result results table
tables figure figures fig section sections example examples case cases number numbers set sets
way ways problem problems model-based task tasks datum data-set use value values time times
experiment experiments analysis analyses performance effect effects order level levels type types
part parts form forms need needs fact area areas term terms basis point points step steps line
lines question questions issue issues aspect aspects kind kinds field fields information
contribution contributions appendix et al i.e e.g cf vs new novel different various large small
high low good better best important main key significant similar general specific based due
following previous recent existing present current given total average overall simple first
second third final possible available several many much little able additional further
particular proposed related respective multiple single common original standard non large-scale
eq equation equations respectively author authors reference references figure doi http https
www org com pp vol journal proceedings conference university press abstract introduction
conclusion conclusions discussion supplementary rights reserved license copyright article
model models data function functions input inputs output outputs list lists training learning
file files system systems parameter parameters dataset datasets proper dense negative positive
language quality care surface cell cells protein proteins reading process processes user users
research researchers end means evidence support range rate rates size sizes test tests score
""".lower()))
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z]{2,}|[.,;:!?()\[\]{}\"“”=+/<>]")


_ADJECTIVAL = re.compile(r"(?:ing|ed|ly|ic|al|ous|ive|ful|able|ible|ain|ar)$")
_ROMAN = re.compile(r"[IVX]{1,4}")


def _display(token: str) -> str:
    """Acronyms and mixed-case names (BERT, SciBERT) keep their case; other words go lower-case."""
    inner_caps = sum(c.isupper() for c in token[1:])
    return token if inner_caps or (token.isupper() and len(token) > 1) else token.lower()


def _candidates(text: str) -> list[list[str]]:
    """Runs of 1-4 content words, split at stopwords, punctuation and numbers."""
    runs: list[list[str]] = []
    current: list[str] = []
    for token in _TOKEN.findall(text):
        low = token.lower()
        short = len(low) < 2 or (len(low) < 3 and not token.isupper())
        if not token[0].isalpha() or low in STOPWORDS or _ROMAN.fullmatch(token) or short:
            if current:
                runs.append(current)
            current = []
            continue
        current.append(token)
    if current:
        runs.append(current)
    out: list[list[str]] = []
    for run in runs:
        if len(run) <= 4:
            out.append(run)
        else:
            # Long runs are usually two phrases side by side: keep their 2- and 3-word windows.
            out.extend(run[i : i + 3] for i in range(len(run) - 2))
    return out


def key_phrases(doc: ParsedDocument, count: int = 8) -> list[str]:
    """Up to `count` ranked key phrases, lower-case unless an acronym, without near-duplicates."""
    if count <= 0:
        return []
    body = read_body(doc)
    key = ("key_phrases", count)
    if key not in body.cache:
        if "key_phrase_scores" not in body.cache:  # counted once, whatever counts are asked
            body.cache["key_phrase_scores"] = _score(body)
        body.cache[key] = _choose(body.cache["key_phrase_scores"], count)  # type: ignore[arg-type]
    return list(body.cache[key])  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class _Scores:
    """Candidate phrases (tuples of stems), best first, with their weighted counts and the
    form each is most often printed in."""

    ranked: list[tuple[str, ...]]
    freq: dict[tuple[str, ...], float]
    shown: dict[tuple[str, ...], str]


def _score(body: Body) -> _Scores:
    sources = [(body.title or "", 4.0), (body.abstract or "", 2.0)]
    sources += [(s.text, 1.0) for s in body.sentences if not s.in_abstract]
    freq: Counter[tuple[str, ...]] = Counter()
    spread: defaultdict[tuple[str, ...], set[int]] = defaultdict(set)
    # (phrase, printed form) pairs in one flat counter: a nested counter a phrase cost a
    # dict and a joined string per occurrence, and this was the stage's hottest loop.
    printed: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    word_freq: Counter[str] = Counter()
    for index, (text, weight) in enumerate(sources):
        for run in _candidates(text):
            lowered = [token.lower() for token in run]
            stems = [stem(low) for low in lowered]
            shown = [_display(token) for token in run]
            generic = [low in _GENERIC for low in lowered]
            word_freq.update(stems)
            for size in range(1, len(run) + 1):
                for start in range(len(run) - size + 1):
                    end = start + size
                    if generic[start] or generic[end - 1]:
                        continue
                    key = tuple(stems[start:end])
                    freq[key] += weight
                    spread[key].add(index)
                    printed[key, tuple(shown[start:end])] += 1
    most_printed: dict[tuple[str, ...], tuple[int, tuple[str, ...]]] = {}
    for (key, form), times in printed.items():  # (first seen wins a tie, as most_common's)
        if key not in most_printed or times > most_printed[key][0]:
            most_printed[key] = (times, form)
    forms = {key: " ".join(form) for key, (_, form) in most_printed.items()}
    scores: dict[tuple[str, ...], float] = {}
    for key, value in freq.items():
        n = len(key)
        if len(spread[key]) < 2 or (n == 1 and value < 4):
            continue
        if any(len(part) < 3 and not part.isalpha() for part in key):
            continue
        if n > 1:
            cohesion = value / max(1.0, min(word_freq[part] for part in key))
            scores[key] = value * (1.0 + 0.8 * (n - 1)) * (0.5 + cohesion) / math.log2(2 + n)
        else:
            shown_word = forms[key]
            if shown_word.islower() and _ADJECTIVAL.search(shown_word) \
                    and not shown_word.endswith("ings"):
                continue
            # Coined names and acronyms (GraphWeaver, BERT) are topical even as single words.
            scores[key] = (0.6 if shown_word != shown_word.lower() else 0.3) * value
    ranked = sorted(scores, key=lambda k: scores[k], reverse=True)
    return _Scores(ranked, dict(freq), {key: forms[key] for key in ranked})


def _choose(scores: _Scores, count: int) -> list[str]:
    """The first `count` phrases of the ranking that neither repeat nor overlap one chosen."""
    chosen: list[tuple[str, ...]] = []
    for key in scores.ranked:
        inside = [other for other in chosen if len(other) == 1 and set(other) < set(key)]
        if inside and scores.freq[key] >= 0.4 * scores.freq[inside[0]]:
            # "PDZ domain" is the better phrase for a paper that also says "PDZ" alone.
            chosen[chosen.index(inside[0])] = key
            continue
        if any(_overlaps(key, other) for other in chosen):
            continue
        chosen.append(key)
        if len(chosen) >= count:
            break
    return [scores.shown[key] for key in chosen]


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One phrase inside the other, or sharing most of their words."""
    if set(a) <= set(b) or set(b) <= set(a):
        return True
    return len(set(a) & set(b)) / len(set(a) | set(b)) >= 0.5
