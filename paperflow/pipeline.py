"""The extraction groups as plain functions, and the rejoin into one `PaperMetadataExtraction`.

`tasks/` wraps each group in a cached, retried Prefect task and `flows/` runs them concurrently;
`extract_paper` runs the same groups one after another with no Prefect at all (evaluation,
notebooks, tests of the core).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperflow import __version__
from paperflow.extract.header import extract_header
from paperflow.extract.highlights import extract_highlights
from paperflow.extract.keyphrases import key_phrases
from paperflow.extract.questions import starter_questions
from paperflow.extract.references import extract_references
from paperflow.extract.summary import extract_summary
from paperflow.figures import extract_figures
from paperflow.layout import analyse_layout
from paperflow.models import SCHEMA_VERSION, PaperMetadataExtraction, Provenance, TaskTiming
from paperflow.pdf import ParsedDocument, parse_layout
from paperflow.settings import Settings, get_settings


@dataclass
class FieldGroup:
    """Some fields of the result, where they came from, and anything worth warning about."""

    name: str
    fields: dict[str, Any]
    source: Provenance = "pdf"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PaperKey:
    """Identity of a paper's bytes: everything downstream is keyed on the sha256."""

    sha256: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> PaperKey:
        return cls(hashlib.sha256(data).hexdigest(), len(data))


