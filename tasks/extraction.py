"""Extraction tasks: each cached on the paper's content, so a re-run of the same bytes is free."""

from __future__ import annotations

from pathlib import Path

from prefect import Task, task

from paperflow import layout
from paperflow.models import Asset, Figure, Preview, Thumbnail
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import REGISTRY, FieldGroup, GroupSpec, PaperKey, code_version
from paperflow.sandbox import (
    extract_figures_limited,
    ocr_document_limited,
    parse_layout_limited,
    render_preview_limited,
)
from paperflow.settings import get_settings
from paperflow.storage import get_storage, paper_key
from tasks.locks import locked_cache_policy
from tasks.policy import (
    Timed,
    cached_task_limits,
    content_cache_key,
    from_settings,
    retry_unless_permanent,
    timed,
)

_limits = cached_task_limits("task_timeout_seconds")
VERSION = code_version(Path(__file__), packages=("paperflow", "tasks"))
"""Every extraction task's version, in its cache key: a hash of the code the tasks run (the
parsers, the layout analysis, the groups, the renderers, the sandbox, the result codec)."""
_cached = {"persist_result": True, "version": VERSION, **_limits(get_settings())}


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(content_cache_key("max_pages")), **_cached)
def parse_pdf(key: PaperKey, data: bytes) -> Timed[ParsedDocument]:
    """Text and layout of every page in reading order, every block labelled with its role, in
    a child process whose CPU, memory and wall-clock limits keep a hostile PDF from taking the
    worker down. Scanned pages are left for `ocr_pages`, and then so is the analysis
    (`analyse_layout` runs after the OCR)."""
    settings = get_settings()
    return timed(parse_layout_limited, data, settings.max_pages, settings, defer_ocr=True,
                 analyse=True)


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(
    content_cache_key("max_pages", "ocr", "ocr_dpi", "ocr_language")), **_cached)
def ocr_pages(key: PaperKey, data: bytes, doc: ParsedDocument) -> Timed[ParsedDocument]:
    """The pages with no usable text layer (scans) read by Tesseract into the same layout
    model, each marked "ocr" with its mean confidence; under the parse's limits."""
    return timed(ocr_document_limited, data, doc, get_settings())


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(content_cache_key("max_pages")), **_cached)
def analyse_layout(key: PaperKey, doc: ParsedDocument) -> Timed[ParsedDocument]:
    """Every block of an OCR'd document labelled with its role; the front matter read once
    from the roles (a document with a text layer is analysed by `parse_pdf`)."""
    return timed(layout.analyse_layout, doc)


def _group_task(spec: GroupSpec) -> Task[..., Timed[FieldGroup]]:
    def run_group(key: PaperKey, doc: ParsedDocument) -> Timed[FieldGroup]:
        return timed(spec.run, doc, get_settings())

    run_group.__doc__ = spec.description
    return from_settings(_limits)(task(
        run_group, name=spec.name,
        cache_policy=locked_cache_policy(content_cache_key(*spec.settings)), **_cached))


TEXT_GROUPS = tuple(_group_task(spec) for spec in REGISTRY)
"""One cached task per extraction group of `paperflow.pipeline.REGISTRY`."""


def _figures_stored(key: PaperKey, data: bytes, doc: ParsedDocument) -> list[Figure]:
    storage = get_storage()
    figures: list[Figure] = []
    for index, found in enumerate(extract_figures_limited(data, doc, get_settings()), start=1):
        asset = storage.put(paper_key(key.sha256, "images", f"{index}.png"), found.png,
                            "image/png") if found.png else None
        figures.append(found.figure.model_copy(update={"asset": asset}))
    return figures


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(
          content_cache_key("max_figures", "figure_dpi", storage=True)),
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_permanent, **_cached)
def figures(key: PaperKey, data: bytes, doc: ParsedDocument) -> Timed[list[Figure]]:
    """Group 6: figures cropped to PNG in a sandboxed child process, stored, with their
    printed captions."""
    return timed(_figures_stored, key, data, doc)


def _preview_stored(key: PaperKey, data: bytes) -> Preview:
    images = render_preview_limited(data, get_settings())
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


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(content_cache_key("preview_width", storage=True)),
      retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_permanent, **_cached)
def preview(key: PaperKey, data: bytes) -> Timed[Preview]:
    """First-page preview, thumbnails and blurhash rendered in a sandboxed child process,
    stored as WebP."""
    return timed(_preview_stored, key, data)
