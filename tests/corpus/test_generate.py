"""The LaTeX corpus generator (scripts/corpus/generate.py) with the real pdflatex.

`make test` installs TeX Live first (scripts/ensure_texlive.sh, the `texlive` target).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pymupdf
import pytest

from paperflow.evaluate import normalise
from tests.conftest import ROOT

TEMPLATES = ("ieeetran", "elsarticle")


def _load_generator() -> ModuleType:
    path = ROOT / "scripts" / "corpus" / "generate.py"
    spec = importlib.util.spec_from_file_location("corpus_generate", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def _squash(text: str) -> str:
    """Normalised (case, accents, punctuation) without spaces: line breaks and hyphens vanish."""
    return re.sub(r"\s+", "", normalise(text))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("pdflatex"), "pdflatex missing: run scripts/ensure_texlive.sh"
    generator = _load_generator()
    assert set(TEMPLATES) <= set(generator.available_templates())
    out = tmp_path_factory.mktemp("corpus")
    results = generator.generate(out, TEMPLATES, per_template=1, seed=3, workers=2)
    assert results == {f"{name}_1": None for name in TEMPLATES}  # no compile errors
    return out


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_pdf_prints_its_ground_truth(corpus: Path, template: str) -> None:
    record = json.loads((corpus / f"{template}_1.gt.json").read_text(encoding="utf-8"))
    assert record["id"] == f"{template}_1" and record["template"] == template
    assert record["file"] == f"{template}_1.pdf" and record["layout"]
    gt = record["gt"]
    assert set(gt) >= {"title", "authors", "affiliations", "abstract", "keywords",
                       "n_references", "doi", "arxiv_id", "year", "figures", "figure_captions"}
    assert 4 <= len(gt["title"].split()) <= 18
    assert 1 <= len(gt["authors"]) <= 20 and gt["affiliations"]
    assert 3 <= gt["n_references"] <= 60
    assert gt["figures"] == 0 and gt["figure_captions"] == []

    with pymupdf.open(corpus / record["file"]) as doc:
        assert 2 <= doc.page_count <= 12
        first = _squash(doc[0].get_text())
        full = _squash("\n".join(page.get_text() for page in doc))
    assert _squash(gt["title"]) in first
    for name in gt["authors"]:
        assert _squash(name) in first, name
    for affiliation in gt["affiliations"]:
        assert _squash(affiliation) in full, affiliation
    assert _squash(gt["abstract"][:200]) in full
    for keyword in gt["keywords"] or []:
        assert _squash(keyword) in full, keyword


def test_same_seed_same_paper() -> None:
    generator = _load_generator()
    first = generator.build("llncs", 5, 2)[1]
    assert first == generator.build("llncs", 5, 2)[1]
    assert first != generator.build("llncs", 6, 2)[1]
