"""One paper's LLM phase without Prefect: the six groups concurrently, then verify and merge."""

from __future__ import annotations

import time

from paperflow.llm.client import LLMClient, effective_window
from paperflow.llm.groups import run_all
from paperflow.llm.settings import LLMSettings, get_llm_settings
from paperflow.llm.verify import apply_figure_descriptions, merge
from paperflow.llm.window import ContextWindow
from paperflow.models import Figure, LLMCall, LLMReport
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import FieldGroup


def finish_report(report: LLMReport, settings: LLMSettings, calls: list[LLMCall],
                  seconds: float, errors: list[str],
                  window: ContextWindow | None = None) -> LLMReport:
    """Totals of the calls not answered from cache, the phase's wall time, the groups' errors.

    The context window is `window`, else what this process learnt for the endpoint and model.
    """
    report.model = settings.model
    report.vision_model = settings.vision_model
    window = window or effective_window(settings)
    report.context_window_tokens = window.tokens
    report.context_window_source = window.source
    report.calls = calls
    spent = [c for c in calls if not c.cached]
    report.prompt_tokens = sum(c.prompt_tokens for c in spent)
    report.completion_tokens = sum(c.completion_tokens for c in spent)
    costs = [c.cost_usd for c in spent if c.cost_usd is not None]
    report.cost_usd = round(sum(costs), 6) if costs else None
    report.seconds = round(seconds, 3)
    report.errors = errors
    return report


def combine(heuristic_groups: list[FieldGroup], outcomes: list[FieldGroup | BaseException],
            doc: ParsedDocument, figures: list[Figure] | None,
            ) -> tuple[list[FieldGroup], LLMReport, list[str]]:
    """Merge the groups that succeeded; failed ones leave the heuristic values and an error."""
    llm_groups = [o for o in outcomes if isinstance(o, FieldGroup)]
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    groups, report = merge(heuristic_groups, llm_groups, doc)
    if figures is not None:
        groups.append(FieldGroup("figures", {
            "figures": apply_figure_descriptions(figures, llm_groups)}, "pdf"))
    if errors:
        groups.append(FieldGroup("llm_errors", {}, "llm", [
            f"LLM enrichment partly failed, heuristic values kept: {e}" for e in errors]))
    return groups, report, errors


async def enrich_paper(doc: ParsedDocument, heuristic_groups: list[FieldGroup],
                       figures: list[Figure] | None = None,
                       images: dict[int, bytes] | None = None,
                       settings: LLMSettings | None = None,
                       client: LLMClient | None = None) -> tuple[list[FieldGroup], LLMReport]:
    """The heuristic groups refined by the LLM, verified; figures (if given) as a "figures" group.

    A group whose call fails keeps its heuristic values; the error is in the report and warnings.
    """
    settings = settings or (client.settings if client else get_llm_settings())
    owned = client is None
    client = client or LLMClient(settings)
    started = time.perf_counter()
    try:
        outcomes = await run_all(client, doc, figures, images)
    finally:
        if owned:
            await client.aclose()
    seconds = time.perf_counter() - started
    groups, report, errors = combine(heuristic_groups, outcomes, doc, figures)
    return groups, finish_report(report, settings, list(client.calls), seconds, errors,
                                 client.context_window())
