"""`paperflow gc --papers-days` dates a paper by the `requested` marker `mark_requested` writes,
and by its newest object when it has none (papers stored before markers existed)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from cli.main import main
from paperflow import retention
from paperflow.retention import DAY, LocalFolder
from paperflow.storage import REQUESTED_MARKER, LocalStorage, mark_requested, paper_key

ASSETS = {"original.pdf": b"%PDF-1.7 " + b"x" * 100, "text/pages.json": b'{"pages":[]}',
          "metadata.json": b'{"title": "A"}'}
RECENT, STALE, UNMARKED_OLD, UNMARKED_NEW = (hashlib.sha256(n.encode()).hexdigest() for n in
                                             ("recent", "stale", "unmarked-old",
                                              "unmarked-new"))


def _set_mtime(path: Path, moment: float) -> None:
    os.utime(path, (moment, moment))


def _paper(storage: LocalStorage, sha: str, assets_at: float, marker_at: float | None) -> None:
    for name, data in ASSETS.items():
        asset = storage.put(paper_key(sha, *name.split("/")), data)
        _set_mtime(storage.root / asset.key, assets_at)
    if marker_at is not None:
        asset = mark_requested(storage, sha)
        _set_mtime(storage.root / asset.key, marker_at)


@pytest.fixture
def store(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Four papers stored 40 days ago (one fresh): requested today, requested 40 days ago,
    never marked (old), never marked (fresh)."""
    monkeypatch.setenv("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(tmp_path / "no-results"))
    storage = LocalStorage(data_dir / "store")
    now, old = time.time(), time.time() - 40 * DAY
    _paper(storage, RECENT, old, now)
    _paper(storage, STALE, old, old)
    _paper(storage, UNMARKED_OLD, old, None)
    _paper(storage, UNMARKED_NEW, now, None)
    return storage.root


def test_the_marker_is_where_retention_looks(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    sha = hashlib.sha256(b"x").hexdigest()
    storage.put(paper_key(sha, "metadata.json"), b"{}")
    _set_mtime(tmp_path / paper_key(sha, "metadata.json"), time.time() - 40 * DAY)
    asset = mark_requested(storage, sha)
    assert asset.key == f"papers/{sha}/{REQUESTED_MARKER}"
    marker = tmp_path / asset.key
    _set_mtime(marker, time.time() - 5 * DAY)
    (item,) = retention.plan(LocalFolder(tmp_path), papers_days=1).items
    assert item.last_used == pytest.approx(marker.stat().st_mtime)
    assert item.keys[-1] == asset.key


def test_gc_keeps_recently_requested_papers_and_deletes_old_ones(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gc", "--dry-run", "--papers-days", "30"]) == 0
    out = capsys.readouterr().out
    listed = {sha for line in out.splitlines() if line.startswith("papers")
              for sha in (RECENT, STALE, UNMARKED_OLD, UNMARKED_NEW) if sha in line}
    assert listed == {STALE, UNMARKED_OLD}, out
    assert all((store / "papers" / sha / "metadata.json").is_file()
               for sha in (RECENT, STALE, UNMARKED_OLD, UNMARKED_NEW)), "the dry run deleted"

    assert main(["gc", "--papers-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "deleted 2 item(s)" in out, out
    assert not (store / "papers" / STALE).exists()
    assert not (store / "papers" / UNMARKED_OLD).exists()
    assert (store / "papers" / RECENT / "metadata.json").is_file()
    assert (store / "papers" / RECENT / REQUESTED_MARKER).is_file()
    assert (store / "papers" / UNMARKED_NEW / "metadata.json").is_file()
