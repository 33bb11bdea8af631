"""Where paper vectors live, and finding papers by meaning: one small interface, two stores.

- `LocalVectorStore` (the default): one NumPy `.npz` file per embedding model under
  `$PAPERFLOW_DATA_DIR/vectors/`. Writes take an exclusive file lock, then write a temporary
  file and rename it over the old one, so a reader always sees a whole index and two writers
  (threads or processes) never lose each other's papers.
- `S3VectorStore` (when a bucket is configured): one object per paper,
  `vectors/<model>/<sha256>.json`, beside `papers/` under the same prefix, written through the
  project's `S3Storage` (so through `paperflow.storage.s3.s3_client`). Every worker writes its own
  papers' objects: one PUT each, atomic, so concurrent workers need no lock and cannot clobber
  each other. Search lists the prefix and reads the objects into memory, re-reading only the
  ones whose ETag changed since the last search in this process. A shared table format
  (LanceDB) was not used: its concurrent writers on S3 need an external commit lock
  (DynamoDB), a heavy dependency for the few thousand papers one deployment holds.

Each model has its own namespace (`model` is part of the file or object name), so vectors of
different models are never compared. Scores are cosine similarities (every vector has unit
length): `similar` compares paper vectors; `search` scores a paper by the best of its paper
vector and its passages (title+abstract, body passages), so a query can match one section.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, Field

from paperflow.embeddings import (
    Embedder,
    EmbeddingError,
    PaperText,
    PaperVectors,
    embed_paper,
    paper_metadata,
)
from paperflow.errors import PaperflowError, PermanentError, StorageError
from paperflow.settings import Settings, get_settings
from paperflow.storage import LocalStorage, Storage, paper_key

try:  # POSIX; elsewhere the in-process lock alone guards writes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

FORMAT = "paperflow-vectors/1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class VectorStoreError(PaperflowError):
    """The vector store could not be read or written."""


class UnknownPaperError(VectorStoreError, PermanentError):
    """No vectors are stored for this paper (index it first)."""


class Hit(BaseModel):
    """A paper found: its rank, cosine similarity, title and what else was stored with it."""

    rank: int
    score: float
    sha256: str
    title: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


@dataclass
class StoredPaper:
    """A paper's vectors as stored, with the model, the dimension and its metadata."""

    sha256: str
    model: str
    dim: int
    vector: np.ndarray
    passages: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


class VectorStore(Protocol):
    """The operations finding papers by meaning needs."""

    name: str
    model: str

    def add(self, sha256: str, vectors: PaperVectors, metadata: dict[str, Any]) -> None: ...

    def search(self, vector: np.ndarray, k: int = 10,
               exclude: set[str] | None = None) -> list[Hit]: ...

    def similar(self, sha256: str, k: int = 10) -> list[Hit]: ...

    def similar_vector(self, vector: np.ndarray, k: int = 10,
                       exclude: set[str] | None = None) -> list[Hit]: ...

    def all(self) -> list[StoredPaper]: ...

    def has(self, sha256: str) -> bool: ...


