"""Settings from `PAPERFLOW_*` environment variables (and a `.env` file), with sensible defaults."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperflow", appauthor=False))


class Settings(BaseSettings):
    """Runtime configuration; every field is `PAPERFLOW_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PAPERFLOW_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    arxiv_base_url: str = "https://arxiv.org"
    http_timeout_seconds: float = 60.0
    max_pdf_bytes: int = 200 * 1024 * 1024
    max_pages: int = 1500
    """Pages beyond this are not extracted; the result carries a warning saying so."""
    max_figures: int = 60
    figure_dpi: int = 150
    preview_width: int = 1200
    cache_expiration_seconds: int = 3600
    flow_timeout_seconds: float = 3600.0
    """Time limit of one paper's flow run; the run fails as TimedOut past it."""
    summary_sentences: int = 5
    highlights_count: int = 6
    starter_questions_count: int = 5

    def fingerprint(self, *names: str) -> str:
        """A short hash of the named settings, for cache keys that must change when they do."""
        values = {name: str(getattr(self, name)) for name in sorted(names)}
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    """Re-read the environment (tests and the CLI change it between runs)."""
    get_settings.cache_clear()
    return get_settings()
