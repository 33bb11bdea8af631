"""Identifier patterns, defined once: DOI, arXiv id, e-mail, ORCID, URL and year.

Every extractor (header, references, sources) finds identifiers through these, so a fix to a
pattern (a DOI cut at a line end, an old-style arXiv id) reaches every field at once.
"""

from __future__ import annotations

import re

NEW_ARXIV = r"\d{4}\.\d{4,5}"
OLD_ARXIV = r"[a-z][a-z.-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_VERSION = r"(?:v\d+)?"

ARXIV_ID = re.compile(
    rf"^(?:arxiv:)?\s*(?P<id>(?:{NEW_ARXIV}|{OLD_ARXIV}){ARXIV_VERSION})$", re.IGNORECASE
)
"""A whole string that is an arXiv id ("2304.02623v2", "arXiv:hep-th/9901001")."""
ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/"
    rf"(?P<id>(?:{NEW_ARXIV}|{OLD_ARXIV}){ARXIV_VERSION})(?:\.pdf)?/?$",
    re.IGNORECASE,
)
ARXIV_STAMP = re.compile(
    rf"arXiv\s*:\s*({NEW_ARXIV}|[a-z-]+(?:\.[A-Z]{{2}})?/\d{{7}})(v\d+)?", re.IGNORECASE
)
"""The "arXiv:2304.02623v1 [cs.CL] 5 Apr 2023" stamp printed on preprints."""
ARXIV_IN_TEXT = re.compile(
    rf"(?:arxiv(?:\.org/(?:abs|pdf)/|\s*:\s*|\s+preprint\s+|,?\s*abs/|\s+abs/)\s*)"
    rf"({NEW_ARXIV}){ARXIV_VERSION}",
    re.IGNORECASE,
)
"""A new-style arXiv id cited in running text or a reference ("arXiv preprint 2101.00001")."""
ARXIV_OLD_IN_TEXT = re.compile(
    r"\b((?:astro-ph|hep-ph|hep-th|hep-ex|hep-lat|gr-qc|nucl-th|nucl-ex|quant-ph|cond-mat|"
    r"math-ph|physics|math|cs|nlin|q-bio)(?:\.[A-Za-z]{2})?/\d{7})(?:v\d+)?"
)

DOI = re.compile(r"(?<![\w.])(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
DOI_END = ".,;:)]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
EMAIL_GROUP = re.compile(r"[})]\s*@")
"""The "{alice, bob}@host" form that lists several local parts."""
ORCID = re.compile(r"\b(\d{4}-\d{4}-\d{4}-\d{3}[\dX])\b")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
"""A plausible publication year as a whole word."""


def find_doi(text: str) -> str | None:
    """The first DOI in `text`, mended where a line break cut it ("10.1073/pnas" + ".0805")."""
    # A line break inside a DOI: the next line goes on with a digit or a separator, or with
    # lower-case letters and digits ("10.1073/pnas" + ".0805913105", "10.1007/s00213-" + "016").
    mended = re.sub(r"(doi\.org/)\s+", r"\1", text, flags=re.IGNORECASE)
    mended = re.sub(r"(10\.\d{4,9}/[^\s\"<>]*[^\s\"<>,;])[ \t]*\n\s*"
                    r"(?=[.\-_/]?\d|[a-z]+\d)", r"\1", mended)
    match = DOI.search(mended)
    if not match:
        return None
    doi = match.group(1).rstrip(DOI_END)
    if doi.endswith(")") and doi.count("(") < doi.count(")"):
        doi = doi[:-1]
    return doi.rstrip(DOI_END) or None


def has_email(text: str) -> bool:
    return bool(EMAIL.search(text) or EMAIL_GROUP.search(text))


__all__ = [
    "ARXIV_ID",
    "ARXIV_IN_TEXT",
    "ARXIV_OLD_IN_TEXT",
    "ARXIV_STAMP",
    "ARXIV_URL",
    "DOI",
    "EMAIL",
    "ORCID",
    "URL",
    "YEAR",
    "find_doi",
    "has_email",
]
