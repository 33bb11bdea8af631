"""The real process-paper flow storing to a real S3 server (SeaweedFS), results on the S3 block."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

import flows.process_paper as process_module
from deployments.blocks import register_blocks
from flows.process_paper import process_paper
from paperflow.settings import reload_settings
from paperflow.storage import REQUESTED_MARKER, get_storage
from paperflow.storage.s3 import S3Storage
from tasks.locks import ServerLockManager, lock_manager
from tasks.results import RESULTS_FOLDER, SERIALIZER_TYPE, result_storage
from tests.conftest import ROOT, SAMPLE_PDF
from tests.pdfs import make_paper
from tests.prefect_api import task_runs
from tests.s3 import BUCKET, SeaweedFS, apply_env, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]

FIXED = {"original.pdf": "application/pdf", "preview.webp": "image/webp",
         "thumbs/sm.webp": "image/webp", "thumbs/md.webp": "image/webp",
         "thumbs/lg.webp": "image/webp", "text/pages.json": "application/json",
         "metadata.json": "application/json"}
CACHED_TASKS = {"parse_pdf", "title_authors_abstract", "institutions_keywords",
                "summary_citations", "starter_questions", "highlights", "references",
                "figures", "preview"}


def _results_on_s3(monkeypatch: pytest.MonkeyPatch) -> str:
    """Give the flow's cached tasks the S3 results block, as a worker importing with S3 set does.

    `tasks.extraction` picks `result_storage()` and the lock manager at import time; this test
    process imported it before S3 was configured, so the same options are applied here (the
    subprocess test checks the import-time path itself).
    """
    slug = result_storage()
    assert slug is not None
    locks = lock_manager()
    assert isinstance(locks, ServerLockManager)

    def on_s3(task: Any) -> Any:
        return task.with_options(result_storage=slug,
                                 cache_policy=task.cache_policy.configure(lock_manager=locks))

    for name in ("parse_pdf", "analyse_layout", "preview", "figures", "embed_paper"):
        monkeypatch.setattr(process_module, name, on_s3(getattr(process_module, name)))
    monkeypatch.setattr(process_module, "TEXT_GROUPS",
                        tuple(on_s3(task) for task in process_module.TEXT_GROUPS))
    return slug


def _paper_objects(server: SeaweedFS, prefix: str, sha256: str,
                   marker: bool = False) -> dict[str, dict[str, Any]]:
    """The paper's objects by relative key; its `requested` marker (rewritten by every request)
    only when `marker`."""
    base = f"{prefix}/papers/{sha256}/"
    return {key[len(base):]: info for key, info in server.objects(prefix=base).items()
            if marker or key[len(base):] != REQUESTED_MARKER}


def _check_objects(server: SeaweedFS, prefix: str, sha256: str, pdf: bytes,
                   figures: int) -> dict[str, dict[str, Any]]:
    """Every asset present once, with its content type, and every body matching its sha256."""
    objects = _paper_objects(server, prefix, sha256)
    images = {name for name in objects if name.startswith("images/")}
    assert set(objects) - images == set(FIXED), sorted(objects)
    assert len(images) == figures and all(re.fullmatch(r"images/\d+\.png", n) for n in images)
    for name, info in objects.items():
        assert info["content_type"] == FIXED.get(name, "image/png"), name
        body = server.client().get_object(Bucket=BUCKET,
                                          Key=f"{prefix}/papers/{sha256}/{name}")["Body"].read()
        assert len(body) == info["size"] and hashlib.sha256(body).hexdigest() == info["sha256"]
        if name == "original.pdf":
            assert body == pdf
    assert server.pending_uploads() == []
    assert REQUESTED_MARKER in _paper_objects(server, prefix, sha256, marker=True)
    return objects


WORKER = """
import json, sys
from flows.process_paper import process_paper
from paperflow.storage import REQUESTED_MARKER, get_storage
from tasks.extraction import parse_pdf
result = process_paper(sys.argv[1])
stats = get_storage().stats
print("RESULT " + json.dumps({
    "result_storage": parse_pdf.result_storage,
    "cached": sorted(t.task for t in result.timings if t.cached),
    "not_cached": sorted(t.task for t in result.timings if not t.cached),
    "written": stats.written, "skipped": stats.skipped, "sha256": result.sha256,
}))
"""


class _Planted:
    """Unpickling this creates a file: what a planted pickle could do with any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def _planted_record(marker: Path) -> bytes:
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    return ResultRecord(metadata=ResultRecordMetadata(serializer=PickleSerializer()),
                        result=_Planted(marker)).serialize()


