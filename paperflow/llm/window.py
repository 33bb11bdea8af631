"""The context window behind an endpoint: asked of the server, or learnt from a refusal.

Discovery (once per endpoint and model in a process; a failure only logs and falls back to
`PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS`):

1. `GET {base_url}/models`, the model's entry (or the only one): a serving length (`n_ctx`,
   `max_model_len` of vLLM, `loaded_context_length`, `context_length`, `context_window`,
   `max_context_length`, `context_size`), else the training length `meta.n_ctx_train` that
   llama.cpp's C++ server gives; for that server `GET {root}/props`
   (`default_generation_settings.n_ctx`) gives the window it really serves.
2. Else Ollama: `POST {root}/api/show` — `num_ctx` in `parameters` (the window it serves with),
   else the loaded model's `context_length` in `GET {root}/api/ps`, else the `model_info` key
   ending in `.context_length` (the model's own length).

llama-cpp-python's server lists models without any length: its window is learnt from its
first refusal ("This model's maximum context length is 2048 tokens. However, you requested
9380 tokens (8996 in the messages, 384 in the completion)..."), parsed by `parse_refusal`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

WindowSource = Literal["setting", "server", "refusal"]

SERVING_KEYS = ("n_ctx", "max_model_len", "loaded_context_length", "context_length",
                "context_window", "max_context_length", "context_size")
"""Keys of a model entry that give the window the server runs with, in order of preference."""
TRAINING_KEYS = ("n_ctx_train",)
"""Keys that give the length the model was trained on: an upper bound of the window."""
FALLBACK_SHRINK = 0.5
"""A refusal that names no window: the next try gets this share of what was requested."""
_REFUSAL_WORDS = ("context length", "context window", "context size", "context_length",
                  "exceed_context_size", "maximum context", "prompt is too long",
                  "prompt too long", "too many tokens", "input is too long")
_NUMBER = r"(\d[\d,]*)"
_WINDOW_PATTERNS = (
    re.compile(rf"maximum context length is {_NUMBER}", re.I),
    re.compile(rf"exceeds? (?:the )?context window of {_NUMBER}", re.I),
    re.compile(rf"context (?:window|length|size)(?: is| of)? {_NUMBER}", re.I),
    re.compile(rf"\bn_ctx\W+{_NUMBER}", re.I),
    re.compile(rf"max(?:imum)?[_ ]context[_ ]length\W+{_NUMBER}", re.I),
)
_REQUESTED_PATTERNS = (
    re.compile(rf"you requested {_NUMBER}", re.I),
    re.compile(rf"requested tokens \({_NUMBER}\)", re.I),
    re.compile(rf"(?:your request has|requested) {_NUMBER} (?:input )?tokens", re.I),
)
_PROMPT_PATTERNS = (
    re.compile(rf"{_NUMBER} in the (?:messages|prompt)", re.I),
    re.compile(rf"\bn_prompt_tokens\W+{_NUMBER}", re.I),
    re.compile(rf"requested tokens \({_NUMBER}\)", re.I),
)


@dataclass(frozen=True)
class ContextWindow:
    """The window in use for one endpoint and model, where it came from, and a learnt ratio."""

    tokens: int
    source: WindowSource
    token_factor: float | None = None
    """The server's tokens per o200k token, learnt from a refusal that counted the prompt."""


@dataclass(frozen=True)
class Refusal:
    """What a context-length refusal said: the window, the tokens requested, the prompt's."""

    window: int | None = None
    requested: int | None = None
    prompt: int | None = None


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def parse_refusal(status: int, message: str, body: Any) -> Refusal | None:
    """The refusal's numbers when an HTTP error says the context length was exceeded, else None."""
    if status not in (400, 413, 422):
        return None
    try:
        body_text = json.dumps(body) if not isinstance(body, str) else body
    except (TypeError, ValueError):
        body_text = str(body)
    text = f"{message} {body_text}"
    if not any(word in text.lower() for word in _REFUSAL_WORDS):
        return None
    return Refusal(_first(_WINDOW_PATTERNS, text), _first(_REQUESTED_PATTERNS, text),
                   _first(_PROMPT_PATTERNS, text))


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None


