import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prefect.states import Completed, Failed

import tasks.extraction as extraction
from paperflow.errors import EncryptedPdfError, SourceError
from paperflow.pipeline import PaperKey, code_files, code_version
from paperflow.settings import reload_settings
from tasks.policy import content_cache_key, retry_unless_permanent, timed

ROOT = Path(__file__).resolve().parents[2]


def _context(name: str = "parse_pdf", version: str = "1") -> Any:
    return SimpleNamespace(task=SimpleNamespace(name=name, version=version))


def test_cache_key_is_content_task_version_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    key = PaperKey.of(b"%PDF-1.4 paper")
    fn = content_cache_key("max_pages")
    first = fn(_context(), {"key": key, "data": b"ignored"})
    assert key.sha256 in first and first.startswith("parse_pdf-1-")
    assert fn(_context(), {"key": PaperKey.of(b"%PDF-1.4 paper"), "data": b"x"}) == first
    assert fn(_context(version="2"), {"key": key}) != first
    assert fn(_context(), {"key": PaperKey.of(b"%PDF-1.4 other")}) != first
    monkeypatch.setenv("PAPERFLOW_MAX_PAGES", "10")
    reload_settings()
    try:
        assert fn(_context(), {"key": key}) != first
        assert content_cache_key()(_context(), {"key": key}) == f"parse_pdf-1-{key.sha256}"
    finally:
        monkeypatch.delenv("PAPERFLOW_MAX_PAGES")
        reload_settings()


def test_storage_keyed_caches_change_with_the_store(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Any) -> None:
    key = PaperKey.of(b"%PDF-1.4 paper")
    fn = content_cache_key(storage=True)
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "a"))
    reload_settings()
    first = fn(_context("figures"), {"key": key})
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "b"))
    reload_settings()
    assert fn(_context("figures"), {"key": key}) != first
    monkeypatch.undo()
    reload_settings()


def test_retry_only_transient_failures() -> None:
    def failed(exc: Exception) -> Any:
        return Failed(data=exc)

    assert retry_unless_permanent(None, None, failed(SourceError("HTTP 503")))  # type: ignore[arg-type]
    assert not retry_unless_permanent(None, None, failed(EncryptedPdfError("pw")))  # type: ignore[arg-type]
    assert retry_unless_permanent(None, None, Completed(data=1))  # type: ignore[arg-type]


def test_timed_measures() -> None:
    out = timed(sum, [1, 2, 3])
    assert out.value == 6 and out.seconds >= 0 and out.started_at > 1.6e9


def test_async_tasks_with_permanent_errors_are_not_retried() -> None:
    """Prefect calls the condition from the async task's event loop, where `state.result()`
    hands back a coroutine unless told to run synchronously."""
    import asyncio

    from prefect import flow, task

    from paperflow.llm.client import LLMError, LLMOutputError

    decisions: list[bool] = []

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        decisions.append(retry_unless_permanent(task, task_run, state))
        return decisions[-1]

    @task(retries=1, retry_delay_seconds=0, retry_condition_fn=condition)
    async def ask(permanent: bool) -> None:
        raise (LLMOutputError if permanent else LLMError)("no JSON in the answer")

    @flow
    async def both() -> None:
        await ask(True, return_state=True)
        await ask(False, return_state=True)

    asyncio.run(both(return_state=True))  # type: ignore[call-overload]
    assert decisions == [False, True]


