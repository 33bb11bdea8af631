"""The arXiv API: queries, Atom parsing, polite paging, and what has been ingested already.

Etiquette (https://info.arxiv.org/help/api/tou.html): one request every 3 seconds, retry
429/503 after the `Retry-After` the server gives. An empty or malformed page is retried and then
reported as an error, never taken to mean "no new papers".
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from paperflow.errors import PermanentError, SourceError
from paperflow.models import Author
from paperflow.settings import Settings, get_settings
from paperflow.storage import Storage

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}

_GROUPS = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE "
          "NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA "
            "RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
               "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph "
               "soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MP PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
CATEGORIES = frozenset(
    {f"{group}.{sub}" for group, subs in _GROUPS.items() for sub in subs.split()}
    | {"astro-ph", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex",
       "nucl-th", "quant-ph"}
)

_ENTRY_ID = re.compile(
    r"arxiv\.org/abs/(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]+(?:\.[A-Z]{2})?/\d{7})v(?P<version>\d+)$"
)
_PAPER_ID = re.compile(
    r"^(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?$"
)
RETRIED_STATUSES = {429, 500, 502, 503, 504}


class ArxivParameterError(PermanentError):
    """The ingestion parameters are wrong (unknown category, empty list, bad id or date)."""


class ArxivQueryError(PermanentError):
    """arXiv rejected the query (its error feed)."""


class ArxivUnavailable(SourceError):
    """arXiv kept answering 429/5xx, or kept sending empty or malformed pages."""


class ArxivFeedError(SourceError):
    """The response is not an arXiv Atom feed (possibly transient: truncated, proxy page)."""


@dataclass(frozen=True)
class ArxivEntry:
    """One paper version as the arXiv API describes it."""

    arxiv_id: str
    version: int
    title: str
    summary: str
    authors: list[str]
    published: datetime
    updated: datetime
    primary_category: str | None
    categories: list[str]
    pdf_url: str | None
    doi: str | None = None
    journal_ref: str | None = None

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    def overrides(self) -> dict[str, Any]:
        """arXiv's own metadata, to replace what extraction found for these fields."""
        fields: dict[str, Any] = {
            "title": self.title,
            "authors": [Author(name=name) for name in self.authors],
            "abstract": self.summary,
            "publish_date": self.published.date(),
            "year": self.published.year,
            "arxiv_id": self.arxiv_id,
            "categories": self.categories,
        }
        if self.doi:
            fields["doi"] = self.doi
        return fields


