"""Extraction quality on generated LaTeX papers of every publisher class, as floors.

The papers come from a seed the rules were not tuned on, so this is a held-out check of the
layout rules against every template the generator has (IEEEtran, acmart, elsarticle, llncs,
revtex, amsart, aastex, mnras, article; OUP, Nature, PMLR, Elsevier CAS, ACS achemso, Quantum,
SMF, IEEEconf, AIAA, SPIE, Kluwer) with exact ground truth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paperflow.evaluate import Report, evaluate
from paperflow.pipeline import extract_paper
from tests.corpus.test_generate import _load_generator

SEED = 7
FLOORS = {"title": 95.0, "authors": 95.0, "abstract": 95.0, "affiliations": 97.0,
          "keywords": 97.0, "references": 90.0, "year": 90.0}
"""Soft F1 (percent); measured 100 on every field (title, authors, abstract, affiliations,
keywords, references, year) with one paper of each of the 20 templates of this seed
(affiliations 95.0 and keywords 93.9 before the address and keyword rules that raised these
floors)."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    assert shutil.which("pdflatex"), "pdflatex missing: run scripts/ensure_texlive.sh"
    generator = _load_generator()
    out: Path = tmp_path_factory.mktemp("corpus-quality")
    templates = generator.available_templates()
    assert len(templates) >= 6, templates
    results = generator.generate(out, templates, per_template=1, seed=SEED, workers=2)
    assert all(error is None for error in results.values()), results
    return evaluate(out, extract_paper, workers=2)


@pytest.mark.parametrize("field", sorted(FLOORS))
def test_generated_papers_stay_above_the_floor(report: Report, field: str) -> None:
    f1 = 100 * report.totals("soft")[field].f1
    assert f1 >= FLOORS[field], f"{field}: {f1:.1f} < {FLOORS[field]}\n{report.group_table()}"


def test_every_template_gives_title_and_authors(report: Report) -> None:
    for template, papers in report.groups().items():
        for paper in papers:
            soft = paper.fields["soft"]
            assert soft["title"][0] == 1, (template, paper.paper_id)
            assert soft["authors"][0] >= 0.8 * soft["authors"][2], (template, paper.paper_id)
