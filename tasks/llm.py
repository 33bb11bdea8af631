"""LLM enrichment tasks: one per group, cached per (model, prompt version, paper), globally limited.

Every group task holds one slot of the Prefect global concurrency limit "llm" while it talks to
the endpoint, so all workers together stay under the provider's limits:
`prefect gcl create llm --limit 4` (without the limit the tasks run unthrottled by Prefect; the
client's own per-process cap and requests-per-minute limiter still apply).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prefect import get_client, get_run_logger, task
from prefect.concurrency.asyncio import concurrency
from prefect.context import TaskRunContext
from prefect.exceptions import ObjectNotFound
from prefect.utilities.annotations import quote

from paperflow.llm import groups as llm_groups
from paperflow.llm.client import LLMClient
from paperflow.llm.enrich import combine, finish_report
from paperflow.llm.prompts import PROMPT_VERSIONS
from paperflow.llm.settings import get_llm_settings, llm_enabled
from paperflow.models import Figure, LLMCall, LLMReport
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import REGISTRY, FieldGroup, PaperKey
from paperflow.settings import get_settings, learn
from paperflow.storage import get_storage
from tasks.locks import locked_cache_policy
from tasks.policy import cached_task_limits, configured, from_settings, retry_unless_permanent
from tasks.results import write_result_now
from tasks.secrets import read_secret

VERSION = "1"
CONCURRENCY_LIMIT = "llm"
KEY_BLOCK = "paperflow-llm-api-key"


@dataclass
class GroupOutcome:
    """A group's LLM answer (unverified) and the calls it took."""

    group: FieldGroup
    calls: list[LLMCall] = field(default_factory=list)


ASKED_COUNTS = ("summary_sentences", "highlights_count", "starter_questions_count")
"""The paper settings that say how much to ask the model for: part of every LLM cache key."""