def test_time_limits_retries_and_result_storage_follow_the_settings_of_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Options the decorators read at import are read again when a run submits the task: a
    long-lived process (a notebook, `paperflow serve`) that changes its settings uses them."""
    from flows.bulk_process import bulk_process
    from flows.process_paper import process_paper
    from tasks.embed import embed_paper
    from tasks.extraction import TEXT_GROUPS, parse_pdf, preview
    from tasks.llm import TEXT_GROUP_TASKS
    from tasks.policy import configured
    from tasks.storage import store_original, store_text

    everything = (bulk_process, process_paper, embed_paper, parse_pdf, preview, *TEXT_GROUPS,
                  *TEXT_GROUP_TASKS, store_original, store_text)
    assert all(configured(item) is item for item in everything)  # nothing changed: no copies
    for name, value in [("PAPERFLOW_TASK_TIMEOUT_SECONDS", "7"),
                        ("PAPERFLOW_STORAGE_TIMEOUT_SECONDS", "8"),
                        ("PAPERFLOW_LLM_TASK_TIMEOUT_SECONDS", "9"),
                        ("PAPERFLOW_EMBEDDINGS_TIMEOUT_SECONDS", "10"),
                        ("PAPERFLOW_FLOW_TIMEOUT_SECONDS", "11"),
                        ("PAPERFLOW_FLOW_RETRIES", "4"),
                        ("PAPERFLOW_CACHE_EXPIRATION_SECONDS", "120"),
                        ("PAPERFLOW_S3_BUCKET", "papers")]:
        monkeypatch.setenv(name, value)
    reload_settings()
    try:
        for extraction_task in (parse_pdf, preview, *TEXT_GROUPS):
            now = configured(extraction_task)
            assert now.timeout_seconds == 7 and now.cache_expiration.total_seconds() == 120
            assert now.result_storage == "paperflow-checked-s3-bucket/paperflow-results"
            assert now.name == extraction_task.name and now.cache_policy is not None
        assert {configured(t).timeout_seconds for t in (store_original, store_text)} == {8}
        assert {configured(t).timeout_seconds for t in TEXT_GROUP_TASKS} == {9}
        assert configured(embed_paper).timeout_seconds == 10
        flow_now = configured(process_paper)
        assert (flow_now.timeout_seconds, flow_now.retries) == (11, 4)
        assert configured(bulk_process).retries == 4
        assert parse_pdf.timeout_seconds != 7 and process_paper.retries != 4  # untouched
    finally:
        monkeypatch.undo()
        reload_settings()


@pytest.mark.usefixtures("prefect_server")
def test_a_run_loads_the_results_block_once_not_per_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect reads a block named by slug from the server for every task run; inside a run,
    `configured` hands the tasks the loaded block, read again only after a minute."""
    from prefect import flow
    from prefect.blocks.core import Block
    from prefect_aws import AwsCredentials

    import tasks.results
    from tasks.extraction import TEXT_GROUPS, parse_pdf
    from tasks.policy import configured
    from tasks.results import RESULTS_BLOCK, CheckedS3Bucket, result_storage

    CheckedS3Bucket(bucket_name="papers-under-test", credentials=AwsCredentials()).save(
        RESULTS_BLOCK, overwrite=True)
    loads: list[str] = []
    real_load = Block.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[Block], name: str, *args: Any, **kwargs: Any) -> Any:
        loads.append(name)
        return real_load(cls, name, *args, **kwargs)

    monkeypatch.setattr(Block, "load", classmethod(counting_load))
    monkeypatch.setenv("PAPERFLOW_S3_BUCKET", "papers-under-test")
    reload_settings()

    @flow
    def submits_like_a_paper_run() -> list[tuple[str, int]]:
        storages = [configured(task).result_storage for task in (parse_pdf, *TEXT_GROUPS) * 3]
        return [(type(s).__name__, id(s)) for s in storages]

    try:
        seen = submits_like_a_paper_run()
        assert {name for name, _ in seen} == {"CheckedS3Bucket"}
        assert len({ident for _, ident in seen}) == 1 and loads == [result_storage()]
        monkeypatch.setattr(tasks.results, "RESOLVED_STORAGE_SECONDS", 0.0)
        submits_like_a_paper_run()
        assert len(loads) > 1  # expired: read from the server again
        assert configured(parse_pdf).result_storage == result_storage()  # outside a run: slug

        @flow
        def names_a_missing_block() -> None:
            tasks.results.resolved_result_storage("paperflow-checked-s3-bucket/not-saved")

        with pytest.raises(ValueError, match="paperflow blocks register"):
            names_a_missing_block()
    finally:
        monkeypatch.undo()
        reload_settings()


def test_the_code_version_follows_the_code_a_task_runs_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "versionedpkg"
    (package / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "task.py": "from versionedpkg import rules, sub\nfrom versionedpkg.sub.deep import (\n"
                   "    a,\n    b,  # a comment\n)\n",
        "rules.py": "def f():\n    from versionedpkg.lazy import g\n    return g\n",
        "lazy.py": "RULE = 1\n",
        "unused.py": "RULE = 1\n",
        "sub/__init__.py": "",
        "sub/deep.py": "a = b = 1\n",
    }
    for name, text in sources.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    root = package / "task.py"
    files = {str(path.relative_to(tmp_path)) for path in
             code_files(root, packages=("versionedpkg",))}
    assert files == {"versionedpkg/__init__.py", "versionedpkg/task.py", "versionedpkg/rules.py",
                     "versionedpkg/lazy.py", "versionedpkg/sub/__init__.py",
                     "versionedpkg/sub/deep.py"}
    first = code_version(root, packages=("versionedpkg",))
    (package / "unused.py").write_text("RULE = 2\n")
    assert code_version(root, packages=("versionedpkg",)) == first
    (package / "lazy.py").write_text("RULE = 2\n")  # imported inside a function, two steps away
    assert code_version(root, packages=("versionedpkg",)) != first


def test_every_extraction_task_is_keyed_on_the_code_it_runs() -> None:
    covered = {str(path.relative_to(ROOT)) for path in
               code_files(Path(extraction.__file__), packages=("paperflow", "tasks"))}
    # The parser, the layout analysis and every group, but also what runs them: the sandbox,
    # the renderers of the figures and the preview, and the codec their records are stored in.
    assert {"paperflow/pdf.py", "paperflow/ocr.py", "paperflow/layout.py",
            "paperflow/extract/header.py", "paperflow/extract/references.py",
            "paperflow/extract/keyphrases.py", "paperflow/sandbox.py", "paperflow/figures.py",
            "paperflow/preview.py", "paperflow/codec.py", "tasks/extraction.py"} <= covered
    # The command line, the flows and the LLM layer are not what a cached extraction holds.
    assert not {path for path in covered
                if path.startswith(("paperflow/cli", "flows/", "paperflow/llm/"))}
    assert code_version(Path(extraction.__file__),
                                              packages=("paperflow", "tasks")) == extraction.VERSION
    assert {task.version for task in (extraction.parse_pdf, extraction.ocr_pages,
                                      extraction.analyse_layout, extraction.figures,
                                      extraction.preview, *extraction.TEXT_GROUPS)
            } == {extraction.VERSION}