def _second_worker(env: dict[str, str], api_url: str, home: Path, source: str) -> dict[str, Any]:
    """Run the flow in a fresh process with an empty PREFECT_HOME on the same server and bucket."""
    home.mkdir()
    child_env = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PREFECT_", "PAPERFLOW_", "AWS_"))}
    child_env.update(env, PREFECT_HOME=str(home), PREFECT_API_URL=api_url,
                     PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
                     PAPERFLOW_DATA_DIR=str(home / "data"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", WORKER, source], cwd=ROOT, env=child_env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_sample_paper_on_s3_then_cached_everywhere(
        s3_env: dict[str, str], seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch,
        prefect_server: str, tmp_path: Path) -> None:
    register_blocks(reload_settings())
    _results_on_s3(monkeypatch)
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    pdf = SAMPLE_PDF.read_bytes()

    first = process_paper(str(SAMPLE_PDF))
    assert not any(t.cached for t in first.timings)
    figures = [f for f in first.figures if f.asset]
    objects = _check_objects(seaweedfs, prefix, first.sha256, pdf, len(figures))
    base = f"s3://{BUCKET}/{prefix}/papers/{first.sha256}/"
    assert set(first.assets) == {"original", "text", "preview", "metadata"}
    for asset in [*first.assets.values(), *(f.asset for f in figures)]:
        assert asset is not None and asset.uri.startswith(base) and asset.url
    assert httpx.get(first.assets["original"].url or "").content == pdf
    stored = json.loads(seaweedfs.client().get_object(
        Bucket=BUCKET, Key=f"{prefix}/papers/{first.sha256}/metadata.json")["Body"].read())
    assert stored["sha256"] == first.sha256 and stored["preview"]["asset"]["uri"].startswith(base)
    results = seaweedfs.objects(prefix=f"{prefix}/{RESULTS_FOLDER}/")
    assert any(first.sha256 in key for key in results), "task results were not stored on S3"

    # Same process, same bytes: every cached step hits, nothing is uploaded but the marker.
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    written = storage.stats.written
    requested = _paper_objects(seaweedfs, prefix, first.sha256, marker=True)[REQUESTED_MARKER]
    time.sleep(1.1)  # LastModified has one-second resolution
    second = process_paper(str(SAMPLE_PDF))
    assert {t.task for t in second.timings if t.cached} == CACHED_TASKS
    assert storage.stats.written == written + 1
    assert _paper_objects(seaweedfs, prefix, first.sha256) == objects
    again = _paper_objects(seaweedfs, prefix, first.sha256, marker=True)[REQUESTED_MARKER]
    assert again["modified"] > requested["modified"]

    # Every result on S3 is typed JSON. Someone with write access to the bucket replaces one
    # with a pickle that would run code when loaded: the reader refuses it and recomputes.
    records = {key: seaweedfs.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
               for key in results if first.sha256 in key}
    assert records and all(json.loads(body)["metadata"]["serializer"]["type"] == SERIALIZER_TYPE
                           for body in records.values())
    planted_key = next(key for key in records
                       if key.rsplit("/", 1)[-1].startswith("references-"))
    marker = tmp_path / "planted-pickle-ran"
    seaweedfs.client().put_object(Bucket=BUCKET, Key=planted_key, Body=_planted_record(marker))

    # A second worker: a fresh process with an empty PREFECT_HOME hits the first one's cache.
    worker = _second_worker(s3_env, prefect_server, tmp_path / "worker-home", str(SAMPLE_PDF))
    assert worker["result_storage"] == result_storage()
    assert set(worker["cached"]) == CACHED_TASKS - {"references"}
    assert worker["not_cached"] == ["references"]
    assert not marker.exists(), "a planted pickle was loaded"
    replaced = seaweedfs.client().get_object(Bucket=BUCKET, Key=planted_key)["Body"].read()
    assert json.loads(replaced)["metadata"]["serializer"]["type"] == SERIALIZER_TYPE
    # Cached steps touch nothing; the three uncached writes find their objects and skip; the
    # one write is the paper's `requested` marker.
    assert worker["written"] == 1 and worker["skipped"] == 3
    assert _paper_objects(seaweedfs, prefix, first.sha256) == objects


def test_two_workers_given_the_same_paper_at_once_extract_it_once(
        s3_env: dict[str, str], seaweedfs: SeaweedFS, prefect_server: str,
        tmp_path: Path) -> None:
    """Two worker processes (own PREFECT_HOME, same server and bucket) start the same paper at
    the same moment: the server-side locks let one compute each step, the other reuses it."""
    register_blocks(reload_settings())
    pdf = tmp_path / "same.pdf"
    pdf.write_bytes(make_paper(title="Two Workers, One Extraction", pages=4))
    outcomes: dict[str, dict[str, Any]] = {}

    def worker(name: str) -> None:
        outcomes[name] = _second_worker(s3_env, prefect_server, tmp_path / name, str(pdf))

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(900)
    assert set(outcomes) == {"w1", "w2"}
    assert outcomes["w1"]["sha256"] == outcomes["w2"]["sha256"]
    computed = Counter(task for outcome in outcomes.values() for task in outcome["not_cached"])
    assert {task: computed[task] for task in CACHED_TASKS} == dict.fromkeys(CACHED_TASKS, 1)


def test_store_stopped_mid_run_then_restarted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              data_dir: Path) -> None:
    server = SeaweedFS(tmp_path / "weed")
    try:
        server.start()
        server.create_bucket(BUCKET)
        apply_env(monkeypatch, server.env(prefix="fault"))
        register_blocks(reload_settings())
        _results_on_s3(monkeypatch)
        pdf = make_paper(nonce="s3-store-stopped")
        source = tmp_path / "paper.pdf"
        source.write_bytes(pdf)

        real_put = S3Storage.put
        stopped: list[str] = []

        def stop_on_first_upload(self: S3Storage, key: str, *args: Any, **kwargs: Any) -> Any:
            if key.endswith("original.pdf") and not stopped:
                stopped.append(key)
                server.stop(grace=0)
            return real_put(self, key, *args, **kwargs)

        monkeypatch.setattr(S3Storage, "put", stop_on_first_upload)
        # One attempt of the run: the flow's own retry would only repeat the same failure.
        state = process_paper.with_options(retries=0)(str(source), return_state=True)
        assert stopped and state.is_failed()
        with pytest.raises(Exception) as error:
            state.result()
        assert f"127.0.0.1:{server.ports['s3']}" in str(error.value)
        runs = {run.name.rsplit("-", 1)[0]: run for run in task_runs(
            state.state_details.flow_run_id)}
        original = runs["store_original"]
        assert original.run_count == 4, "the upload was not retried"
        assert original.state.is_failed()
        assert server.endpoint_url in (original.state.message or "")
        assert "Is the store up?" in (original.state.message or "")
        # It failed on the store, not by running into its time limit.
        assert state.name != "TimedOut" and "timed out" not in (state.message or "").lower()

        monkeypatch.setattr(S3Storage, "put", real_put)
        server.start()
        again = process_paper(str(source))
        figures = [f for f in again.figures if f.asset]
        _check_objects(server, "fault", again.sha256, pdf, len(figures))
        unexpected = [k for k in server.objects(prefix="")
                      if not k.startswith((f"fault/papers/{again.sha256}/",
                                           f"fault/{RESULTS_FOLDER}/", "fault/vectors/"))]
        assert unexpected == []
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("change", "message", "error"),
    [({"AWS_SECRET_ACCESS_KEY": "wrong"}, "refused", "StorageCredentialsError"),
     ({"PAPERFLOW_S3_BUCKET": "no-such-bucket"}, "does not exist", "BucketNotFoundError")],
    ids=["wrong-credentials", "missing-bucket"])
