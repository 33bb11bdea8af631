"""Fault-injection cases on one stack: a worker killed mid-paper, a flow-run process killed
mid-paper (reported and re-run by the crash follow-up) and an LLM that rate-limits and then
answers garbage (quick: part of `make test`), twenty concurrent submissions of one paper
(marked `reliability`: about 4 minutes on 2 cores, so `make reliability` only).

Each case ends with the accounting check (`harness.account`) and prints its figures (run with
`-s` to see them): papers submitted/completed/failed/lost, LLM requests, peak worker RSS.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from deployments.seaweedfs import list_objects
from deployments.stack import PROJECT_DIR, ZOMBIE_AFTER_SECONDS, Stack
from tests.llm_server import Recorded, Reply, ScriptedLLM
from tests.pdfs import make_paper
from tests.reliability.conftest import answer
from tests.reliability.harness import (
    S3_PREFIX,
    WEBHOOK_SECRET,
    RssSampler,
    account,
    account_bulk,
    bucket,
    computed_and_cached,
    flow_run_process,
    kill_tree,
    runs_of_deployment,
    runs_tagged,
    s3,
    stored_metadata,
    submit,
    submit_bulk,
    task_runs,
    upload,
    wait_final,
    wait_for,
)
from tests.webhooks import receive_webhooks

pytestmark = pytest.mark.slow
LLM_GROUPS = 5
"""Chat requests about one paper that carry its text (and so its nonce): the five text groups
(the figure-captions request carries the figure's context only)."""
ORPHAN_GRACE_SECONDS = ZOMBIE_AFTER_SECONDS + 30.0
"""How long after its worker died a run may stay Running before it counts as lost."""


def _asked_about(llm: ScriptedLLM, marker: str) -> list[Recorded]:
    """The chat requests about one paper (its unique nonce word is in every prompt)."""
    return [r for r in llm.chat_requests() if marker in r.user_text]


def _settled_but_the_held_llm_groups(stack: Stack, run_id: str) -> bool:
    """Every task of the run has ended except the LLM text groups, whose requests the scripted
    server holds (the figure-captions group asks nothing of a paper without figures)."""
    held = [run for run in task_runs(stack, [run_id])
            if (run.get("state") or {}).get("type") not in {"COMPLETED", "FAILED", "CRASHED"}
            and not (run["name"].startswith("llm-")
                     and not run["name"].startswith("llm-figure-captions"))]
    return not held


def _schemas(requests: list[Recorded]) -> Counter[str]:
    return Counter(r.schema_name or "?" for r in requests)


def test_worker_killed_mid_paper_then_restarted(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """SIGKILL the worker and its flow-run process while the paper waits for the LLM, restart
    the worker, submit the paper again: the retry completes, reusing every step the killed run
    finished; the killed run itself must end (Crashed) instead of staying Running forever."""
    stack = fault_stack
    title = "Papers Whose Worker Was Killed Halfway"
    marker = "killedworker"
    paper = upload(stack, "killed", make_paper(title=title, nonce=marker), title)
    papers = {paper.source: paper}
    release = threading.Event()

    def held(request: Recorded) -> Reply:  # keeps the run busy in its LLM phase
        if marker in request.user_text:
            release.wait(120)
        return answer(request)

    llm.responder = held
    with RssSampler(stack) as rss:
        killed_run = submit(stack, paper.source)
        wait_for(lambda: _asked_about(llm, marker), 240, "the run's first LLM request")
        # As below: not in the instant between a task's Completed state and its commit.
        wait_for(lambda: _settled_but_the_held_llm_groups(stack, killed_run), 120,
                 "the run's tasks other than the held LLM groups to end")
        time.sleep(2)
        worker = stack.running("worker")
        assert worker is not None
        killed = kill_tree(worker)
        killed_at = time.monotonic()
        asked_before_kill = len(_asked_about(llm, marker))
        release.set()
        assert stack.running("worker") is None
        assert len(killed) >= 2, f"no flow-run process under the worker: {killed}"
        before = computed_and_cached(task_runs(stack, [killed_run]))
        stack.start_worker(query_seconds=1)
        retry = submit(stack, paper.source)
        runs = wait_final(stack, [retry], timeout=400)
        runs |= wait_final(stack, [killed_run],
                           timeout=max(0.0, killed_at + ORPHAN_GRACE_SECONDS - time.monotonic()))
    ledger = account(stack, runs, papers, {killed_run: paper.source, retry: paper.source})
    after = computed_and_cached(task_runs(stack, [retry]))
    asked = _asked_about(llm, marker)
    print(f"\n[worker SIGKILL] {ledger.line()}; LLM requests {len(asked)} "
          f"{dict(_schemas(asked))}; killed pids {killed}; {rss.line()}\n  killed run's tasks "
          f"{ {k: dict(v) for k, v in before.items()} }\n  retry's tasks "
          f"{ {k: dict(v) for k, v in after.items()} }\n  reasons {ledger.reasons}; "
          f"notes {ledger.notes}")
    assert runs[retry]["state"]["type"] == "COMPLETED", runs[retry]["state"]
    # Every step the killed run finished is a cache hit for the retry, not computed twice.
    finished = {name for name, counts in before.items() if counts["computed"]}
    assert "parse_pdf" in finished, before
    recomputed = {name for name in finished if after.get(name, Counter())["computed"]
                  and not name.startswith(("store_", "fetch "))}
    assert not recomputed, f"computed again after the kill: {recomputed}"
    orphan = [p for p in ledger.problems if killed_run in p and "not final" in p]
    others = [p for p in ledger.problems if p not in orphan]
    assert not others, others
    known = []
    if orphan:
        known.append(f"the killed run is still Running {ORPHAN_GRACE_SECONDS:.0f} s later (no "
                     "flow-run heartbeats or zombie detection on the stack)")
    starved = sorted(name for name, counts in after.items()
                     if name.startswith("llm-") and counts["TimedOut"])
    if starved:
        known.append(f"the retry's LLM tasks {starved} timed out waiting for slots of the "
                     "global 'llm' limit that the dead run still holds (300 s leases)")
    if known:
        pytest.xfail("known bugs (docs/reliability.md): " + "; ".join(known))
    # The retry asked the LLM once per group: the killed run's requests never got answered.
    retry_asked = _schemas(asked[asked_before_kill:])
    assert len(retry_asked) == LLM_GROUPS and set(retry_asked.values()) == {1}, retry_asked
    # The zombie automation's Crashed state starts the crash follow-up, which re-runs the killed
    # run by itself; the paper is done already (the retry above), so all of it is cache hits.
    [automatic] = wait_for(lambda: runs_tagged(stack, f"replaces:{killed_run}"), 120,
                           "the crash follow-up's re-run of the killed run")
    rerun = wait_final(stack, [automatic["id"]], timeout=300)[automatic["id"]]
    rerun_tasks = computed_and_cached(task_runs(stack, [automatic["id"]]))
    print(f"  automatic re-run {rerun['state']['name']}: tasks "
          f"{ {k: dict(v) for k, v in rerun_tasks.items()} }")
    assert rerun["state"]["type"] == "COMPLETED", rerun["state"]
    assert f"rerun-of:{killed_run}" in rerun["tags"] and "attempt:2" in rerun["tags"]
    assert not {name for name in finished if rerun_tasks.get(name, Counter())["computed"]
                and not name.startswith(("store_", "fetch "))}, rerun_tasks
    assert len(_asked_about(llm, marker)) == len(asked), "the re-run asked the LLM again"


def test_killed_flow_run_process_is_reported_and_rerun(fault_stack: Stack,
                                                       llm: ScriptedLLM) -> None:
    """SIGKILL the flow-run process of a run with a webhook while it waits for the LLM (as the
    OOM killer would; the worker lives and marks the run Crashed): the crash follow-up sends one
    signed `paper.failed` naming the crash and the re-run, and re-runs the paper; the re-run
    completes reusing every step the killed run finished and sends `paper.completed`."""
    stack = fault_stack
    title = "Papers Whose Process Was Killed and Run Again"
    marker = "rerunafterkill"
    paper = upload(stack, "rerun", make_paper(title=title, nonce=marker), title)
    release = threading.Event()

    def held(request: Recorded) -> Reply:  # keeps the first run busy in its LLM phase
        if marker in request.user_text:
            release.wait(120)
        return answer(request)

    llm.responder = held
    started = time.monotonic()
    with receive_webhooks(WEBHOOK_SECRET) as receiver, RssSampler(stack) as rss:
        crashed = submit(stack, paper.source, webhook_url=receiver.url)
        wait_for(lambda: _asked_about(llm, marker), 240, "the run's first LLM request")
        # Killed while it waits on the LLM, not in the instant a task is Completed but not yet
        # committed: Prefect sets a task's Completed state, then commits its result record, so
        # a kill between the two loses that one result (it is computed again on the re-run).
        wait_for(lambda: _settled_but_the_held_llm_groups(stack, crashed), 120,
                 "the run's tasks other than the held LLM groups to end")
        time.sleep(2)
        process = flow_run_process(stack, crashed)
        assert process is not None, "no flow-run process of the run under the worker"
        killed = kill_tree(process)
        asked_before_kill = len(_asked_about(llm, marker))
        release.set()
        assert stack.running("worker"), "the worker died with its flow-run process"
        runs = wait_final(stack, [crashed], timeout=60)
        [rerun] = wait_for(lambda: runs_tagged(stack, f"replaces:{crashed}"), 180,
                           "the crash follow-up's re-run")
        runs |= wait_final(stack, [rerun["id"]], timeout=400)
        wait_for(lambda: any(r.body["event"] == "paper.completed" for r in receiver.received),
                 60, "the re-run's paper.completed webhook")
        time.sleep(3)  # a second delivery of either webhook would land by now
    seconds = time.monotonic() - started
    ledger = account(stack, runs, {paper.source: paper},
                     {crashed: paper.source, rerun["id"]: paper.source})
    before = computed_and_cached(task_runs(stack, [crashed]))
    after = computed_and_cached(task_runs(stack, [rerun["id"]]))
    followups = [r for r in runs_of_deployment(stack, "crash-followup")
                 if r["parameters"].get("flow_run_id") == crashed]
    asked = _asked_about(llm, marker)
    bodies = [r.body for r in receiver.received]
    print(f"\n[flow-run process SIGKILL, re-run] {ledger.line()} in {seconds:.0f} s; LLM "
          f"requests {len(asked)} {dict(_schemas(asked))}; killed pids {killed}; {rss.line()}"
          f"\n  killed run's tasks { {k: dict(v) for k, v in before.items()} }\n  re-run's "
          f"tasks { {k: dict(v) for k, v in after.items()} }\n  webhooks "
          f"{[(b['event'], b['flow_run_id'], b['error']) for b in bodies]}; "
          f"{receiver.attempts} deliveries")
    state = runs[crashed]["state"]
    assert state["type"] == "CRASHED" and "status code" in state["message"], state
    assert runs[rerun["id"]]["state"]["type"] == "COMPLETED", runs[rerun["id"]]["state"]
    assert not ledger.problems, ledger.problems
    # One follow-up, which re-ran the paper with the same parameters as attempt 2.
    assert [f["state"]["type"] for f in followups] == ["COMPLETED"], followups
    assert {f"rerun-of:{crashed}", "attempt:2"} <= set(rerun["tags"]), rerun["tags"]
    assert rerun["parameters"] == runs[crashed]["parameters"]
    # Exactly two signed webhooks: the crash (naming the re-run), then the re-run's success.
    assert all(r.verified for r in receiver.received)
    assert receiver.attempts == 2 and [b["event"] for b in bodies] == [
        "paper.failed", "paper.completed"], bodies
    failed, completed = bodies
    assert failed["flow_run_id"] == crashed and failed["rerun_flow_run_id"] == rerun["id"]
    assert failed["error"].startswith("Crashed: ") and "status code" in failed["error"]
    assert f"re-running it as flow run {rerun['id']} (re-run 1 of at most 2)" in failed["error"]
    assert failed["source"] == paper.source
    assert completed["flow_run_id"] == rerun["id"] and completed["sha256"] == paper.sha256
    assert completed["rerun_flow_run_id"] is None
    # Every step the killed run finished is a cache hit on the re-run, computed once in all.
    finished = {name for name, counts in before.items() if counts["computed"]}
    assert "parse_pdf" in finished, before
    recomputed = {name for name in finished if after.get(name, Counter())["computed"]
                  and not name.startswith(("store_", "fetch "))}
    assert not recomputed, f"computed again on the re-run: {recomputed}"
    assert all(after[name]["cached"] for name in finished
               if not name.startswith(("store_", "fetch "))), after
    # The killed run's LLM requests never got answered to it: the re-run asked once per group.
    rerun_asked = _schemas(asked[asked_before_kill:])
    assert len(rerun_asked) == LLM_GROUPS and set(rerun_asked.values()) == {1}, rerun_asked


@pytest.mark.reliability  # 20 flow-run processes take about 4 minutes on 2 cores
def test_twenty_concurrent_submissions_of_one_paper(fault_stack: Stack,
                                                    llm: ScriptedLLM) -> None:
    """Twenty process-paper runs of the same PDF at once: all complete, every cached step is
    computed once (the others are cache hits), the LLM is asked once per group."""
    stack = fault_stack
    title = "One Paper Submitted Twenty Times at Once"
    marker = "twentytimes"
    paper = upload(stack, "twenty", make_paper(title=title, nonce=marker), title)

    def slow(request: Recorded) -> Reply:  # widens the window in which runs overlap
        return Reply(answer(request).content, usage=(500, 50), delay=1.0)

    llm.responder = slow
    with RssSampler(stack) as rss:
        started = time.monotonic()
        ids = [submit(stack, paper.source) for _ in range(20)]
        runs = wait_final(stack, ids, timeout=900)
        seconds = time.monotonic() - started
    ledger = account(stack, runs, {paper.source: paper}, dict.fromkeys(ids, paper.source))
    table = computed_and_cached(task_runs(stack, ids))
    asked = _asked_about(llm, marker)
    print(f"\n[20 concurrent] {ledger.line()} in {seconds:.0f} s; LLM requests {len(asked)} "
          f"{dict(_schemas(asked))}; {rss.line()}\n  tasks "
          f"{ {k: dict(v) for k, v in table.items()} }\n  reasons {ledger.reasons}")
    assert not ledger.problems, ledger.problems
    assert ledger.completed == 20, ledger.line()
    cached_steps = {name for name, counts in table.items() if counts["cached"]}
    assert {"parse_pdf", "figures", "llm-highlights"} <= cached_steps, table
    twice = {name: dict(table[name]) for name in cached_steps if table[name]["computed"] != 1}
    assert not twice, f"cached steps computed more (or less) than once: {twice}"
    assert all(table[name]["computed"] + table[name]["cached"] == 20 for name in cached_steps), \
        table
    assert len(asked) == LLM_GROUPS and set(_schemas(asked).values()) == {1}, _schemas(asked)


def test_llm_rate_limited_then_garbage(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """Two 429s with a short Retry-After, then a model that answers garbage for one group: the
    429s are waited out, the garbage group is repaired once then given up (its heuristic
    values kept, the error reported), the paper completes."""
    stack = fault_stack
    title = "A Paper Read by a Rate Limited Model"
    marker = "ratelimited"
    paper = upload(stack, "ratelimited", make_paper(title=title, nonce=marker), title)
    lock = threading.Lock()
    limited = [2]

    def flaky(request: Recorded) -> Reply:
        if marker not in request.user_text:
            return answer(request)
        with lock:
            if limited[0] > 0:
                limited[0] -= 1
                return Reply(status=429, headers={"Retry-After": "1"}, body={"error": {
                    "message": "Rate limit reached", "type": "requests", "code": None}})
        if request.schema_name == "HighlightsAnswer":
            return Reply("Sure! Here are the highlights: {not json at all")
        return answer(request)

    llm.responder = flaky
    with RssSampler(stack) as rss:
        run = submit(stack, paper.source)
        runs = wait_final(stack, [run], timeout=600)
    ledger = account(stack, runs, {paper.source: paper}, {run: paper.source})
    asked = _asked_about(llm, marker)
    statuses = Counter(r.status for r in asked)
    print(f"\n[LLM 429 + garbage] {ledger.line()}; LLM requests {len(asked)} "
          f"{dict(_schemas(asked))} statuses {dict(statuses)}; {rss.line()}; "
          f"reasons {ledger.reasons}")
    assert not ledger.problems, ledger.problems
    assert ledger.completed == 1, ledger.line()
    assert statuses[429] == 2
    metadata = stored_metadata(stack, paper.sha256)
    assert metadata is not None
    report = metadata["llm"]
    print(f"  llm errors {report['errors']}")
    assert any("highlights" in error.lower() or "json" in error.lower()
               for error in report["errors"]), report["errors"]
    assert metadata["provenance"].get("highlights") != "llm"
    assert metadata["provenance"].get("starter_questions") == "llm"
    # Each well-behaved group answered once; the garbage group asked once and repaired once.
    answered = _schemas([r for r in asked if r.status == 200])
    assert all(answered[name] == 1 for name in answered if name != "HighlightsAnswer"), answered
    assert len(answered) == LLM_GROUPS, answered
    if answered["HighlightsAnswer"] == 4:
        pytest.xfail("known bug: the LLM task whose answer stayed invalid JSON (LLMOutputError, "
                     "a PermanentError) was retried by Prefect anyway; see docs/reliability.md")
    assert answered["HighlightsAnswer"] == 2, answered


GC_TOTALS = re.compile(r"would delete (\d+) item\(s\) \(([^)]*)\)")


def _gc_dry_run(stack: Stack, *ages: str) -> tuple[list[str], dict[str, int]]:
    """`paperflow gc --dry-run [ages]` as a user runs it against the stack: its lines and its
    totals ("items" and one count per area it looked at)."""
    done = subprocess.run([sys.executable, "-m", "paperflow", "gc", "--dry-run", *ages],
                          env=stack.env(), capture_output=True, text=True, timeout=300,
                          cwd=PROJECT_DIR)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    found = GC_TOTALS.search(lines[-1] if lines else "")
    assert found, done.stdout[-3000:]
    totals = {"items": int(found.group(1))}
    for part in found.group(2).split(", "):
        count, _, area = part.partition(" ")
        if count.isdigit():
            totals[area] = int(count)
    return lines, totals


def test_gc_dry_run_on_the_stack(fault_stack: Stack, llm: ScriptedLLM) -> None:
    """After the cases above and one bulk run: `paperflow gc --dry-run` with every age at 0
    lists the stored task results, the bulk run's summaries and every stored paper, and deletes
    nothing; with the default ages nothing here is old enough to go."""
    stack = fault_stack
    title = "A Paper Kept Until Its Time Comes"
    paper = upload(stack, "gc", make_paper(title=title, nonce="garbagecollected"), title)
    parent = submit_bulk(stack, [paper.source], batch_size=1)
    runs = wait_final(stack, [parent], timeout=600)
    ledger = account_bulk(stack, runs[parent], {paper.source: paper})
    assert not ledger.problems and ledger.completed == 1, (ledger.line(), ledger.problems)

    before = list_objects(s3(stack), bucket(stack), "")
    stored_papers = {key.split("/")[2] for key in before
                     if key.startswith(f"{S3_PREFIX}/papers/")}
    lines, totals = _gc_dry_run(
        stack, "--results-days", "0", "--runs-days", "0", "--papers-days", "0")
    print(f"\n[gc --dry-run, every age 0] {lines[-1]}\n  " + "\n  ".join(lines[:8]))
    assert totals["results"] >= 1 and totals["runs"] >= 1, lines[-1]
    assert totals["papers"] == len(stored_papers) >= 2, (lines[-1], sorted(stored_papers))
    assert totals["items"] == totals["results"] + totals["runs"] + totals["papers"]
    listed = "\n".join(lines)
    assert all(sha in listed for sha in stored_papers), listed[-3000:]
    assert f"runs/{parent}/" in listed, listed[-3000:]
    assert list_objects(s3(stack), bucket(stack), "") == before, "a dry run deleted something"

    lines, totals = _gc_dry_run(stack)
    print(f"[gc --dry-run, default ages] {lines[-1]}")
    assert totals == {"items": 0, "results": 0, "runs": 0}, lines
