"""LLM settings from `PAPERFLOW_LLM_*` variables, honouring the SDK's own `OPENAI_*` names too."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
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
    summary_sentences: int = 5
    highlights_count: int = 6
    starter_questions_count: int = 5
    max_figures: int = 12

    def fingerprint(self) -> str:
        """A short hash of everything that changes what the model answers (not keys or limits)."""
        values = {
            name: str(getattr(self, name))
            for name in ("base_url", "model", "vision_model", "context_window_tokens",
                         "max_output_tokens", "temperature", "summary_sentences",
                         "highlights_count", "starter_questions_count", "max_figures")
        }
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.base_url)

    @property
    def effective_api_key(self) -> str:
        return self.api_key or NO_KEY


@lru_cache(maxsize=1)
def get_llm_settings() -> LLMSettings:
    return LLMSettings()


def reload_llm_settings() -> LLMSettings:
    """Re-read the environment (tests and the CLI change it between runs)."""
    get_llm_settings.cache_clear()
    return get_llm_settings()


def llm_enabled(settings: LLMSettings | None = None) -> bool:
    """True when a key or a base URL is configured; otherwise paperflow uses heuristics only."""
    return (settings or get_llm_settings()).enabled
