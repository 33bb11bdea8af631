"""Human-readable reports of a result: markdown for artifacts and notebooks, text for the CLI."""

from __future__ import annotations

import html
import re
from typing import Any

from paperflow.models import PaperMetadataExtraction


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    key = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    return key[:100].rstrip("-") or "paper"


FIGURE_THUMBNAILS = 6
"""Figures shown as images in the report; the others are listed with a link."""
FIGURE_THUMBNAIL_WIDTH = 200


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _link_target(url: str) -> str:
    """A URL as a markdown link or image target: no spaces or parentheses left to end it."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _alt(text: str) -> str:
    return re.sub(r"[\[\]\n]+", " ", text).strip()


def _is_web_url(url: str | None) -> bool:
    """Only http(s) assets are shown as images: a browser will not load `file://` from a page."""
    return bool(url) and str(url).startswith(("http://", "https://"))


def preview_image(result: PaperMetadataExtraction) -> str | None:
    """The first page as a markdown image: the 300 px thumbnail, else the full preview."""
    preview = result.preview
    if preview is None:
        return None
    thumbnail = preview.thumbnails.get("md")
    for asset in (thumbnail.asset if thumbnail else None, preview.asset):
        if asset is not None and _is_web_url(asset.url):
            alt = _alt(f"First page of {result.title or 'the paper'}")
            return f"![{alt}]({_link_target(str(asset.url))})"
    return None


def _figure_image(url: str, alt: str) -> str:
    """A figure thumbnail: an HTML <img> (markdown has no width), which Prefect's UI renders."""
    return (f'<img src="{html.escape(url, quote=True)}" alt="{html.escape(alt, quote=True)}" '
            f'width="{FIGURE_THUMBNAIL_WIDTH}">')


def figures_section(result: PaperMetadataExtraction) -> list[str]:
    """The figures: the first few as thumbnails over their label, page and caption; the rest
    as a list with links to their images."""
    if not result.figures:
        return []
    lines = ["## Figures", ""]
    shown = [f for f in result.figures if f.asset and _is_web_url(f.asset.url)]
    shown = shown[:FIGURE_THUMBNAILS]
    for figure in shown:
        assert figure.asset is not None and figure.asset.url
        label = figure.label or "Image"
        name = figure.asset.key.rsplit("/", 1)[-1]
        caption = html.escape((figure.caption or "(no caption)")[:200], quote=False)
        lines += [_figure_image(figure.asset.url, label), "",
                  f"**{label}** (p.{figure.page}) — [{name}]({_link_target(figure.asset.url)}): "
                  f"{caption}", ""]
    rest = [f for f in result.figures if all(f is not s for s in shown)]
    for figure in rest:
        link = f" — [{figure.asset.key.rsplit('/', 1)[-1]}]({_link_target(figure.asset.url)})" \
            if figure.asset and figure.asset.url else ""
        caption = (figure.caption or "(no caption)")[:200]
        lines.append(f"- {figure.label or 'Image'} (p.{figure.page}){link}: {caption}")
    if rest:
        lines.append("")
    return lines


def markdown_report(result: PaperMetadataExtraction) -> str:
    """The per-paper report: metadata, summary, highlights, questions, counts, timings."""
    lines = [f"# {result.title or 'Untitled paper'}", ""]
    if result.authors:
        lines += ["**Authors:** " + ", ".join(a.name for a in result.authors), ""]
    image = preview_image(result)
    if image:
        lines += [image, ""]
    if result.affiliations:
        lines += ["**Affiliations:** " + "; ".join(result.affiliations), ""]
    facts = [f"sha256 `{result.sha256[:16]}…`", f"{result.page_count} pages",
             f"{result.size_bytes / 1024:.0f} KiB"]
    for label, value in (("DOI", result.doi), ("arXiv", result.arxiv_id), ("year", result.year),
                         ("venue", result.venue)):
        if value:
            facts.append(f"{label}: {value}")
    lines += [" · ".join(facts), ""]
    if result.keywords:
        kind = "Keywords" if result.keywords_printed else "Key phrases"
        lines += [f"**{kind}:** " + ", ".join(result.keywords), ""]
    if result.categories:
        lines += ["**Categories:** " + ", ".join(result.categories), ""]
    if result.abstract:
        lines += ["## Abstract", "", result.abstract, ""]
    if result.summary:
        lines += ["## Summary", "", result.summary, ""]
        for citation in result.summary_citations:
            mark = "✓" if citation.verified else "unverified"
            lines.append(f"- [{citation.marker}] p.{citation.page or '?'} ({mark}): "
                         f"“{citation.quote}”")
        lines.append("")
    if result.highlights:
        lines += ["## Highlights", ""]
        for highlight in result.highlights:
            lines.append(f"- **{highlight.type}** (p.{highlight.page or '?'}): “{highlight.quote}” "
                         f"— {highlight.annotation}")
        lines.append("")
    if result.starter_questions:
        lines += ["## Starter questions", ""]
        lines += [f"{i}. {q}" for i, q in enumerate(result.starter_questions, 1)] + [""]
    lines += figures_section(result)
    lines += ["## Counts", "", "| what | count |", "| --- | ---: |"]
    for label, count in (("authors", len(result.authors)), ("references", len(result.references)),
                         ("figures", len(result.figures)), ("highlights", len(result.highlights)),
                         ("summary citations", len(result.summary_citations)),
                         ("starter questions", len(result.starter_questions))):
        lines.append(f"| {label} | {count} |")
    lines.append("")
    if result.llm:
        lines += llm_section(result)
    if result.timings:
        lines += ["## Timings", "", "| task | seconds | cached |", "| --- | ---: | --- |"]
        for timing in result.timings:
            lines.append(f"| {timing.task} | {timing.seconds:.3f} | "
                         f"{'yes' if timing.cached else 'no'} |")
        lines.append("")
    if result.assets:
        lines += ["## Stored assets", ""]
        for name, asset in sorted(result.assets.items()):
            target = asset.url or asset.uri
            lines.append(f"- [{name}]({target}) — {asset.content_type}, {asset.size} bytes")
        lines.append("")
    if result.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in result.warnings] + [""]
    return "\n".join(lines)


