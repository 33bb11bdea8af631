"""The long fault-injection cases (`make reliability`): the Prefect server restarted during a
bulk run, S3 stopped for 30 s during uploads, an LLM that asks to wait 60 s, one that hangs past
the client's timeout, one that refuses every prompt as too long for its context."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from deployments.seaweedfs import stop_process_group
from deployments.stack import Stack
from tests.llm_server import Recorded, Reply, ScriptedLLM, error_body
from tests.pdfs import make_paper
from tests.reliability.conftest import answer
from tests.reliability.harness import (
    Paper,
    RssSampler,
    account,
    account_bulk,
    api,
    bucket,
    paper_objects,
    read_runs,
    s3,
    stored_metadata,
    submit,
    submit_bulk,
    upload,
    wait_final,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
LLM_GROUPS = 6
"""LLM groups of a paper with a figure (five text groups, the figure captions)."""
TEXT_GROUPS = 5
"""Chat requests that carry the paper's text, so its nonce (the captions one does not)."""


def _asked_about(llm: ScriptedLLM, marker: str) -> list[Recorded]:
    return [r for r in llm.chat_requests() if marker in r.user_text]


def _schemas(requests: list[Recorded]) -> Counter[str]:
    return Counter(r.schema_name or "?" for r in requests)


def _papers(stack: Stack, name: str, count: int, **kwargs: object) -> dict[str, Paper]:
    papers = {}
    for index in range(count):
        title = f"{name.title()} Paper Number {index}"
        paper = upload(stack, f"{name}-{index}", make_paper(
            title=title, nonce=f"{name}{index}", **kwargs), title)  # type: ignore[arg-type]
        papers[paper.source] = paper
    return papers


def _chunk_runs(stack: Stack, parent: str) -> list[dict]:
    return [r for r in api(stack, "/flow_runs/filter", {"limit": 200})
            if r["parent_task_run_id"] and (r.get("parameters") or {}).get("parent_run_id")
            == parent]