@dataclass
class Feed:
    """One page of results."""

    total_results: int
    start_index: int
    items_per_page: int
    entries: list[ArxivEntry]


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _when(text: str | None, what: str) -> datetime:
    try:
        return datetime.fromisoformat(_clean(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ArxivFeedError(f"Malformed {what} date {text!r} in the arXiv feed.") from exc


def parse_feed(body: bytes) -> Feed:
    """Parse an arXiv API Atom response; raise on error feeds and malformed documents."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ArxivFeedError(f"The arXiv response is not valid XML: {exc}.") from exc
    if root.tag != f"{{{NS['atom']}}}feed":
        raise ArxivFeedError(f"The arXiv response is not an Atom feed (root {root.tag!r}).")

    def number(name: str) -> int:
        found = root.find(f"opensearch:{name}", NS)
        if found is None or not _clean(found.text).isdigit():
            raise ArxivFeedError(f"The arXiv feed has no valid opensearch:{name}.")
        return int(_clean(found.text))

    entries = []
    for node in root.findall("atom:entry", NS):
        entry_id = _clean(node.findtext("atom:id", None, NS))
        if "/api/errors" in entry_id:
            message = _clean(node.findtext("atom:summary", None, NS)) or entry_id
            raise ArxivQueryError(f"arXiv rejected the query: {message}")
        entries.append(_entry(node, entry_id))
    return Feed(number("totalResults"), number("startIndex"), number("itemsPerPage"), entries)


def _entry(node: ET.Element, entry_id: str) -> ArxivEntry:
    match = _ENTRY_ID.search(entry_id)
    if not match:
        raise ArxivFeedError(f"Unrecognised arXiv entry id {entry_id!r}.")
    title = _clean(node.findtext("atom:title", None, NS))
    if not title:
        raise ArxivFeedError(f"arXiv entry {entry_id} has no title.")
    primary = node.find("arxiv:primary_category", NS)
    pdf_url = None
    for link in node.findall("atom:link", NS):
        if link.get("title") == "pdf":
            pdf_url = link.get("href")
    return ArxivEntry(
        arxiv_id=match.group("id"),
        version=int(match.group("version")),
        title=title,
        summary=_clean(node.findtext("atom:summary", None, NS)),
        authors=[_clean(a.findtext("atom:name", None, NS))
                 for a in node.findall("atom:author", NS)
                 if _clean(a.findtext("atom:name", None, NS))],
        published=_when(node.findtext("atom:published", None, NS), "published"),
        updated=_when(node.findtext("atom:updated", None, NS), "updated"),
        primary_category=primary.get("term") if primary is not None else None,
        categories=[c.get("term", "") for c in node.findall("atom:category", NS)
                    if c.get("term")],
        pdf_url=pdf_url,
        doi=_clean(node.findtext("arxiv:doi", None, NS)) or None,
        journal_ref=_clean(node.findtext("arxiv:journal_ref", None, NS)) or None,
    )


def build_search_query(categories: Iterable[str] | None = None, query: str | None = None) -> str:
    """`(cat:a OR cat:b) AND (query)`, after checking every category exists."""
    cats = None if categories is None else [c.strip() for c in categories]
    if cats is not None and not cats:
        raise ArxivParameterError("categories is an empty list: name at least one arXiv "
                                  "category (e.g. cs.CL) or leave it out and give a query.")
    query = (query or "").strip()
    if not cats and not query:
        raise ArxivParameterError("Give arXiv categories (e.g. ['cs.CL']), a search query, "
                                  "or both.")
    parts = []
    if cats:
        unknown = sorted({c for c in cats if c not in CATEGORIES})
        if unknown:
            raise ArxivParameterError(
                f"Unknown arXiv categor{'y' if len(unknown) == 1 else 'ies'}: "
                f"{', '.join(map(repr, unknown))}. See https://arxiv.org/category_taxonomy "
                "(e.g. cs.CL, math.PR, hep-th).")
        parts.append("(" + " OR ".join(f"cat:{c}" for c in dict.fromkeys(cats)) + ")")
    if query:
        parts.append(f"({query})")
    return " AND ".join(parts)


def parse_paper_id(text: str) -> tuple[str, int | None]:
    """`2304.02623v2` -> (`2304.02623`, 2); raise on anything that is not an arXiv id."""
    match = _PAPER_ID.match(text.strip().removeprefix("arXiv:").removeprefix("arxiv:"))
    if not match:
        raise ArxivParameterError(f"Malformed arXiv id {text!r}: expected e.g. 2304.02623, "
                                  "2304.02623v2 or hep-th/9901001.")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def parse_since(value: str | date | datetime | None) -> datetime | None:
    """A UTC datetime from an ISO date/datetime; None for None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ArxivParameterError(
                f"since={value!r} is not an ISO date or datetime (e.g. 2024-05-01), "
                "'last-success' or 'all'.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry_after_seconds(header: str | None, default: float, cap: float) -> float:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), capped."""
    if header:
        text = header.strip()
        if text.isdigit():
            return min(float(text), cap)
        try:
            moment = parsedate_to_datetime(text)
            return max(0.0, min((moment - datetime.now(UTC)).total_seconds(), cap))
        except (TypeError, ValueError):
            pass
    return min(default, cap)


class ArxivClient:
    """Rate-limited, retrying access to the arXiv API (one client per run)."""

    def __init__(self, settings: Settings | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or get_settings()
        self.sleep = sleep
        self.requests = 0
        self._last = 0.0
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=self.settings.http_timeout_seconds, headers={
            "User-Agent": "paperflow/0.1 (+https://github.com/paperflow)"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArxivClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _polite_get(self, params: dict[str, Any]) -> httpx.Response:
        with self._lock:
            wait = self._last + self.settings.arxiv_request_delay_seconds - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            try:
                return self._http.get(self.settings.arxiv_api_url, params=params)
            finally:
                self._last = time.monotonic()
                self.requests += 1

    def page(self, search_query: str, start: int, max_results: int) -> Feed:
        """One page, newest update first; retried on 429/5xx, empty and malformed pages."""
        params = {"search_query": search_query, "start": start, "max_results": max_results,
                  "sortBy": "lastUpdatedDate", "sortOrder": "descending"}
        attempts = self.settings.arxiv_max_retries + 1
        problem = ""
        retry_after: float | None = None
        for attempt in range(attempts):
            if attempt:
                backoff = self.settings.arxiv_request_delay_seconds * 2 ** attempt
                self.sleep(retry_after if retry_after is not None else backoff)
                retry_after = None
            try:
                response = self._polite_get(params)
            except httpx.HTTPError as exc:
                problem = f"request failed: {exc}"
                continue
            if response.status_code in RETRIED_STATUSES:
                problem = f"HTTP {response.status_code}"
                retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"),
                    self.settings.arxiv_request_delay_seconds * 2 ** (attempt + 1),
                    self.settings.arxiv_retry_after_cap_seconds)
                continue
            if response.status_code >= 400:
                raise ArxivQueryError(f"arXiv answered HTTP {response.status_code} to "
                                      f"{response.url}: {response.text[:200]!r}")
            try:
                feed = parse_feed(response.content)
            except ArxivFeedError as exc:
                problem = str(exc)
                continue
            if not feed.entries and start < feed.total_results:
                problem = (f"an empty page at start={start} although arXiv reports "
                           f"{feed.total_results} results")
                continue
            return feed
        raise ArxivUnavailable(f"arXiv API {self.settings.arxiv_api_url}: {problem} "
                               f"(after {attempts} attempts); nothing was treated as new.")


@dataclass
class Scan:
    """What a paged search found."""

    new: list[ArxivEntry] = field(default_factory=list)
    examined: int = 0
    total_results: int = 0
    pages: int = 0
    stopped: str = ""


def scan_new(client: ArxivClient, search_query: str, *, max_results: int,
             seen: set[str], since: datetime | None = None, page_size: int = 100) -> Scan:
    """Page through results, newest first, until `max_results`, `since` or a known page."""
    if max_results < 1:
        raise ArxivParameterError(f"max_results must be at least 1, not {max_results}.")
    scan = Scan()
    start = 0
    while start < max_results:
        feed = client.page(search_query, start, min(page_size, max_results - start))
        scan.pages += 1
        scan.total_results = feed.total_results
        if not feed.entries:
            scan.stopped = "end of results"
            return scan
        fresh = 0
        for entry in feed.entries:
            if since is not None and entry.updated < since:
                scan.stopped = f"reached papers updated before {since.isoformat()}"
                return scan
            scan.examined += 1
            if entry.versioned_id not in seen:
                fresh += 1
                scan.new.append(entry)
        if not fresh:
            scan.stopped = "a whole page was already ingested"
            return scan
        start += len(feed.entries)
        if start >= feed.total_results:
            scan.stopped = "end of results"
            return scan
    scan.stopped = f"max_results={max_results} reached"
    return scan


def state_key(search_query: str) -> str:
    digest = hashlib.sha256(search_query.encode()).hexdigest()[:16]
    return f"state/arxiv/{digest}.json"


@dataclass
class IngestState:
    """Durable memory of one query: versions ingested and when the last clean run started."""

    search_query: str
    seen: dict[str, list[int]] = field(default_factory=dict)
    last_success: str | None = None

    def is_seen(self, versioned_id: str) -> bool:
        arxiv_id, version = parse_paper_id(versioned_id)
        return version in self.seen.get(arxiv_id, [])

    def seen_ids(self) -> set[str]:
        return {f"{i}v{v}" for i, versions in self.seen.items() for v in versions}

    def mark(self, entry: ArxivEntry) -> None:
        versions = self.seen.setdefault(entry.arxiv_id, [])
        if entry.version not in versions:
            versions.append(entry.version)
            versions.sort()

    @classmethod
    def load(cls, storage: Storage, search_query: str) -> IngestState:
        key = state_key(search_query)
        if not storage.exists(key):
            return cls(search_query)
        data = json.loads(storage.get(key))
        return cls(search_query, data.get("seen", {}), data.get("last_success"))

    def save(self, storage: Storage) -> None:
        body = json.dumps({"search_query": self.search_query, "seen": self.seen,
                           "last_success": self.last_success}, indent=1, sort_keys=True)
        storage.put(state_key(self.search_query), body.encode(), "application/json")
