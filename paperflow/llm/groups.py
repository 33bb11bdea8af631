"""The six extraction groups as LLM calls, each returning a `FieldGroup` with source="llm".

Answers are taken as the model gives them (trimmed and typed); `paperflow.llm.verify` checks them
against the paper before anything reaches the result.
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import date
from typing import Any

from pydantic import BaseModel

from paperflow.llm.client import LLMClient, Prompt, dump_schema
from paperflow.llm.prompts import (
    PROMPT_VERSIONS,
    REMINDER,
    SYSTEM,
    TASKS,
    CaptionsAnswer,
    HighlightsAnswer,
    InstitutionsKeywords,
    QuestionsAnswer,
    SummaryAnswer,
    TitleAuthorsAbstract,
    fence,
    messages,
)
from paperflow.llm.tokens import fit_plain, fit_text
from paperflow.models import Author, Figure, Highlight, SummaryCitation
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import REGISTRY, FieldGroup
from paperflow.settings import get_settings

HEADER_PAGES = 2
"""Title, authors, abstract and affiliations are printed on the first pages."""
FIGURE_CONTEXT_CHARS = 700


def _schema_hint(client: LLMClient, schema: type[BaseModel],
                 model: str | None = None) -> str | None:
    mode = client.format_mode(model or client.settings.model)
    return dump_schema(schema) if mode == "json_object" else None


def _head(doc: ParsedDocument, pages: int) -> ParsedDocument:
    return ParsedDocument(doc.page_count, doc.pages[:pages], doc.metadata, [])


async def _ask(client: LLMClient, name: str, task: str, doc: ParsedDocument,
               schema: type[BaseModel]) -> tuple[Any, bool]:
    """Fit the paper beside the task, ask, and return the answer and whether text was cut.

    The prompt is built for the window in use, and built again from the paper if the server
    refuses it as too long (the client then knows a smaller window).
    """

    def build() -> Prompt:
        hint = _schema_hint(client, schema)
        fixed = "\n\n".join([SYSTEM, task, hint or "", fence(""), REMINDER])
        text, truncated = fit_text(doc, client.input_budget(fixed))
        return messages(task, text, hint), truncated

    return await client.ask(schema, build, group=name, prompt_version=PROMPT_VERSIONS[name])


def _warn(truncated: bool, name: str) -> list[str]:
    if not truncated:
        return []
    return [f"LLM {name}: the paper was longer than the model's context window; it saw the "
            "first pages and the start of each section."]


def parse_date(text: str) -> tuple[date | None, int | None]:
    """A printed date as (date when the day or month is known, year)."""
    match = re.fullmatch(r"\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?\s*", text or "")
    if not match:
        return None, None
    year = int(match.group(1))
    if not 1900 <= year <= 2100:
        return None, None
    month, day = int(match.group(2) or 0), int(match.group(3) or 0)
    try:
        return (date(year, month, day or 1) if month else None), year
    except ValueError:
        return None, year


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


async def title_authors_abstract(client: LLMClient, doc: ParsedDocument) -> FieldGroup:
    """Group 1: title, authors, abstract and publication date."""
    name = "title_authors_abstract"
    answer, cut = await _ask(client, name, TASKS[name], _head(doc, HEADER_PAGES),
                             TitleAuthorsAbstract)
    published, year = parse_date(answer.publish_date)
    authors = [Author(name=_clean(a)) for a in answer.authors if _clean(a)]
    return FieldGroup(name, {
        "title": _clean(answer.title) or None,
        "authors": authors,
        "abstract": _clean(answer.abstract) or None,
        "publish_date": published,
        "year": year,
    }, source="llm", warnings=_warn(cut, name))


async def institutions_keywords(client: LLMClient, doc: ParsedDocument) -> FieldGroup:
    """Group 2: institutions and keywords."""
    name = "institutions_keywords"
    task = TASKS[name].format(keywords=8)
    answer, cut = await _ask(client, name, task, _head(doc, HEADER_PAGES + 1),
                             InstitutionsKeywords)
    institutions = list(dict.fromkeys(_clean(i) for i in answer.institutions if _clean(i)))
    keywords = list(dict.fromkeys(_clean(k) for k in answer.keywords if _clean(k)))[:12]
    return FieldGroup(name, {"affiliations": institutions, "keywords": keywords},
                      source="llm", warnings=_warn(cut, name))


async def summary_citations(client: LLMClient, doc: ParsedDocument) -> FieldGroup:
    """Group 3: a summary with inline markers [n] and the quote behind each marker."""
    name = "summary_citations"
    task = TASKS[name].format(sentences=get_settings().summary_sentences)
    answer, cut = await _ask(client, name, task, doc, SummaryAnswer)
    citations = [SummaryCitation(marker=c.marker, quote=_clean(c.quote))
                 for c in answer.citations if _clean(c.quote)]
    return FieldGroup(name, {"summary": _clean(answer.summary) or None,
                             "summary_citations": citations},
                      source="llm", warnings=_warn(cut, name))


async def starter_questions(client: LLMClient, doc: ParsedDocument) -> FieldGroup:
    """Group 4: starter questions for discussion."""
    name = "starter_questions"
    count = get_settings().starter_questions_count
    answer, cut = await _ask(client, name, TASKS[name].format(count=count), doc, QuestionsAnswer)
    found = [q for q in (_clean(q) for q in answer.questions) if q.endswith("?") and len(q) > 10]
    return FieldGroup(name, {"starter_questions": list(dict.fromkeys(found))[:count]},
                      source="llm", warnings=_warn(cut, name))


async def highlights(client: LLMClient, doc: ParsedDocument) -> FieldGroup:
    """Group 5: highlights and takeaways as exact quotes with an annotation and a type."""
    name = "highlights"
    count = get_settings().highlights_count
    answer, cut = await _ask(client, name, TASKS[name].format(count=count), doc, HighlightsAnswer)
    found = [Highlight(quote=_clean(h.quote), annotation=_clean(h.annotation), type=h.type)
             for h in answer.highlights if _clean(h.quote)]
    return FieldGroup(name, {"highlights": found[: count * 2]}, source="llm",
                      warnings=_warn(cut, name))


def figure_number(figure: Figure, index: int) -> int:
    """The printed figure number, else its position in the list (1-based)."""
    return figure.number if figure.number is not None else index + 1


def figure_context(doc: ParsedDocument, figure: Figure, chars: int = FIGURE_CONTEXT_CHARS) -> str:
    """The printed caption and the text around it on the figure's page."""
    page = next((p for p in doc.pages if p.number == figure.page), None)
    text = page.text if page else ""
    caption = figure.caption or ""
    where = text.find(caption[:60]) if caption else -1
    if where < 0 and figure.label:
        where = text.find(figure.label)
    if where < 0:
        around = text[: 2 * chars]
    else:
        around = text[max(0, where - chars): where + len(caption) + chars]
    head = f"Figure {figure.label or ''} printed caption: {caption or '(none)'}"
    return f"{head}\nText around it:\n{around}"


