"""The class-samples set: its ground truth file and the script that lays it out for `eval`."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))

import class_samples  # noqa: E402

FIELDS = {"title", "authors", "affiliations", "abstract", "keywords"}


def test_ground_truth_records_are_complete_and_distinct() -> None:
    records = json.loads(class_samples.GROUND_TRUTH.read_text(encoding="utf-8"))
    assert len(records) == 34
    assert len({record["id"] for record in records}) == len(records)
    assert len({record["path"] for record in records}) == len(records)
    for record in records:
        assert record["path"].startswith("/usr/share/doc/texlive-doc/")
        assert len(record["sha256"]) == 64
        assert set(record["gt"]) >= FIELDS, record["id"]
        assert record["gt"]["title"] and record["gt"]["authors"], record["id"]


def test_build_copies_matching_pdfs_and_skips_changed_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    same, changed = tmp_path / "same.pdf", tmp_path / "changed.pdf"
    same.write_bytes(b"%PDF-1.4 same")
    changed.write_bytes(b"%PDF-1.4 changed")
    records = [
        {"id": "A", "path": str(same), "sha256": hashlib.sha256(same.read_bytes()).hexdigest(),
         "gt": {"title": "A title", "authors": ["Ann Lee"]}},
        {"id": "B", "path": str(changed), "sha256": "0" * 64,
         "gt": {"title": "B title", "authors": ["Bo Chan"]}},
    ]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(records), encoding="utf-8")
    monkeypatch.setattr(class_samples, "GROUND_TRUTH", truth)
    out = tmp_path / "out"
    assert class_samples.build(out) == 1
    assert (out / "A.pdf").read_bytes() == same.read_bytes()
    written = json.loads((out / "A.gt.json").read_text(encoding="utf-8"))
    assert written["gt"]["title"] == "A title" and written["file"] == "A.pdf"
    assert not (out / "B.pdf").exists()
    assert "B: " in capsys.readouterr().err


def test_r_vignette_records_name_their_package_and_are_complete() -> None:
    truth = class_samples.HERE / "r_vignettes.json"
    records = json.loads(truth.read_text(encoding="utf-8"))
    assert len(records) == 60
    assert len({record["id"] for record in records}) == len(records)
    for record in records:
        assert record["package"].startswith("r-cran-"), record["id"]
        assert record["path"].startswith("/usr/lib/R/") and record["path"].endswith(".pdf")
        assert set(record["gt"]) >= FIELDS, record["id"]
        assert record["gt"]["title"] and record["gt"]["authors"], record["id"]
        # JSS papers print keywords under the abstract; the plain-article ones print none.
        assert bool(record["gt"]["keywords"]) == (record["template"] == "jss"), record["id"]


def test_build_reads_packaged_pdfs_from_the_unpacked_debs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records with a `package` are read from the package's files unpacked under the output
    folder (`apt-get download` + `dpkg-deb -x`), never from the machine's own /usr."""
    unpacked: list[tuple[set[str], Path]] = []

    def fake_unpack(packages: set[str], into: Path) -> Path:
        unpacked.append((packages, into))
        pdf = into / "root" / "usr/lib/R/site-library/alder/doc/alder.pdf"
        pdf.parent.mkdir(parents=True)
        pdf.write_bytes(b"%PDF-1.4 alder")
        return into / "root"

    monkeypatch.setattr(class_samples, "unpack_packages", fake_unpack)
    data = b"%PDF-1.4 alder"
    records = [{"id": "R_alder", "package": "r-cran-alder",
                "path": "/usr/lib/R/site-library/alder/doc/alder.pdf",
                "sha256": hashlib.sha256(data).hexdigest(), "template": "jss",
                "gt": {"title": "Alder", "authors": ["Ann Lee"]}}]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(records), encoding="utf-8")
    out = tmp_path / "out"
    assert class_samples.build(out, truth) == 1
    assert unpacked == [({"r-cran-alder"}, out / ".debs")]
    assert (out / "R_alder.pdf").read_bytes() == data
    written = json.loads((out / "R_alder.gt.json").read_text(encoding="utf-8"))
    assert written["template"] == "jss" and written["origin"] == "r-cran-alder"
