"""The embed task: its cache key, its work (no Prefect), and a cache hit inside a real flow."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prefect import flow

from paperflow import embeddings
from paperflow.llm.settings import reload_llm_settings
from paperflow.report import similar_papers_section
from paperflow.settings import reload_settings
from paperflow.vectors import Hit, clear_vector_stores, get_vector_store
from tasks.embed import embed_cache_key, embed_paper

TRANSLATION = ("Neural machine translation of sentences between languages with attention. "
               "The decoder generates target words from the encoder's source representation. ")
FOLDING = ("Chaperones help proteins fold in bacterial cells; folding kinetics were measured "
           "in vivo and in vitro for mutant strains. ")


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture
def local(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME",
                 "PAPERFLOW_LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_BASE_URL",
                 "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "local")
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()
    clear_vector_stores()
    yield data_dir
    monkeypatch.undo()
    reload_settings()
    reload_llm_settings()
    embeddings.clear_embedders()
    clear_vector_stores()


def _key(sha256: str) -> str:
    context: Any = SimpleNamespace(task=SimpleNamespace(name="embed_paper", version="1"))
    return embed_cache_key(context, {"sha256": sha256, "title": "ignored", "k": 5})


def test_cache_key_is_paper_model_and_store(local: Path, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    first = _key(sha("a"))
    assert sha("a") in first and "wordllama/l2_supercat-256" in first
    assert _key(sha("a")) == first and _key(sha("b")) != first
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "openai")
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_MODEL", "text-embedding-3-large")
    reload_settings()
    assert "openai/text-embedding-3-large" in _key(sha("a"))
    monkeypatch.setenv("PAPERFLOW_EMBEDDINGS_BACKEND", "local")
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "elsewhere"))
    reload_settings()
    assert _key(sha("a")) != first  # another vector store


def test_embed_stores_the_paper_and_returns_the_closest(local: Path) -> None:
    assert embed_paper.timeout_seconds
    assert embed_paper.cache_policy.cache_key_fn is embed_cache_key  # type: ignore[union-attr]
    assert embed_paper.fn(sha("t1"), "Attention for translation", None, [TRANSLATION * 40]) == []
    embed_paper.fn(sha("f1"), "Chaperone assisted folding", None, [FOLDING * 40])
    hits = embed_paper.fn(sha("t2"), "Neural translation of languages", None,
                          [TRANSLATION * 30], {"title": "Neural translation", "year": 2020})
    assert [h.sha256 for h in hits] == [sha("t1"), sha("f1")]
    assert hits[0].score > hits[1].score and hits[0].title == "Attention for translation"
    store = get_vector_store(embeddings.model_id())
    stored = {p.sha256: p for p in store.all()}
    assert stored[sha("t2")].metadata["year"] == 2020
    section = similar_papers_section(hits)
    assert section.startswith("## Similar papers\n")
    assert "| 1 | " in section and "Attention for translation" in section
    assert sha("t1")[:16] in section
    assert "No similar papers" in similar_papers_section([])
    as_dicts = similar_papers_section([h.model_dump() for h in hits])
    assert as_dicts == section


@pytest.mark.slow
def test_a_second_run_is_a_cache_hit(local: Path, prefect_server: str) -> None:
    @flow
    def twice() -> list[str]:
        states = [embed_paper(sha("p"), "Translation", None, [TRANSLATION * 20],
                              return_state=True) for _ in range(2)]
        assert all(isinstance(s.result(), list) for s in states)
        return [s.name for s in states]

    assert twice() == ["Completed", "Cached"]
    hits: list[Hit] = embed_paper.fn(sha("q"), "Translation again", None, [TRANSLATION * 20])
    assert [h.sha256 for h in hits] == [sha("p")]