def title_authors_abstract(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 1: title, authors, abstract and bibliographic facts."""
    header = extract_header(doc)
    return FieldGroup("title_authors_abstract", {
        "title": header.title,
        "authors": header.authors,
        "abstract": header.abstract,
        "publish_date": header.publish_date,
        "year": header.year,
        "venue": header.venue,
        "doi": header.doi,
        "arxiv_id": header.arxiv_id,
        "license": header.license,
    })


def institutions_keywords(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 2: affiliations and keywords (printed ones, else ranked key phrases)."""
    header = extract_header(doc)
    keywords, printed = header.keywords, header.keywords_printed
    if not keywords:
        keywords, printed = key_phrases(doc), False
    return FieldGroup("institutions_keywords", {
        "affiliations": header.affiliations,
        "keywords": keywords,
        "keywords_printed": printed,
    })


def summary_citations(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 3: an extractive summary whose every sentence is a cited quote."""
    settings = settings or get_settings()
    abstract = extract_header(doc).abstract
    summary, citations = extract_summary(doc, abstract, settings.summary_sentences)
    return FieldGroup("summary_citations", {"summary": summary, "summary_citations": citations})


def questions(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 4: starter questions for discussion."""
    settings = settings or get_settings()
    title = extract_header(doc).title
    found = starter_questions(doc, title, settings.starter_questions_count)
    return FieldGroup("starter_questions", {"starter_questions": found})


def highlights(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 5: highlights and takeaways as exact quotes."""
    settings = settings or get_settings()
    return FieldGroup("highlights",
                      {"highlights": extract_highlights(doc, settings.highlights_count)})


def references(doc: ParsedDocument, settings: Settings | None = None) -> FieldGroup:
    """Group 6: the parsed reference list."""
    return FieldGroup("references", {"references": extract_references(doc)})


@dataclass
class GroupSpec:
    """One extraction group, declared once: the tasks, the plain pipeline and the LLM layer are
    all built from `REGISTRY`."""

    name: str
    run: Callable[[ParsedDocument, Settings], FieldGroup]
    settings: tuple[str, ...] = ()
    """The settings its result depends on (part of its cache key)."""
    llm: bool = True
    """Whether `paperflow.llm.groups` has a counterpart that refines it."""

    @property
    def description(self) -> str:
        return (self.run.__doc__ or self.name).strip()


REGISTRY: tuple[GroupSpec, ...] = (
    GroupSpec("title_authors_abstract", title_authors_abstract),
    GroupSpec("institutions_keywords", institutions_keywords),
    GroupSpec("summary_citations", summary_citations, ("summary_sentences",)),
    GroupSpec("starter_questions", questions, ("starter_questions_count",)),
    GroupSpec("highlights", highlights, ("highlights_count",)),
    GroupSpec("references", references, llm=False),
)
GROUPS = tuple(spec.name for spec in REGISTRY)


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)|import[ \t]+([\w.]+))",
    re.MULTILINE)


def code_files(*roots: Path, packages: tuple[str, ...] = ("paperflow",)) -> list[Path]:
    """`roots` and the source of every module of `packages` they import, directly or not (a
    function-level import too), with the packages those modules sit in."""
    seen: set[Path] = set()
    pending = [root.resolve() for root in roots]
    while pending:
        path = pending.pop()
        if path not in seen:
            seen.add(path)
            pending.extend(_imported_files(path.read_text(encoding="utf-8"), packages))
    return sorted(seen)


def _imported_files(source: str, packages: tuple[str, ...]) -> list[Path]:
    files = []
    for match in _IMPORT.finditer(source):
        base, names, plain = match.groups()
        module = base or plain
        parts = module.split(".")
        if parts[0] not in packages:
            continue
        for depth in range(1, len(parts) + 1):
            files += _source_of(".".join(parts[:depth]))
        if names and _is_package(module):  # `from paperflow import codec` imports a module
            for name in names.strip("()").replace("\n", " ").split(","):
                if name.split():
                    files += _source_of(f"{module}.{name.split()[0]}")
    return files


def _source_of(module: str) -> list[Path]:
    """The module's source file, found without running it (only its parent packages run)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    origin = spec.origin if spec is not None else None
    return [Path(origin).resolve()] if origin and origin.endswith(".py") else []


def _is_package(module: str) -> bool:
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec(module)
        return spec is not None and spec.submodule_search_locations is not None
    return False


def code_version(*roots: Path, packages: tuple[str, ...] = ("paperflow",)) -> str:
    """paperflow's version and a hash of the code `roots` run (`code_files`): results cached
    under it are recomputed after any change to that code, and to nothing else."""
    digest = hashlib.sha256()
    for path in code_files(*roots, packages=packages):
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def run_groups(doc: ParsedDocument, settings: Settings | None = None) -> list[FieldGroup]:
    """Every text group, one after another (the flow runs them concurrently instead)."""
    settings = settings or get_settings()
    return [spec.run(doc, settings) for spec in REGISTRY]


def assemble(
    key: PaperKey,
    doc: ParsedDocument,
    groups: list[FieldGroup],
    *,
    source: str | None = None,
    extra: dict[str, Any] | None = None,
    timings: list[TaskTiming] | None = None,
) -> PaperMetadataExtraction:
    """Rejoin the groups into one result, recording each field's provenance."""
    values: dict[str, Any] = {}
    provenance: dict[str, Provenance] = {}
    warnings = list(doc.warnings)
    for group in groups:
        warnings.extend(group.warnings)
        for name, value in group.fields.items():
            values[name] = value
            if value not in (None, "", [], {}) and name != "keywords_printed":
                provenance[name] = group.source
    for name, value in (extra or {}).items():
        values[name] = value
        if value not in (None, "", [], {}):
            provenance.setdefault(name, "pdf")
    if not values.get("title"):
        warnings.append("No title found on the first page.")
    return PaperMetadataExtraction(
        sha256=key.sha256,
        size_bytes=key.size,
        page_count=doc.page_count,
        source=source,
        provenance=provenance,
        timings=timings or [],
        versions=versions(),
        warnings=warnings,
        **values,
    )


def versions() -> dict[str, str]:
    import pymupdf

    return {"paperflow": __version__, "schema": SCHEMA_VERSION, "pymupdf": pymupdf.__version__}


def extract_paper(data: bytes, settings: Settings | None = None,
                  source: str | None = None) -> PaperMetadataExtraction:
    """Every text field and figure caption of one paper: no orchestration, storage or images."""
    settings = settings or get_settings()
    key = PaperKey.of(data)
    timings: list[TaskTiming] = []
    start = time.perf_counter()
    doc = parse_layout(data, settings.max_pages)
    timings.append(TaskTiming(task="parse_layout", seconds=time.perf_counter() - start))
    start = time.perf_counter()
    analyse_layout(doc)
    timings.append(TaskTiming(task="analyse_layout", seconds=time.perf_counter() - start))
    groups = []
    for spec in REGISTRY:
        start = time.perf_counter()
        groups.append(spec.run(doc, settings))
        timings.append(TaskTiming(task=spec.name, seconds=time.perf_counter() - start))
    start = time.perf_counter()
    figures = extract_figures(data, doc, settings.max_figures, settings.figure_dpi, render=False)
    timings.append(TaskTiming(task="figures", seconds=time.perf_counter() - start))
    extra = {"figures": [found.figure for found in figures]}
    return assemble(key, doc, groups, source=source, extra=extra, timings=timings)
