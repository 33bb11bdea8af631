"""LLM enrichment over any OpenAI-compatible endpoint, verified against the paper's text.

Prefect-free: `tasks/llm.py` adds caching and a global concurrency limit on top.
"""

from paperflow.llm.client import LLMClient, LLMError, LLMOutputError, LLMPermanentError
from paperflow.llm.enrich import enrich_paper
from paperflow.llm.settings import LLMSettings, get_llm_settings, llm_enabled, reload_llm_settings
from paperflow.llm.verify import merge

__all__ = [
    "LLMClient",
    "LLMError",
    "LLMOutputError",
    "LLMPermanentError",
    "LLMSettings",
    "enrich_paper",
    "get_llm_settings",
    "llm_enabled",
    "merge",
    "reload_llm_settings",
]
