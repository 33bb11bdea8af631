"""`paperflow index`, `search` and `similar` on a data folder holding a few stored papers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from paperflow import embeddings
from paperflow.llm.settings import reload_llm_settings
from paperflow.settings import reload_settings
from paperflow.storage import LocalStorage, Storage, get_storage, paper_key
from paperflow.vectors import clear_vector_stores
from tests.conftest import ROOT
from tests.pdfs import make_paper
from tests.s3 import SeaweedFS, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures

PAPERS = {
    "translation": (
        "Neural Machine Translation with Attention",
        "We translate sentences between languages with an encoder-decoder neural network "
        "that learns to align source and target words. Translation quality in BLEU improves "
        "on English-German and English-French benchmarks.",
        "The encoder reads the source sentence word by word and the decoder generates the "
        "translation. Attention over source words lets the language model align phrases. "),
    "language": (
        "Pretrained Language Models for Low-Resource Translation",
        "Language models pretrained on monolingual text improve machine translation for "
        "languages with little parallel data. We fine-tune a transformer on sentence pairs.",
        "Tokenization, vocabulary and word embeddings of the language model are shared "
        "between languages; back-translation of sentences adds synthetic parallel text. "),
    "protein": (
        "Chaperone Assisted Protein Folding in Bacteria",
        "Proteins fold into their native structure with the help of chaperones. We measure "
        "folding kinetics of bacterial proteins in living cells and in vitro.",
        "Cells were grown in culture and lysed; the chaperone binds unfolded protein chains "
        "and the ribosome releases the nascent polypeptide. Mutant strains fold slowly. "),
    "galaxies": (
        "Dark Matter Halos of Dwarf Galaxies",
        "We measure rotation curves of dwarf galaxies with radio telescopes and fit dark "
        "matter halo profiles to the stellar and gas kinematics.",
        "Telescope observations of neutral hydrogen trace the gas; the halo density profile "
        "has a core rather than a cusp in most galaxies of the sample. "),
}


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def store_paper(storage: Storage, name: str) -> None:
    title, abstract, body = PAPERS[name]
    storage.put(paper_key(sha(name), "metadata.json"), json.dumps(
        {"sha256": sha(name), "title": title, "abstract": abstract,
         "authors": [{"name": "A. Author"}], "year": 2024}).encode())
    storage.put(paper_key(sha(name), "text", "pages.json"), json.dumps(
        {"pages": [{"page": 1, "text": f"{title}\n{abstract}\n{body * 20}"},
                   {"page": 2, "text": body * 30}]}).encode())


@pytest.fixture
def library(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder with three stored papers; local embeddings and vectors."""
    for name in ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME",
                 "PAPERFLOW_LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_BASE_URL",
                 "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "local")
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()
    clear_vector_stores()
    for name in ("translation", "protein", "galaxies"):
        store_paper(LocalStorage(data_dir / "store"), name)
    yield data_dir
    monkeypatch.undo()
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()
    clear_vector_stores()


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(list(args)) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_index_then_search(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index"]) == EXIT_OK
    out = capsys.readouterr()
    assert "Indexed 3 papers, 0 already indexed, 0 failed" in out.out
    assert "wordllama/l2_supercat-256" in out.out
    assert (library / "vectors" / "wordllama-l2_supercat-256.npz").is_file()
    store_paper(LocalStorage(library / "store"), "language")
    assert main(["index"]) == EXIT_OK
    assert "Indexed 1 papers, 3 already indexed" in capsys.readouterr().out

    hits = run_json(capsys, "search", "how chaperones help proteins fold inside cells",
                    "--json")
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    assert hits[0]["sha256"] == sha("protein")
    assert hits[0]["title"] == "Chaperone Assisted Protein Folding in Bacteria"
    assert hits[0]["score"] > hits[1]["score"]
    assert hits[0]["metadata"]["year"] == 2024
    assert hits[0]["metadata"]["model"] == "wordllama/l2_supercat-256"
    assert hits[0]["metadata"]["dim"] == 256
    top = run_json(capsys, "search", "rotation curves of galaxies", "-k", "1", "--json")
    assert [h["sha256"] for h in top] == [sha("galaxies")]

    assert main(["search", "telescope observations of galaxies", "-k", "2"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "1" and lines[0].endswith(sha("galaxies"))
    assert "Dark Matter Halos of Dwarf Galaxies" in lines[0]


def test_similar_by_sha256_and_by_source(library: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    store_paper(LocalStorage(library / "store"), "language")
    assert main(["index"]) == EXIT_OK
    capsys.readouterr()
    hits = run_json(capsys, "similar", sha("translation"), "-k", "3", "--json")
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["sha256"] == sha("language")  # the other translation paper
    assert sha("translation") not in {h["sha256"] for h in hits}

    # A PDF that is not stored: embedded on the fly by the core pipeline, not added.
    pdf = tmp_path / "folding.pdf"
    pdf.write_bytes(make_paper(
        title="Protein Folding Kinetics with Chaperones in Bacterial Cells",
        abstract="Chaperones help bacterial proteins fold in living cells. " * 4))
    assert main(["similar", str(pdf), "-k", "2"]) == EXIT_OK
    out = capsys.readouterr()
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert f"({digest}, embedded)" in out.err
    assert out.out.splitlines()[0].endswith(sha("protein"))
    assert len(run_json(capsys, "search", "proteins", "--json")) == 4  # nothing was added

    # A stored paper not indexed yet is indexed on the way.
    store_paper(LocalStorage(library / "store"), "galaxies")
    (library / "vectors").joinpath("wordllama-l2_supercat-256.npz").unlink()
    hits = run_json(capsys, "similar", sha("galaxies"), "--json")
    assert len(hits) == 0  # the only paper indexed now
    assert main(["similar", sha("protein"), "--json"]) == EXIT_OK
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_errors_and_usage(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["similar", sha("unknown")]) == EXIT_FAILED
    assert "neither indexed nor stored" in capsys.readouterr().err
    assert main(["similar", str(library / "missing.pdf")]) == EXIT_FAILED
    assert main(["search", "  "]) == EXIT_FAILED
    assert "query is empty" in capsys.readouterr().err
    assert main(["search", "anything", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == []
    with pytest.raises(SystemExit) as caught:
        main(["search"])
    assert caught.value.code == EXIT_USAGE


def test_the_installed_command_searches(library: Path) -> None:
    assert main(["index"]) == EXIT_OK
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(library)}
    done = subprocess.run([sys.executable, "-m", "paperflow", "search", "neural networks "
                           "translate sentences", "-k", "1", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    assert [h["sha256"] for h in json.loads(done.stdout)] == [sha("translation")]


@pytest.mark.slow
def test_index_and_search_on_s3(s3_env: dict[str, str], seaweedfs: SeaweedFS,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "local")
    for name in ("PAPERFLOW_LLM_BASE_URL", "OPENAI_BASE_URL", "PAPERFLOW_LLM_API_KEY",
                 "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    reload_settings()
    reload_llm_settings()
    clear_vector_stores()
    try:
        for name in ("protein", "galaxies"):
            store_paper(get_storage(), name)
        assert main(["index"]) == EXIT_OK
        assert "Indexed 2 papers" in capsys.readouterr().out
        prefix = s3_env["PAPERFLOW_S3_PREFIX"]
        assert sorted(seaweedfs.objects(prefix=f"{prefix}/vectors/")) == sorted(
            f"{prefix}/vectors/wordllama-l2_supercat-256/{sha(n)}.json"
            for n in ("protein", "galaxies"))
        clear_vector_stores()  # a fresh process: nothing cached
        hits = run_json(capsys, "search", "chaperones fold proteins", "--json")
        assert [h["sha256"] for h in hits] == [sha("protein"), sha("galaxies")]
        assert [h["sha256"] for h in run_json(capsys, "similar", sha("galaxies"), "--json")] \
            == [sha("protein")]
    finally:
        clear_vector_stores()
