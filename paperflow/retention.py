"""Retention: persisted task results, bulk-run summaries and (opt-in) papers nobody asks for.

Three areas, in the local store or the S3 bucket, whichever is configured:

- `results`: Prefect's persisted task and flow results (the cache). With S3, the bucket's
  `<prefix>/prefect-results/` (see `tasks/results.py`); always also the local result folder
  (`PREFECT_RESULTS_LOCAL_STORAGE_PATH`, else `$PREFECT_HOME/storage`), where flow results
  and, without S3, every task result live. One object expires when it is older than N days.
- `runs`: `runs/<flow_run_id>/summary.{parquet,csv}` of bulk and ingest runs; a run's folder
  expires when its newest object is older than N days.
- `papers`: `papers/<sha256>/...`, only when asked for. A paper expires when it was not
  requested for N days: the last write of its `requested` marker (`paperflow.storage.
  mark_requested`, which the flow's `mark_paper_requested` task calls on every request, cache
  hits included), else, for a paper stored before markers existed, of its newest object.

A paper is deleted `metadata.json` first ("last in, first out": it is written last, so its
presence means the paper is complete): a deletion interrupted half-way leaves a paper that reads
as incomplete, never one that looks complete with assets missing, and the next run finishes it.

`plan` lists what would go, with sizes (the dry run); `apply` deletes it. Prefect-free.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from paperflow.settings import Settings, get_settings
from paperflow.storage import REQUESTED_MARKER

DAY = 24 * 3600.0
RESULTS_FOLDER = "prefect-results"
"""The results folder of the bucket; the same as `tasks.results.RESULTS_FOLDER`."""
METADATA = "metadata.json"

Area = Literal["results", "runs", "papers"]


@dataclass(frozen=True)
class StoredObject:
    """One object of a folder: its key relative to the folder, size and last write (epoch s)."""

    key: str
    size: int
    modified: float


class Folder(Protocol):
    """The listing and deleting retention needs, over a local folder or an S3 prefix."""

    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...

    def delete(self, key: str) -> None: ...

    def uri(self, key: str) -> str: ...


class LocalFolder:
    """Objects are the files under `root`; keys are their relative POSIX paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"Key {key!r} escapes {self.root}.")
        return path

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for folder, _, files in os.walk(base):
            for name in sorted(files):
                path = Path(folder) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed while listing
                    continue
                yield StoredObject(path.relative_to(self.root).as_posix(), stat.st_size,
                                   stat.st_mtime)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()


class S3Folder:
    """Objects under `prefix/` of a bucket; keys are relative to the prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = "/".join(p for p in prefix.split("/") if p)

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        start = self._full(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        cut = len(self.prefix) + 1 if self.prefix else 0
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                     Prefix=start)
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"][cut:], int(item["Size"]),
                                   item["LastModified"].timestamp())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


@dataclass
class Expired:
    """One thing that goes as a whole: a result object, a run's folder or a paper."""

    area: Area
    name: str
    """The result's key, `runs/<id>` or `papers/<sha256>`."""
    uri: str
    keys: list[str]
    """Its objects, in the order they are deleted (a paper's `metadata.json` first)."""
    size: int
    last_used: float
    folder: Folder = field(repr=False, compare=False)


@dataclass
class Plan:
    """What a clean-up removes (or, in a dry run, would)."""

    items: list[Expired] = field(default_factory=list)
    cutoffs: dict[str, str] = field(default_factory=dict)
    """The cutoff of each area looked at (ISO time); an area left out is not cleaned."""

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)

    def count(self, area: Area) -> int:
        return sum(1 for item in self.items if item.area == area)

    def rows(self) -> list[dict[str, Any]]:
        """One row per item: area, name, URI, objects, bytes, last used (ISO)."""
        return [{"area": i.area, "name": i.name, "uri": i.uri, "objects": len(i.keys),
                 "bytes": i.size, "last_used": _iso(i.last_used)} for i in self.items]


@dataclass
class Outcome:
    """What `apply` did."""

    deleted: list[Expired] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(item.size for item in self.deleted)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def expired_results(folder: Folder, cutoff: float) -> list[Expired]:
    """Every result object last written before `cutoff`."""
    return [Expired("results", obj.key, folder.uri(obj.key), [obj.key], obj.size, obj.modified,
                    folder)
            for obj in folder.list() if obj.modified < cutoff]


def _grouped(objects: Iterable[StoredObject], depth: int) -> dict[str, list[StoredObject]]:
    groups: dict[str, list[StoredObject]] = {}
    for obj in objects:
        parts = obj.key.split("/")
        if len(parts) > depth:
            groups.setdefault("/".join(parts[:depth]), []).append(obj)
    return groups


def expired_runs(store: Folder, cutoff: float) -> list[Expired]:
    """Every `runs/<id>/` whose newest object was written before `cutoff`."""
    found = []
    for name, objects in sorted(_grouped(store.list("runs/"), 2).items()):
        newest = max(o.modified for o in objects)
        if newest < cutoff:
            found.append(Expired("runs", name, store.uri(name + "/"),
                                 sorted(o.key for o in objects), sum(o.size for o in objects),
                                 newest, store))
    return found


