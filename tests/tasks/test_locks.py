"""One extraction for concurrent requests of the same paper: the locks behind the cached tasks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

import tasks.locks as locks
from flows.process_paper import process_paper
from paperflow.models import PaperMetadataExtraction
from tests.pdfs import make_paper

pytestmark = pytest.mark.usefixtures("prefect_server")

CACHED_TASKS = {"parse_pdf", "title_authors_abstract", "institutions_keywords",
                "summary_citations", "starter_questions", "highlights", "references",
                "figures", "preview"}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_file_locks_exclude_wait_and_hand_over(tmp_path: Path) -> None:
    manager = locks.LocalLockManager(tmp_path)
    key = "parse_pdf-1-abc/with:odd/chars"
    assert manager.acquire_lock(key, "host:1:a")
    assert manager.is_lock_holder(key, "host:1:a") and manager.is_locked(key)
    other = locks.LocalLockManager(tmp_path)  # another worker process on this machine
    assert not other.acquire_lock(key, "host:2:b", acquire_timeout=0.3)
    threading.Timer(0.3, manager.release_lock, (key, "host:1:a")).start()
    assert other.acquire_lock(key, "host:2:b", acquire_timeout=5)
    assert other.is_lock_holder(key, "host:2:b")
    other.release_lock(key, "host:2:b")
    assert not manager.is_locked(key) and list(tmp_path.iterdir()) == []


def test_a_lock_whose_holder_died_is_taken_over(tmp_path: Path) -> None:
    manager = locks.LocalLockManager(tmp_path)
    key = "references-1-abc"
    assert manager.acquire_lock(key, f"{socket.gethostname()}:{_dead_pid()}:1:MainThread")
    fresh = locks.LocalLockManager(tmp_path)
    assert fresh.acquire_lock(key, "me", acquire_timeout=1)
    # A holder alive on this machine (this process) is waited for, not taken over.
    alive = locks.LocalLockManager(tmp_path / "alive")
    assert alive.acquire_lock(key, f"{socket.gethostname()}:{os.getpid()}:1:x")
    assert not locks.LocalLockManager(tmp_path / "alive").acquire_lock(key, "me",
                                                                       acquire_timeout=0.3)


def test_a_lock_file_its_holder_never_wrote(tmp_path: Path) -> None:
    manager = locks.LocalLockManager(tmp_path)
    key = "preview-1-abc"
    path = manager._lock_path_for_key(key)
    path.touch()  # created by a holder that has not written itself in yet: held
    assert manager.is_locked(key)
    assert not manager.acquire_lock(key, "me", acquire_timeout=0.3)
    old = time.time() - locks.EMPTY_LOCK_STALE_SECONDS - 5
    os.utime(path, (old, old))  # ...and never will: taken over
    assert manager.acquire_lock(key, "me", acquire_timeout=1)


def test_server_locks_are_one_slot_leases_renewed_while_held() -> None:
    manager = locks.ServerLockManager(poll_seconds=0.1, prefix="test-lock", renew_seconds=0.3)
    other = locks.ServerLockManager(poll_seconds=0.1, prefix="test-lock")
    key = "figures-1-abc-def"
    assert manager.acquire_lock(key, "worker-a")
    assert manager.is_lock_holder(key, "worker-a") and not other.is_lock_holder(key, "worker-a")
    assert other.is_locked(key)
    time.sleep(1.5)
    assert manager.renewals >= 2  # the lease is renewed while held (a dead holder's expires)
    assert not other.acquire_lock(key, "worker-b", acquire_timeout=0.5)
    threading.Timer(0.3, manager.release_lock, (key, "worker-a")).start()
    assert other.acquire_lock(key, "worker-b", acquire_timeout=10)
    other.release_lock(key, "worker-b")
    assert not other.is_locked(key)
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(manager.limit_name(key))
    assert limit.limit == 1 and limit.name.startswith("test-lock-")
    with pytest.raises(ValueError, match="No lock held"):
        manager.release_lock(key, "worker-a")


def test_same_paper_submitted_four_times_at_once_is_extracted_once(tmp_path: Path,
                                                                   data_dir: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make_paper(title="Four Requests, One Extraction", pages=4))
    results: list[PaperMetadataExtraction] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def submit() -> None:
        start.wait()
        try:
            results.append(process_paper(str(pdf)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not errors and len(results) == 4
    assert {r.title for r in results} == {"Four Requests, One Extraction"}
    computed = Counter(t.task for r in results for t in r.timings if not t.cached)
    assert {task: computed[task] for task in CACHED_TASKS} == dict.fromkeys(CACHED_TASKS, 1)
