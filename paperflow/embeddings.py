"""Vectors of papers: what a paper is about, as numbers, for finding papers by meaning.

Two backends behind one `Embedder` interface:

- `local` (the default): WordLlama's `l2_supercat` static token embeddings (256 dimensions),
  whose weights and tokenizer ship inside the `wordllama` wheel: no network, no key, about a
  second to load and thousands of passages a second on one CPU core.
- `openai`: `/v1/embeddings` of the OpenAI-compatible endpoint the LLM settings name (OpenAI,
  vLLM, Ollama, llama.cpp's server), model `PAPERFLOW_EMBEDDINGS_MODEL`.

`PAPERFLOW_EMBEDDINGS_BACKEND=auto` uses the endpoint when one is configured, else WordLlama.

A paper is embedded as passages: the title with the abstract, then the body in passages of
`PAPERFLOW_EMBEDDINGS_CHUNK_WORDS` (200) words, the reference list left out. Passages, not the
whole text at once, because embedding models read a bounded number of tokens (8k for OpenAI's;
WordLlama pads every text of a batch to the longest) and a mean over a whole paper's tokens
blurs into "a scientific paper". The paper's own vector is the normalised blend of the
title+abstract vector and the mean of the body passages (`HEAD_WEIGHT`): the abstract says
what the paper is about most densely, the body adds the methods and vocabulary it does not name.
Every passage vector is kept as well, so a query can match one passage of the body.
Every vector is L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from paperflow.errors import PaperflowError, PermanentError
from paperflow.settings import Settings, get_settings

HEAD_WEIGHT = 0.5
"""Weight of the title+abstract vector in the paper's vector (the body mean has the rest)."""
MAX_PASSAGE_CHARS = 6000
"""Longer passages (a body without spaces, say) are cut: endpoints refuse over-long inputs."""
OPENAI_BATCH = 64
"""Inputs per /v1/embeddings request."""

