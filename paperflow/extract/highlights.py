"""Highlights and takeaways: exact quotes of contributions, results and limitations."""

from __future__ import annotations

import re
from functools import lru_cache

from paperflow.extract.quotes import locate_quote
from paperflow.extract.sentences import STOPWORDS, content_terms, read_body
from paperflow.extract.summary import NUMBER, RESULT_CUE, Scored, score_sentences
from paperflow.models import Highlight, HighlightType
from paperflow.pdf import ParsedDocument

_SUBJECT = r"\b(?:we|this (?:paper|work|study|article)|here,? we|our (?:work|paper|study))\b"
PATTERNS: dict[HighlightType, list[tuple[re.Pattern[str], float]]] = {
    "contribution": [
        (re.compile(_SUBJECT + r"[^.;]{0,30}?\b(?:propose|present|introduce|develop|design|"
                    r"release|contribute|describe a (?:new|novel))\w*", re.I), 1.0),
        (re.compile(r"\bour (?:main |key |primary )?contributions?\b", re.I), 1.0),
        (re.compile(r"\b(?:is|are) the first\b|\bnovel\b|\bfor the first time\b", re.I), 0.5),
    ],
    "result": [
        (re.compile(r"\b(?:outperform|surpass|exceed|beat)\w*", re.I), 0.9),
        (re.compile(r"\b(?:improv|achiev|reduc|increas|gain|boost|speed)\w*[^.]{0,80}?"
                    r"\d", re.I), 0.8),
        (re.compile(r"\bstate[- ]of[- ]the[- ]art\b|\bsignificantly\b|\bp\s?[<=]\s?0?\.\d", re.I),
         0.5),
    ],
    "method": [
        (re.compile(_SUBJECT + r"[^.;]{0,20}?\b(?:use|train|fine-tune|apply|employ|adopt|"
                    r"formulate|build|construct|collect|conduct|perform|leverage|combine|"
                    r"encode|compute|measure|sampl|recruit|analy[sz]e)\w*", re.I), 0.8),
        (re.compile(r"\bour (?:method|approach|model|framework|system|algorithm|pipeline)\b"
                    r"[^.]{0,40}?\b(?:consists|uses|relies|is based|builds|combines|works)", re.I),
         0.9),
    ],
    "claim": [
        (re.compile(_SUBJECT + r"[^.;]{0,20}?\b(?:show|demonstrate|find|found|observe|argue|"
                    r"conclude|confirm|establish)\w*\s+(?:that|how)\b", re.I), 0.9),
        (re.compile(r"\b(?:results|findings|experiments|analys[ie]s|data)\s+(?:clearly )?"
                    r"(?:show|suggest|indicate|demonstrate|reveal|confirm)\w*", re.I), 0.8),
        (re.compile(r"\bthis (?:suggests|indicates|shows|demonstrates|implies)\b", re.I), 0.5),
        (re.compile(r"\b(?:study|survey|analysis|interviews?|observations?)\s+"
                    r"(?:revealed|showed|found|identified|highlighted)\b", re.I), 0.8),
    ],
    "limitation": [
        (re.compile(r"\blimitations?\b|\bfuture work\b|\bdrawbacks?\b|\bshortcomings?\b|"
                    r"\bcaveats?\b", re.I), 1.0),
        (re.compile(r"\b(?:remains?|is still|are still) (?:unclear|open|unknown|challenging|"
                    r"an open)|\bleave\w* (?:\w+ ){0,3}(?:for|to) future\b", re.I), 0.8),
        (re.compile(r"\b(?:our|this|the proposed) (?:method|approach|model|system|study)\b"
                    r"[^.]{0,40}?\b(?:does not|do not|cannot|fails?|is limited|struggles)\b",
                    re.I), 0.9),
        (re.compile(r"\b(?:does not|cannot|fails? to|is limited to|restricted to)\b", re.I), 0.35),
    ],
    "definition": [
        (re.compile(r"\bwe (?:define|call|term|refer to|denote)\b|\b(?:is|are) defined as\b|"
                    r"\bwe use the term\b|\b(?:is|are) (?:called|termed|referred to as)\b", re.I),
         1.0),
        (re.compile(r"\brefers? to\b", re.I), 0.5),
    ],
}
_ORDER: tuple[HighlightType, ...] = (
    "contribution", "result", "method", "limitation", "claim", "definition",
)
_PHRASE_END = re.compile(
    r",|;|:|\.(?:\s|$)|\s(?:which|that|where|while|whereas|because|since|and then|so that|"
    r"in order to|thereby|such that|to|but)\s|\s\(",
)


def object_phrase(text: str, start: int, limit: int = 12) -> str:
    """The words after position `start` up to the end of the clause, at most `limit` words."""
    rest = text[start:].strip()
    cut = _PHRASE_END.search(rest)
    phrase = rest[: cut.start()] if cut else rest
    tokens = re.sub(r"\[[\d,\s–-]+\]|(?<=[a-z])\d+(?:[,–-]\d+)*$", "", phrase).split()[:limit]
    while tokens and (tokens[-1].lower().strip(".,") in STOPWORDS or len(tokens[-1]) < 2):
        tokens.pop()
    return " ".join(tokens).rstrip(".,;:")