def llm_cache_key(group: str) -> Callable[[TaskRunContext, dict[str, Any]], str]:
    """Cache on task, prompt version, model(s), answer-shaping settings and the paper's sha256."""

    def key_fn(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        settings = get_llm_settings()
        paper: PaperKey = parameters["key"]
        parts = [context.task.name, context.task.version or VERSION, PROMPT_VERSIONS[group],
                 settings.model, settings.vision_model or "-", settings.fingerprint(),
                 get_settings().fingerprint(*ASKED_COUNTS), paper.sha256]
        figures: list[Figure] | None = parameters.get("figures")
        if figures:
            described = "|".join(f"{f.page}:{f.label}:{f.caption}" for f in figures)
            parts.append(hashlib.sha256(described.encode()).hexdigest()[:16])
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    return key_fn


_limit_lock = threading.Lock()
_limit_exists: bool | None = None
_limit_checked_at = 0.0
LIMIT_RECHECK_SECONDS = 300.0


def llm_limit_exists() -> bool:
    """Whether the server has the global concurrency limit "llm" (asked every 5 minutes).

    `paperflow up` creates it (`prefect gcl create llm --limit 4` by hand); every worker's LLM
    tasks then share its slots. Without it, only the per-process cap applies: acquiring a
    missing limit would cost an API call per task and log a warning for nothing.
    """
    global _limit_exists, _limit_checked_at
    with _limit_lock:
        now = time.monotonic()
        if _limit_exists is None or now - _limit_checked_at > LIMIT_RECHECK_SECONDS:
            with get_client(sync_client=True) as client:
                try:
                    client.read_global_concurrency_limit_by_name(CONCURRENCY_LIMIT)
                    _limit_exists = True
                except ObjectNotFound:
                    _limit_exists = False
                    get_run_logger().info(
                        "No global concurrency limit %r on the server: LLM calls are capped "
                        "per process only (create it with `prefect gcl create %s --limit 4`).",
                        CONCURRENCY_LIMIT, CONCURRENCY_LIMIT)
            _limit_checked_at = now
        return _limit_exists


SLOT_LEASE_SECONDS = 60.0
_key_lock = threading.Lock()
_key_looked_up = False


def llm_configured() -> bool:
    """Whether to run the LLM phase; a key may also come from the `paperflow-llm-api-key` block.

    The environment wins (PAPERFLOW_LLM_API_KEY, OPENAI_API_KEY, LLM_API_KEY); the Secret block
    is read once per process and learned by the settings (`paperflow.settings.learn`, never
    `os.environ`), so workers need no key in their env.
    """
    global _key_looked_up
    with _key_lock:
        if not get_llm_settings().api_key and not _key_looked_up:
            _key_looked_up = True
            key = read_secret(KEY_BLOCK)
            if key:
                learn(llm={"api_key": key})
        return llm_enabled()


async def _run(work: Callable[[LLMClient], Awaitable[FieldGroup]],
               limited: bool) -> GroupOutcome:
    # The shortest lease the server grants (renewed while the call runs): a run killed
    # mid-call frees its slot within a minute, not Prefect's default five.
    slot = concurrency(CONCURRENCY_LIMIT, occupy=1, lease_duration=SLOT_LEASE_SECONDS) \
        if limited else contextlib.nullcontext()
    async with slot, LLMClient(get_llm_settings()) as client:
        group = await work(client)
        outcome = GroupOutcome(group, list(client.calls))
    # A run killed from here on keeps the answer: no second request on its re-run.
    await write_result_now(outcome)
    return outcome


_limits = cached_task_limits("llm_task_timeout_seconds")


def _options(group: str) -> dict[str, Any]:
    return {
        "name": f"llm-{group.replace('_', '-')}",
        "cache_policy": locked_cache_policy(llm_cache_key(group)),
        "persist_result": True,
        "version": VERSION,
        "retries": 1,
        "retry_delay_seconds": 30,
        "retry_condition_fn": retry_unless_permanent,
        **_limits(get_settings()),
    }


@from_settings(_limits)
@task(**_options("title_authors_abstract"))
async def llm_title_authors_abstract(key: PaperKey, doc: ParsedDocument,
                                     limited: bool = False) -> GroupOutcome:
    """LLM group 1: title, authors, abstract, publish date."""
    return await _run(lambda client: llm_groups.title_authors_abstract(client, doc), limited)


@from_settings(_limits)
@task(**_options("institutions_keywords"))
async def llm_institutions_keywords(key: PaperKey, doc: ParsedDocument,
                                    limited: bool = False) -> GroupOutcome:
    """LLM group 2: institutions and keywords."""
    return await _run(lambda client: llm_groups.institutions_keywords(client, doc), limited)


@from_settings(_limits)
@task(**_options("summary_citations"))
async def llm_summary_citations(key: PaperKey, doc: ParsedDocument,
                                limited: bool = False) -> GroupOutcome:
    """LLM group 3: summary with citation markers and quotes."""
    return await _run(lambda client: llm_groups.summary_citations(client, doc), limited)


@from_settings(_limits)
@task(**_options("starter_questions"))
async def llm_starter_questions(key: PaperKey, doc: ParsedDocument,
                                limited: bool = False) -> GroupOutcome:
    """LLM group 4: starter questions."""
    return await _run(lambda client: llm_groups.starter_questions(client, doc), limited)


@from_settings(_limits)
@task(**_options("highlights"))
async def llm_highlights(key: PaperKey, doc: ParsedDocument,
                         limited: bool = False) -> GroupOutcome:
    """LLM group 5: highlights and takeaways."""
    return await _run(lambda client: llm_groups.highlights(client, doc), limited)


def _figure_images(figures: list[Figure]) -> dict[int, bytes]:
    """Stored PNG crops by figure index, for the vision model."""
    storage = get_storage()
    images: dict[int, bytes] = {}
    for index, figure in enumerate(figures):
        if figure.asset is not None and storage.exists(figure.asset.key):
            images[index] = storage.get(figure.asset.key)
    return images


@from_settings(_limits)
@task(**_options("figure_captions"))
async def llm_figure_captions(key: PaperKey, doc: ParsedDocument, figures: list[Figure],
                              limited: bool = False) -> GroupOutcome:
    """LLM group 6: figure descriptions, from the images when a vision model is configured."""
    images = _figure_images(figures) if get_llm_settings().vision_model else None
    return await _run(
        lambda client: llm_groups.figure_captions(client, doc, figures, images), limited)


_LLM_TASKS = {
    "title_authors_abstract": llm_title_authors_abstract,
    "institutions_keywords": llm_institutions_keywords,
    "summary_citations": llm_summary_citations,
    "starter_questions": llm_starter_questions,
    "highlights": llm_highlights,
}
TEXT_GROUP_TASKS = tuple(_LLM_TASKS[spec.name] for spec in REGISTRY if spec.llm)
"""The LLM counterpart of every group of `paperflow.pipeline.REGISTRY` that has one."""


def enrich(key: PaperKey, doc: ParsedDocument, heuristic_groups: list[FieldGroup],
           figures: list[Figure] | None = None, *,
           refresh_cache: bool = False) -> tuple[list[FieldGroup], LLMReport]:
    """Run the LLM groups concurrently (inside a flow), verify, and merge onto the heuristics.

    Returns the merged groups for `assemble` (including a "figures" group when `figures` is
    given) and the report for `result.llm`. A failed group keeps its heuristic values.
    """
    settings = get_llm_settings()
    started = time.perf_counter()
    limited = llm_limit_exists()

    def fresh(group_task: Any) -> Any:
        group_task = configured(group_task)
        return group_task.with_options(refresh_cache=True) if refresh_cache else group_task

    futures = [fresh(group_task).submit(key, quote(doc), limited)
               for group_task in TEXT_GROUP_TASKS]
    if figures:
        futures.append(fresh(llm_figure_captions).submit(key, quote(doc), figures, limited))
    outcomes: list[FieldGroup | BaseException] = []
    calls: list[LLMCall] = []
    for future in futures:
        try:
            outcome: GroupOutcome = future.result()
        except Exception as error:  # one failed group must not lose the others
            outcomes.append(error)
            continue
        cached = future.state.name == "Cached"
        outcomes.append(outcome.group)
        calls += [call.model_copy(update={"cached": cached}) for call in outcome.calls]
    seconds = time.perf_counter() - started
    groups, report, errors = combine(heuristic_groups, outcomes, doc, figures)
    return groups, finish_report(report, settings, calls, seconds, errors)
