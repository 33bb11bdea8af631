"""An async client for any OpenAI-compatible endpoint: structured output, limits, retries, usage.

- Structured output: `response_format={"type": "json_schema", ...}` (OpenAI, vLLM, Ollama), or
  `{"type": "json_object", "schema": ...}` (llama.cpp's server). Mode "auto" starts with
  json_schema and, when the server answers 400 about the response format, switches to
  json_object for that endpoint and model from then on (llama-cpp-python's server answers 500,
  not 400, naming response_format: that counts as a refusal too).
- One repair attempt when the answer is not valid JSON for the schema: the error is sent back.
- Limits: at most `max_concurrency` requests in flight and `requests_per_minute` started per
  minute in this process, shared by every client and event loop (threads included).
- Retries: 408/409/429/5xx, timeouts and connection errors, with exponential backoff and jitter,
  waiting what `Retry-After` asks. Never on 401/403 (key) or 400/404/422 (request): those raise a
  `PermanentError` that says what to fix.
- Context window: asked of the server once per endpoint and model (`paperflow.llm.window`),
  capped by an explicit `PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS`; a 400 saying the context length
  was exceeded teaches the window, and a call given a way to rebuild its prompt (`ask`) is
  re-fitted and sent once more. So does an answer that stopped ("length") short of max_tokens:
  llama-cpp-python accepts a prompt that leaves less than max_tokens of its window and cuts the
  answer where the window ends. A second refusal is a `LLMPermanentError` naming the window.
- A request whose prompt cannot fit the context window is refused before it is sent.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import openai
from pydantic import BaseModel, ValidationError

from paperflow.errors import PaperflowError, PermanentError
from paperflow.llm.settings import LLMSettings, get_llm_settings
from paperflow.llm.tokens import count_tokens
from paperflow.llm.window import (
    FALLBACK_SHRINK,
    ContextWindow,
    Refusal,
    discover_window,
    parse_refusal,
)
from paperflow.models import LLMCall

M = TypeVar("M", bound=BaseModel)
Prompt = tuple[list[dict[str, Any]], bool]
"""Chat messages and whether the paper's text was cut to fit them."""
PromptBuilder = Callable[[], Prompt]
"""Builds a call's prompt for the client's current window (called again after a refusal)."""
log = logging.getLogger(__name__)

IMAGE_TOKENS = 1000
"""Budgeted per image: a 512x512 tile costs 255-765 tokens on OpenAI's models."""
MESSAGE_OVERHEAD_TOKENS = 8
REPAIR_RESERVE_TOKENS = 256
"""Kept free in every prompt so that a repair request (error plus part of the answer) fits."""
_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
_FORMAT_REFUSAL_STATUS = {400, 422, 500}


class LLMError(PaperflowError):
    """The LLM could not give a usable answer this time (a retry of the task may help)."""


class LLMPermanentError(LLMError, PermanentError):
    """The key, the model name, the endpoint or the request is wrong: retrying cannot help."""


class LLMOutputError(LLMPermanentError):
    """The model's answer was not valid JSON for the schema, even after one repair attempt."""


MAX_REFITS = 2
"""Prompt rebuilds after the server refused a prompt (or cut its answer) for its window: the
second only when the first rebuilt prompt's refusal showed the server's tokenizer counts it
longer than learnt. Rebuilds for a window learnt while the call waited, unsent, are free."""


class _ContextRefused(Exception):
    """The server refused `messages` as too long for its window (refusal None: learnt meanwhile;
    error None with a refusal: the answer was cut where the window ended)."""

    def __init__(self, error: openai.APIStatusError | None, refusal: Refusal | None,
                 messages: list[dict[str, Any]], detail: str = "") -> None:
        super().__init__(str(error) if error is not None else detail)
        self.error = error
        self.refusal = refusal
        self.messages = messages
        self.detail = str(error.message)[:300] if error is not None else detail


