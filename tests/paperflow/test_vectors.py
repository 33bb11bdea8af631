"""Vector stores: the embedded .npz store in a folder, the shared store on S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperflow.embeddings import PaperVectors
from paperflow.settings import reload_settings
from paperflow.storage import LocalStorage, get_storage, paper_key
from paperflow.storage.s3 import S3Storage
from paperflow.vectors import (
    LocalVectorStore,
    S3VectorStore,
    UnknownPaperError,
    VectorStoreError,
    clear_vector_stores,
    get_vector_store,
    parse_record,
    stored_paper_text,
    stored_papers,
)
from tests.conftest import ROOT
from tests.s3 import BUCKET, SeaweedFS, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures
MODEL = "test/model-4"


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def vectors(paper: np.ndarray, *passages: np.ndarray, model: str = MODEL) -> PaperVectors:
    rows = np.stack(passages) if passages else np.zeros((0, len(paper)), dtype=np.float32)
    return PaperVectors(model=model, dim=len(paper), vector=paper, passages=rows)


# Four papers near the axes of a 4-dimensional space; "b" has one passage along "d"'s axis.
PAPERS = {
    "a": vectors(unit(1, 0, 0, 0), unit(1, 0, 0, 0)),
    "a2": vectors(unit(0.9, 0.3, 0, 0), unit(0.9, 0.3, 0, 0)),
    "b": vectors(unit(0, 1, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 0, 1)),
    "c": vectors(unit(-0.2, 0, 1, 0)),
}


def fill(store: LocalVectorStore | S3VectorStore) -> None:
    for name, paper in PAPERS.items():
        store.add(sha(name), paper, {"title": f"Paper {name}", "year": 2020})


def check_queries(store: LocalVectorStore | S3VectorStore) -> None:
    assert sorted(p.sha256 for p in store.all()) == sorted(sha(n) for n in PAPERS)
    stored = {p.sha256: p for p in store.all()}[sha("b")]
    assert (stored.model, stored.dim, stored.passages.shape) == (MODEL, 4, (2, 4))
    assert np.allclose(stored.vector, PAPERS["b"].vector)
    assert stored.metadata["title"] == "Paper b" and stored.metadata["model"] == MODEL
    assert stored.metadata["dim"] == 4 and stored.metadata["passages"] == 2

    hits = store.search(unit(1, 0.1, 0, 0), k=2)
    assert [(h.rank, h.sha256, h.title) for h in hits] == [
        (1, sha("a"), "Paper a"), (2, sha("a2"), "Paper a2")]
    assert hits[0].score == pytest.approx(float(unit(1, 0.1, 0, 0) @ unit(1, 0, 0, 0)), abs=1e-5)
    # A query matching one passage of "b" finds "b", although b's paper vector is elsewhere.
    assert store.search(unit(0, 0, 0, 1), k=1)[0].sha256 == sha("b")
    assert store.search(unit(0, 0, 0, 1), k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    # Unnormalised queries are fine; k larger than the store gives everything.
    assert len(store.search(np.array([0, 0, 5, 0]), k=10)) == 4

    similar = store.similar(sha("a"), k=3)
    assert [h.sha256 for h in similar] == [sha("a2"), sha("b"), sha("c")]
    assert sha("a") not in {h.sha256 for h in similar}
    assert similar[0].score == pytest.approx(0.9 / np.linalg.norm([0.9, 0.3]), abs=1e-5)
    assert store.has(sha("c")) and not store.has(sha("zzz"))
    with pytest.raises(UnknownPaperError, match="paperflow index"):
        store.similar(sha("zzz"))
    with pytest.raises(VectorStoreError, match="3-dimensional query"):
        store.search(np.ones(3))
    with pytest.raises(VectorStoreError, match="do not belong"):
        store.add(sha("x"), vectors(unit(1, 0, 0, 0), model="other/model"), {})


def test_local_store_adds_searches_and_persists(tmp_path: Path) -> None:
    store = LocalVectorStore(tmp_path / "vectors", MODEL)
    assert store.all() == [] and store.search(unit(1, 0, 0, 0)) == []
    fill(store)
    assert store.path == tmp_path / "vectors" / "test-model-4.npz" and store.path.is_file()
    check_queries(store)
    assert not list(store.root.glob(".tmp-*")), "no temporary file is left behind"

    reopened = LocalVectorStore(tmp_path / "vectors", MODEL)
    check_queries(reopened)
    # Adding a paper again replaces it.
    reopened.add(sha("c"), vectors(unit(1, 0, 0, 0)), {"title": "Paper c, revised"})
    assert len(reopened.all()) == 4
    assert store.similar(sha("a"), k=1)[0].title == "Paper c, revised"  # other instance sees it
    with pytest.raises(VectorStoreError, match="do not fit"):
        store.add(sha("d"), vectors(unit(1, 0, 0)), {})
    # Another model lives in its own file.
    LocalVectorStore(tmp_path / "vectors", "other/model").add(
        sha("x"), vectors(unit(1, 0), model="other/model"), {})
    assert len(store.all()) == 4


def test_local_store_loses_no_paper_to_concurrent_writers(tmp_path: Path) -> None:
    code = "import sys\nfrom pathlib import Path\n" + inspect.getsource(_write_papers) + (
        "_write_papers(sys.argv[1], int(sys.argv[2]))\n")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "vectors"),
                                   str(w)], cwd=ROOT) for w in range(3, 5)]
    threads = [threading.Thread(target=_write_papers, args=(tmp_path / "vectors", w))
               for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.wait(timeout=60) for p in processes] == [0, 0]
    stored = LocalVectorStore(tmp_path / "vectors", MODEL).all()
    assert sorted(p.sha256 for p in stored) == sorted(sha(f"{w}-{i}") for w in range(5)
                                                      for i in range(8))


def _write_papers(root: Path | str, worker: int) -> None:
    """Eight papers from one writer (a thread, or a process with its own file lock)."""
    import hashlib

    import numpy as np

    from paperflow.embeddings import PaperVectors
    from paperflow.vectors import LocalVectorStore

    store = LocalVectorStore(Path(root), "test/model-4")
    rng = np.random.default_rng(worker)
    for i in range(8):
        vector = rng.random(4).astype(np.float32) + 0.01
        store.add(hashlib.sha256(f"{worker}-{i}".encode()).hexdigest(),
                  PaperVectors("test/model-4", 4, vector / np.linalg.norm(vector),
                               vector.reshape(1, 4) / np.linalg.norm(vector)), {})


@pytest.fixture
def local_env(data_dir: Path) -> Iterator[Path]:
    clear_vector_stores()
    yield data_dir
    clear_vector_stores()


def test_settings_choose_the_local_store(local_env: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.delenv("PAPERFLOW_S3_BUCKET", raising=False)
    reload_settings()
    store = get_vector_store(MODEL)
    assert isinstance(store, LocalVectorStore) and store.root == local_env.resolve() / "vectors"
    assert get_vector_store(MODEL) is store
    monkeypatch.setenv("PAPERFLOW_VECTORS_BACKEND", "s3")
    with pytest.raises(VectorStoreError, match="needs PAPERFLOW_S3_BUCKET"):
        get_vector_store(MODEL, reload_settings())


def test_stored_papers_of_a_local_store(local_env: Path) -> None:
    storage = LocalStorage(local_env / "store")
    storage.put(paper_key(sha("p1"), "metadata.json"),
                json.dumps({"title": "One", "abstract": "First.",
                            "authors": [{"name": "A. B."}], "year": 2021}).encode())
    storage.put(paper_key(sha("p1"), "text", "pages.json"),
                json.dumps({"pages": [{"page": 1, "text": "Body one."}]}).encode())
    storage.put(paper_key(sha("p2"), "original.pdf"), b"%PDF- incomplete paper")
    assert stored_papers(storage) == [sha("p1")]
    paper = stored_paper_text(storage, sha("p1"))
    assert (paper.title, paper.abstract, paper.page_texts) == ("One", "First.", ["Body one."])
    assert paper.metadata == {"title": "One", "authors": ["A. B."], "year": 2021}
    with pytest.raises(UnknownPaperError):
        stored_paper_text(storage, sha("p2"))


@pytest.mark.slow
def test_s3_store_is_shared_through_the_bucket(s3_env: dict[str, str],
                                               seaweedfs: SeaweedFS) -> None:
    clear_vector_stores()
    store = get_vector_store(MODEL)
    assert isinstance(store, S3VectorStore)
    assert isinstance(store.storage, S3Storage) and store.storage is get_storage()
    fill(store)
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    objects = seaweedfs.objects(prefix=f"{prefix}/vectors/")
    assert sorted(objects) == sorted(f"{prefix}/vectors/test-model-4/{sha(n)}.json"
                                     for n in PAPERS)
    assert {o["content_type"] for o in objects.values()} == {"application/json"}
    body = seaweedfs.client().get_object(
        Bucket=BUCKET, Key=f"{prefix}/vectors/test-model-4/{sha('b')}.json")["Body"].read()
    record = json.loads(body)
    assert (record["model"], record["dim"], record["encoding"]) == (MODEL, 4,
                                                                   "float32-le-base64")
    assert np.allclose(parse_record(body).passages, np.stack([unit(0, 1, 0, 0),
                                                              unit(0, 0, 0, 1)]))
    check_queries(store)

    # Another worker (a fresh store on the same bucket) sees every paper, and sees updates.
    other = S3VectorStore(S3Storage(reload_settings()), MODEL)
    check_queries(other)
    store.add(sha("c"), vectors(unit(1, 0, 0, 0)), {"title": "Paper c, revised"})
    assert other.similar(sha("a"), k=1)[0].title == "Paper c, revised"
    seaweedfs.client().delete_object(
        Bucket=BUCKET, Key=f"{prefix}/vectors/test-model-4/{sha('c')}.json")
    assert sha("c") not in {p.sha256 for p in other.all()}
    clear_vector_stores()


@pytest.mark.slow
def test_stored_papers_of_an_s3_store(s3_env: dict[str, str]) -> None:
    storage = get_storage()
    storage.put(paper_key(sha("p1"), "metadata.json"), json.dumps({"title": "One"}).encode())
    storage.put(paper_key(sha("p1"), "original.pdf"), b"%PDF-1.7")
    storage.put(paper_key(sha("p2"), "original.pdf"), b"%PDF-1.7 incomplete")
    assert stored_papers(storage) == [sha("p1")]
    paper = stored_paper_text(storage, sha("p1"))
    assert (paper.title, paper.abstract, paper.page_texts) == ("One", None, [])
