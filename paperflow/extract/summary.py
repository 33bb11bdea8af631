"""Extractive summary: the paper's most central sentences, each cited as a quote with its page.

Sentences of the running text (abstract excluded: it is shown on its own) are scored by TF-IDF
similarity to the whole paper and to its abstract and title, plus cue phrases that mark
contributions, results and conclusions; a diverse set is picked greedily (maximal marginal
relevance) and printed in paper order, each followed by its citation marker.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from paperflow.extract.quotes import locate_quote
from paperflow.extract.sentences import (
    Body,
    Sentence,
    content_terms,
    quality,
    read_body,
    term_weights,
)
from paperflow.models import SummaryCitation
from paperflow.pdf import ParsedDocument

Vector = dict[str, float]

CONTRIBUTION_CUE = re.compile(
    r"\b(?:we|this (?:paper|work|study|article|thesis)|our (?:work|paper|study|approach|method))\b"
    r"[^.;]{0,40}?\b(?:propose|present|introduce|develop|design|describe|release|contribute|"
    r"report|provide|demonstrate|show|find|found|establish|identify|offer)\w*",
    re.IGNORECASE,
)
RESULT_CUE = re.compile(
    r"\b(?:outperform|improv|achiev|surpass|exceed|gain|reduc|increas|decreas|boost|beat|"
    r"state[- ]of[- ]the[- ]art|significant|accura|better|faster|higher|lower)\w*",
    re.IGNORECASE,
)
CONCLUSION_CUE = re.compile(
    r"\b(?:in (?:summary|conclusion)|to (?:summari[sz]e|conclude)|overall|taken together|"
    r"our (?:results|findings|experiments) (?:show|suggest|indicate|demonstrate|confirm))\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"\d+(?:\.\d+)?\s?(?:%|percent|points?|×|x\b|-fold|fold)|\b\d+\.\d+\b")
_CITATION = re.compile(r"\[\d+(?:[,–-]\s*\d+)*\]|\([A-Z][^()]*?(?:et al\.|\d{4})[^()]*\)")
_ANAPHORA = re.compile(
    r"^(?:this|these|those|it|they|such|then|thus|hence|however|moreover|furthermore|also|"
    r"here|there|finally|similarly|in addition|in contrast|on the other hand|as a result)\b",
    re.IGNORECASE,
)
_WEAK_SECTIONS = re.compile(
    r"related work|prior work|previous work|literature|background|preliminar|notation|"
    r"appendix|implementation details|hyperparameter|acknowledg",
    re.IGNORECASE,
)
_STRONG_SECTIONS = re.compile(r"conclu|summary|discussion|introduction|contribution", re.I)


@dataclass(slots=True)
class Scored:
    """A candidate sentence with its TF-IDF vector and centrality score."""

    sentence: Sentence
    vector: Vector
    score: float


def _vector(terms: list[str], idf: dict[str, float]) -> Vector:
    counts = Counter(terms)
    vec = {t: (1 + math.log(c)) * idf.get(t, 1.0) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def score_sentences(body: Body, abstract: str | None = None) -> list[Scored]:
    """Every readable sentence with a centrality score (similarity to paper, abstract, title)."""
    key = ("scored", abstract)
    if key not in body.cache:
        body.cache[key] = _score_sentences(body, abstract)
    return body.cache[key]  # type: ignore[return-value]


def _score_sentences(body: Body, abstract: str | None) -> list[Scored]:
    terms = [content_terms(s.text) for s in body.sentences]
    idf = term_weights(terms)
    candidates = [
        (s, t)
        for s, t in zip(body.sentences, terms, strict=True)
        if len(t) >= 4 and quality(s.text)
    ]
    if not candidates:
        return []
    vectors = [_vector(t, idf) for _, t in candidates]
    centroid: Vector = {}
    for vec in vectors:
        for term, value in vec.items():
            centroid[term] = centroid.get(term, 0.0) + value
    norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    centroid = {t: v / norm for t, v in centroid.items()}
    abstract_text = abstract or body.abstract or ""
    guide = _vector(content_terms(abstract_text), idf) if abstract_text else {}
    title = _vector(content_terms(body.title or ""), idf) if body.title else {}
    central = [cosine(v, centroid) for v in vectors]
    near_abstract = [cosine(v, guide) for v in vectors] if guide else [0.0] * len(vectors)
    near_title = [cosine(v, title) for v in vectors] if title else [0.0] * len(vectors)
    top_c = max(central) or 1.0
    top_a = max(near_abstract) or 1.0
    top_t = max(near_title) or 1.0
    out: list[Scored] = []
    for (sentence, _), vec, c, a, t in zip(
        candidates, vectors, central, near_abstract, near_title, strict=True
    ):
        score = 0.4 * c / top_c + (0.4 * a / top_a if guide else 0.25 * c / top_c)
        score += 0.15 * t / top_t + _cue_bonus(sentence)
        out.append(Scored(sentence, vec, score))
    return out


def _cue_bonus(sentence: Sentence) -> float:
    """Rhetorical cues: contributions and findings up, digressions and dangling references down."""
    text = sentence.text
    bonus = 0.0
    if CONTRIBUTION_CUE.search(text):
        bonus += 0.25
    if RESULT_CUE.search(text):
        bonus += 0.12 if NUMBER.search(text) else 0.06
    if CONCLUSION_CUE.search(text):
        bonus += 0.12
    if _STRONG_SECTIONS.search(sentence.section):
        bonus += 0.06
    if _WEAK_SECTIONS.search(sentence.section):
        bonus -= 0.25
    if _ANAPHORA.match(text):
        bonus -= 0.12
    citations = len(_CITATION.findall(text))
    bonus -= 0.08 * min(citations, 3)
    if re.search(r"\b(?:Table|Fig\.|Figure|Eq\.|Equation|Section|Sec\.|§)\s*\d", text):
        bonus -= 0.06
    n = len(text.split())
    if n < 12 or n > 45:
        bonus -= 0.08
    return bonus


def select(
    scored: list[Scored],
    count: int,
    page_texts: list[str],
    diversity: float = 0.7,
    per_section: int = 2,
) -> list[tuple[Scored, int]]:
    """Greedy maximal-marginal-relevance choice of verified sentences, with their pages."""
    pool = sorted(scored, key=lambda s: s.score, reverse=True)[: max(60, count * 10)]
    chosen: list[tuple[Scored, int]] = []
    sections: Counter[str] = Counter()
    while pool and len(chosen) < count:
        best, best_value = None, -math.inf
        for item in pool:
            redundancy = max((cosine(item.vector, c.vector) for c, _ in chosen), default=0.0)
            value = item.score - diversity * redundancy
            if sections[item.sentence.section] >= per_section:
                value -= 0.3
            if value > best_value:
                best, best_value = item, value
        assert best is not None
        pool.remove(best)
        page = locate_quote(best.sentence.text, page_texts)
        if page is None:
            continue
        chosen.append((best, page))
        sections[best.sentence.section] += 1
    return chosen


def extract_summary(
    doc: ParsedDocument, abstract: str | None, sentences: int = 5
) -> tuple[str | None, list[SummaryCitation]]:
    """The `sentences` most central sentences in paper order, with inline markers and quotes."""
    if sentences <= 0:
        return None, []
    body = read_body(doc)
    scored = [s for s in score_sentences(body, abstract) if not s.sentence.in_abstract]
    if abstract:
        folded = re.sub(r"\W+", "", abstract.casefold())
        scored = [s for s in scored if re.sub(r"\W+", "", s.sentence.text.casefold()) not in folded]
    picked = select(scored, sentences, body.page_texts)
    if not picked:
        return None, []
    picked.sort(key=lambda item: item[0].sentence.index)
    parts: list[str] = []
    citations: list[SummaryCitation] = []
    for marker, (item, page) in enumerate(picked, start=1):
        parts.append(f"{item.sentence.text} [{marker}]")
        citations.append(
            SummaryCitation(marker=marker, quote=item.sentence.text, page=page, verified=True)
        )
    return " ".join(parts), citations