def _from_keys(entry: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first positive number under `keys` in `entry` or in its nested `meta`/`metadata`."""
    places = [entry] + [entry[k] for k in ("meta", "metadata", "details")
                        if isinstance(entry.get(k), dict)]
    for key in keys:
        for place in places:
            found = _positive_int(place.get(key))
            if found:
                return found
    return None


def _model_entry(listing: Any, model: str) -> dict[str, Any] | None:
    """The listing's entry for `model`, or its only entry (local servers serve one model)."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        data = listing.get("models") if isinstance(listing, dict) else None
    entries = [e for e in data or [] if isinstance(e, dict)]
    for entry in entries:
        if model in (entry.get("id"), entry.get("name"), entry.get("model")):
            return entry
    return entries[0] if len(entries) == 1 else None


def server_root(base_url: str) -> str:
    """The server's root URL: the base URL without its trailing `/v1`."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


async def _get_json(http: httpx.AsyncClient, method: str, url: str,
                    payload: dict[str, Any] | None = None) -> Any:
    """The JSON answer of one request, or None on any failure (logged at debug level)."""
    try:
        response = await http.request(method, url, json=payload)
    except httpx.HTTPError as error:
        log.debug("Context window discovery: %s %s failed: %s", method, url, error)
        return None
    if response.status_code != 200:
        log.debug("Context window discovery: %s %s answered HTTP %s", method, url,
                  response.status_code)
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def _llama_cpp_props(http: httpx.AsyncClient, root: str) -> int | None:
    props = await _get_json(http, "GET", f"{root}/props")
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    found = _positive_int(settings.get("n_ctx")) if isinstance(settings, dict) else None
    return found or _positive_int(props.get("n_ctx"))


async def _ollama(http: httpx.AsyncClient, root: str, model: str) -> int | None:
    show = await _get_json(http, "POST", f"{root}/api/show", {"model": model, "name": model})
    if not isinstance(show, dict) or not ({"model_info", "parameters", "modelfile"} & set(show)):
        return None
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        match = re.search(r"^\s*num_ctx\s+(\d+)", parameters, re.M)
        if match:
            return int(match.group(1))
    running = await _get_json(http, "GET", f"{root}/api/ps")
    entry = _model_entry(running, model) if isinstance(running, dict) else None
    loaded = _positive_int(entry.get("context_length")) if entry else None
    if loaded:
        return loaded
    info = show.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length") and _positive_int(value):
                log.info("Ollama reports %s's trained length (%s tokens) but no num_ctx: it may "
                         "serve a shorter window; set PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS to the "
                         "server's num_ctx (OLLAMA_CONTEXT_LENGTH) if answers look cut.",
                         model, value)
                return _positive_int(value)
    return None


async def discover_window(base_url: str, model: str, api_key: str | None,
                          timeout: float = 10.0) -> int | None:
    """The window the server says it serves `model` with, or None; never raises."""
    if urlsplit(base_url).hostname == "api.openai.com":
        return None  # its model list has no lengths
    root = server_root(base_url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as http:
            listing = await _get_json(http, "GET", f"{base_url.rstrip('/')}/models")
            entry = _model_entry(listing, model)
            if entry is not None:
                serving = _from_keys(entry, SERVING_KEYS)
                if serving:
                    return serving
                trained = _from_keys(entry, TRAINING_KEYS)
                if trained or entry.get("owned_by") == "llamacpp":
                    return await _llama_cpp_props(http, root) or trained
            return await _ollama(http, root, model)
    except Exception as error:  # discovery is best effort: the setting still applies
        log.info("Could not ask %s for its context window (%s); using the setting.",
                 base_url, error)
        return None