_REFERENCES_HEADING = re.compile(
    r"^\s*(?:\d{1,2}\.?\s*|[IVX]{1,4}\.\s*)?(?:references|bibliography|literature cited|"
    r"works cited|references and notes)\s*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)


class EmbeddingError(PaperflowError):
    """Embedding failed this time (the endpoint is down or slow): a retry may help."""


class EmbeddingPermanentError(EmbeddingError, PermanentError):
    """The endpoint, key or model is wrong, or there is nothing to embed: retrying cannot help."""


class Embedder(Protocol):
    """Texts in, one L2-normalised float32 row per text out."""

    model: str
    """Names the vector space: vectors of two different `model`s are never compared."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        norm = float(np.linalg.norm(matrix))
        return matrix / norm if norm > 0 else matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


@lru_cache(maxsize=4)
def _wordllama(config: str) -> Any:
    """The WordLlama model from the files inside the installed wheel, never downloaded.

    `WordLlama.load` looks for the tokenizer of the default configuration in a folder the wheel
    does not have and would then fetch it from the Hugging Face hub: pointing its cache folder at
    the package itself finds both files where the wheel put them.
    """
    import wordllama
    from wordllama import WordLlama

    package = Path(wordllama.__file__).parent
    try:
        return WordLlama.load(config=config, cache_dir=package, disable_download=True)
    except (FileNotFoundError, AttributeError, ValueError) as exc:
        raise EmbeddingPermanentError(
            f"WordLlama model {config!r} is not in the installed wordllama package ({package}): "
            f"{exc}. Use PAPERFLOW_EMBEDDINGS_LOCAL_MODEL=l2_supercat.") from exc


def load_local_model(settings: Settings | None = None) -> None:
    """Load the configured local model now (a warm process does, before it forks)."""
    _wordllama((settings or get_settings()).embeddings_local_model)


class LocalEmbedder:
    """WordLlama: static token embeddings, average-pooled; weights from the wheel."""

    def __init__(self, config: str = "l2_supercat") -> None:
        self.config = config
        self._model = _wordllama(config)
        self._lock = threading.Lock()
        self.model = f"wordllama/{config}-{self.dim}"

    @property
    def dim(self) -> int:
        return int(self._model.embedding.shape[1])

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cleaned = [_clip(t) or "." for t in texts]
        with self._lock:  # the tokenizer's padding state is shared
            vectors = self._model.embed(cleaned, norm=False, batch_size=32)
        return normalise(vectors)


class OpenAIEmbedder:
    """`/v1/embeddings` of an OpenAI-compatible endpoint, through the `openai` client."""

    def __init__(self, model: str, base_url: str | None, api_key: str,
                 timeout_seconds: float = 120.0, max_retries: int = 4,
                 client: Any | None = None) -> None:
        import openai

        self.model_name = model
        self.model = f"openai/{model}"
        self.base_url = base_url
        self.client = client or openai.OpenAI(base_url=base_url, api_key=api_key,
                                              timeout=timeout_seconds, max_retries=max_retries)
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """The endpoint's dimension (asked with a one-word request the first time)."""
        if self._dim is None:
            self.embed(["dimension"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        where = self.base_url or "api.openai.com"
        for start in range(0, len(texts), OPENAI_BATCH):
            batch = [_clip(t) or "." for t in texts[start:start + OPENAI_BATCH]]
            try:
                response = self.client.embeddings.create(model=self.model_name, input=batch,
                                                         encoding_format="float")
            except (openai.AuthenticationError, openai.PermissionDeniedError,
                    openai.NotFoundError, openai.BadRequestError,
                    openai.UnprocessableEntityError) as exc:
                raise EmbeddingPermanentError(
                    f"{where} refused embeddings with model {self.model_name!r}: {exc}. Check "
                    "PAPERFLOW_EMBEDDINGS_MODEL and the key, or set "
                    "PAPERFLOW_EMBEDDINGS_BACKEND=local.") from exc
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"{where} failed embeddings: {exc}") from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise EmbeddingError(f"{where} returned {len(data)} embeddings for "
                                     f"{len(batch)} inputs.")
            rows += [list(item.embedding) for item in data]
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        matrix = np.asarray(rows, dtype=np.float32)
        if self._dim is not None and matrix.shape[1] != self._dim:
            raise EmbeddingPermanentError(
                f"{where} changed the dimension of {self.model_name!r} from {self._dim} to "
                f"{matrix.shape[1]}.")
        self._dim = int(matrix.shape[1])
        return normalise(matrix)


def backend_name(settings: Settings | None = None) -> str:
    """`local` or `openai`: what `PAPERFLOW_EMBEDDINGS_BACKEND` resolves to now."""
    settings = settings or get_settings()
    if settings.embeddings_backend != "auto":
        return settings.embeddings_backend
    from paperflow.llm.settings import get_llm_settings

    return "openai" if get_llm_settings().enabled else "local"


_EMBEDDERS: dict[tuple[str, ...], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The configured embedder (one per configuration and process)."""
    settings = settings or get_settings()
    backend = backend_name(settings)
    if backend == "local":
        key: tuple[str, ...] = ("local", settings.embeddings_local_model)
    else:
        from paperflow.llm.settings import get_llm_settings

        llm = get_llm_settings()
        key = ("openai", settings.embeddings_model, llm.base_url or "", llm.effective_api_key,
               str(llm.timeout_seconds))
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None:
            if backend == "local":
                embedder = LocalEmbedder(settings.embeddings_local_model)
            else:
                embedder = OpenAIEmbedder(settings.embeddings_model, llm.base_url,
                                          llm.effective_api_key, llm.timeout_seconds,
                                          llm.max_retries)
            _EMBEDDERS[key] = embedder
        return embedder


def clear_embedders() -> None:
    """Forget cached embedders (tests change the settings between runs)."""
    with _EMBEDDERS_LOCK:
        _EMBEDDERS.clear()


def model_id(settings: Settings | None = None) -> str:
    """The vector space's name for the current settings, without loading a model."""
    settings = settings or get_settings()
    if backend_name(settings) == "local":
        return f"wordllama/{settings.embeddings_local_model}-256"
    return f"openai/{settings.embeddings_model}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text[:MAX_PASSAGE_CHARS]


def head_text(title: str | None, abstract: str | None) -> str:
    """The title and the abstract, as one passage."""
    return "\n\n".join(part.strip() for part in (title, abstract) if part and part.strip())


def strip_references(text: str) -> str:
    """The text before the last "References" heading found in its second half, else all of it."""
    matches = [m for m in _REFERENCES_HEADING.finditer(text) if m.start() >= len(text) // 2]
    return text[:matches[-1].start()] if matches else text


def body_chunks(page_texts: list[str], chunk_words: int = 200,
                max_chunks: int = 64) -> list[str]:
    """The body in passages of `chunk_words` words, references left out, at most `max_chunks`
    (evenly spread over the paper when there are more)."""
    words = strip_references("\n".join(page_texts)).split()
    chunks = [" ".join(words[i:i + chunk_words]) for i in range(0, len(words), chunk_words)]
    if len(chunks) > 1 and len(chunks[-1].split()) < chunk_words // 4:
        tail = chunks.pop()
        chunks[-1] = f"{chunks[-1]} {tail}"  # no tiny tail passage
    if len(chunks) > max_chunks:
        picks = np.linspace(0, len(chunks) - 1, max_chunks).round().astype(int)
        chunks = [chunks[i] for i in sorted(set(picks.tolist()))]
    return chunks


@dataclass
class PaperVectors:
    """One paper's vectors in one model's space."""

    model: str
    dim: int
    vector: np.ndarray
    """The paper's vector: title+abstract blended with the body mean; unit length."""
    passages: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    """One unit row per passage: title+abstract first (when there is one), then the body."""
    has_head: bool = True
    chunk_words: int = 200

    def __post_init__(self) -> None:
        self.vector = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        self.passages = np.asarray(self.passages, dtype=np.float32).reshape(-1, self.dim)


def paper_vector(head: np.ndarray | None, body: np.ndarray) -> np.ndarray:
    """The blend of the title+abstract vector and the mean of the body passages."""
    parts = []
    if head is not None:
        parts.append(HEAD_WEIGHT * normalise(head))
    if len(body):
        weight = 1.0 - HEAD_WEIGHT if head is not None else 1.0
        parts.append(weight * normalise(body.mean(axis=0)))
    if not parts:
        raise EmbeddingPermanentError("Nothing to embed: no title, abstract or text.")
    return normalise(np.sum(parts, axis=0))


def embed_paper(embedder: Embedder, title: str | None, abstract: str | None,
                page_texts: list[str] | None, settings: Settings | None = None) -> PaperVectors:
    """A paper's vectors from its title, abstract and page texts (any of them may be missing)."""
    settings = settings or get_settings()
    head = head_text(title, abstract)
    chunks = body_chunks(page_texts or [], settings.embeddings_chunk_words,
                         settings.embeddings_max_chunks)
    texts = ([head] if head else []) + chunks
    if not texts:
        raise EmbeddingPermanentError("Nothing to embed: the paper has no title, abstract or "
                                      "text.")
    matrix = embedder.embed(texts)
    head_vector = matrix[0] if head else None
    body = matrix[1:] if head else matrix
    return PaperVectors(model=embedder.model, dim=int(matrix.shape[1]),
                        vector=paper_vector(head_vector, body), passages=matrix,
                        has_head=bool(head), chunk_words=settings.embeddings_chunk_words)


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """A search query's vector."""
    if not text.strip():
        raise EmbeddingPermanentError("The query is empty.")
    return embedder.embed([text])[0]


@dataclass
class PaperText:
    """What embedding needs of a paper: its identity, title, abstract and page texts."""

    sha256: str
    title: str | None
    abstract: str | None
    page_texts: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)


def paper_text_from_pdf(data: bytes, settings: Settings | None = None,
                        source: str | None = None) -> PaperText:
    """Title, abstract and page texts of PDF bytes by the core pipeline, with no orchestration.

    The title, abstract and the other metadata are `paperflow.pipeline.extract_paper`'s; the
    page texts come from the same layout pass (`paperflow.pdf.parse_layout`) the flow stores
    as `text/pages.json`.
    """
    from paperflow.pdf import parse_layout
    from paperflow.pipeline import extract_paper

    settings = settings or get_settings()
    result = extract_paper(data, settings, source=source)
    doc = parse_layout(data, settings.max_pages)
    metadata = paper_metadata(result.model_dump(mode="json"))
    if source:
        metadata["source"] = source
    return PaperText(result.sha256, result.title, result.abstract,
                     [page.text for page in doc.pages], metadata)


def paper_metadata(fields: dict[str, Any]) -> dict[str, Any]:
    """The few fields shown beside a search hit, from a result (or its group) as a dict."""
    authors = []
    for author in fields.get("authors") or []:
        name = author.get("name") if isinstance(author, dict) else getattr(author, "name", None)
        if name:
            authors.append(str(name))
    metadata: dict[str, Any] = {"title": fields.get("title") or None, "authors": authors[:10]}
    for name in ("year", "doi", "arxiv_id", "venue"):
        if fields.get(name):
            metadata[name] = fields[name]
    return metadata
