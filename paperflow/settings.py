"""Settings from `PAPERFLOW_*` environment variables (and a `.env` file), with sensible defaults."""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ResponseFormatMode = Literal["auto", "json_schema", "json_object"]

NO_KEY = "sk-no-key-required"
"""Sent when a base URL is set without a key: local servers (llama.cpp, Ollama) need none."""


class LLMSettings(BaseSettings):
    """How to reach an OpenAI-compatible endpoint and how hard to use it."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERFLOW_LLM_", env_file=".env", extra="ignore", populate_by_name=True
    )

    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERFLOW_LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_BASE_URL"),
    )
    api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY"),
    )
    model: str = "gpt-4o-mini"
    vision_model: str | None = None
    """A model that accepts images; figures are captioned from their text when unset."""
    timeout_seconds: float = 120.0
    connect_timeout_seconds: float = 10.0
    max_concurrency: int = 4
    """Requests in flight at once from this process (a Prefect limit caps all workers)."""
    global_limit: int = 4
    """Slots of the Prefect global concurrency limit "llm", created with this when missing."""
    requests_per_minute: float = 60.0
    """0 disables the limiter."""
    max_retries: int = 4
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    context_window_tokens: int = 128_000
    max_output_tokens: int = 1024
    token_safety_factor: float = 1.2
    """Counts are made with o200k_base; other models' tokenizers may need more tokens."""
    response_format: ResponseFormatMode = "auto"
    temperature: float = 0.0
    price_input_per_million: float | None = None
    price_output_per_million: float | None = None
    vision_max_figures: int = Field(default=12, validation_alias=AliasChoices(
        "PAPERFLOW_LLM_VISION_MAX_FIGURES", "PAPERFLOW_LLM_MAX_FIGURES"))
    """Figures described by the model (of those extracted, `PAPERFLOW_MAX_FIGURES`)."""

    def fingerprint(self) -> str:
        """A short hash of everything here that changes what the model answers (not keys or
        limits); how many sentences, highlights and questions to ask for are the paper's
        settings (`paperflow.settings.Settings`), fingerprinted with them."""
        values = {
            name: str(getattr(self, name))
            for name in ("base_url", "model", "vision_model", "context_window_tokens",
                         "max_output_tokens", "temperature", "vision_max_figures")
        }
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.base_url)

    @property
    def effective_api_key(self) -> str:
        return self.api_key or NO_KEY


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperflow", appauthor=False))