def paper_last_requested(objects: list[StoredObject]) -> float:
    """The `requested` marker's time when there is one, else the newest object's."""
    for obj in objects:
        if obj.key.split("/", 2)[-1] == REQUESTED_MARKER:  # papers/<sha256>/requested only
            return obj.modified
    return max(o.modified for o in objects)


def paper_delete_order(keys: Iterable[str]) -> list[str]:
    """`metadata.json` first, the `requested` marker last, the assets in between."""

    def rank(key: str) -> tuple[int, str]:
        tail = key.split("/", 2)[-1]
        return (0 if tail == METADATA else 2 if tail == REQUESTED_MARKER else 1, key)

    return sorted(keys, key=rank)


def expired_papers(store: Folder, cutoff: float) -> list[Expired]:
    """Every `papers/<sha256>/` not requested since `cutoff`."""
    found = []
    for name, objects in sorted(_grouped(store.list("papers/"), 2).items()):
        last = paper_last_requested(objects)
        if last < cutoff:
            found.append(Expired("papers", name, store.uri(name + "/"),
                                 paper_delete_order(o.key for o in objects),
                                 sum(o.size for o in objects), last, store))
    return found


def plan(store: Folder, results: Iterable[Folder] = (), *, results_days: float | None = None,
         runs_days: float | None = None, papers_days: float | None = None,
         now: float | None = None) -> Plan:
    """What is older than each area's limit; an area whose days are None is left alone."""
    moment = time.time() if now is None else now
    found = Plan()
    for area, days in (("results", results_days), ("runs", runs_days),
                       ("papers", papers_days)):
        if days is None:
            continue
        if days < 0:
            raise ValueError(f"{area} days must not be negative, not {days}.")
        cutoff = moment - days * DAY
        found.cutoffs[area] = _iso(cutoff)
        if area == "results":
            for folder in results:
                found.items += expired_results(folder, cutoff)
        elif area == "runs":
            found.items += expired_runs(store, cutoff)
        else:
            found.items += expired_papers(store, cutoff)
    return found


def apply(found: Plan, on_deleted: Callable[[Expired], None] | None = None) -> Outcome:
    """Delete every item, each one's objects in order; a failure stops that item only.

    A paper whose `metadata.json` could not be deleted is left whole; one that failed later
    reads as incomplete, and the next clean-up (it is still older than the cutoff) finishes it.
    """
    outcome = Outcome()
    for item in found.items:
        try:
            for key in item.keys:
                item.folder.delete(key)
        except Exception as exc:
            outcome.errors.append(f"{item.uri}: {type(exc).__name__}: {exc}")
            continue
        outcome.deleted.append(item)
        if on_deleted:
            on_deleted(item)
    return outcome


def local_results_path() -> Path:
    """Prefect's local result folder, as Prefect's settings name it (read from the env)."""
    for name in ("PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_LOCAL_STORAGE_PATH"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    home = os.environ.get("PREFECT_HOME") or "~/.prefect"
    return Path(home).expanduser() / "storage"


def store_folder(settings: Settings | None = None) -> Folder:
    """The configured store (the S3 bucket's prefix, else `<data dir>/store`) as a Folder."""
    settings = settings or get_settings()
    if settings.s3_bucket:
        from paperflow.storage.s3 import s3_client

        return S3Folder(s3_client(settings), settings.s3_bucket, settings.s3_prefix)
    return LocalFolder(Path(settings.data_dir) / "store")


def results_folders(settings: Settings | None = None,
                    local: Path | None = None) -> list[Folder]:
    """Where results live: the bucket's results folder with S3, and the local result folder."""
    settings = settings or get_settings()
    folders: list[Folder] = []
    if settings.s3_bucket:
        from paperflow.storage.s3 import s3_client

        prefix = "/".join(p for p in [*settings.s3_prefix.split("/"), RESULTS_FOLDER] if p)
        folders.append(S3Folder(s3_client(settings), settings.s3_bucket, prefix))
    folders.append(LocalFolder(local or local_results_path()))
    return folders


def configured_plan(*, results_days: float | None, runs_days: float | None,
                    papers_days: float | None, settings: Settings | None = None,
                    local_results: Path | None = None, now: float | None = None) -> Plan:
    """`plan` over the configured store and result folders."""
    settings = settings or get_settings()
    return plan(store_folder(settings), results_folders(settings, local_results),
                results_days=results_days, runs_days=runs_days, papers_days=papers_days,
                now=now)


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def describe(found: Plan, dry_run: bool) -> list[str]:
    """Lines for people: one per item, then the totals."""
    lines = [f"{i.area:<8} {human_size(i.size):>9}  {_iso(i.last_used)}  {i.uri}"
             for i in found.items]
    verb = "would delete" if dry_run else "deleting"
    counts = ", ".join(f"{found.count(a)} {a}" for a in ("results", "runs", "papers")
                       if a in found.cutoffs)
    lines.append(f"{verb} {len(found.items)} item(s) ({counts or 'no area selected'}), "
                 f"{human_size(found.size)} ({found.size} bytes)")
    return lines
