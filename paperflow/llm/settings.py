"""The LLM part of the settings (`PAPERFLOW_LLM_*`, honouring the SDK's own `OPENAI_*` names).

`LLMSettings` is defined in `paperflow.settings`, nested in `Settings` as `llm`.
"""

from __future__ import annotations

from paperflow.settings import (
    NO_KEY,
    LLMSettings,
    ResponseFormatMode,
    get_settings,
    reload_settings,
)

__all__ = ["NO_KEY", "LLMSettings", "ResponseFormatMode", "get_llm_settings", "llm_enabled",
           "reload_llm_settings"]


def get_llm_settings() -> LLMSettings:
    """The LLM part of this process's settings (`paperflow.settings.get_settings().llm`)."""
    return get_settings().llm


def reload_llm_settings() -> LLMSettings:
    """Re-read the environment (tests and the CLI change it between runs)."""
    return reload_settings().llm


def llm_enabled(settings: LLMSettings | None = None) -> bool:
    """True when a key or a base URL is configured; otherwise paperflow uses heuristics only."""
    return (settings or get_llm_settings()).enabled
