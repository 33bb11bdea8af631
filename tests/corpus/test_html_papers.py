"""Papers typeset by a web browser (scripts/corpus/html_papers.py, printed by Chromium).

The LaTeX corpus covers TeX's typesetting only; these styles follow conventions of journals
that typeset through HTML/CSS or word processors (a metadata sidebar, run-in labels, "Author
details" at the end, names parted by middle dots, a SUMMARY heading, a double-spaced
manuscript, addresses in a margin column, names with degrees, a repository cover sheet,
unlabelled keywords, symbol-marked address notes under a two-column first page, addresses in
parentheses after the names, a Highlights list, line numbers, an author table, a masthead). The
seed is one the rules were not written at. `make test` installs Chromium first
(scripts/ensure_chromium.sh).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pymupdf
import pytest

from paperflow.evaluate import Report, evaluate
from paperflow.pipeline import extract_paper
from tests.conftest import ROOT
from tests.corpus.test_generate import _squash

SEED = 7
FLOORS = {"title": 95.0, "authors": 95.0, "abstract": 95.0, "affiliations": 95.0,
          "keywords": 95.0, "references": 95.0, "year": 90.0}
"""Soft F1 (percent); measured 100 on every field with two papers of each of the ten styles
of this seed. The rules written at seed 1's papers raised it from title 95.0, authors 95.4,
affiliations 71.4, keywords 91.9, year 93.3 and references 92.3 (abstract 100): sidebars beside
part of a page, names parted by middle dots, "Author details" lists, keyword lines stopping at
a note, addresses under the abstract or wrapping in a margin column, abstract labels on lines
of their own, cover sheets with a smaller title, unlabelled keywords parted by bars."""


def _load_html_generator() -> ModuleType:
    path = ROOT / "scripts" / "corpus" / "html_papers.py"
    spec = importlib.util.spec_from_file_location("corpus_html_papers", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("chromium"), "chromium missing: run scripts/ensure_chromium.sh"
    generator = _load_html_generator()
    out = tmp_path_factory.mktemp("html-corpus")
    results = generator.generate_all(out, list(generator.STYLES), per_style=2, seed=SEED)
    assert all(error is None for error in results.values()), results
    assert len(results) == 2 * len(generator.STYLES)
    return out


def test_printed_papers_hold_their_ground_truth(corpus: Path) -> None:
    for gt_path in sorted(corpus.glob("*.gt.json")):
        gt = json.loads(gt_path.read_text(encoding="utf-8"))["gt"]
        with pymupdf.open(gt_path.with_name(gt_path.name.replace(".gt.json", ".pdf"))) as doc:
            assert doc[0].get_fonts() and all(font[2] != "Type3" for font in doc[0].get_fonts())
            # The article's first page (after a cover sheet in the cover style).
            first = _squash(doc[0].get_text() + doc[1].get_text())
            full = _squash("\n".join(page.get_text() for page in doc))
        assert _squash(gt["title"]) in first, gt_path.name
        for name in gt["authors"]:
            assert _squash(name) in first, (gt_path.name, name)
        for affiliation in gt["affiliations"]:
            assert _squash(affiliation) in full, (gt_path.name, affiliation)
        assert _squash(gt["abstract"][:200]) in full, gt_path.name


@pytest.fixture(scope="module")
def report(corpus: Path) -> Report:
    return evaluate(corpus, extract_paper, workers=2)


@pytest.mark.parametrize("field", sorted(FLOORS))
def test_html_papers_stay_above_the_floor(report: Report, field: str) -> None:
    f1 = 100 * report.totals("soft")[field].f1
    assert f1 >= FLOORS[field], f"{field}: {f1:.1f} < {FLOORS[field]}\n{report.group_table()}"
