"""Starter questions for discussing a paper, built from its own contributions."""

from __future__ import annotations

import re

from paperflow.extract.highlights import PATTERNS, classify, object_phrase
from paperflow.extract.keyphrases import key_phrases
from paperflow.extract.sentences import STOPWORDS, read_body
from paperflow.extract.summary import score_sentences
from paperflow.pdf import ParsedDocument

_GENERIC_HEADINGS = re.compile(
    r"^(?:abstract|introduction|background|related works?|conclusions?|discussion|results?|"
    r"methods?|materials and methods|experiments?|evaluation|summary|overview|analysis|"
    r"appendix|setup|experimental setup|implementation|datasets?|baselines?|future work|"
    r"limitations?|acknowledge?ments?|references|model|approach|method|preliminaries|"
    r"notation|motivation|data|training|inference|case stud(?:y|ies))\b",
    re.IGNORECASE,
)


def _name(title: str | None) -> str | None:
    """The system or tool the title names before a colon ('SPECTER: ...'), if any."""
    if not title:
        return None
    head = title.split(":", 1)[0].strip()
    if ":" in title and 1 <= len(head.split()) <= 3 and len(head) <= 30:
        return head
    return None


def _clause(text: str) -> str:
    """A sentence turned into an embeddable clause: lead-ins, citations and full stop dropped."""
    text = re.sub(r"\s*\[[\d,\s–-]+\]|\s*\([^()]*(?:et al\.|\d{4})[^()]*\)", "", text)
    text = re.sub(r"(?<=[a-z])\d+(?:[,–-]\d+)*(?=[\s.,;])", "", text)
    text = re.sub(
        r"^[^.;]{0,50}?\b(?:we|our (?:results|findings|experiments|study|studies|analysis)|"
        r"(?:the|these) (?:results|findings|data))\s+(?:also\s+|clearly\s+|further\s+|have\s+)?"
        r"(?:show|find|found|demonstrate|observe|confirm|conclude|suggest|indicate|reveal)\w*"
        r"\s+that\s+",
        "",
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"^(?:however|moreover|overall|finally|thus|therefore|importantly),?\s+", "",
                  text, flags=re.IGNORECASE)
    text = text.strip().rstrip(".!?")
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and not any(c.isupper() for c in first[1:]) and first.lower() in (
        STOPWORDS | {"our", "all", "both", "each", "most"}
    ):
        text = text[0].lower() + text[1:]
    return text


def _fits(text: str, low: int = 4, high: int = 24) -> bool:
    return low <= len(text.split()) <= high and "(" not in text


def starter_questions(doc: ParsedDocument, title: str | None, count: int = 5) -> list[str]:
    """Up to `count` discussion questions naming the paper's own methods, results and limits."""
    if count <= 0:
        return []
    body = read_body(doc)
    title = title or body.title
    name = _name(title)
    scored = sorted(score_sentences(body), key=lambda s: s.score, reverse=True)
    best: dict[str, list[str]] = {}
    for item in scored:
        for kind in classify(item.sentence.text):
            best.setdefault(kind, []).append(item.sentence.text)
    phrases = key_phrases(doc, 6)
    subject = name or (phrases[0] if phrases else "the proposed approach")
    out: list[str] = []

    def add(question: str) -> None:
        question = re.sub(r"\s+", " ", question).strip()
        key = re.sub(r"\W+", " ", question.lower())
        if question and all(re.sub(r"\W+", " ", q.lower()) != key for q in out):
            out.append(question)

    for text in best.get("contribution", [])[:3]:
        match = PATTERNS["contribution"][0][0].search(text)
        what = object_phrase(text, match.end()) if match else ""
        if what and 2 <= len(what.split()) < 12 and not re.match(r"the results\b", what, re.I):
            what = re.sub(r"^(?:a|an)\s+", "the ", _lower_first(what))
            head = re.split(r"\s(?:of|for|in|on|into|to|with|named|called|that|from|by)\s",
                            what)[0].split()[-1]
            verb = "do" if head.endswith("s") and not head.endswith("ss") else "does"
            add(f"How {verb} {what} work, and what sets it apart from earlier approaches?")
            break
    for text in best.get("method", [])[:4]:
        match = PATTERNS["method"][0][0].search(text)
        what = object_phrase(text, match.end(), 10) if match else ""
        verb = match.group(0).split()[-1].lower() if match else ""
        base = verb and not re.search(r"(?:ed|s)$", verb) and not re.match(
            r"\s*(?:for|of|in|on|with|to|and|is|are)\b", text[match.end():] if match else "")
        what = re.sub(r"\bour\b", "their", what)
        if what and 2 <= len(what.split()) < 10 and base:
            add(f"Why do the authors {verb} {_lower_first(what)}, and what would change "
                "without this step?")
            break
    for text in best.get("claim", [])[:4] + best.get("result", [])[:4]:
        clause = _clause(text)
        if _fits(clause, 5, 26):
            add(f"What evidence supports the claim that {clause}?")
            break
    where = name or "this study"
    for heading in _method_headings(body.headings)[:1]:
        add(f"What role does “{heading}” play in {where}?")
    topic = name or f"this work on {subject}"
    add(f"What are the limitations of {topic}, and how might future work address them?"
        if best.get("limitation") else
        f"Under what conditions might the conclusions of {topic} not hold?")
    multi = [p for p in phrases if " " in p and p.lower() != subject.lower()]
    for phrase in multi[:2]:
        if len(out) >= count + 2:
            break
        add(f"How would the findings on {phrase} carry over to other settings or data?")
    if title:
        add(f"What problem does “{title.strip().rstrip('.')}” set out to solve, and why does it "
            "matter?")
    return out[:count]


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and not any(c.isupper() for c in first[1:]) and len(first) > 1:
        return text[0].lower() + text[1:]
    return text


def _method_headings(headings: list[tuple[int, str]]) -> list[str]:
    """Specific section headings (not 'Introduction', 'Results'): the paper's own components."""
    out: list[str] = []
    for _, text in headings:
        text = text.strip().rstrip(".:")
        if _GENERIC_HEADINGS.match(text) or not 2 <= len(text.split()) <= 7:
            continue
        if not re.search(r"[a-z]{3}", text) or re.search(r"\d{2,}|[=@]", text):
            continue
        out.append(text)
    return out
