"""One extraction for concurrent requests of the same paper: locks for the cached tasks.

Every cached task runs in a SERIALIZABLE Prefect transaction keyed by its cache key: the first
run takes the key's lock, computes and commits; a second run of the same key (the same paper
submitted twice at once, on this worker or another) waits for the lock, then finds the
committed result and reads it instead of computing it again.

Where the lock lives follows where the cache lives:
- results on the shared S3 bucket (any number of workers): `ServerLockManager`, a lock held as
  a lease on a one-slot global concurrency limit of the Prefect server every worker talks to;
  the server frees a lease its holder stopped renewing (a killed worker), so nothing stays
  locked behind a crash;
- the embedded local default (one machine): lock files in the data folder (`LocalLockManager`,
  Prefect's file locks that also take over a lock whose holder process has ended).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.cache_policies import CachePolicy
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.locking.filesystem import FileSystemLockManager
from prefect.locking.protocol import LockManager
from prefect.transactions import IsolationLevel

from paperflow.settings import Settings, get_settings

logger = logging.getLogger("paperflow.locks")

LOCK_PREFIX = "paperflow-lock"
STRIPES = 512
"""Locks are striped over this many one-slot limits, so the server holds a bounded set however
many papers pass; two keys on one stripe only wait for each other, never both run."""
EMPTY_LOCK_STALE_SECONDS = 30.0
"""A lock file still empty after this long lost its holder between creating and writing it."""


class ServerLockManager(LockManager):
    """Locks as leases on one-slot Prefect global concurrency limits, renewed while held."""

    def __init__(self, lease_seconds: float = 60.0, poll_seconds: float = 0.5,
                 stripes: int = STRIPES, prefix: str = LOCK_PREFIX,
                 renew_seconds: float | None = None) -> None:
        self.lease_seconds = lease_seconds
        """The server's shortest lease is 60 s: a dead holder's lock frees within that."""
        self.renew_seconds = renew_seconds or lease_seconds / 3
        self.renewals = 0
        self.poll_seconds = poll_seconds
        self.stripes = stripes
        self.prefix = prefix
        self._held: dict[str, tuple[str, UUID]] = {}
        self._mutex = threading.Lock()
        self._renewer: threading.Thread | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> ServerLockManager:
        return self  # one manager per process: its leases and renewal thread are shared

    def limit_name(self, key: str) -> str:
        """The concurrency limit whose single slot is `key`'s lock."""
        stripe = int(hashlib.sha256(key.encode()).hexdigest(), 16) % self.stripes
        return f"{self.prefix}-{stripe:03d}"

    def acquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                     hold_timeout: float | None = None) -> bool:
        with self._mutex:
            if self._held.get(key, ("", None))[0] == holder:
                return True
        name = self.limit_name(key)
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        waited = False
        with get_client(sync_client=True) as client:
            while True:
                lease = self._try_lease(client, name)
                if lease is not None:
                    with self._mutex:
                        self._held[key] = (holder, lease)
                    self._ensure_renewer()
                    if waited:
                        logger.debug("Lock %s (%s) acquired after waiting", key, name)
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if not waited:
                    logger.info("Waiting for %s: the same work is running elsewhere; its "
                                "result will be reused", key.split("-", 1)[0])
                    waited = True
                pause = self.poll_seconds
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - time.monotonic()))
                time.sleep(pause)

    def _try_lease(self, client: Any, name: str) -> UUID | None:
        """A lease on the limit's slot, or None while another holder has it."""
        for _ in range(3):
            try:
                response = client.increment_concurrency_slots_with_lease(
                    names=[name], slots=1, mode="concurrency", lease_duration=self.lease_seconds)
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code == 423:
                    return None
                raise
            body = response.json()
            if body.get("limits"):
                return UUID(body["lease_id"])
            with contextlib.suppress(ObjectAlreadyExists):  # first use of this stripe
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1))
        raise RuntimeError(f"could not create or lease the lock limit {name!r} on the Prefect "
                           "server; check that the API is reachable and writable")

    async def aacquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                            hold_timeout: float | None = None) -> bool:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.acquire_lock, key, holder, acquire_timeout,
                                              hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        with self._mutex:
            held = self._held.get(key)
            if held is None or held[0] != holder:
                raise ValueError(f"No lock held by {holder} for transaction with key {key}")
            del self._held[key]
        with get_client(sync_client=True) as client:
            try:
                client.release_concurrency_slots_with_lease(held[1])
            except httpx.HTTPStatusError as exc:  # an expired lease is released already
                logger.warning("Releasing the lock on %s: %s", key, exc)

    def is_locked(self, key: str) -> bool:
        with get_client(sync_client=True) as client:
            try:
                limit = client.read_global_concurrency_limit_by_name(self.limit_name(key))
            except ObjectNotFound:
                return False
        return limit.active_slots > 0

    def is_lock_holder(self, key: str, holder: str) -> bool:
        with self._mutex:
            held = self._held.get(key)
        return held is not None and held[0] == holder

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_seconds)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.wait_for_lock, key, timeout)

    def _ensure_renewer(self) -> None:
        with self._mutex:
            if self._renewer is not None and self._renewer.is_alive():
                return
            self._renewer = threading.Thread(target=self._renew_forever, daemon=True,
                                             name="paperflow-lock-renewal")
            self._renewer.start()

    def _renew_forever(self) -> None:
        """Keep every held lease alive; a worker that dies stops renewing and the lock frees."""
        while True:
            time.sleep(self.renew_seconds)
            with self._mutex:
                leases = [lease for _, lease in self._held.values()]
            if not leases:
                continue
            try:
                with get_client(sync_client=True) as client:
                    for lease in leases:
                        client.renew_concurrency_lease(lease, lease_duration=self.lease_seconds)
                        self.renewals += 1
            except Exception as exc:  # the next round tries again; the lease may still be live
                logger.warning("Renewing %d lock lease(s) failed: %s", len(leases), exc)


