"""Score extraction against hand-made ground truth, GROBID style.

Per field: precision = correct / papers with a prediction, recall = correct / papers with a
ground-truth value, F1 their harmonic mean. "exact" compares normalised strings (case, accents,
punctuation, white space); "soft" accepts a normalised similarity ratio of at least 0.8. Author
lists are matched name by name (micro-averaged over names).

Papers are grouped by the `template` key of their ground truth (the generated LaTeX corpus of
scripts/corpus sets it), or else by the name of the folder they come from ("eval"); the report
gives the soft F1 per field and group next to the totals.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from paperflow.models import PaperMetadataExtraction

SOFT_THRESHOLD = 0.8
STRING_FIELDS = ("title", "abstract", "doi", "arxiv_id")
LIST_FIELDS = ("authors", "affiliations", "keywords")
FIELDS = (*STRING_FIELDS[:1], "authors", "abstract", "affiliations", "keywords",
          "doi", "arxiv_id", "year", "references", "figure_captions")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def similar(a: str, b: str) -> float:
    return fuzz.ratio(normalise(a), normalise(b)) / 100.0


@dataclass
class Counts:
    """Counts for one field and one matching mode."""

    correct: int = 0
    predicted: int = 0
    expected: int = 0

    def add(self, correct: int, predicted: int, expected: int) -> None:
        self.correct += correct
        self.predicted += predicted
        self.expected += expected

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _match_lists(predicted: list[str], expected: list[str], soft: bool) -> int:
    """Greedy one-to-one matching of names (or other strings); returns the number matched."""
    remaining = [normalise(e) for e in expected]
    correct = 0
    for name in predicted:
        norm = normalise(name)
        best, best_score = None, 0.0
        for i, candidate in enumerate(remaining):
            score = 1.0 if norm == candidate else fuzz.ratio(norm, candidate) / 100.0
            if score > best_score:
                best, best_score = i, score
        if best is not None and (best_score == 1.0 or (soft and best_score >= SOFT_THRESHOLD)):
            correct += 1
            remaining.pop(best)
    return correct


def _string_match(predicted: str | None, expected: str | None, soft: bool) -> bool:
    if not predicted or not expected:
        return False
    a, b = normalise(predicted), normalise(expected)
    return a == b or (soft and fuzz.ratio(a, b) / 100.0 >= SOFT_THRESHOLD)


@dataclass
class PaperScore:
    paper_id: str
    seconds: float
    fields: dict[str, dict[str, tuple[int, int, int]]] = field(default_factory=dict)
    error: str | None = None
    group: str = ""  # the gt's template, else the folder's name


def _counts_dict(counts: dict[str, Counts]) -> dict[str, dict[str, float]]:
    return {name: {"precision": round(c.precision, 4), "recall": round(c.recall, 4),
                   "f1": round(c.f1, 4)} for name, c in counts.items()}


def score_paper(paper_id: str, result: PaperMetadataExtraction, gt: dict[str, Any],
                seconds: float) -> PaperScore:
    """Per-field (correct, predicted, expected) counts for one paper, exact and soft."""
    score = PaperScore(paper_id, seconds)
    for mode in ("exact", "soft"):
        soft = mode == "soft"
        counts: dict[str, tuple[int, int, int]] = {}
        for name in ("title", "abstract", "doi", "arxiv_id"):
            pred = getattr(result, name)
            exp = gt.get(name) or None
            counts[name] = (int(_string_match(pred, exp, soft)), int(bool(pred)), int(bool(exp)))
        authors = [a.name for a in result.authors]
        exp_authors = list(gt.get("authors") or [])
        counts["authors"] = (_match_lists(authors, exp_authors, soft), len(authors),
                             len(exp_authors))
        exp_affs = list(gt.get("affiliations") or [])
        counts["affiliations"] = (_match_lists(result.affiliations, exp_affs, soft),
                                  len(result.affiliations), len(exp_affs))
        printed = result.keywords if result.keywords_printed else []
        exp_kw = list(gt.get("keywords") or [])
        counts["keywords"] = (_match_lists(printed, exp_kw, soft), len(printed), len(exp_kw))
        year, exp_year = result.year, gt.get("year")
        counts["year"] = (int(bool(year) and year == exp_year), int(bool(year)),
                          int(bool(exp_year)))
        n_refs, exp_refs = len(result.references), int(gt.get("n_references") or 0)
        tolerance = 0 if not soft else max(1, round(0.05 * exp_refs))
        counts["references"] = (int(exp_refs > 0 and abs(n_refs - exp_refs) <= tolerance),
                                int(n_refs > 0), int(exp_refs > 0))
        counts["figure_captions"] = _caption_counts(result, gt.get("figure_captions") or [], soft)
        score.fields[mode] = counts
    return score


def _caption_counts(result: PaperMetadataExtraction, expected: list[dict[str, Any]],
                    soft: bool) -> tuple[int, int, int]:
    predicted = [f for f in result.figures if f.caption and f.label]
    correct = 0
    for exp in expected:
        start = exp.get("caption_start") or ""
        for fig in predicted:
            if normalise(fig.label or "") != normalise(exp.get("label") or ""):
                continue
            caption = normalise(fig.caption or "")[: len(normalise(start))]
            if _string_match(caption, start, soft):
                correct += 1
                break
    return correct, len(predicted), len(expected)


@dataclass
class Report:
    papers: list[PaperScore]

    def totals(self, mode: str, group: str | None = None) -> dict[str, Counts]:
        """Counts per field over all papers, or over one group's."""
        totals = {name: Counts() for name in FIELDS}
        for paper in self.papers:
            if group is not None and paper.group != group:
                continue
            for name, (c, p, e) in paper.fields.get(mode, {}).items():
                totals[name].add(c, p, e)
        return totals

    def groups(self) -> dict[str, list[PaperScore]]:
        """Papers per group (template or folder name), in order of first appearance."""
        out: dict[str, list[PaperScore]] = {}
        for paper in self.papers:
            out.setdefault(paper.group, []).append(paper)
        return out

    def group_table(self, mode: str = "soft") -> str:
        """One row per group and a total row: the F1 per field in `mode`."""
        short = {"figure_captions": "captions", "affiliations": "affils", "references": "refs"}
        lines = ["| template | papers | errors | "
                 + " | ".join(short.get(n, n) for n in FIELDS) + " |",
                 "| --- | ---: | ---: | " + " | ".join("---:" for _ in FIELDS) + " |"]
        rows = [(name, papers, self.totals(mode, name)) for name, papers in self.groups().items()]
        rows.append(("**total**", self.papers, self.totals(mode)))
        for name, papers, counts in rows:
            errors = sum(1 for p in papers if p.error)
            cells = [_f1_cell(counts[n]) for n in FIELDS]
            lines.append(f"| {name} | {len(papers)} | {errors} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def field_table(self) -> str:
        lines = ["| field | exact P | exact R | exact F1 | soft P | soft R | soft F1 |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        exact, soft = self.totals("exact"), self.totals("soft")
        for name in FIELDS:
            e, s = exact[name], soft[name]
            lines.append(f"| {name} | {100 * e.precision:.1f} | {100 * e.recall:.1f} | "
                         f"{100 * e.f1:.1f} | {100 * s.precision:.1f} | {100 * s.recall:.1f} | "
                         f"{100 * s.f1:.1f} |")
        return "\n".join(lines)

    def paper_table(self) -> str:
        short = ("title", "authors", "abstract", "affiliations", "references", "figure_captions")
        lines = ["| paper | seconds | " + " | ".join(short) + " |",
                 "| --- | ---: | " + " | ".join("---" for _ in short) + " |"]
        for paper in self.papers:
            if paper.error:
                lines.append(f"| {paper.paper_id} | {paper.seconds:.2f} | error: {paper.error} |")
                continue
            soft = paper.fields["soft"]
            cells = [f"{soft[n][0]}/{soft[n][2]}" for n in short]
            lines.append(f"| {paper.paper_id} | {paper.seconds:.2f} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for mode in ("exact", "soft"):
            out[mode] = _counts_dict(self.totals(mode))
        out["templates"] = {
            name: {"papers": len(papers), "errors": sum(1 for p in papers if p.error),
                   **{mode: _counts_dict(self.totals(mode, name)) for mode in ("exact", "soft")}}
            for name, papers in self.groups().items()}
        out["papers"] = [{"id": p.paper_id, "template": p.group, "seconds": round(p.seconds, 3),
                          "error": p.error, "soft": p.fields.get("soft")} for p in self.papers]
        return out


def _f1_cell(counts: Counts) -> str:
    """F1 in percent; "-" when the field is neither expected nor predicted."""
    if not counts.expected and not counts.predicted:
        return "-"
    return f"{100 * counts.f1:.1f}"


def ground_truth_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.gt.json"))
    if not files:
        raise FileNotFoundError(
            f"No *.gt.json ground-truth files in {directory}: point `paperflow eval` at the "
            "evaluation folder (for example ../shared/eval)."
        )
    return files


def _jobs(directory: Path, only: Iterable[str] = ()) -> list[tuple[str, str, Path, dict[str, Any]]]:
    """(paper id, group, PDF, ground truth) of each paper with ground truth in `directory` whose
    id contains one of `only` (all when empty)."""
    wanted = set(only)
    folder = directory.resolve().name or str(directory)
    jobs: list[tuple[str, str, Path, dict[str, Any]]] = []
    for gt_path in ground_truth_files(directory):
        record = json.loads(gt_path.read_text(encoding="utf-8"))
        paper_id = record.get("id") or gt_path.name.removesuffix(".gt.json")
        if wanted and not any(w in paper_id for w in wanted):
            continue
        group = str(record.get("template") or folder)
        pdf = directory / record.get("file", f"{paper_id}.pdf")
        jobs.append((paper_id, group, pdf, record["gt"]))
    return jobs


def count_papers(directories: Iterable[Path], only: Iterable[str] = ()) -> int:
    """How many papers `evaluate_many` will score."""
    wanted = list(only)
    return sum(len(_jobs(Path(directory), wanted)) for directory in directories)


def evaluate(directory: Path, extract: Callable[[bytes], PaperMetadataExtraction],
             only: Iterable[str] = (), progress: Callable[[str], None] | None = None,
             workers: int = 1) -> Report:
    """Run `extract` over every paper with ground truth in `directory` and score it.

    Each paper's group is its ground truth's `template`, else the folder's name. With
    `workers` > 1 the papers are extracted in that many processes (`extract` must pickle).
    """
    jobs = _jobs(directory, only)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_score_one, extract, *job) for job in jobs]
            papers = []
            for future in futures:
                papers.append(future.result())
                if progress:
                    progress(papers[-1].paper_id)
        return Report(papers)
    papers = []
    for job in jobs:
        papers.append(_score_one(extract, *job))
        if progress:
            progress(papers[-1].paper_id)
    return Report(papers)


def _score_one(extract: Callable[[bytes], PaperMetadataExtraction], paper_id: str, group: str,
               pdf: Path, gt: dict[str, Any]) -> PaperScore:
    start = time.perf_counter()
    try:
        result = extract(pdf.read_bytes())
    except Exception as exc:
        return PaperScore(paper_id, time.perf_counter() - start, error=str(exc), group=group)
    score = score_paper(paper_id, result, gt, time.perf_counter() - start)
    score.group = group
    return score


def evaluate_many(directories: Iterable[Path],
                  extract: Callable[[bytes], PaperMetadataExtraction], only: Iterable[str] = (),
                  progress: Callable[[str], None] | None = None, workers: int = 1) -> Report:
    """`evaluate` over several folders, one report (groups keep templates and folders apart)."""
    wanted = list(only)
    papers: list[PaperScore] = []
    for directory in directories:
        papers += evaluate(Path(directory), extract, only=wanted, progress=progress,
                           workers=workers).papers
    return Report(papers)
