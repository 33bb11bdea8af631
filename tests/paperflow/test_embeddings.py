"""Paper vectors: WordLlama from its wheel with no network, passages, the /v1/embeddings path."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from paperflow import embeddings
from paperflow.embeddings import (
    EmbeddingError,
    EmbeddingPermanentError,
    LocalEmbedder,
    OpenAIEmbedder,
    body_chunks,
    embed_paper,
    embed_query,
    get_embedder,
    head_text,
    model_id,
    paper_text_from_pdf,
    strip_references,
)
from paperflow.llm.settings import reload_llm_settings
from paperflow.settings import reload_settings
from tests.llm_server import Reply, ScriptedLLM, error_body, scripted_llm
from tests.pdfs import make_paper

NLP = "Neural language models learn word representations for machine translation of sentences."
NLP_2 = "We translate sentences between languages with a transformer trained on parallel text."
BIO = "Protein folding in bacterial cells depends on chaperones and the ribosome."


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No LLM endpoint, local embeddings; settings and cached embedders re-read."""
    for name in ("PAPERFLOW_LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_BASE_URL",
                 "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY",
                 "PAPERFLOW_EMBEDDINGS_BACKEND", "PAPERFLOW_EMBEDDINGS_MODEL"):
        monkeypatch.delenv(name, raising=False)
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()
    yield monkeypatch
    monkeypatch.undo()
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()


def test_wordllama_loads_from_the_wheel_with_no_network(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the local model must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.cache/wordllama to fall back on
    embeddings._wordllama.cache_clear()
    embedder = LocalEmbedder()
    assert embedder.model == "wordllama/l2_supercat-256" and embedder.dim == 256
    vectors = embedder.embed([NLP, NLP_2, BIO])
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.1, similarity
    assert similarity[0, 1] > similarity[1, 2] + 0.1, similarity


def test_unknown_local_model_is_a_permanent_error() -> None:
    with pytest.raises(EmbeddingPermanentError, match="not in the installed wordllama"):
        LocalEmbedder("no_such_config")


def test_body_chunks_leave_out_references_and_stay_bounded() -> None:
    body = " ".join(f"w{i}" for i in range(1000))
    refs = "\nReferences\n" + " ".join(f"r{i}" for i in range(300))
    chunks = body_chunks([body[:3000], body[3000:] + refs], chunk_words=200, max_chunks=64)
    words = " ".join(chunks).split()
    assert words == body.split() and not any(w.startswith("r") for w in words)
    assert [len(c.split()) for c in chunks] == [200] * 5
    tail = body_chunks([" ".join(f"w{i}" for i in range(420))], 200, 64)
    assert [len(c.split()) for c in tail] == [200, 220]  # a 20-word tail joins the last passage
    capped = body_chunks([" ".join(f"w{i}" for i in range(200 * 100))], 200, 10)
    assert len(capped) == 10 and capped[0].startswith("w0 ") and capped[-1].endswith("w19999")
    # A "References" heading in the first half is a section title, not the reference list.
    early = "Intro\nReferences\n" + body
    assert strip_references(early) == early


def test_embed_paper_blends_head_and_body(env: pytest.MonkeyPatch) -> None:
    embedder = get_embedder()
    assert isinstance(embedder, LocalEmbedder) and embedder.model == model_id()
    pages = [(BIO + " ") * 60, (BIO + " ") * 60]
    vectors = embed_paper(embedder, "Protein folding", BIO, pages)
    assert vectors.model == "wordllama/l2_supercat-256" and vectors.dim == 256
    assert vectors.passages.shape == (1 + 7, 256) and vectors.has_head  # 1440 words
    assert abs(float(np.linalg.norm(vectors.vector)) - 1.0) < 1e-5
    head = embedder.embed([head_text("Protein folding", BIO)])[0]
    assert np.allclose(vectors.passages[0], head, atol=1e-5)
    query = embed_query(embedder, "chaperones fold proteins in bacteria")
    assert float(vectors.vector @ query) > float(embed_query(embedder, NLP) @ vectors.vector)
    body_only = embed_paper(embedder, None, None, pages)
    assert not body_only.has_head and body_only.passages.shape == (7, 256)
    with pytest.raises(EmbeddingPermanentError, match="Nothing to embed"):
        embed_paper(embedder, None, "  ", [])
    with pytest.raises(EmbeddingPermanentError, match="empty"):
        embed_query(embedder, " ")


def test_paper_text_from_pdf_uses_the_core_pipeline(env: pytest.MonkeyPatch) -> None:
    data = make_paper(title="Chaperone Assisted Protein Folding in Bacteria", pages=3)
    paper = paper_text_from_pdf(data, source="paper.pdf")
    assert paper.title == "Chaperone Assisted Protein Folding in Bacteria"
    assert paper.abstract and "metadata extraction" in paper.abstract
    assert len(paper.page_texts) == 3 and paper.metadata["source"] == "paper.pdf"
    assert paper.metadata["authors"] == ["Ada Lovelace", "Alan Turing"]


@pytest.fixture
def llm(env: pytest.MonkeyPatch) -> Iterator[ScriptedLLM]:
    with scripted_llm() as server:
        env.setenv("PAPERFLOW_LLM_BASE_URL", server.base_url)
        env.setenv("PAPERFLOW_LLM_MAX_RETRIES", "0")
        env.setenv("PAPERFLOW_EMBEDDINGS_MODEL", "scripted-embed")
        reload_settings()
        reload_llm_settings()
        embeddings.clear_embedders()
        yield server


def test_auto_uses_the_endpoints_embeddings_when_an_llm_is_configured(
        llm: ScriptedLLM) -> None:
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model == model_id() == "openai/scripted-embed"
    texts = [NLP, NLP_2, BIO] + [f"passage {i} about {BIO}" for i in range(70)]
    vectors = embedder.embed(texts)
    assert vectors.shape == (73, 32) and embedder.dim == 32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    requests = llm.embedding_requests
    assert [len(r.body["input"]) for r in requests] == [64, 9]  # batched
    assert all(r.path == "/v1/embeddings" and r.body["model"] == "scripted-embed"
               for r in requests)
    assert requests[0].headers["authorization"] == "Bearer sk-no-key-required"
    assert llm.chat_requests() == [] and not llm.script  # the chat script is untouched
    paper = embed_paper(embedder, "Protein folding", BIO, [(BIO + " ") * 30])
    assert paper.model == "openai/scripted-embed" and paper.dim == 32
    assert paper.passages.shape == (1 + 2, 32)  # 360 words: two passages


def test_backend_local_wins_over_a_configured_endpoint(llm: ScriptedLLM,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "local")
    reload_settings()
    assert isinstance(get_embedder(), LocalEmbedder)
    assert llm.embedding_requests == []


def test_endpoint_errors_say_whether_a_retry_can_help(llm: ScriptedLLM) -> None:
    embedder = get_embedder()
    llm.embedding_responder = lambda request: Reply(
        status=404, body=error_body("model 'scripted-embed' not found"))
    with pytest.raises(EmbeddingPermanentError, match="PAPERFLOW_EMBEDDINGS_MODEL"):
        embedder.embed([NLP])
    llm.embedding_responder = lambda request: Reply(
        status=503, body=error_body("overloaded", "server_error"))
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed([NLP])
    assert not isinstance(caught.value, EmbeddingPermanentError)