async def figure_captions(client: LLMClient, doc: ParsedDocument, figures: list[Figure],
                          images: dict[int, bytes] | None = None) -> FieldGroup:
    """Group 6: a description of each figure, from its image when a vision model is set."""
    name = "figure_captions"
    chosen = figures[: client.settings.vision_max_figures]
    if not chosen:
        return FieldGroup(name, {"figure_descriptions": {}}, source="llm")
    vision = client.settings.vision_model
    if vision and images:
        results = await asyncio.gather(*(
            _describe_image(client, doc, figure, index, images[index], vision)
            for index, figure in enumerate(chosen) if images.get(index)
        ), return_exceptions=True)
        descriptions = {r[0]: r[1] for r in results if isinstance(r, tuple) and r[1]}
        # Figures without an image, or whose image call failed, are described from text.
        missing = [i for i in range(len(chosen)) if i not in descriptions]
    else:
        descriptions, missing = {}, list(range(len(chosen)))
    if missing:
        descriptions.update(await _describe_from_text(client, doc, chosen, missing))
    return FieldGroup(name, {"figure_descriptions": descriptions}, source="llm")


async def _describe_from_text(client: LLMClient, doc: ParsedDocument, figures: list[Figure],
                              indices: list[int]) -> dict[int, str]:
    name = "figure_captions"
    numbers = {figure_number(figures[i], i): i for i in indices}

    def build() -> Prompt:
        hint = _schema_hint(client, CaptionsAnswer)
        fixed = "\n\n".join([SYSTEM, TASKS[name], hint or "", fence(""), REMINDER])
        per_figure = max(64, client.input_budget(fixed) // len(indices) - 16)
        blocks = [f"[figure {number}]\n{fit_plain(figure_context(doc, figures[i]), per_figure)}"
                  for number, i in numbers.items()]
        return messages(TASKS[name], "\n\n".join(blocks), hint), False

    answer, _ = await client.ask(CaptionsAnswer, build, group=name,
                                 prompt_version=PROMPT_VERSIONS[name])
    return {numbers[f.figure]: _clean(f.description) for f in answer.figures
            if f.figure in numbers and _clean(f.description)}


async def _describe_image(client: LLMClient, doc: ParsedDocument, figure: Figure, index: int,
                          png: bytes, model: str) -> tuple[int, str]:
    name = "figure_captions"
    number = figure_number(figure, index)
    task = TASKS["figure_image"].format(number=number)
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    def build() -> Prompt:
        hint = _schema_hint(client, CaptionsAnswer, model)
        fixed = "\n\n".join([SYSTEM, task, hint or "", fence(""), REMINDER])
        budget = client.input_budget(fixed, images=1, model=model)
        chat = messages(task, fit_plain(figure_context(doc, figure), budget), hint)
        chat[1]["content"] = [{"type": "text", "text": chat[1]["content"]},
                              {"type": "image_url", "image_url": {"url": url}}]
        return chat, False

    answer, _ = await client.ask(CaptionsAnswer, build, group=name, model=model,
                                 prompt_version=PROMPT_VERSIONS[name])
    texts = [_clean(f.description) for f in answer.figures if _clean(f.description)]
    return index, texts[0] if texts else ""


TEXT_GROUPS = {
    "title_authors_abstract": title_authors_abstract,
    "institutions_keywords": institutions_keywords,
    "summary_citations": summary_citations,
    "starter_questions": starter_questions,
    "highlights": highlights,
}
"""The LLM counterpart of each heuristic group, by the group's registry name."""


async def run_all(client: LLMClient, doc: ParsedDocument, figures: list[Figure] | None = None,
                  images: dict[int, bytes] | None = None) -> list[FieldGroup | BaseException]:
    """Every group concurrently; a failed group is returned as its exception."""
    jobs = [TEXT_GROUPS[spec.name](client, doc) for spec in REGISTRY if spec.llm]
    if figures:
        jobs.append(figure_captions(client, doc, figures, images))
    return list(await asyncio.gather(*jobs, return_exceptions=True))