def test_server_restarted_during_a_bulk_run(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """Stop the Prefect server (SIGTERM) while a bulk run's chunks are running, start it again
    15 s later on the same database: the bulk run ends, every paper once."""
    stack = fault_stack
    papers = _papers(stack, "restart", 6, figure=False, pages=2)
    with RssSampler(stack) as rss:
        parent = submit_bulk(stack, list(papers), batch_size=2)
        wait_for(lambda: any(r["state"]["type"] == "RUNNING"
                             for r in _chunk_runs(stack, parent)), 300, "a running chunk")
        server = stack.running("server")
        assert server is not None
        stop_process_group(server, 20)
        assert stack.running("server") is None
        time.sleep(15)
        stack.start_server()
        runs = wait_final(stack, [parent], timeout=1200)
    chunks = _chunk_runs(stack, parent)
    ledger = account_bulk(stack, runs[parent], papers)
    print(f"\n[server restart during bulk] {ledger.line()}; chunk runs "
          f"{dict(Counter(c['state']['name'] for c in chunks))}; {rss.line()}\n"
          f"  reasons {ledger.reasons}; notes {ledger.notes}")
    assert not ledger.problems, ledger.problems
    assert runs[parent]["state"]["type"] in {"COMPLETED", "FAILED"}


def test_s3_stopped_for_30_seconds_during_uploads(fault_stack: Stack,
                                                  llm: ScriptedLLM) -> None:
    """Four papers submitted; once the first upload lands, SeaweedFS is stopped for 30 s, then
    started again on the same data: every run ends, Completed or Failed with a reason, and no
    paper has a metadata.json without its assets."""
    stack = fault_stack
    papers = _papers(stack, "outage", 4)
    with RssSampler(stack) as rss:
        ids = {submit(stack, source): source for source in papers}
        wait_for(lambda: any("original.pdf" in paper_objects(stack, p.sha256)
                             for p in papers.values()), 300, "the first upload", poll=0.2)
        weed = stack.running("weed")
        assert weed is not None
        stop_process_group(weed, 3)
        stopped = time.monotonic()
        time.sleep(30)
        stack.start_seaweedfs()
        print(f"\nS3 was down {time.monotonic() - stopped:.0f} s")
        runs = wait_final(stack, list(ids), timeout=900)
    ledger = account(stack, runs, papers, ids)
    inbox = [key for key in s3(stack).list_objects_v2(
        Bucket=bucket(stack), Prefix="reliability/inbox/outage-").get("Contents", [])]
    print(f"[S3 stopped 30 s] {ledger.line()}; {rss.line()}\n  reasons {ledger.reasons}\n"
          f"  notes {ledger.notes}")
    assert len(inbox) == 4, "SeaweedFS lost objects over its restart"
    assert not ledger.problems, ledger.problems


def test_llm_asks_to_wait_60_seconds(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """For 60 s from its first request the LLM answers 429 with Retry-After: 60: the client
    waits it out (60 s is within PAPERFLOW_LLM_BACKOFF_MAX_SECONDS) and the paper completes with
    every group answered by the model."""
    stack = fault_stack
    marker = "retryafter"
    title = "A Paper Read After a Minute of Waiting"
    paper = upload(stack, marker, make_paper(title=title, nonce=marker), title)
    first: list[float] = []
    lock = threading.Lock()

    def busy(request: Recorded) -> Reply:
        if marker not in request.user_text:
            return answer(request)
        with lock:
            first[:] = first or [time.monotonic()]
        if time.monotonic() - first[0] < 60:
            return Reply(status=429, headers={"Retry-After": "60"},
                         body=error_body("Rate limit reached, retry in 60 s", "requests"))
        return answer(request)

    llm.responder = busy
    with RssSampler(stack) as rss:
        run = submit(stack, paper.source)
        runs = wait_final(stack, [run], timeout=600)
    ledger = account(stack, runs, {paper.source: paper}, {run: paper.source})
    asked = _asked_about(llm, marker)
    metadata = stored_metadata(stack, paper.sha256) or {}
    errors = (metadata.get("llm") or {}).get("errors")
    print(f"\n[LLM Retry-After 60 s] {ledger.line()}; LLM requests {len(asked)} statuses "
          f"{dict(Counter(r.status for r in asked))}; llm errors {errors}; {rss.line()}; "
          f"reasons {ledger.reasons}")
    assert not ledger.problems, ledger.problems
    assert ledger.completed == 1
    assert errors == [], errors
    assert Counter(r.schema_name for r in asked if r.status == 200) == \
        dict.fromkeys(_schemas(asked), 1)
    assert len(_schemas(asked)) == TEXT_GROUPS


def test_llm_hangs_past_the_timeout(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """Every request about the paper hangs four times the client's 5 s timeout: each group
    gives up after its retries (bounded), keeps its heuristic values, and the paper completes."""
    stack = fault_stack
    marker = "hangingmodel"
    title = "A Paper Read by a Model That Never Answers"
    paper = upload(stack, marker, make_paper(title=title, nonce=marker), title)

    def hang(request: Recorded) -> Reply:
        if marker in request.user_text:
            return Reply(answer(request).content, delay=20.0)
        return answer(request)

    llm.responder = hang
    with RssSampler(stack) as rss:
        run = submit(stack, paper.source)
        runs = wait_final(stack, [run], timeout=900)
    ledger = account(stack, runs, {paper.source: paper}, {run: paper.source})
    asked = _asked_about(llm, marker)
    metadata = stored_metadata(stack, paper.sha256) or {}
    errors = (metadata.get("llm") or {}).get("errors") or []
    print(f"\n[LLM hangs] {ledger.line()}; LLM requests {len(asked)} {dict(_schemas(asked))}; "
          f"llm errors {len(errors)}: {errors[:2]}; {rss.line()}; reasons {ledger.reasons}")
    assert not ledger.problems, ledger.problems
    assert ledger.completed == 1
    assert len(errors) == TEXT_GROUPS, errors
    assert metadata["provenance"].get("title") != "llm"
    # Bounded: 3 HTTP attempts (PAPERFLOW_LLM_MAX_RETRIES=2) per task attempt, 2 task attempts.
    assert all(1 <= n <= 6 for n in _schemas(asked).values()), _schemas(asked)


def test_llm_refuses_the_context_length(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """Every chat request gets a 400 saying the context length was exceeded: each group re-fits
    once at most (or is not sent once the learnt window cannot hold it), then gives up
    (permanent: no retries), and the paper completes with its heuristic values."""
    stack = fault_stack
    marker = "contextrefused"
    title = "A Paper Too Long for Its Model"
    paper = upload(stack, marker, make_paper(title=title, nonce=marker), title)
    refusal = error_body("This model's maximum context length is 4096 tokens. However, you "
                         "requested 5120 tokens (4096 in the messages, 1024 in the completion). "
                         "Please reduce the length of the messages or completion.")
    refusal["error"]["code"] = "context_length_exceeded"
    # Every request: a re-fitted prompt may have lost the paper's nonce with its cut text.
    llm.responder = lambda request: Reply(status=400, body=refusal)
    before = len(llm.chat_requests())
    with RssSampler(stack) as rss:
        run = submit(stack, paper.source)
        runs = wait_final(stack, [run], timeout=600)
    ledger = account(stack, runs, {paper.source: paper}, {run: paper.source})
    asked = llm.chat_requests()[before:]
    metadata = stored_metadata(stack, paper.sha256) or {}
    errors = (metadata.get("llm") or {}).get("errors") or []
    print(f"\n[LLM context 400] {ledger.line()}; LLM requests {len(asked)} "
          f"{dict(_schemas(asked))}; llm errors {len(errors)}: {errors[:1]}; {rss.line()}; "
          f"reasons {ledger.reasons}")
    assert not ledger.problems, ledger.problems
    assert ledger.completed == 1
    assert len(errors) == LLM_GROUPS and all("context" in e.lower() for e in errors), errors
    assert metadata["provenance"].get("title") != "llm"
    assert read_runs(stack, [run])[0]["run_count"] == 1
    per_group = _schemas(asked)
    if per_group and max(per_group.values()) in (3, 4):
        pytest.xfail("known bug: LLM tasks that failed with a PermanentError (the context "
                     "refusal) were retried by Prefect anyway; see docs/reliability.md")
    assert all(n <= 2 for n in per_group.values()), per_group