@lru_cache(maxsize=4096)
def classify(text: str) -> dict[HighlightType, float]:
    """Strength of each highlight type's cues in a sentence (absent types left out)."""
    out: dict[HighlightType, float] = {}
    for kind, patterns in PATTERNS.items():
        hits = [weight for pattern, weight in patterns if pattern.search(text)]
        strength = max(hits, default=0.0)
        if kind == "result" and strength and not NUMBER.search(text):
            strength *= 0.6
        if kind == "limitation" and re.search(r"\b(?:notwithstanding|despite|although|while)\b"
                                              r"[^.]{0,30}(?:limitations?|caveats?)", text, re.I):
            strength = 0.0
        if strength:
            out[kind] = strength
    return out


def annotate(kind: HighlightType, text: str) -> str:
    """A short note on why the quote matters, from its type and its own words."""
    if kind == "contribution":
        match = PATTERNS["contribution"][0][0].search(text)
        if match:
            verb = re.search(r"(propose|present|introduce|develop|design|release|contribute|"
                             r"describe)\w*$", match.group(0), re.I)
            what = object_phrase(text, match.end())
            appositive = re.match(r",\s+((?:a|an|the)\s[^,;]+)", text[match.end() + len(what) + 1:])
            if what and len(what.split()) <= 2 and appositive:
                what = f"{what}, {object_phrase(appositive.group(1), 0, 10)}"
            if verb and what:
                return f"Contribution: {verb.group(1).lower()}s {what}"
        return "Contribution: states what the paper adds to the field"
    if kind == "result":
        numbers = NUMBER.findall(text)
        better = re.search(r"outperform|surpass|exceed|beat|improv|gain|boost|better|higher|"
                           r"faster|reduc", text, re.I)
        shown = f" ({', '.join(n.strip() for n in numbers[:2])})" if numbers else ""
        if better:
            return f"Result: reports a quantitative improvement{shown}"
        return f"Result: reports a measured outcome{shown}"
    if kind == "method":
        match = PATTERNS["method"][0][0].search(text) or PATTERNS["method"][1][0].search(text)
        what = object_phrase(text, match.end(), 10) if match else ""
        return f"Method: how the work is done — {match.group(0).split()[-1].lower()} {what}" if (
            match and what) else "Method: explains how the approach works"
    if kind == "claim":
        match = re.search(r"\b(?:that|how)\s", text)
        what = object_phrase(text, match.end(), 12) if match else ""
        return f"Claim: the authors conclude that {what}" if what else (
            "Claim: a conclusion the authors draw from their evidence")
    if kind == "limitation":
        if re.search(r"future", text, re.I):
            return "Limitation: an open problem the authors leave for future work"
        return "Limitation: a weakness or boundary of the work the authors acknowledge"
    match = re.search(r"\bwe (?:define|call|term|refer to|denote)\s+|\bwe use the term\s+", text,
                      re.I)
    term = object_phrase(text, match.end(), 8).split(" as ")[0] if match else ""
    if not term:
        before = re.search(r"([\w\- ]{3,60}?)\s+(?:is|are) (?:defined as|called|termed|referred)",
                           text)
        term = before.group(1).strip() if before else ""
    return f"Definition: fixes the meaning of “{term}”" if term else (
        "Definition: fixes the meaning of a key term")


def _too_close(a: Scored, chosen: list[tuple[Scored, HighlightType, int]]) -> bool:
    terms = set(content_terms(a.sentence.text))
    for other, _, _ in chosen:
        if other.sentence.index == a.sentence.index:
            return True
        theirs = set(content_terms(other.sentence.text))
        if terms and theirs and len(terms & theirs) / len(terms | theirs) > 0.45:
            return True
    return False


def extract_highlights(doc: ParsedDocument, count: int = 6) -> list[Highlight]:
    """Up to `count` verified quotes of diverse types, in paper order, each with a note."""
    if count <= 0:
        return []
    body = read_body(doc)
    scored = score_sentences(body)
    by_type: dict[HighlightType, list[tuple[float, Scored]]] = {kind: [] for kind in _ORDER}
    for item in scored:
        kinds = classify(item.sentence.text)
        for kind, strength in kinds.items():
            # The abstract restates the paper's key points; the body's version is preferred.
            value = strength + 0.6 * item.score - (0.15 if item.sentence.in_abstract else 0.0)
            if kind == "result" and not RESULT_CUE.search(item.sentence.text):
                value -= 0.3
            by_type[kind].append((value, item))
    for ranked in by_type.values():
        ranked.sort(key=lambda pair: pair[0], reverse=True)
    chosen: list[tuple[Scored, HighlightType, int]] = []
    rounds = 0
    while len(chosen) < count and rounds < count:
        rounds += 1
        before = len(chosen)
        for kind in _ORDER:
            if len(chosen) >= count:
                break
            ranked = by_type[kind]
            while ranked:
                value, item = ranked.pop(0)
                if value < 0.75 or _too_close(item, chosen):
                    continue
                page = locate_quote(item.sentence.text, body.page_texts)
                if page is not None:
                    chosen.append((item, kind, page))
                    break
        if len(chosen) == before:
            break
    chosen.sort(key=lambda entry: entry[0].sentence.index)
    return [
        Highlight(
            quote=item.sentence.text,
            annotation=annotate(kind, item.sentence.text),
            type=kind,
            page=page,
            verified=True,
        )
        for item, kind, page in chosen
    ]