def model_slug(model: str) -> str:
    """A file-name-safe form of a model name (`wordllama/l2_supercat-256` ->
    `wordllama-l2_supercat-256`)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")
    if not slug:
        raise VectorStoreError(f"Unusable embedding model name {model!r}.")
    return slug[:120]


def _check_sha(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise VectorStoreError(f"Not a sha256 hex digest: {sha256!r}.")
    return sha256


def _record_metadata(sha256: str, vectors: PaperVectors,
                     metadata: dict[str, Any]) -> dict[str, Any]:
    return {**metadata, "model": vectors.model, "dim": vectors.dim,
            "passages": int(vectors.passages.shape[0]), "has_head": vectors.has_head,
            "chunk_words": vectors.chunk_words,
            "indexed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class _Index:
    """Papers' vectors as matrices, for scoring a query against all of them at once."""

    def __init__(self, papers: list[StoredPaper]) -> None:
        self.papers = papers
        self.dim = papers[0].dim if papers else 0
        self.vectors = (np.stack([p.vector for p in papers]).astype(np.float32) if papers
                        else np.zeros((0, 0), dtype=np.float32))
        counts = [len(p.passages) for p in papers]
        self.owner = np.repeat(np.arange(len(papers)), counts)
        self.passages = (np.concatenate([p.passages for p in papers if len(p.passages)])
                         if any(counts) else np.zeros((0, self.dim), dtype=np.float32))

    def scores(self, query: np.ndarray, passages: bool) -> np.ndarray:
        if not self.papers:
            return np.zeros(0, dtype=np.float32)
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dim:
            raise VectorStoreError(f"A {query.shape[0]}-dimensional query cannot search "
                                   f"{self.dim}-dimensional vectors.")
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        scores = self.vectors @ query
        if passages and len(self.passages):
            best = np.full(len(self.papers), -np.inf, dtype=np.float32)
            np.maximum.at(best, self.owner, self.passages @ query)
            scores = np.maximum(scores, best)
        return scores

    def top(self, scores: np.ndarray, k: int, exclude: set[str]) -> list[Hit]:
        hits: list[Hit] = []
        shas = np.array([p.sha256 for p in self.papers])
        for i in np.lexsort((shas, -scores)):  # ties in sha256 order, the same in every store
            paper = self.papers[int(i)]
            if paper.sha256 in exclude:
                continue
            hits.append(Hit(rank=len(hits) + 1, score=round(float(scores[i]), 6),
                            sha256=paper.sha256, title=paper.metadata.get("title"),
                            metadata=paper.metadata))
            if len(hits) >= k:
                break
        return hits


class _SearchMixin:
    """`search` and `similar` over `all()`."""

    def all(self) -> list[StoredPaper]:
        raise NotImplementedError

    def _index(self) -> _Index:
        return _Index(self.all())

    def search(self, vector: np.ndarray, k: int = 10,
               exclude: set[str] | None = None) -> list[Hit]:
        """The `k` papers closest to a query vector (paper vector or best passage)."""
        index = self._index()
        return index.top(index.scores(vector, passages=True), k, exclude or set())

    def similar(self, sha256: str, k: int = 10) -> list[Hit]:
        """The `k` stored papers whose paper vectors are closest to a stored paper's."""
        index = self._index()
        for paper in index.papers:
            if paper.sha256 == sha256:
                return index.top(index.scores(paper.vector, passages=False), k, {sha256})
        raise UnknownPaperError(f"No vectors stored for paper {sha256} in {self.name} "
                                "(run `paperflow index`).")

    def similar_vector(self, vector: np.ndarray, k: int = 10,
                       exclude: set[str] | None = None) -> list[Hit]:
        """The `k` stored papers whose paper vectors are closest to a paper vector."""
        index = self._index()
        return index.top(index.scores(vector, passages=False), k, exclude or set())

    def has(self, sha256: str) -> bool:
        return any(p.sha256 == sha256 for p in self.all())

    name: str = ""


