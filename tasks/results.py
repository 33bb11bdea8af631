"""Where task results (and so the cache) live, and how they are written: typed JSON, never pickle.

With S3 configured the results go to the S3 results block, so any worker hits any worker's
cache. Because other machines can write there, results are written by `ResultJSONSerializer`
(`paperflow.codec`) and read through `CheckedS3Bucket`, which refuses a record written by any
other serializer before Prefect would load it: a planted pickle is a cache miss, never code run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, ClassVar

import prefect.types._datetime
from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.blocks.core import Block
from prefect.context import FlowRunContext, TaskRunContext
from prefect.serializers import Serializer
from prefect.settings import PREFECT_API_URL
from prefect.transactions import get_transaction
from prefect_aws.s3 import S3Bucket
from pydantic import Field

from paperflow import codec
from paperflow.settings import Settings, get_settings

RESULTS_BLOCK = "paperflow-results"
"""The `S3Bucket` block holding task results; `paperflow blocks register` creates it."""
RESULTS_FOLDER = "prefect-results"
SERIALIZER_TYPE = "paperflow-json"

logger = logging.getLogger("paperflow.results")


class ResultJSONSerializer(Serializer):  # type: ignore[type-arg]
    """Task and flow results as typed JSON (`paperflow.codec`): only this project's types load."""

    type: str = Field(default=SERIALIZER_TYPE, frozen=True)

    def dumps(self, obj: Any) -> bytes:
        return codec.dumps(obj)

    def loads(self, blob: bytes) -> Any:
        return codec.loads(blob)


class ForeignResultError(codec.UntrustedPayloadError):
    """A result record in the store was written by another serializer (pickle, say)."""


def check_record(path: str, content: bytes) -> bytes:
    """`content` if it is a result record (or metadata) this project's serializer wrote."""
    try:
        record = json.loads(content)
        metadata = record.get("metadata", record) if isinstance(record, dict) else None
        serializer = (metadata or {}).get("serializer") or {}
        kind = serializer.get("type") if isinstance(serializer, dict) else None
    except (ValueError, AttributeError):
        kind = None
    if kind != SERIALIZER_TYPE:
        logger.warning("Ignoring the result record %s: written with serializer %r, not %r; "
                       "it will be recomputed and replaced. If nobody here wrote it, check who "
                       "can write to the results store.", path, kind, SERIALIZER_TYPE)
        raise ForeignResultError(f"result record {path} was written with serializer {kind!r}; "
                                 f"only {SERIALIZER_TYPE!r} records are read")
    return content


class CheckedS3Bucket(S3Bucket):
    """The S3 results bucket, read through a check that refuses any result record not written by
    `ResultJSONSerializer`, before Prefect would deserialize it."""

    _block_type_name: ClassVar[str] = "Paperflow checked S3 results"
    _block_type_slug: ClassVar[str] = "paperflow-checked-s3-bucket"
    _description: ClassVar[str] = ("An S3 bucket for task results that only hands back records "
                                   "written as paperflow's typed JSON (never pickle).")

    async def aread_path(self, path: str) -> bytes:
        return check_record(path, await super().aread_path(path))

    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:
        return check_record(path, super().read_path(path, _sync=True))


def results_folder(settings: Settings) -> str:
    """The results folder of the bucket: beside `papers/`, under the same prefix."""
    prefix = "/".join(p for p in settings.s3_prefix.split("/") if p)
    return f"{prefix}/{RESULTS_FOLDER}" if prefix else RESULTS_FOLDER


def result_storage(settings: Settings | None = None) -> str | None:
    """The results block by slug when S3 is configured, so any worker hits any worker's cache.

    None keeps Prefect's default (the local `PREFECT_HOME` storage, or the server's default).
    The slug is resolved when a task runs, so the block must be saved first: run
    `paperflow blocks register` against the same Prefect server.
    """
    settings = settings or get_settings()
    return f"{CheckedS3Bucket.get_block_type_slug()}/{RESULTS_BLOCK}" if settings.s3_bucket \
        else None


RESOLVED_STORAGE_SECONDS = 60.0
"""How long a process keeps a results block it loaded before reading it from the server again."""
_resolved: dict[tuple[str, str], tuple[float, Block]] = {}
_resolved_lock = threading.Lock()


def resolved_result_storage(storage: Any) -> Any:
    """Inside a run, a results block named by slug, loaded once a minute per process.

    Prefect loads a block given by slug again for every task run (a block-document read and its
    schema reads on the server: about a tenth of the server's CPU in a bulk run of a dozen tasks
    per paper). A loaded block is used as it is. Outside a run the slug is kept.
    """
    if not isinstance(storage, str) or FlowRunContext.get() is None:
        return storage
    key = (storage, str(PREFECT_API_URL.value() or ""))
    now = time.monotonic()
    with _resolved_lock:
        found = _resolved.get(key)
        if found is None or now - found[0] > RESOLVED_STORAGE_SECONDS:
            try:
                block = Block.load(storage, _sync=True)  # type: ignore[call-overload]
            except ValueError as exc:  # no such block on this server
                raise ValueError(f"The results block {storage!r} is not on the Prefect server "
                                 f"at {key[1] or 'the embedded API'} ({exc}); run `paperflow "
                                 "blocks register` against that server first.") from exc
            found = (now, block)
            _resolved[key] = found
        return found[1]


def json_result_options(settings: Settings | None = None) -> dict[str, Any]:
    """Task/flow options that store results as checked JSON where `result_storage` says."""
    return {"result_storage": result_storage(settings), "result_serializer": ResultJSONSerializer()}


def flow_result_options() -> dict[str, Any]:
    """Flow options: results as JSON in Prefect's default result storage.

    Prefect's own JSON serializer (pydantic models by class name), so any process with
    paperflow installed reads a run's result (`prefect deployment run`, scripts) without
    importing this module first; tasks without options of their own inherit it, so nothing a
    flow runs is pickled. The shared task cache uses `ResultJSONSerializer`, which also refuses
    types from outside the project.
    """
    return {"result_serializer": "json"}


async def write_result_now(value: Any) -> None:
    """Write the running task's result record from inside the task, before it returns.

    Prefect sets a task Completed before its transaction writes the result record: a process
    killed in between (OOM killer, SIGKILL) loses the result although the run shows the task
    done, and the re-run computes it again. For an LLM group that is a second request.
    Written here, the record is in the store before the task returns; the engine writes the
    same record again when it commits. A failed early write is logged and left to the engine.
    """
    txn = get_transaction()
    context = TaskRunContext.get()
    if txn is None or context is None or not txn.key or txn.store is None:
        return
    lifetime = context.task.cache_expiration
    expiration = prefect.types._datetime.now("UTC") + lifetime if lifetime else None
    try:
        # The transaction holds the key's lock under its own holder id.
        await txn.store.awrite(obj=value, key=txn.key, expiration=expiration,
                               holder=getattr(txn, "_holder", None))
    except Exception as exc:  # the engine's own commit still writes it
        logger.warning("Could not write the result of %s early (%s); it is written when the "
                       "task's transaction commits.", context.task.name, exc)