def test_configuration_errors_fail_fast_and_clearly(
        s3_env: dict[str, str], seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, change: dict[str, str], message: str, error: str) -> None:
    apply_env(monkeypatch, {**s3_env, **change})
    source = tmp_path / "paper.pdf"
    source.write_bytes(make_paper(nonce=f"s3-config-{error}"))
    state = process_paper(str(source), return_state=True)
    assert state.is_failed()
    # Fast by construction, not by a clock (machines are shared): every storing task ran
    # once, no retry waited, and the error names its cause (checked below).
    with pytest.raises(Exception, match=message) as raised:
        state.result()
    assert seaweedfs.endpoint_url in str(raised.value)
    runs = task_runs(state.state_details.flow_run_id)
    storing = [r for r in runs if r.name.startswith(("store_original", "store_text", "preview",
                                                     "figures"))]
    assert storing and all(r.run_count == 1 for r in storing), \
        [(r.name, r.run_count) for r in storing]
    assert any(error in (r.state.message or "") for r in storing)


def test_s3_source(s3_env: dict[str, str], seaweedfs: SeaweedFS) -> None:
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    pdf = make_paper(nonce="s3-source-flow")
    seaweedfs.client().put_object(Bucket=BUCKET, Key=f"{prefix}/inbox/paper.pdf", Body=pdf)
    uri = f"s3://{BUCKET}/{prefix}/inbox/paper.pdf"
    result = process_paper(uri)
    assert result.source == uri and result.size_bytes == len(pdf)
    stored = seaweedfs.client().get_object(
        Bucket=BUCKET, Key=f"{prefix}/papers/{result.sha256}/original.pdf")["Body"].read()
    assert stored == pdf

    missing = process_paper(f"s3://{BUCKET}/{prefix}/inbox/missing.pdf", return_state=True)
    assert missing.is_failed()
    with pytest.raises(Exception, match="not found"):
        missing.result()
    runs = task_runs(missing.state_details.flow_run_id)
    assert [r.run_count for r in runs if r.name.startswith("fetch")] == [1]


def test_bulk_run_over_an_s3_prefix(s3_env: dict[str, str], seaweedfs: SeaweedFS) -> None:
    from flows.bulk_process import bulk_process

    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    client = seaweedfs.client()
    inbox = f"{prefix}/bulk-inbox"
    for n in range(3):
        client.put_object(Bucket=BUCKET, Key=f"{inbox}/paper-{n}.pdf",
                          Body=make_paper(nonce=f"s3-bulk-{n}"))
    client.put_object(Bucket=BUCKET, Key=f"{inbox}/broken.pdf", Body=b"<html>no</html>")
    client.put_object(Bucket=BUCKET, Key=f"{inbox}/readme.txt", Body=b"not a paper")

    summary = bulk_process(s3_prefix=f"s3://{BUCKET}/{inbox}/", batch_size=2, concurrency=2)
    assert summary.total == 4 and summary.completed == 3 and summary.failed == 1
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert failed[0].source == f"s3://{BUCKET}/{inbox}/broken.pdf" and "HTML" in failed[0].error
    for outcome in summary.outcomes:
        if outcome.status != "failed":
            assert client.head_object(Bucket=BUCKET,
                                      Key=f"{prefix}/papers/{outcome.sha256}/metadata.json")