class LocalVectorStore(_SearchMixin):
    """One `.npz` file per model in a folder; atomic writes under a file lock."""

    _thread_locks: ClassVar[dict[str, threading.Lock]] = {}
    _thread_locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path, model: str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.model = model
        self.path = self.root / f"{model_slug(model)}.npz"
        self.name = f"local:{self.path}"
        self._cache: tuple[tuple[int, int, int], list[StoredPaper]] | None = None
        with self._thread_locks_guard:
            self._thread_lock = self._thread_locks.setdefault(str(self.path), threading.Lock())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive among this process's threads and, with flock, other processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path.with_suffix(".lock"), "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def all(self) -> list[StoredPaper]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return list(self._cache[1])
        papers = self._read()
        self._cache = (stamp, papers)
        return list(papers)

    def _read(self) -> list[StoredPaper]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                shas = [str(s) for s in data["sha256"]]
                vectors = data["vectors"]
                passages = data["passages"]
                offsets = data["offsets"]
                metadata = json.loads(str(data["metadata"]))
                model = str(data["model"])
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError) as exc:
            raise VectorStoreError(f"Cannot read the vector index {self.path}: {exc}") from exc
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        return [StoredPaper(sha256=sha, model=model, dim=dim, vector=vectors[i],
                            passages=passages[offsets[i]:offsets[i + 1]], metadata=metadata[i])
                for i, sha in enumerate(shas)]

    def add(self, sha256: str, vectors: PaperVectors, metadata: dict[str, Any]) -> None:
        """Store (or replace) one paper's vectors."""
        _check_sha(sha256)
        if vectors.model != self.model:
            raise VectorStoreError(f"Vectors of model {vectors.model!r} do not belong in the "
                                   f"{self.model!r} index.")
        record = StoredPaper(sha256, vectors.model, vectors.dim, vectors.vector,
                             vectors.passages, _record_metadata(sha256, vectors, metadata))
        with self._locked():
            papers = [p for p in self._read() if p.sha256 != sha256]
            if papers and papers[0].dim != vectors.dim:
                raise VectorStoreError(f"{vectors.dim}-dimensional vectors do not fit the "
                                       f"{papers[0].dim}-dimensional index {self.path}.")
            papers.append(record)
            self._write(papers)

    def _write(self, papers: list[StoredPaper]) -> None:
        dim = papers[0].dim
        counts = [len(p.passages) for p in papers]
        buffer = io.BytesIO()
        np.savez(
            buffer,
            sha256=np.array([p.sha256 for p in papers], dtype="<U64"),
            vectors=np.stack([p.vector for p in papers]).astype(np.float32),
            passages=(np.concatenate([p.passages for p in papers]).astype(np.float32)
                      if sum(counts) else np.zeros((0, dim), dtype=np.float32)),
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            metadata=np.array(json.dumps([p.metadata for p in papers], ensure_ascii=False)),
            model=np.array(self.model),
        )
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _encode(matrix: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(matrix, dtype="<f4").tobytes()).decode()


