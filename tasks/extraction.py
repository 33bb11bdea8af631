"""Extraction tasks: each cached on the paper's content, so a re-run of the same bytes is free."""

from __future__ import annotations

from prefect import task

from paperflow import pipeline
from paperflow.figures import extract_figures
from paperflow.models import Asset, Figure, Preview, Thumbnail
from paperflow.pdf import ParsedDocument, parse_layout
from paperflow.pipeline import FieldGroup, PaperKey
from paperflow.preview import render_preview
from paperflow.settings import get_settings
from paperflow.storage import get_storage, paper_key
from tasks.policy import Timed, cache_expiration, content_cache_key, retry_unless_permanent, timed
from tasks.results import result_storage

VERSION = "1"
_cached = {"persist_result": True, "cache_expiration": cache_expiration(), "version": VERSION,
           "result_storage": result_storage()}


@task(cache_key_fn=content_cache_key("max_pages"), **_cached)
def parse_pdf(key: PaperKey, data: bytes) -> Timed[ParsedDocument]:
    """Text and layout of every page, in reading order."""
    return timed(parse_layout, data, get_settings().max_pages)


@task(cache_key_fn=content_cache_key(), **_cached)
def title_authors_abstract(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """Group 1: title, authors, abstract, publish date."""
    return timed(pipeline.title_authors_abstract, doc)


@task(cache_key_fn=content_cache_key(), **_cached)
def institutions_keywords(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """Group 2: institutions and keywords."""
    return timed(pipeline.institutions_keywords, doc)


@task(cache_key_fn=content_cache_key("summary_sentences"), **_cached)
def summary_citations(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """Group 3: summary with cited quotes."""
    return timed(pipeline.summary_citations, doc, get_settings())


@task(cache_key_fn=content_cache_key("starter_questions_count"), **_cached)
def starter_questions(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """Group 4: starter questions for discussion."""
    return timed(pipeline.questions, doc, get_settings())


@task(cache_key_fn=content_cache_key("highlights_count"), **_cached)
def highlights(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """Group 5: highlights and takeaways."""
    return timed(pipeline.highlights, doc, get_settings())


@task(cache_key_fn=content_cache_key(), **_cached)
def references(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
    """The parsed reference list."""
    return timed(pipeline.references, doc)


TEXT_GROUPS = (
    title_authors_abstract,
    institutions_keywords,
    summary_citations,
    starter_questions,
    highlights,
    references,
)


def _figures_stored(key: PaperKey, data: bytes, doc: ParsedDocument) -> list[Figure]:
    settings = get_settings()
    storage = get_storage()
    figures: list[Figure] = []
    for index, found in enumerate(
        extract_figures(data, doc, settings.max_figures, settings.figure_dpi), start=1
    ):
        asset = storage.put(paper_key(key.sha256, "images", f"{index}.png"), found.png,
                            "image/png") if found.png else None
        figures.append(found.figure.model_copy(update={"asset": asset}))
    return figures


@task(cache_key_fn=content_cache_key("max_figures", "figure_dpi", storage=True),
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_permanent, **_cached)
def figures(key: PaperKey, data: bytes, doc: ParsedDocument) -> Timed[list[Figure]]:
    """Group 6: figures cropped to PNG, stored, with their printed captions."""
    return timed(_figures_stored, key, data, doc)


def _preview_stored(key: PaperKey, data: bytes) -> Preview:
    images = render_preview(data, get_settings().preview_width)
    storage = get_storage()

    def put(name: str, webp: bytes) -> Asset:
        return storage.put(paper_key(key.sha256, *name.split("/")), webp, "image/webp")

    thumbnails = {
        size: Thumbnail(width=image.width, height=image.height,
                        asset=put(f"thumbs/{size}.webp", image.webp))
        for size, image in images.thumbnails.items()
    }
    return Preview(width=images.preview.width, height=images.preview.height,
                   blurhash=images.blurhash, asset=put("preview.webp", images.preview.webp),
                   thumbnails=thumbnails)


@task(cache_key_fn=content_cache_key("preview_width", storage=True),
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_permanent, **_cached)
def preview(key: PaperKey, data: bytes) -> Timed[Preview]:
    """First-page preview, thumbnails and blurhash, stored as WebP."""
    return timed(_preview_stored, key, data)
