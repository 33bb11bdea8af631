"""The embedding task: a paper's vectors into the vector store, and the papers most like it."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.tasks import exponential_backoff

from paperflow import __version__
from paperflow import embeddings as core
from paperflow.settings import get_settings
from paperflow.vectors import Hit, get_vector_store
from tasks.locks import locked_cache_policy
from tasks.policy import cached_task_limits, from_settings, retry_unless_permanent

VERSION = "1"
SIMILAR_COUNT = 5


def embed_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """Cache on (task, version, paper sha256, embedding model, vector store, k)."""
    settings = get_settings()
    model = core.model_id(settings)
    store = get_vector_store(model, settings)
    task = context.task
    return "-".join([task.name, task.version or __version__, parameters["sha256"], model,
                     settings.fingerprint("embeddings_chunk_words", "embeddings_max_chunks"),
                     store.name, str(parameters.get("k", SIMILAR_COUNT))])


_limits = cached_task_limits("embeddings_timeout_seconds")


@from_settings(_limits)
@task(cache_policy=locked_cache_policy(embed_cache_key), persist_result=True,
      version=VERSION, **_limits(get_settings()),
      retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2),
      retry_jitter_factor=0.5, retry_condition_fn=retry_unless_permanent)
def embed_paper(sha256: str, title: str | None, abstract: str | None, page_texts: list[str],
                metadata: dict[str, Any] | None = None, k: int = SIMILAR_COUNT) -> list[Hit]:
    """Embed the paper (title+abstract and body passages), store its vectors, and return the
    `k` most similar papers already stored (the paper itself left out)."""
    settings = get_settings()
    embedder = core.get_embedder(settings)
    store = get_vector_store(embedder.model, settings)
    vectors = core.embed_paper(embedder, title, abstract, page_texts, settings)
    store.add(sha256, vectors, metadata or {"title": title})
    return store.similar(sha256, k)