def _decode(text: str, dim: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(-1, dim).astype(np.float32)


def record_json(sha256: str, vectors: PaperVectors, metadata: dict[str, Any]) -> bytes:
    """One paper's object in the S3 store: metadata, model, dimension and base64 float32."""
    return json.dumps({
        "format": FORMAT, "sha256": sha256, "model": vectors.model, "dim": vectors.dim,
        "encoding": "float32-le-base64", "metadata": _record_metadata(sha256, vectors, metadata),
        "vector": _encode(vectors.vector.reshape(1, -1)),
        "passages": _encode(vectors.passages),
    }, ensure_ascii=False).encode()


def parse_record(body: bytes) -> StoredPaper:
    record = json.loads(body)
    if record.get("format") != FORMAT:
        raise VectorStoreError(f"Unknown vector record format {record.get('format')!r}.")
    dim = int(record["dim"])
    return StoredPaper(sha256=record["sha256"], model=record["model"], dim=dim,
                       vector=_decode(record["vector"], dim)[0],
                       passages=_decode(record["passages"], dim),
                       metadata=record.get("metadata") or {})


class S3VectorStore(_SearchMixin):
    """One JSON object per paper under `vectors/<model>/` of the bucket (and prefix)."""

    def __init__(self, storage: Any, model: str, max_workers: int = 8) -> None:
        self.storage = storage
        self.model = model
        self.folder = f"vectors/{model_slug(model)}"
        self.name = f"{storage.name}/{self.folder}"
        self.max_workers = max_workers
        self._cache: dict[str, tuple[str, StoredPaper]] = {}
        self._lock = threading.Lock()

    def key(self, sha256: str) -> str:
        return f"{self.folder}/{_check_sha(sha256)}.json"

    def add(self, sha256: str, vectors: PaperVectors, metadata: dict[str, Any]) -> None:
        """Store (or replace) one paper's object: a single PUT."""
        if vectors.model != self.model:
            raise VectorStoreError(f"Vectors of model {vectors.model!r} do not belong under "
                                   f"{self.folder}.")
        self.storage.put(self.key(sha256), record_json(sha256, vectors, metadata),
                         "application/json")

    def _listing(self) -> dict[str, str]:
        """Storage key -> ETag of every paper object of this model."""
        from botocore.exceptions import BotoCoreError, ClientError

        storage = self.storage
        storage.check_bucket()
        prefix = storage.object_key(self.folder) + "/"
        strip = len(storage.object_key(self.folder)) - len(self.folder)
        found: dict[str, str] = {}
        try:
            pages = storage.client.get_paginator("list_objects_v2").paginate(
                Bucket=storage.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"].endswith(".json"):
                        found[item["Key"][strip:]] = str(item.get("ETag", "")).strip('"')
        except (BotoCoreError, ClientError) as exc:
            raise storage._fail(exc, "listing", prefix) from exc
        return found

    def all(self) -> list[StoredPaper]:
        listing = self._listing()
        with self._lock:
            missing = [k for k, etag in listing.items()
                       if k not in self._cache or self._cache[k][0] != etag]
        if missing:
            with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
                bodies = list(pool.map(self.storage.get, missing))
            with self._lock:
                for key, body in zip(missing, bodies, strict=True):
                    self._cache[key] = (listing[key], parse_record(body))
        with self._lock:
            for key in set(self._cache) - set(listing):
                del self._cache[key]
            return [self._cache[k][1] for k in sorted(listing)]

    def has(self, sha256: str) -> bool:
        return bool(self.storage.exists(self.key(sha256)))


_STORES: dict[tuple[str, ...], VectorStore] = {}
_STORES_LOCK = threading.Lock()


def vectors_backend(settings: Settings | None = None) -> str:
    """`local` or `s3`: what `PAPERFLOW_VECTORS_BACKEND` resolves to now."""
    settings = settings or get_settings()
    if settings.vectors_backend != "auto":
        return settings.vectors_backend
    return "s3" if settings.s3_bucket else "local"


def get_vector_store(model: str, settings: Settings | None = None) -> VectorStore:
    """The configured store for one model's vectors (one instance per configuration)."""
    settings = settings or get_settings()
    backend = vectors_backend(settings)
    if backend == "s3":
        if not settings.s3_bucket:
            raise VectorStoreError("PAPERFLOW_VECTORS_BACKEND=s3 needs PAPERFLOW_S3_BUCKET.")
        from paperflow.storage.s3 import s3_storage

        storage = s3_storage(settings)
        key: tuple[str, ...] = ("s3", storage.name, model)
    else:
        key = ("local", str(Path(settings.data_dir).expanduser() / "vectors"), model)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = (S3VectorStore(storage, model) if backend == "s3"
                     else LocalVectorStore(Path(key[1]), model))
            _STORES[key] = store
        return store


def clear_vector_stores() -> None:
    """Forget cached stores (tests change the settings between runs)."""
    with _STORES_LOCK:
        _STORES.clear()


# --- What the asset store holds -----------------------------------------------------------


def stored_papers(storage: Storage) -> list[str]:
    """The sha256 of every complete paper in the asset store (its `metadata.json` exists)."""
    from paperflow.storage.s3 import S3Storage

    if isinstance(storage, LocalStorage):
        root = storage.root / "papers"
        return sorted(p.parent.name for p in root.glob("*/metadata.json")
                      if _SHA256.match(p.parent.name))
    if isinstance(storage, S3Storage):
        from botocore.exceptions import BotoCoreError, ClientError

        storage.check_bucket()
        prefix = storage.object_key("papers") + "/"
        shas: list[str] = []
        try:
            for page in storage.client.get_paginator("list_objects_v2").paginate(
                    Bucket=storage.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    parts = item["Key"][len(prefix):].split("/")
                    if len(parts) == 2 and parts[1] == "metadata.json" \
                            and _SHA256.match(parts[0]):
                        shas.append(parts[0])
        except (BotoCoreError, ClientError) as exc:
            raise storage._fail(exc, "listing", prefix) from exc
        return sorted(shas)
    raise VectorStoreError(f"Cannot list the papers of {type(storage).__name__}.")


def stored_paper_text(storage: Storage, sha256: str) -> PaperText:
    """A stored paper's title, abstract and page texts (no page texts if none were stored)."""
    try:
        metadata = json.loads(storage.get(paper_key(sha256, "metadata.json")))
    except StorageError as exc:
        raise UnknownPaperError(f"Paper {sha256} is not stored in {storage.name}.") from exc
    pages: list[str] = []
    text_key = paper_key(sha256, "text", "pages.json")
    if storage.exists(text_key):
        pages = [str(p.get("text") or "")
                 for p in json.loads(storage.get(text_key)).get("pages", [])]
    return PaperText(sha256, metadata.get("title"), metadata.get("abstract"), pages,
                     paper_metadata(metadata))


def index_paper(paper: PaperText, embedder: Embedder, store: VectorStore,
                settings: Settings | None = None) -> PaperVectors:
    """Embed one paper and store its vectors."""
    vectors = embed_paper(embedder, paper.title, paper.abstract, paper.page_texts, settings)
    store.add(paper.sha256, vectors, paper.metadata)
    return vectors


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def index_stored(storage: Storage, embedder: Embedder, store: VectorStore,
                 settings: Settings | None = None, refresh: bool = False,
                 progress: Callable[[str, str], None] | None = None) -> IndexReport:
    """Embed every stored paper the vector store does not have yet (all of them if `refresh`)."""
    report = IndexReport()
    have = {p.sha256 for p in store.all()} if not refresh else set()
    for sha in stored_papers(storage):
        if sha in have:
            report.skipped.append(sha)
            continue
        try:
            index_paper(stored_paper_text(storage, sha), embedder, store, settings)
        except (PaperflowError, EmbeddingError, ValueError) as exc:
            report.failed[sha] = f"{type(exc).__name__}: {exc}"
            if progress:
                progress(sha, "failed")
            continue
        report.added.append(sha)
        if progress:
            progress(sha, "indexed")
    return report


# --- The command line's questions -------------------------------------------------------


@dataclass
class SimilarAnswer:
    """Papers like one paper; `how` says where its vectors came from."""

    sha256: str
    hits: list[Hit]
    how: str
    """`stored` (already indexed), `indexed` (embedded now from the asset store and added), or
    `embedded` (a paper not stored: embedded on the fly, not added)."""
    title: str | None = None


def similar_to(source: str, k: int = 10, settings: Settings | None = None) -> SimilarAnswer:
    """Papers like a stored paper (its sha256) or like a source (path, URL, arXiv id, s3://)."""
    from paperflow.embeddings import get_embedder, paper_text_from_pdf
    from paperflow.sources import resolve_source
    from paperflow.storage import get_storage

    settings = settings or get_settings()
    embedder = get_embedder(settings)
    store = get_vector_store(embedder.model, settings)
    text = source.strip()
    data: bytes | None = None
    if _SHA256.match(text.lower()) and not Path(text).exists():
        sha = text.lower()
    else:
        resolved = resolve_source(text, settings)
        data, sha = resolved.data, hashlib.sha256(resolved.data).hexdigest()
    papers = {p.sha256: p for p in store.all()}
    if sha in papers:
        return SimilarAnswer(sha, store.similar(sha, k), "stored",
                             papers[sha].metadata.get("title"))
    storage = get_storage(settings)
    if storage.exists(paper_key(sha, "metadata.json")):
        paper = stored_paper_text(storage, sha)
        index_paper(paper, embedder, store, settings)
        return SimilarAnswer(sha, store.similar(sha, k), "indexed", paper.title)
    if data is None:
        raise UnknownPaperError(f"Paper {sha} is neither indexed nor stored in "
                                f"{storage.name}: give its PDF (path, URL or arXiv id) instead.")
    paper = paper_text_from_pdf(data, settings, source=text)
    vectors = embed_paper(embedder, paper.title, paper.abstract, paper.page_texts, settings)
    return SimilarAnswer(sha, store.similar_vector(vectors.vector, k, {sha}), "embedded",
                         paper.title)


def search_text(query: str, k: int = 10, settings: Settings | None = None) -> list[Hit]:
    """The stored papers closest in meaning to a text."""
    from paperflow.embeddings import embed_query, get_embedder

    settings = settings or get_settings()
    embedder = get_embedder(settings)
    return get_vector_store(embedder.model, settings).search(embed_query(embedder, query), k)