class _FormatRefused(Exception):
    """The server does not accept the json_schema response format (None: already known)."""

    def __init__(self, error: openai.APIStatusError | None) -> None:
        super().__init__(str(error))
        self.error = error


class Limits:
    """A process-wide cap on requests in flight and a requests-per-minute spacing."""

    def __init__(self, max_concurrency: int, requests_per_minute: float) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.interval = 60.0 / requests_per_minute if requests_per_minute > 0 else 0.0
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0

    async def _wait_rate(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    async def __aenter__(self) -> Limits:
        # A threading semaphore polled from async code: clients on different event loops
        # (Prefect runs async tasks in worker threads) share one cap.
        while not self._slots.acquire(blocking=False):
            await asyncio.sleep(0.02)
        try:
            await self._wait_rate()
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with self._lock:
            self.in_flight -= 1
        self._slots.release()


_limits: dict[tuple[str, int, float], Limits] = {}
_limits_lock = threading.Lock()
_format_modes: dict[tuple[str, str], str] = {}
_windows: dict[tuple[str, str], ContextWindow] = {}
"""What the server said or a refusal taught, by (endpoint, model); "setting": it said nothing."""
_windows_lock = threading.Lock()
DEFAULT_ENDPOINT = "https://api.openai.com/v1"


def endpoint_of(settings: LLMSettings) -> str:
    """The endpoint's base URL as a cache key (the SDK's default when none is set)."""
    return (settings.base_url or DEFAULT_ENDPOINT).rstrip("/")


def effective_window(settings: LLMSettings, model: str | None = None) -> ContextWindow:
    """The window in use for `model`: the server's (or a refusal's), capped by an explicit setting.

    The setting's default (128000) is only a fallback: what the server says beats it. A window
    set explicitly in PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS is a cap (it may keep prompts short).
    """
    setting = settings.context_window_tokens
    with _windows_lock:
        known = _windows.get((endpoint_of(settings), model or settings.model))
    if known is None or known.source == "setting":
        return ContextWindow(setting, "setting", known.token_factor if known else None)
    if "context_window_tokens" in settings.model_fields_set and setting <= known.tokens:
        return ContextWindow(setting, "setting", known.token_factor)
    return known


def _remember(key: tuple[str, str], window: ContextWindow) -> None:
    with _windows_lock:
        _windows[key] = window


def shared_limits(settings: LLMSettings) -> Limits:
    """The one `Limits` of this process for an endpoint and its configured limits."""
    key = (settings.base_url or "", settings.max_concurrency, settings.requests_per_minute)
    with _limits_lock:
        if key not in _limits:
            _limits[key] = Limits(settings.max_concurrency, settings.requests_per_minute)
        return _limits[key]


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every property required and no extra ones (strict mode)."""
    schema = model.model_json_schema()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            node.pop("default", None)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(schema)
    return schema


def parse_json_answer(text: str, schema_model: type[M]) -> M:
    """The answer as `schema_model`, tolerating a Markdown code fence around the JSON."""
    stripped = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", stripped, re.DOTALL)
    if fenced:
        stripped = fenced.group(1)
    return schema_model.model_validate_json(stripped)


def _retry_after(response: httpx2.Response | None) -> float | None:
    if response is None:
        return None
    milliseconds = response.headers.get("retry-after-ms")
    if milliseconds:
        try:
            return float(milliseconds) / 1000
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _about_response_format(error: openai.APIStatusError) -> bool:
    text = f"{error.message} {error.body}".lower()
    return any(word in text for word in ("response_format", "json_schema", "response format"))


def _about_max_tokens(error: openai.APIStatusError) -> bool:
    text = f"{error.message} {error.body}".lower()
    return "max_tokens" in text and "max_completion_tokens" in text


@dataclass
class _Attempt:
    """What one structured request accumulated over its HTTP attempts."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    repaired: bool = False
    waited: float = 0.0
    mode: str = "json_schema"
    """The response format that the last request used."""


class LLMClient:
    """One endpoint's client; every call is recorded in `calls` with usage and cost."""

    def __init__(self, settings: LLMSettings | None = None, limits: Limits | None = None,
                 http_client: httpx2.AsyncClient | None = None) -> None:
        self.settings = settings or get_llm_settings()
        if not self.settings.enabled:
            raise LLMPermanentError(
                "No LLM configured: set PAPERFLOW_LLM_BASE_URL and/or PAPERFLOW_LLM_API_KEY."
            )
        self.limits = limits or shared_limits(self.settings)
        self.calls: list[LLMCall] = []
        # The SDK's own HTTP library (httpx2, not httpx): from 2.17 it refuses another's Timeout.
        timeout = openai.Timeout(self.settings.timeout_seconds,
                                 connect=self.settings.connect_timeout_seconds)
        self._openai = openai.AsyncOpenAI(
            api_key=self.settings.effective_api_key, base_url=self.settings.base_url,
            timeout=timeout, max_retries=0, http_client=http_client,
        )
        self._use_max_completion_tokens = False
        self._discovery_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._openai.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def endpoint(self) -> str:
        return str(self._openai.base_url)

    def format_mode(self, model: str) -> str:
        """json_schema or json_object: the configured mode, or what "auto" has learnt."""
        mode = self.settings.response_format
        if mode != "auto":
            return mode
        return _format_modes.get((self.endpoint, model), "json_schema")

    def context_window(self, model: str | None = None) -> ContextWindow:
        """The window in use for `model` (the chat model by default) and where it came from."""
        return effective_window(self.settings, model)

    async def ensure_window(self, model: str | None = None) -> ContextWindow:
        """Ask the server for its window once per endpoint and model in this process."""
        model = model or self.settings.model
        key = (endpoint_of(self.settings), model)
        async with self._discovery_lock:
            with _windows_lock:
                known = key in _windows
            if not known:
                tokens = await discover_window(
                    key[0], model, self.settings.effective_api_key,
                    timeout=min(10.0, self.settings.timeout_seconds))
                found = ContextWindow(tokens, "server") if tokens else ContextWindow(0, "setting")
                with _windows_lock:
                    _windows.setdefault(key, found)  # a refusal learnt meanwhile wins
                if tokens:
                    log.info("The LLM endpoint %s serves %s with a context window of %d tokens.",
                             key[0], model, tokens)
                else:
                    log.debug("The LLM endpoint %s gave no context window for %s; using "
                              "PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS=%d.", key[0], model,
                              self.settings.context_window_tokens)
        return self.context_window(model)

    def safety_factor(self, model: str | None = None) -> float:
        """Budgeted tokens per counted token: the setting, or what a refusal showed if more."""
        learnt = self.context_window(model).token_factor or 0.0
        return max(self.settings.token_safety_factor, learnt)

    def prompt_budget(self, model: str | None = None) -> int:
        """Budgeted prompt tokens that fit beside the answer in the window in use."""
        return self.context_window(model).tokens - self.settings.max_output_tokens

    def prompt_tokens(self, messages: list[dict[str, Any]], model: str | None = None) -> int:
        """Budgeted prompt tokens of `messages` (safety factor applied)."""
        return int(self._raw_tokens(messages) * self.safety_factor(model)) + 1

    def _raw_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Counted (o200k_base) prompt tokens of `messages`, without the safety factor."""
        total = 0
        for message in messages:
            content = message["content"]
            parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
            for part in parts:
                if part.get("type") == "text":
                    total += count_tokens(part["text"])
                else:
                    total += IMAGE_TOKENS
            total += MESSAGE_OVERHEAD_TOKENS
        return total

    def input_budget(self, fixed_text: str, images: int = 0, model: str | None = None) -> int:
        """Tokens of paper text that fit beside `fixed_text` (instructions) and the answer."""
        fixed = count_tokens(fixed_text) + images * IMAGE_TOKENS + 4 * MESSAGE_OVERHEAD_TOKENS
        available = self.prompt_budget(model)
        return max(0, int(available / self.safety_factor(model)) - fixed
                   - REPAIR_RESERVE_TOKENS)

    def _response_format(self, mode: str, schema_model: type[BaseModel]) -> dict[str, Any]:
        schema = strict_schema(schema_model)
        if mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema",
                "json_schema": {"name": schema_model.__name__, "schema": schema, "strict": True}}

    async def ask(self, schema_model: type[M], build: PromptBuilder, *, group: str,
                  prompt_version: str, model: str | None = None) -> tuple[M, bool]:
        """Learn the window, build the prompt to fit it, ask; rebuild if the window was too small.

        Returns the answer and whether the paper's text was cut (in the prompt that was answered).
        """
        await self.ensure_window(model)
        messages, truncated = build()
        state = {"truncated": truncated}

        def rebuild() -> Prompt:
            prompt = build()
            state["truncated"] = prompt[1]
            return prompt

        value = await self.structured(schema_model, messages, group=group,
                                      prompt_version=prompt_version, model=model,
                                      truncated_input=truncated, refit=rebuild)
        return value, state["truncated"]

    async def structured(self, schema_model: type[M], messages: list[dict[str, Any]], *,
                         group: str, prompt_version: str, model: str | None = None,
                         truncated_input: bool = False, refit: PromptBuilder | None = None) -> M:
        """Ask for a JSON answer shaped like `schema_model`; record the call; raise on failure.

        `refit` rebuilds the prompt for a smaller window: given, a context-length refusal (or an
        answer cut where the window ends) is followed by a request with the rebuilt prompt.
        """
        model = model or self.settings.model
        await self.ensure_window(model)
        self._check_fits(messages, group, model)
        attempt = _Attempt(mode=self.format_mode(model))
        started = time.perf_counter()
        call = LLMCall(group=group, model=model, prompt_version=prompt_version,
                       response_format=attempt.mode, truncated_input=truncated_input)
        try:
            refits = 0
            built_for = self.context_window(model)
            while True:
                try:
                    value = await self._answer(model, messages, schema_model, group, attempt)
                    break
                except _ContextRefused as refused:
                    window = self._learn(refused, model)
                    # The same prompt would be refused again unless the window or the server's
                    # token ratio changed since it was built.
                    learnt = (window.tokens, window.token_factor) != \
                        (built_for.tokens, built_for.token_factor)
                    sent = refused.refusal is not None
                    if refit is None or not learnt or (sent and refits >= MAX_REFITS):
                        raise self._refused_error(refused, group, model, window,
                                                  refits > 0) from refused.error
                    refits += sent
                    messages, call.truncated_input = refit()
                    built_for = self.context_window(model)
                    self._check_fits(messages, group, model)
        except LLMError as error:
            call.error = str(error)
            raise
        finally:
            call.response_format = attempt.mode
            call.prompt_tokens = attempt.prompt_tokens
            call.completion_tokens = attempt.completion_tokens
            call.attempts = attempt.attempts
            call.repaired = attempt.repaired
            call.seconds = round(time.perf_counter() - started - attempt.waited, 3)
            call.cost_usd = self.cost(attempt.prompt_tokens, attempt.completion_tokens)
            self.calls.append(call)
        return value

    async def _answer(self, model: str, messages: list[dict[str, Any]],
                      schema_model: type[M], group: str, attempt: _Attempt) -> M:
        """The answer to `messages`, repaired once when it is not valid JSON for the schema."""
        text, cut = await self._complete(model, messages, schema_model, attempt)
        try:
            return parse_json_answer(text, schema_model)
        except ValidationError as error:
            if cut is not None:  # stopped by the window, not wrong: re-fit, do not repair
                raise _ContextRefused(None, cut, messages, _cut_detail(cut)) from error
            attempt.repaired = True
            repair = self._repair_messages(messages, text, error, model)
            text, cut = await self._complete(model, repair, schema_model, attempt)
            try:
                return parse_json_answer(text, schema_model)
            except ValidationError as again:
                if cut is not None:
                    raise _ContextRefused(None, cut, repair, _cut_detail(cut)) from again
                raise LLMOutputError(
                    f"The model {model!r} did not answer valid JSON for {group} "
                    f"(even after one repair attempt): {_short(again)}"
                ) from again

    def _check_fits(self, messages: list[dict[str, Any]], group: str, model: str) -> None:
        """Raise, without sending, when `messages` cannot fit the window beside the answer."""
        budget = self.prompt_budget(model)
        needed = self.prompt_tokens(messages, model)
        if needed > budget:
            window = self.context_window(model)
            raise LLMPermanentError(
                f"The {group} prompt needs about {needed} tokens, more than the {budget} that "
                f"the context window of {window.tokens} tokens ({_SOURCES[window.source]}) "
                f"leaves beside the answer (PAPERFLOW_LLM_MAX_OUTPUT_TOKENS="
                f"{self.settings.max_output_tokens}): not sent. Shorten the prompt, lower "
                "PAPERFLOW_LLM_MAX_OUTPUT_TOKENS or use a model with a larger window."
            )

    def _learn(self, refused: _ContextRefused, model: str) -> ContextWindow:
        """Record the window a refusal names (or a smaller guess) for this endpoint and model."""
        current = self.context_window(model)
        refusal = refused.refusal
        if refusal is None:  # another call learnt it while this one waited
            return current
        # The refused messages themselves (a repair conversation, not the prompt it repairs):
        # the server's count is of exactly these.
        counted = self._raw_tokens(refused.messages)
        factor = current.token_factor
        if refusal.prompt and counted:
            # The server counted this prompt: when its tokenizer needs more tokens than the
            # safety factor allows, budget with its ratio (and a margin) from now on.
            ratio = refusal.prompt / counted * 1.05
            if ratio > max(self.settings.token_safety_factor, factor or 0.0):
                factor = round(ratio, 3)
        if refusal.window and refusal.window >= current.tokens and factor == current.token_factor:
            # The prompt fitted the window by our count: the server's tokenizer counts more.
            requested = refusal.requested or 0
            grow = requested / refusal.window if requested > refusal.window else 1.25
            factor = round(self.safety_factor(model) * grow * 1.05, 3)
        if refusal.window:
            tokens = refusal.window
        else:
            requested = refusal.requested or (self.prompt_tokens(refused.messages, model)
                                              + self.settings.max_output_tokens)
            tokens = int(min(current.tokens, requested) * FALLBACK_SHRINK)
        tokens = min(tokens, current.tokens)
        window = ContextWindow(tokens, "refusal", factor)
        _remember((endpoint_of(self.settings), model), window)
        log.warning("The LLM endpoint %s refused a prompt, or cut its answer, as too long for "
                    "its context window: using %d tokens from now on (set "
                    "PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS to avoid the refused request).",
                    self.endpoint, tokens)
        return self.context_window(model)

    def _refused_error(self, refused: _ContextRefused, group: str, model: str,
                       window: ContextWindow, refitted: bool) -> LLMPermanentError:
        """The error for a refusal that is not retried: the window and what to set."""
        detail = refused.detail
        again = " again, after the prompt was re-fitted," if refitted else ""
        smaller = max(256, int(window.tokens * 0.75))
        return LLMPermanentError(
            f"The LLM endpoint {self.endpoint} refused the {group} prompt{again} as too long "
            f"for {model!r}'s context window ({detail}); paperflow now assumes "
            f"{window.tokens} tokens. Set PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS={smaller} (or "
            "raise PAPERFLOW_LLM_TOKEN_SAFETY_FACTOR), or serve the model with a larger "
            "context (llama.cpp: --n_ctx; Ollama: num_ctx)."
        )

    def _repair_messages(self, messages: list[dict[str, Any]], answer: str,
                         error: ValidationError, model: str) -> list[dict[str, Any]]:
        """The conversation plus the bad answer and the error, shortened to fit the window."""
        budget = self.prompt_budget(model)
        snippet = answer[:8000]
        while True:
            repair = [*messages, {"role": "assistant", "content": snippet or "(empty)"},
                      {"role": "user", "content": _repair_prompt(error)}]
            if self.prompt_tokens(repair, model) <= budget or not snippet:
                return repair
            snippet = snippet[: len(snippet) // 2]

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD from the configured prices per million tokens (None when unset)."""
        price_in = self.settings.price_input_per_million
        price_out = self.settings.price_output_per_million
        if price_in is None and price_out is None:
            return None
        return round(((price_in or 0.0) * prompt_tokens
                      + (price_out or 0.0) * completion_tokens) / 1_000_000, 6)

    async def _complete(self, model: str, messages: list[dict[str, Any]],
                        schema_model: type[BaseModel],
                        attempt: _Attempt) -> tuple[str, Refusal | None]:
        """The answer's text, and what it showed of the window if the window cut it short."""
        mode = attempt.mode
        while True:
            try:
                response = await self._send(model, messages,
                                            self._response_format(mode, schema_model), attempt)
            except _FormatRefused as refused:
                if self.settings.response_format == "auto" and mode == "json_schema":
                    mode = attempt.mode = "json_object"
                    _format_modes[(self.endpoint, model)] = mode
                    continue
                error = refused.error
                assert error is not None  # "already known" happens in auto mode only
                raise LLMPermanentError(_status_message(error, self.endpoint, model)) from error
            usage = response.usage
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice else ""
            if usage is not None:
                attempt.prompt_tokens += usage.prompt_tokens or 0
                attempt.completion_tokens += usage.completion_tokens or 0
            else:
                attempt.prompt_tokens += self._raw_tokens(messages)
                attempt.completion_tokens += count_tokens(text)
            return text, self._window_cut(response)

    def _window_cut(self, response: Any) -> Refusal | None:
        """The window, when the answer stopped ("length") before max_tokens, else None.

        llama-cpp-python accepts a prompt that leaves less than max_tokens of its window and
        lowers max_tokens to what is left, so prompt plus answer tokens is its window.
        """
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        if choice is None or choice.finish_reason != "length" or usage is None:
            return None
        prompt, answer = usage.prompt_tokens or 0, usage.completion_tokens or 0
        limit = self.settings.max_output_tokens
        if not prompt or answer >= limit:
            return None
        return Refusal(window=prompt + answer, requested=prompt + limit, prompt=prompt)

    async def _send(self, model: str, messages: list[dict[str, Any]],
                    response_format: dict[str, Any], attempt: _Attempt) -> Any:
        """One chat completion, retried on transient failures."""
        retries = 0
        while True:
            limit_key = ("max_completion_tokens" if self._use_max_completion_tokens
                         else "max_tokens")
            queued = time.perf_counter()
            try:
                async with self.limits:
                    attempt.waited += time.perf_counter() - queued
                    if (response_format["type"] == "json_schema"
                            and self.format_mode(model) == "json_object"):
                        # Learnt by a concurrent call while this one waited for its slot.
                        raise _FormatRefused(None)
                    if self.prompt_tokens(messages, model) > self.prompt_budget(model):
                        # A smaller window was learnt while this one waited: re-fit, not send.
                        raise _ContextRefused(None, None, messages)
                    attempt.attempts += 1
                    return await self._openai.chat.completions.create(
                        model=model, messages=messages, temperature=self.settings.temperature,
                        response_format=response_format,  # type: ignore[arg-type]
                        **{limit_key: self.settings.max_output_tokens},
                    )
            except openai.APIStatusError as error:
                refusal = parse_refusal(error.status_code, str(error.message), error.body)
                if refusal is not None:
                    raise _ContextRefused(error, refusal, messages) from error
                if (response_format["type"] == "json_schema"
                        and error.status_code in _FORMAT_REFUSAL_STATUS
                        and _about_response_format(error)):
                    # llama-cpp-python's server answers 500, not 400, to json_schema.
                    raise _FormatRefused(error) from error
                if (error.status_code == 400 and not self._use_max_completion_tokens
                        and _about_max_tokens(error)):
                    self._use_max_completion_tokens = True  # newer OpenAI reasoning models
                    continue
                if error.status_code not in _RETRYABLE_STATUS:
                    raise LLMPermanentError(
                        _status_message(error, self.endpoint, model)) from error
                await self._wait_or_give_up(error, retries)
            except (openai.APITimeoutError, openai.APIConnectionError) as error:
                await self._wait_or_give_up(error, retries)
            retries += 1

    async def _wait_or_give_up(self, error: openai.APIError, retries: int) -> None:
        """Sleep before the next attempt (Retry-After, else backoff with jitter), or raise."""
        settings = self.settings
        if retries >= settings.max_retries:
            raise LLMError(
                f"The LLM endpoint {self.endpoint} kept failing after {retries + 1} "
                f"attempts ({_describe(error)}); try again later or lower "
                "PAPERFLOW_LLM_MAX_CONCURRENCY / PAPERFLOW_LLM_REQUESTS_PER_MINUTE."
            ) from error
        wait = _retry_after(getattr(error, "response", None))
        if wait is not None and wait > settings.backoff_max_seconds:
            raise LLMError(
                f"The LLM endpoint {self.endpoint} asks to wait {wait:.0f} s "
                f"({_describe(error)}), longer than PAPERFLOW_LLM_BACKOFF_MAX_SECONDS="
                f"{settings.backoff_max_seconds:.0f}; try again later."
            ) from error
        if wait is None:
            ceiling = min(settings.backoff_max_seconds,
                          settings.backoff_base_seconds * 2 ** retries)
            wait = random.uniform(ceiling / 2, ceiling)
        else:
            wait += random.uniform(0, 0.1 * wait + 0.05)
        await asyncio.sleep(wait)


_SOURCES = {"setting": "PAPERFLOW_LLM_CONTEXT_WINDOW_TOKENS", "server": "as the server says",
            "refusal": "learnt from the server's refusal"}


def _cut_detail(cut: Refusal) -> str:
    return (f"its answer stopped at the end of a {cut.window}-token window, {cut.prompt} of "
            "them the prompt's")


def _repair_prompt(error: ValidationError) -> str:
    return (
        "Your previous reply was not a valid JSON object for the required schema. "
        f"The error was: {_short(error)}\n"
        "Reply again with only the corrected JSON object, nothing else."
    )


def _short(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or 'reply'}: {item['msg']}"
        for item in error.errors()[:5]
    )[:600]


def _describe(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    return type(error).__name__


def _status_message(error: openai.APIStatusError, endpoint: str, model: str) -> str:
    status = error.status_code
    detail = str(error.message)[:300]
    if status in (401, 403):
        hint = "check PAPERFLOW_LLM_API_KEY (or OPENAI_API_KEY) and the account's access"
    elif status == 404:
        hint = (f"check PAPERFLOW_LLM_MODEL ({model!r}) exists there and that "
                "PAPERFLOW_LLM_BASE_URL ends with /v1")
    else:
        hint = "the server rejected the request; it is not retried"
    return f"The LLM endpoint {endpoint} answered HTTP {status}: {detail} ({hint})."


def dump_schema(schema_model: type[BaseModel]) -> str:
    """A compact JSON schema, for prompts to servers that cannot enforce one."""
    return json.dumps(strict_schema(schema_model), separators=(",", ":"))
