"""The versioned result schema: what paperflow extracts from one paper."""

from __future__ import annotations

import json
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.3.0"

Provenance = Literal["pdf", "llm", "arxiv"]
BBox = tuple[float, float, float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Author(_Model):
    """One author as printed, with indices into `PaperMetadataExtraction.affiliations`."""

    name: str
    affiliation_indices: list[int] = Field(default_factory=list)
    email: str | None = None


class SummaryCitation(_Model):
    """A quote from the paper backing the summary marker `[marker]`."""

    marker: int
    quote: str
    page: int | None = None
    verified: bool = False


class Reference(_Model):
    """One entry of the paper's reference list: the raw text and what could be parsed from it."""

    raw: str
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None


HighlightType = Literal["contribution", "method", "result", "claim", "limitation", "definition"]


class Highlight(_Model):
    """An exact quote from the paper worth reading, with why it matters."""

    quote: str
    annotation: str
    type: HighlightType
    page: int | None = None
    verified: bool = False


class Asset(_Model):
    """A stored file: storage key, URI and, where the store gives one, an HTTP(S) URL."""

    key: str
    uri: str
    url: str | None = None
    content_type: str
    size: int


class Figure(_Model):
    """A numbered figure (or an unlabelled image) with its printed caption."""

    label: str | None = None
    number: int | None = None
    page: int
    bbox: BBox
    kind: Literal["raster", "vector", "region"]
    width: int
    height: int
    caption: str | None = None
    caption_source: Literal["pdf", "llm", "none"] = "none"
    description: str | None = None
    """What the figure shows, written by the LLM (from the image or the caption and its text)."""
    asset: Asset | None = None


class Thumbnail(_Model):
    width: int
    height: int
    asset: Asset | None = None


class Preview(_Model):
    """First-page preview (WebP), thumbnails at 150/300/600 px wide and a blurhash placeholder."""

    width: int
    height: int
    blurhash: str
    asset: Asset | None = None
    thumbnails: dict[str, Thumbnail] = Field(default_factory=dict)


class TaskTiming(_Model):
    task: str
    seconds: float
    started_at: float | None = None
    cached: bool = False


class LLMCall(_Model):
    """One request to the LLM: what it was for, what it cost, how it went."""

    group: str
    model: str
    prompt_version: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    """Time of the call's requests, retries and backoff, not of waiting for a free slot."""
    attempts: int = 1
    repaired: bool = False
    response_format: str = "json_schema"
    truncated_input: bool = False
    cached: bool = False
    """Answered from the cache in this run: listed, but not counted in the paper's totals."""
    error: str | None = None


class Disagreement(_Model):
    """A field where the heuristic and the LLM differ, and which value was kept and why."""

    field: str
    pdf: str | None = None
    llm: str | None = None
    chosen: Provenance
    reason: str


class LLMReport(_Model):
    """The LLM phase of one paper: calls, tokens, estimated cost, what verification rejected."""

    model: str = ""
    vision_model: str | None = None
    calls: list[LLMCall] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    """Wall time of the whole LLM phase (calls run concurrently)."""
    quotes_checked: int = 0
    quotes_rejected: int = 0
    rejected_quotes: list[str] = Field(default_factory=list)
    disagreements: list[Disagreement] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    context_window_tokens: int | None = None
    """The chat model's context window that prompts were fitted to."""
    context_window_source: str | None = None
    """Where that window came from: "setting", "server" (it said so) or "refusal" (it refused)."""


class PaperMetadataExtraction(_Model):
    """Everything paperflow knows about one paper."""

    schema_version: str = SCHEMA_VERSION
    sha256: str
    size_bytes: int
    page_count: int
    source: str | None = None

    title: str | None = None
    authors: list[Author] = Field(default_factory=list)
    affiliations: list[str] = Field(default_factory=list)
    abstract: str | None = None
    keywords: list[str] = Field(default_factory=list)
    keywords_printed: bool = False
    publish_date: date | None = None
    year: int | None = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    categories: list[str] = Field(default_factory=list)
    """Subject categories (arXiv's, for papers ingested from arXiv)."""
    license: str | None = None

    summary: str | None = None
    summary_citations: list[SummaryCitation] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    starter_questions: list[str] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    preview: Preview | None = None

    assets: dict[str, Asset] = Field(default_factory=dict)
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    timings: list[TaskTiming] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    llm: LLMReport | None = None


def json_schema() -> dict:
    """JSON Schema of `PaperMetadataExtraction`, for consumers of the stored metadata.json."""
    schema = PaperMetadataExtraction.model_json_schema()
    schema["$id"] = f"https://paperflow.dev/schema/paper-metadata/{SCHEMA_VERSION}.json"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True)
