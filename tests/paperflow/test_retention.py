"""Retention: expired results, run summaries and unused papers, locally and on S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from paperflow import retention
from paperflow.retention import DAY, Folder, LocalFolder, S3Folder
from paperflow.settings import Settings, reload_settings
from paperflow.storage import LocalStorage, get_storage, mark_requested, paper_key
from tests.s3 import SeaweedFS, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures

OLD = time.time() - 40 * DAY
SHA_OLD, SHA_FRESH, SHA_UNMARKED = (hashlib.sha256(n.encode()).hexdigest()
                                    for n in ("old", "fresh", "unmarked"))
PAPER_FILES = {"original.pdf": b"%PDF-1.7 " + b"x" * 991, "text/pages.json": b'{"pages":[]}',
               "preview.webp": b"RIFF" * 25, "metadata.json": b'{"title": "A"}'}


def _write(root: Path, key: str, data: bytes, mtime: float | None = None) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _paper(root: Path, sha: str, mtime: float, marker: float | None) -> int:
    for name, data in PAPER_FILES.items():
        _write(root, f"papers/{sha}/{name}", data, mtime)
    if marker is not None:
        mark_requested(LocalStorage(root), sha, now=marker)
        _write(root, f"papers/{sha}/requested", (root / f"papers/{sha}/requested").read_bytes(),
               marker)
    return sum(len(d) for d in PAPER_FILES.values())


@pytest.fixture
def store(tmp_path: Path) -> dict[str, Any]:
    """A local store: an old paper (marker 40 days old), a paper with old assets requested
    today, an old paper without marker, an old and a new bulk run; results old and new."""
    root, results = tmp_path / "store", tmp_path / "results"
    sizes = {"old": _paper(root, SHA_OLD, OLD, OLD),
             "fresh": _paper(root, SHA_FRESH, OLD, time.time()),
             "unmarked": _paper(root, SHA_UNMARKED, OLD, None)}
    _write(root, "runs/run-old/summary.csv", b"a,b\n" * 10, OLD)
    _write(root, "runs/run-old/summary.parquet", b"P" * 300, OLD)
    _write(root, "runs/run-new/summary.csv", b"a,b\n")
    _write(results, "0123abcd", b"r" * 500, OLD)
    _write(results, "4567efgh", b"r" * 200)
    return {"root": root, "results": results, "sizes": sizes}


def _names(plan: retention.Plan) -> set[tuple[str, str]]:
    return {(item.area, item.name) for item in plan.items}


def test_plan_lists_only_what_expired_and_dry_run_deletes_nothing(store: dict[str, Any]) -> None:
    root, results = store["root"], store["results"]
    before = sorted(p for p in root.rglob("*")) + sorted(results.rglob("*"))
    plan = retention.plan(LocalFolder(root), [LocalFolder(results)], results_days=30,
                          runs_days=30, papers_days=30)
    assert _names(plan) == {("results", "0123abcd"), ("runs", "runs/run-old"),
                            ("papers", f"papers/{SHA_OLD}"), ("papers", f"papers/{SHA_UNMARKED}")}
    by_name = {item.name: item for item in plan.items}
    marker = len((root / f"papers/{SHA_OLD}/requested").read_bytes())
    assert by_name[f"papers/{SHA_OLD}"].size == store["sizes"]["old"] + marker
    assert by_name["runs/run-old"].size == 340 and by_name["0123abcd"].size == 500
    assert plan.size == sum(item.size for item in plan.items)
    lines = retention.describe(plan, dry_run=True)
    assert lines[-1].startswith("would delete 4 item(s) (1 results, 1 runs, 2 papers)")
    assert str(plan.size) in lines[-1]
    # The dry run is the plan: nothing was touched.
    assert sorted(p for p in root.rglob("*")) + sorted(results.rglob("*")) == before

    # Papers are opt-in: without papers_days none is listed.
    assert {a for a, _ in _names(retention.plan(LocalFolder(root), [LocalFolder(results)],
                                                results_days=30, runs_days=30))} \
        == {"results", "runs"}


def test_apply_deletes_whole_items_and_keeps_the_rest(store: dict[str, Any]) -> None:
    root, results = store["root"], store["results"]
    plan = retention.plan(LocalFolder(root), [LocalFolder(results)], results_days=30,
                          runs_days=30, papers_days=30)
    outcome = retention.apply(plan)
    assert not outcome.errors and len(outcome.deleted) == 4 and outcome.size == plan.size
    assert not (root / "papers" / SHA_OLD).exists(), "empty folders go too"
    assert not (root / "papers" / SHA_UNMARKED).exists() and not (root / "runs/run-old").exists()
    assert (root / "papers" / SHA_FRESH / "metadata.json").is_file()
    assert (root / "runs/run-new/summary.csv").is_file()
    assert sorted(p.name for p in results.iterdir()) == ["4567efgh"]
    again = retention.plan(LocalFolder(root), [LocalFolder(results)], results_days=30,
                           runs_days=30, papers_days=30)
    assert again.items == []


class FailingFolder(LocalFolder):
    """Deletes `allowed` objects, then fails like a store going away."""

    def __init__(self, root: Path, allowed: int) -> None:
        super().__init__(root)
        self.allowed = allowed
        self.deleted: list[str] = []

    def delete(self, key: str) -> None:
        if len(self.deleted) >= self.allowed:
            raise OSError("store unreachable")
        super().delete(key)
        self.deleted.append(key)


def test_metadata_json_goes_first_and_an_interrupted_paper_reads_incomplete(
        store: dict[str, Any], data_dir: Path) -> None:
    root = data_dir / "store"
    _paper(root, SHA_OLD, OLD, OLD)
    folder = FailingFolder(root, allowed=1)
    plan = retention.plan(folder, papers_days=30)
    (item,) = plan.items
    assert item.keys[0] == f"papers/{SHA_OLD}/metadata.json"
    assert item.keys[-1] == f"papers/{SHA_OLD}/requested"
    outcome = retention.apply(plan)
    assert folder.deleted == [f"papers/{SHA_OLD}/metadata.json"]
    assert outcome.deleted == [] and "store unreachable" in outcome.errors[0]
    storage = get_storage()
    # metadata.json is what makes a paper complete: without it the paper reads as incomplete,
    # never as a complete paper with assets missing.
    assert not storage.exists(paper_key(SHA_OLD, "metadata.json"))
    assert storage.exists(paper_key(SHA_OLD, "original.pdf"))
    # The next clean-up still finds it (the marker is old) and finishes it.
    folder.allowed = 100
    outcome = retention.apply(retention.plan(folder, papers_days=30))
    assert [i.name for i in outcome.deleted] == [f"papers/{SHA_OLD}"]
    assert not (root / "papers" / SHA_OLD).exists()


def test_requested_marker_refresh_keeps_a_paper(tmp_path: Path) -> None:
    root = tmp_path / "store"
    _paper(root, SHA_OLD, OLD, OLD)
    assert len(retention.plan(LocalFolder(root), papers_days=30).items) == 1
    asset = mark_requested(LocalStorage(root), SHA_OLD)
    assert asset.key == f"papers/{SHA_OLD}/requested"
    assert retention.plan(LocalFolder(root), papers_days=30).items == []
    # In 31 days, with no request in between, it expires.
    assert len(retention.plan(LocalFolder(root), papers_days=30,
                              now=time.time() + 31 * DAY).items) == 1


def test_paperflow_gc_dry_run_prints_the_list(store: dict[str, Any], data_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = data_dir / "store"
    root.parent.mkdir(parents=True, exist_ok=True)
    store["root"].rename(root)
    monkeypatch.setenv("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(store["results"]))
    assert main(["gc", "--dry-run", "--results-days", "30", "--runs-days", "30",
                 "--papers-days", "30"]) == 0
    out = capsys.readouterr().out
    print(out)
    lines = out.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("would delete 4 item(s)")
    assert any((root / "papers" / SHA_OLD).as_uri() in line and line.startswith("papers")
               for line in lines)
    assert any(line.startswith("results") and "0123abcd" in line for line in lines)
    assert (root / "papers" / SHA_OLD / "metadata.json").is_file(), "dry run deletes nothing"

    # Defaults: results 30 days, runs 90 (run-old is 40 days old: kept), papers kept.
    assert main(["gc"]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 item(s)" in out
    assert (root / "papers" / SHA_OLD / "metadata.json").is_file()
    assert (root / "runs/run-old/summary.csv").is_file()
    assert sorted(p.name for p in store["results"].iterdir()) == ["4567efgh"]


@pytest.mark.usefixtures("prefect_server")
def test_cleanup_flow(store: dict[str, Any], data_dir: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.cleanup import cleanup

    root = data_dir / "store"
    root.parent.mkdir(parents=True, exist_ok=True)
    store["root"].rename(root)
    monkeypatch.setenv("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(store["results"]))
    dry = cleanup(days=30, papers=30, dry_run=True)
    assert (dry.results, dry.runs, dry.papers, dry.dry_run) == (1, 1, 2, True)
    assert (root / "papers" / SHA_OLD / "metadata.json").is_file()
    done = cleanup(days=30)
    assert (done.results, done.runs, done.papers, done.errors) == (1, 1, 0, [])
    assert done.bytes == 840 and (root / "papers" / SHA_OLD).is_dir()


def test_results_folder_matches_the_tasks_results_storage() -> None:
    from tasks.results import results_folder

    settings = Settings(PAPERFLOW_S3_BUCKET="b", s3_prefix="/team/x/")
    (s3, local) = retention.results_folders(settings, Path("/tmp/r"))
    assert isinstance(s3, S3Folder) and s3.prefix == results_folder(settings)
    assert isinstance(local, LocalFolder) and local.root == Path("/tmp/r").resolve()


@pytest.mark.slow
def test_s3_store(s3_env: dict[str, str], seaweedfs: SeaweedFS) -> None:
    settings = reload_settings()
    storage = get_storage(settings)
    for name, data in PAPER_FILES.items():
        storage.put(paper_key(SHA_OLD, *name.split("/")), data)
    mark_requested(storage, SHA_OLD)
    storage.put("runs/run-1/summary.csv", b"a,b\n")
    client = seaweedfs.client()
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    client.put_object(Bucket=settings.s3_bucket, Key=f"{prefix}/prefect-results/abc",
                      Body=b"r" * 50)
    before = sorted(seaweedfs.objects(prefix=f"{prefix}/"))
    assert len(before) == 7

    # Just written: nothing is older than a day...
    assert retention.configured_plan(results_days=1, runs_days=1, papers_days=1,
                                     local_results=Path("/nonexistent")).items == []
    # ...but everything is, seen from two days ahead (S3 sets LastModified itself).
    later = time.time() + 2 * DAY
    plan = retention.configured_plan(results_days=1, runs_days=1, papers_days=1,
                                     local_results=Path("/nonexistent"), now=later)
    assert _names(plan) == {("results", "abc"), ("runs", "runs/run-1"),
                            ("papers", f"papers/{SHA_OLD}")}
    paper = next(i for i in plan.items if i.area == "papers")
    assert paper.uri == f"s3://{settings.s3_bucket}/{prefix}/papers/{SHA_OLD}/"
    assert paper.size == sum(len(d) for d in PAPER_FILES.values()) + len(
        storage.get(paper_key(SHA_OLD, "requested")))
    assert sorted(seaweedfs.objects(prefix=f"{prefix}/")) == before, "planning deletes nothing"

    order: list[str] = []
    real_delete = S3Folder.delete

    def recording(self: S3Folder, key: str) -> None:
        order.append(key)
        real_delete(self, key)

    folder: Folder = paper.folder
    assert isinstance(folder, S3Folder)
    S3Folder.delete = recording  # type: ignore[method-assign]
    try:
        outcome = retention.apply(plan)
    finally:
        S3Folder.delete = real_delete  # type: ignore[method-assign]
    assert not outcome.errors and len(outcome.deleted) == 3
    paper_keys = [k for k in order if k.startswith("papers/")]
    assert paper_keys[0].endswith("/metadata.json") and paper_keys[-1].endswith("/requested")
    assert seaweedfs.objects(prefix=f"{prefix}/") == {}
