"""Extraction quality, as floors, on the five sets of real papers no generator made: the
publisher classes' own sample papers and documentation (four sets) and R packages' vignettes (see
`make class-samples` and `make r-vignettes`), laid out from Debian's packages with their
hand-read ground truth."""

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
    "class_samples_2.json": {"title": 98.0, "authors": 84.0, "abstract": 89.0,
                             "affiliations": 91.0, "keywords": 88.0},
    "class_samples_3.json": {"title": 88.0, "authors": 99.0, "abstract": 99.0,
                             "affiliations": 92.0, "keywords": 94.0},
    "class_samples_4.json": {"title": 82.0, "authors": 96.0, "abstract": 81.0,
                             "affiliations": 84.0, "keywords": 99.0},
}
"""Soft F1 (percent). Measured: class samples 97.1 / 99.2 / 98.5 / 97.5 / 100 (title, authors,
abstract, affiliations, keywords; 85.3 / 82.1 / 80.0 / 71.9 / 97.1 before the rules they
exposed); R vignettes 100 / 100 / 100 / 100 / 100 (100 / 99.6 / 82.8 / 79.3 / 100 before);
the second class set (other classes' samples and documentation, read before any rule was
written for them) 100 / 85.7 / 90.5 / 91.7 / 89.5 (95.2 / 84.1 / 82.9 / 50.0 / 89.5 before;
affiliations 78.3 before the rules for position-led and keyword-less footnote addresses and
year-first dates);
the third, read the same way a stop later, 88.9 / 100 / 100 / 92.5 / 94.5 (77.8 / 100 / 90.9
/ 86.2 / 94.5 before); the fourth, 82.4 / 96.1 / 81.5 / 84.1 / 100 (82.4 / 91.8 / 81.5 / 71.6
/ 100 before)."""
LAID_OUT = {"class_samples.json": 30, "r_vignettes.json": 30, "class_samples_2.json": 18,
            "class_samples_3.json": 16, "class_samples_4.json": 15}
"""Papers each set must lay out (a Debian release whose PDFs differ skips some)."""


@pytest.fixture(scope="module", params=sorted(FLOORS))
def scored(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Report]:
    truth: str = request.param
    out = tmp_path_factory.mktemp(truth.removesuffix(".json"))
    written = class_samples.build(out, class_samples.HERE / truth)
    assert written >= LAID_OUT[truth], f"only {written} papers of {truth} could be laid out"
    return truth, evaluate(out, extract_paper, workers=2)


@pytest.mark.parametrize("field", ["title", "authors", "abstract", "affiliations", "keywords"])
def test_held_out_papers_stay_above_the_floor(scored: tuple[str, Report], field: str) -> None:
    truth, report = scored
    f1 = 100 * report.totals("soft")[field].f1
    floor = FLOORS[truth][field]
    assert f1 >= floor, f"{truth} {field}: {f1:.1f} < {floor}\n{report.paper_table()}"