def llm_section(result: PaperMetadataExtraction) -> list[str]:
    """The LLM phase: model, calls, tokens, estimated cost, rejected quotes, disagreements."""
    llm = result.llm
    if llm is None:
        return []
    cost = f"${llm.cost_usd:.4f}" if llm.cost_usd is not None else "not priced"
    slowest = max((c.seconds for c in llm.calls), default=0.0)
    lines = ["## LLM", "",
             f"**Model:** {llm.model}" + (f" · vision: {llm.vision_model}"
                                          if llm.vision_model else ""), "",
             f"{len(llm.calls)} calls · {llm.prompt_tokens} prompt + {llm.completion_tokens} "
             f"completion tokens · estimated cost {cost} · {llm.seconds:.1f} s "
             f"(slowest call {slowest:.1f} s) · quotes rejected by verification: "
             f"{llm.quotes_rejected} of {llm.quotes_checked}", ""]
    if llm.calls:
        lines += ["| group | tokens in | tokens out | cost | seconds | attempts | notes |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for call in llm.calls:
            notes = [n for n, on in (("cached", call.cached), ("repaired", call.repaired),
                                     ("truncated input", call.truncated_input)) if on]
            if call.error:
                notes.append("failed: " + _escape(call.error[:80]))
            price = f"${call.cost_usd:.4f}" if call.cost_usd is not None else ""
            lines.append(f"| {call.group} | {call.prompt_tokens} | {call.completion_tokens} | "
                         f"{price} | {call.seconds:.2f} | {call.attempts} | {', '.join(notes)} |")
        lines.append("")
    if llm.disagreements:
        lines += ["**Disagreements (heuristic vs LLM):**", ""]
        for item in llm.disagreements:
            lines.append(f"- {item.field}: kept {item.chosen} ({item.reason}); LLM said "
                         f"“{_escape((item.llm or '')[:120])}”")
        lines.append("")
    if llm.rejected_quotes:
        lines += ["**Quotes not found in the paper (dropped):**", ""]
        lines += [f"- “{_escape(quote[:160])}”" for quote in llm.rejected_quotes[:10]] + [""]
    if llm.errors:
        lines += ["**LLM errors:**", ""] + [f"- {_escape(e[:200])}" for e in llm.errors] + [""]
    return lines


def references_table(result: PaperMetadataExtraction) -> list[dict[str, str]]:
    """One row per reference, for a Prefect table artifact or a DataFrame."""
    return [
        {
            "n": str(i),
            "title": _escape(ref.title or ""),
            "authors": _escape(", ".join(ref.authors[:4]) + (" et al." if len(ref.authors) > 4
                                                             else "")),
            "year": str(ref.year or ""),
            "venue": _escape(ref.venue or ""),
            "doi": ref.doi or "",
            "arxiv": ref.arxiv_id or "",
        }
        for i, ref in enumerate(result.references, 1)
    ]


def text_summary(result: PaperMetadataExtraction) -> str:
    """A short plain-text summary for terminals."""
    authors = ", ".join(a.name for a in result.authors[:8])
    if len(result.authors) > 8:
        authors += f" and {len(result.authors) - 8} more"
    lines = [
        f"Title:      {result.title or '(not found)'}",
        f"Authors:    {authors or '(not found)'}",
        f"Pages:      {result.page_count}   sha256: {result.sha256[:16]}…",
    ]
    if result.keywords:
        lines.append(f"Keywords:   {', '.join(result.keywords[:10])}")
    if result.abstract:
        abstract = result.abstract if len(result.abstract) <= 400 else result.abstract[:397] + "…"
        lines.append(f"Abstract:   {abstract}")
    lines.append(
        f"Extracted:  {len(result.references)} references, {len(result.figures)} figures, "
        f"{len(result.highlights)} highlights, {len(result.starter_questions)} questions"
    )
    if result.warnings:
        lines += [f"Warning:    {w}" for w in result.warnings]
    return "\n".join(lines)


def similar_papers_section(hits: list[Any], heading: str = "## Similar papers") -> str:
    """A markdown section listing similar papers (`paperflow.vectors.Hit`s or their dicts):
    rank, cosine similarity, title and a shortened sha256."""
    lines = [heading, ""]
    if not hits:
        return "\n".join([*lines, "No similar papers stored yet.", ""])
    lines += ["| # | similarity | title | sha256 |", "| ---: | ---: | --- | --- |"]
    for hit in hits:
        item = hit if isinstance(hit, dict) else hit.model_dump()
        title = _escape(str(item.get("title") or "(untitled)"))[:160]
        lines.append(f"| {item['rank']} | {float(item['score']):.3f} | {title} | "
                     f"`{str(item['sha256'])[:16]}…` |")
    lines.append("")
    return "\n".join(lines)
