"""Orchestration policy shared by the tasks: content-keyed caching and retry rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

from paperflow import __version__
from paperflow.errors import PermanentError
from paperflow.pipeline import PaperKey
from paperflow.settings import Settings, get_settings
from paperflow.storage import get_storage
from tasks.results import json_result_options, resolved_result_storage

T = TypeVar("T")
SettingsOptions = Callable[[Settings], dict[str, Any]]
"""Task or flow options (time limits, retries, result storage) computed from the settings."""
_FROM_SETTINGS: dict[str, SettingsOptions] = {}


@dataclass
class Timed(Generic[T]):
    """A task's value with when it started (epoch seconds) and how long the work took."""

    value: T
    started_at: float
    seconds: float


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Timed[T]:
    started_at, start = time.time(), time.perf_counter()
    value = fn(*args, **kwargs)
    return Timed(value, started_at, time.perf_counter() - start)


def content_cache_key(*settings_names: str, storage: bool = False) -> Callable[..., str]:
    """Cache on (task, task version, paper sha256, named settings[, store]), never the run id."""

    def key_fn(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        paper: PaperKey = parameters["key"]
        task = context.task
        parts = [task.name, task.version or __version__, paper.sha256]
        if settings_names:
            parts.append(get_settings().fingerprint(*settings_names))
        if storage:
            parts.append(get_storage().fingerprint())
        return "-".join(parts)

    return key_fn


def cache_expiration(settings: Settings | None = None) -> timedelta:
    return timedelta(seconds=(settings or get_settings()).cache_expiration_seconds)


def cached_task_limits(timeout_setting: str) -> SettingsOptions:
    """The settings-given options of a task whose result is cached: its cache expiry, its
    result storage, and its time limit, read from the setting named `timeout_setting`."""

    def options(settings: Settings) -> dict[str, Any]:
        return {"cache_expiration": cache_expiration(settings), **json_result_options(settings),
                "timeout_seconds": getattr(settings, timeout_setting)}

    return options


def from_settings(options: SettingsOptions) -> Callable[[T], T]:
    """Over `@task` or `@flow`: these options follow the settings when a run submits the task
    (`configured`), not the settings of the moment its module was first imported."""

    def register(item: T) -> T:
        _FROM_SETTINGS[item.name] = options  # type: ignore[attr-defined]
        return item

    return register


def configured(item: T) -> T:
    """The task or flow with the options today's settings give (see `from_settings`): a
    long-lived process (a notebook, `paperflow serve`, the CLI) whose settings changed after
    the import runs with the new time limits, retries and result storage."""
    options = _FROM_SETTINGS.get(getattr(item, "name", ""))
    if options is None:
        return item
    wanted = options(get_settings())
    if "result_storage" in wanted:
        wanted["result_storage"] = resolved_result_storage(wanted["result_storage"])
    changed = {name: value for name, value in wanted.items()
               if getattr(item, name, None) != value}
    return item.with_options(**changed) if changed else item  # type: ignore[attr-defined]


def retry_unless_permanent(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry transient failures only: a `PermanentError` fails the same way every time."""
    try:
        # `_sync`: called from an async task's event loop, `result()` would hand back an
        # un-awaited coroutine and never raise, and every async task would be retried.
        state.result(_sync=True)  # type: ignore[call-overload]
    except PermanentError:
        return False
    except Exception:
        return True
    return True


class _WorkerThreadTimeoutNotice(logging.Filter):
    """Drops Prefect's warning, logged for every task run with a time limit that runs in a
    worker thread, that the limit cannot interrupt a blocking call. Every limited task here
    runs in one (the flow's thread pool, bulk runs' paper threads): the limit takes effect once
    the call returns, and the flow's and each paper's time limits cover a call that hangs. Left
    in, it would be a dozen warnings per paper."""

    PREFIX = "Timeout of %s seconds configured for this task, but the task is running in a " \
             "worker thread."

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.PREFIX)


logging.getLogger("prefect.task_runs").addFilter(_WorkerThreadTimeoutNotice())
