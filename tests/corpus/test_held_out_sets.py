"""Extraction quality, as floors, on the two sets of real papers no generator made: the
publisher classes' own sample papers and R packages' vignettes (see `make class-samples` and
`make r-vignettes`), laid out from Debian's packages with their hand-read ground truth."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paperflow.evaluate import Report, evaluate
from paperflow.pipeline import extract_paper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))

import class_samples  # noqa: E402

FLOORS = {
    "class_samples.json": {"title": 95.0, "authors": 98.0, "abstract": 96.0,
                           "affiliations": 95.0, "keywords": 98.0},
    "r_vignettes.json": {"title": 98.0, "authors": 99.0, "abstract": 98.0,
                         "affiliations": 98.0, "keywords": 98.0},
}
"""Soft F1 (percent). Measured: class samples 97.1 / 99.2 / 98.5 / 97.5 / 100 (title, authors,
abstract, affiliations, keywords; 85.3 / 82.1 / 80.0 / 71.9 / 97.1 before the rules they
exposed); R vignettes 100 / 100 / 100 / 100 / 100 (100 / 99.6 / 82.8 / 79.3 / 100 before)."""


@pytest.fixture(scope="module", params=sorted(FLOORS))
def scored(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Report]:
    truth: str = request.param
    out = tmp_path_factory.mktemp(truth.removesuffix(".json"))
    written = class_samples.build(out, class_samples.HERE / truth)
    assert written >= 30, f"only {written} papers of {truth} could be laid out"
    return truth, evaluate(out, extract_paper, workers=2)


@pytest.mark.parametrize("field", ["title", "authors", "abstract", "affiliations", "keywords"])
def test_held_out_papers_stay_above_the_floor(scored: tuple[str, Report], field: str) -> None:
    truth, report = scored
    f1 = 100 * report.totals("soft")[field].f1
    floor = FLOORS[truth][field]
    assert f1 >= floor, f"{truth} {field}: {f1:.1f} < {floor}\n{report.paper_table()}"