class LocalLockManager(FileSystemLockManager):
    """Prefect's file locks, safe against a holder that died (its lock is taken over, not
    waited on forever) and against reading a lock file its holder is still writing."""

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalLockManager:
        return type(self)(self.lock_files_directory)

    def _lock_path_for_key(self, key: str) -> Path:
        # Cache keys hold "/" and can be long: the file is named by the key's hash.
        if (lock_info := self._locks.get(key)) is not None:
            return lock_info["path"]
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self.lock_files_directory / f"{key.split('-', 1)[0][:40]}-{digest}.lock"

    def _get_lock_info(self, key: str, use_cache: bool = True) -> Any:
        path = self._lock_path_for_key(key)
        try:
            info = super()._get_lock_info(key, use_cache)
        except ValueError:  # created, its holder not written yet (or never, if it died)
            try:
                stale = time.time() - path.stat().st_mtime > EMPTY_LOCK_STALE_SECONDS
            except FileNotFoundError:
                return None
            if not stale:
                return {"holder": "", "expiration": None, "path": path}
            info = {"holder": "<unwritten>", "expiration": None, "path": path}
            holder_gone = True
        else:
            holder_gone = info is not None and _local_holder_gone(info["holder"])
        if info is not None and holder_gone:
            logger.warning("Taking over the lock on %s: its holder %s is gone", key,
                           info["holder"])
            path.unlink(missing_ok=True)
            self._locks.pop(key, None)
            return None
        return info

    async def _aget_lock_info(self, key: str, use_cache: bool = True) -> Any:
        return self._get_lock_info(key, use_cache)  # a small local file: the same checks


def _local_holder_gone(holder: str) -> bool:
    """Whether a holder ("host:pid:thread...") is a process of this machine that has ended."""
    parts = holder.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_server_locks = ServerLockManager()


def lock_manager(settings: Settings | None = None) -> LockManager:
    """The lock manager that matches where results live (see the module's docstring)."""
    settings = settings or get_settings()
    if settings.s3_bucket:
        return _server_locks
    return LocalLockManager(Path(settings.data_dir) / "locks")


def locked_cache_policy(key_fn: Any, settings: Settings | None = None) -> CachePolicy:
    """Cache on `key_fn`, computing each key at most once at a time across every worker."""
    return CachePolicy.from_cache_key_fn(key_fn).configure(
        isolation_level=IsolationLevel.SERIALIZABLE, lock_manager=lock_manager(settings))