class Settings(BaseSettings):
    """Runtime configuration; every field is `PAPERFLOW_<NAME>` in the environment.

    `llm` is the nested LLM part (`PAPERFLOW_LLM_<NAME>`, `paperflow.llm.settings`); each knob is
    defined once, in one of the two.
    """

    model_config = SettingsConfigDict(env_prefix="PAPERFLOW_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    arxiv_base_url: str = "https://arxiv.org"
    http_timeout_seconds: float = 60.0
    max_pdf_bytes: int = 200 * 1024 * 1024
    max_pages: int = 1500
    """Pages beyond this are not extracted; the result carries a warning saying so."""
    parse_cpu_seconds: float = Field(default=300.0, gt=0)
    """CPU time one sandboxed step of a paper (parse, OCR, figure crops, preview) may use in its
    child process (`paperflow.sandbox`)."""
    parse_memory_mb: int = Field(default=2048, ge=256)
    """Address space (MB) of each sandboxed step; a decompression bomb fails past it."""
    parse_wall_seconds: float = Field(default=600.0, gt=0)
    """Wall-clock time of each sandboxed step, for a reader that blocks without using CPU."""
    ocr: bool = True
    """Read pages with no usable text layer (scans) by OCR with Tesseract (`paperflow.ocr`)."""
    ocr_dpi: int = Field(default=300, ge=72, le=600)
    """Resolution scanned pages are rendered at for OCR."""
    ocr_language: str = "eng"
    """Tesseract language(s) of the scans, e.g. `eng` or `eng+deu` (each needs its data)."""
    max_figures: int = 60
    figure_dpi: int = 150
    preview_width: int = 1200
    cache_expiration_seconds: int = 3600
    flow_timeout_seconds: float = 3600.0
    """Time limit of one paper's flow run; the run fails as TimedOut past it."""
    summary_sentences: int = 5
    """Sentences of the summary (the heuristic one and the one asked of the LLM)."""
    highlights_count: int = 6
    """Highlights picked by the heuristics or asked of the LLM."""
    starter_questions_count: int = 5
    """Starter questions derived by the heuristics or asked of the LLM."""
    arxiv_api_url: str = "http://export.arxiv.org/api/query"
    arxiv_request_delay_seconds: float = 3.0
    """arXiv's API etiquette: at least this long between two requests."""
    arxiv_max_retries: int = 4
    arxiv_page_size: int = 100
    arxiv_retry_after_cap_seconds: float = 120.0
    arxiv_since_margin_hours: float = 72.0
    """Look this far behind the last clean run: arXiv lists papers hours after their date."""
    webhook_secret: str | None = None
    """HMAC-SHA256 key for webhook signatures (else the `paperflow-webhook-secret` Secret block)."""
    webhook_timeout_seconds: float = 10.0
    webhook_retries: int = 4
    webhook_backoff_seconds: float = 2.0
    allow_private_webhooks: bool = False
    """Allow webhooks to loopback, private and link-local addresses (local development, tests)."""
    allow_private_urls: bool = False
    """Allow paper URLs on loopback, private and link-local addresses (local development, tests)."""
    bulk_concurrency: int = 4
    """Papers a bulk or ingest run processes at once (threads inside one flow run)."""
    task_timeout_seconds: float = Field(default=900.0, gt=0)
    """Time limit of one attempt of a task without a specific limit below (a 500-page paper's
    extraction group on 2 cores takes a few minutes; the sandboxed parse stops at
    `parse_wall_seconds`)."""
    storage_timeout_seconds: float = Field(default=600.0, gt=0)
    """Time limit of one attempt of storing the original PDF (up to S3 included) or the page
    texts."""
    arxiv_search_timeout_seconds: float = Field(default=1800.0, gt=0)
    """Time limit of one attempt of the arXiv search (polite pages, `Retry-After` waits)."""
    llm_task_timeout_seconds: float = Field(default=900.0, gt=0)
    """Time limit of one attempt of an LLM enrichment task."""
    paper_timeout_seconds: float = Field(default=3600.0, gt=0)
    """Time limit of one paper inside a bulk or ingest run: past it the paper is a failed
    outcome ("timed out after N s") and the others go on."""
    flow_retries: int = Field(default=1, ge=0)
    """Retries of a failed `process-paper` or `bulk-process` run (a permanent error, such as a
    bad PDF, is not retried)."""
    flow_retry_delay_seconds: float = Field(default=10.0, ge=0)
    crash_reruns: int = Field(default=2, ge=0)
    """Re-runs the crash follow-up (`flows/crash_followup.py`) starts for one submitted
    `process-paper` deployment run whose runs keep crashing (process killed, OOM, worker gone);
    past them the paper's `paper.failed` webhook is final."""
    results_retention_days: float = Field(default=30.0, gt=0)
    """`paperflow gc` / the cleanup flow: persisted task results older than this go."""
    runs_retention_days: float = Field(default=90.0, gt=0)
    """`paperflow gc` / the cleanup flow: bulk-run summaries (`runs/<id>/`) older than this go."""

    s3_bucket: str | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME"))
    """Store assets in this S3 bucket (the local folder when unset)."""
    s3_endpoint_url: str | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"))
    """An S3-compatible endpoint (R2, MinIO, SeaweedFS); AWS itself when unset."""
    s3_prefix: str = ""
    """Keys go under this folder of the bucket (`<prefix>/papers/<sha256>/...`)."""
    s3_public_base_url: str | None = None
    """Asset URLs are `<base>/<key>` when set (a public bucket or CDN), else presigned."""
    s3_presign_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    s3_multipart_threshold_bytes: int = Field(default=64 * 1024 * 1024, ge=5 * 1024 * 1024)
    s3_connect_timeout_seconds: float = 5.0
    s3_read_timeout_seconds: float = 60.0
    s3_max_attempts: int = 3
    """Attempts per S3 request inside botocore; the storage tasks retry on top with backoff."""
    aws_access_key_id: str | None = Field(
        default=None, validation_alias=AliasChoices("PAPERFLOW_AWS_ACCESS_KEY_ID",
                                                    "AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PAPERFLOW_AWS_SECRET_ACCESS_KEY",
                                                    "AWS_SECRET_ACCESS_KEY"))
    aws_session_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PAPERFLOW_AWS_SESSION_TOKEN",
                                                    "AWS_SESSION_TOKEN"))
    aws_region: str | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERFLOW_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"))

    embeddings_backend: Literal["auto", "local", "openai"] = "auto"
    """Paper vectors from: `local` (WordLlama, shipped in its wheel), `openai` (the LLM
    endpoint's /v1/embeddings), `auto` (openai when an LLM endpoint is configured, else local)."""
    embeddings_model: str = "text-embedding-3-small"
    """The embedding model asked of the OpenAI-compatible endpoint."""
    embeddings_local_model: str = "l2_supercat"
    """The WordLlama configuration whose weights ship in the wheel (256 dimensions)."""
    embeddings_chunk_words: int = Field(default=200, ge=20, le=2000)
    """Body text is embedded in passages of this many words."""
    embeddings_max_chunks: int = Field(default=64, ge=1)
    """At most this many body passages per paper (evenly spread over a longer paper)."""
    embeddings_timeout_seconds: float = 300.0
    """Time limit of the embed task of one paper."""
    vectors_backend: Literal["auto", "local", "s3"] = "auto"
    """Where vectors live: `local` (`<data_dir>/vectors/`), `s3` (`vectors/` of the bucket),
    `auto` (s3 when a bucket is configured, else local)."""

    llm: LLMSettings = Field(default_factory=LLMSettings)
    """How to reach an OpenAI-compatible endpoint (`PAPERFLOW_LLM_*`; unset: heuristics only)."""

    @field_validator("s3_bucket", "s3_endpoint_url", "s3_public_base_url", "aws_access_key_id",
                     "aws_secret_access_key", "aws_session_token", "aws_region", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty variable (`PAPERFLOW_S3_BUCKET=`) means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    def fingerprint(self, *names: str) -> str:
        """A short hash of the named settings, for cache keys that must change when they do."""
        values = {name: str(getattr(self, name)) for name in sorted(names)}
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


_learned: dict[str, Any] = {}
_learned_llm: dict[str, Any] = {}
_learned_lock = threading.Lock()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process: the environment, then what a run learned (`learn`)."""
    with _learned_lock:
        settings = Settings(**_learned)
        if _learned_llm:
            settings.llm = settings.llm.model_copy(update=_learned_llm)
    return settings


def reload_settings() -> Settings:
    """Re-read the environment (tests and the CLI change it between runs)."""
    get_settings.cache_clear()
    return get_settings()


def learn(llm: dict[str, Any] | None = None, **values: Any) -> Settings:
    """Settings a run learned from the server (its blocks, its Secret blocks), never written to
    `os.environ`: they hold in this process across `reload_settings`, over the environment."""
    with _learned_lock:
        _learned.update(values)
        _learned_llm.update(llm or {})
    return reload_settings()


def forget_learned() -> Settings:
    """Drop what `learn` added (tests)."""
    with _learned_lock:
        _learned.clear()
        _learned_llm.clear()
    return reload_settings()
