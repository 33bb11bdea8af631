"""The crash follow-up's decisions without a server: attempts, budget, re-run, webhook, trigger.

The whole path on a real stack (a killed flow-run process, the automation, the re-run) is
`tests/reliability/test_quick.py::test_killed_flow_run_process_is_reported_and_rerun`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.states import Completed, Crashed, Failed

from deployments.stack import CRASH_AUTOMATION, crash_automation
from flows import crash_followup, hooks
from flows.crash_followup import Lineage, follow_up, lineage, parse_run_id, reruns_left

PROCESS_PAPER = uuid4()
PARAMETERS = {"source": "s3://papers/inbox/a.pdf", "webhook_url": "http://receiver/hook",
              "options": {"figures": True, "preview": True, "refresh_cache": False}}
HEARTBEAT = "No heartbeat for 90 s: the run's worker or machine stopped."


def crashed_run(tags: list[str] | None = None, message: str = HEARTBEAT,
                deployment_id: UUID | None = PROCESS_PAPER, state: Any = None) -> FlowRun:
    started = datetime.now(UTC) - timedelta(seconds=100)
    return FlowRun(id=uuid4(), flow_id=uuid4(), name="paper: a.pdf", deployment_id=deployment_id,
                   parameters=dict(PARAMETERS), tags=tags or ["paperflow", "on-demand"],
                   state=state or Crashed(message=message), start_time=started,
                   end_time=started + timedelta(seconds=40))


class Recorder:
    """Stands in for `start_rerun` and `send_failure`, recording their calls."""

    def __init__(self, fail_rerun: bool = False) -> None:
        self.reruns: list[tuple[FlowRun, list[str]]] = []
        self.sent: list[tuple[FlowRun, str, str | None]] = []
        self.fail_rerun = fail_rerun

    def start_rerun(self, run: FlowRun, tags: list[str]) -> str:
        if self.fail_rerun:
            raise RuntimeError("API answered 503")
        self.reruns.append((run, tags))
        return str(uuid4())

    def send(self, run: FlowRun, error: str, rerun_id: str | None) -> bool:
        self.sent.append((run, error, rerun_id))
        return True


def test_lineage_and_budget() -> None:
    assert lineage("r0", ["paperflow", "on-demand"]) == Lineage("r0", 1)
    assert lineage("r2", ["rerun-of:r0", "replaces:r1", "attempt:3"]) == Lineage("r0", 3)
    assert lineage("r1", ["attempt:junk", "rerun-of:r0"]) == Lineage("r0", 1)
    assert [reruns_left(Lineage("r0", n), 2) for n in (1, 2, 3, 4)] == [2, 1, 0, 0]
    assert reruns_left(Lineage("r0", 1), 0) == 0


def test_parse_run_id_takes_a_bare_id_or_the_event_resource_id() -> None:
    run_id = uuid4()
    assert parse_run_id(str(run_id)) == run_id
    assert parse_run_id(f"prefect.flow-run.{run_id}") == run_id
    with pytest.raises(ValueError, match="not a flow run id"):
        parse_run_id("{{ event.resource.id }}")


def test_crash_is_rerun_with_the_same_parameters_and_reported_once() -> None:
    run = crashed_run()
    calls = Recorder()
    outcome = follow_up(run, PROCESS_PAPER, 2, calls.start_rerun, calls.send)
    assert outcome.action == "re-run"
    [(rerun_of, tags)] = calls.reruns
    assert rerun_of is run
    assert tags == ["paperflow", "on-demand", f"rerun-of:{run.id}", f"replaces:{run.id}",
                    "attempt:2"]
    [(sent_for, error, rerun_id)] = calls.sent
    assert sent_for is run and rerun_id == outcome.rerun_flow_run_id
    assert error == (f"Crashed: {HEARTBEAT}; re-running it as flow run {rerun_id} (re-run 1 "
                     "of at most 2)")


def test_a_paper_that_crashes_every_time_stops_after_the_budget() -> None:
    calls = Recorder()
    run = crashed_run()
    outcomes = []
    for _ in range(5):  # each re-run crashes again, as a paper that kills its worker would
        outcome = follow_up(run, PROCESS_PAPER, 2, calls.start_rerun, calls.send)
        outcomes.append(outcome.action)
        if outcome.action != "re-run":
            break
        run = crashed_run(tags=outcome.tags, message="Process exited with status code: -9.")
    assert outcomes == ["re-run", "re-run", "final"]
    assert [tags[-1] for _, tags in calls.reruns] == ["attempt:2", "attempt:3"]
    original = calls.reruns[0][0].id
    assert all(f"rerun-of:{original}" in tags for _, tags in calls.reruns)
    assert [rerun_id is None for _, _, rerun_id in calls.sent] == [False, False, True]
    last = calls.sent[-1][1]
    assert last.startswith("Crashed: Process exited with status code: -9.; not re-run: 3 runs")
    assert f"the first, {original}, and 2 re-run(s); PAPERFLOW_CRASH_RERUNS=2" in last
    assert last.endswith("This failure is final.")


def test_no_budget_means_one_final_webhook() -> None:
    calls = Recorder()
    outcome = follow_up(crashed_run(), PROCESS_PAPER, 0, calls.start_rerun, calls.send)
    assert outcome.action == "final" and not calls.reruns
    assert "not re-run: crashed runs are not re-run (PAPERFLOW_CRASH_RERUNS=0)" in \
        calls.sent[0][1]


def test_a_rerun_that_cannot_start_is_still_reported_as_final() -> None:
    calls = Recorder(fail_rerun=True)
    outcome = follow_up(crashed_run(), PROCESS_PAPER, 2, calls.start_rerun, calls.send)
    assert outcome.action == "final"
    [(_, error, rerun_id)] = calls.sent
    assert rerun_id is None
    assert "a re-run could not be started (RuntimeError: API answered 503)" in error
    assert "submit the paper again" in error


@pytest.mark.parametrize("run", [
    crashed_run(state=Completed()), crashed_run(state=Failed(message="bad PDF")),
    crashed_run(deployment_id=uuid4()), crashed_run(deployment_id=None)])
def test_other_runs_are_left_alone(run: FlowRun) -> None:
    calls = Recorder()
    outcome = follow_up(run, PROCESS_PAPER, 2, calls.start_rerun, calls.send)
    assert outcome.action == "ignored" and not calls.reruns and not calls.sent


def test_start_rerun_copies_parameters_and_is_keyed_on_the_crash(
        monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[dict[str, Any]] = []

    class Client:
        def __enter__(self) -> Client:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def create_flow_run_from_deployment(self, deployment_id: UUID,
                                            **kwargs: Any) -> FlowRun:
            created.append({"deployment_id": deployment_id, **kwargs})
            return FlowRun(id=uuid4(), flow_id=uuid4(), name="new")

    monkeypatch.setattr(crash_followup, "get_client", lambda sync_client: Client())
    run = crashed_run()
    tags = ["rerun-of:x", "attempt:2"]
    new_id = crash_followup.start_rerun(run, tags)
    [call] = created
    assert UUID(new_id) and call["deployment_id"] == PROCESS_PAPER
    assert call["parameters"] == PARAMETERS and call["parameters"] is not run.parameters
    assert call["tags"] == tags and call["idempotency_key"] == f"crash-rerun:{run.id}"


def test_failure_webhook_payload_and_no_double_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    already = [False]
    monkeypatch.setattr(hooks, "notify", lambda url, payload: sent.append((url, payload)))
    monkeypatch.setattr(hooks, "failure_already_sent", lambda run: already[0])
    run = crashed_run()
    rerun_id = str(uuid4())
    assert hooks.send_failure(run, "Crashed: x; re-running it", rerun_id)
    [(url, payload)] = sent
    assert url == PARAMETERS["webhook_url"]
    assert payload["event"] == "paper.failed" and payload["status"] == "failed"
    assert payload["source"] == PARAMETERS["source"]
    assert payload["flow_run_id"] == str(run.id) and payload["rerun_flow_run_id"] == rerun_id
    assert payload["error"] == "Crashed: x; re-running it"
    assert payload["duration_seconds"] == pytest.approx(40, abs=0.01)
    already[0] = True
    assert not hooks.send_failure(run, "again")
    no_hook = crashed_run()
    no_hook.parameters.pop("webhook_url")
    assert not hooks.send_failure(no_hook, "nobody to tell")
    assert len(sent) == 1


@pytest.mark.parametrize(("state", "covered", "reported"), [
    (Crashed(message="Process exited with status code: -9."), True, False),
    (Crashed(message="Process exited with status code: -9."), False, True),
    (Failed(message="boom"), True, True)])
def test_hook_leaves_a_covered_crash_to_the_followup(monkeypatch: pytest.MonkeyPatch,
                                                     state: Any, covered: bool,
                                                     reported: bool) -> None:
    sent: list[str] = []
    monkeypatch.setattr(hooks, "crash_followup_covers", lambda run: covered)
    monkeypatch.setattr(hooks, "send_failure", lambda run, error: sent.append(error))
    hooks.report_failure(None, crashed_run(), state)
    assert bool(sent) == reported


def test_automation_matches_crashes_of_process_paper_and_renders_the_run_id() -> None:
    from prefect.server.events.schemas.automations import AutomationCore
    from prefect.server.events.schemas.events import Event
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    followup = uuid4()
    automation = crash_automation(followup)
    assert automation.name == CRASH_AUTOMATION
    # What the server accepts (its own checks against automation loops included).
    core = AutomationCore.model_validate(automation.model_dump(mode="json", exclude={"id"}))

    def event(name: str, deployment: str) -> Event:
        return Event(occurred=datetime.now(UTC), event=name, id=uuid4(),
                     resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"},
                     related=[{"prefect.resource.id": f"prefect.deployment.{uuid4()}",
                               "prefect.resource.role": "deployment",
                               "prefect.resource.name": deployment},
                              {"prefect.resource.id": f"prefect.flow.{uuid4()}",
                               "prefect.resource.role": "flow",
                               "prefect.resource.name": "process-paper"}])

    run_id = uuid4()
    crashed = event("prefect.flow-run.Crashed", "process-paper")
    assert core.trigger.covers(crashed)
    assert not core.trigger.covers(event("prefect.flow-run.Failed", "process-paper"))
    assert not core.trigger.covers(event("prefect.flow-run.Crashed", "bulk-chunk"))
    assert not core.trigger.covers(event("prefect.flow-run.Crashed", "crash-followup"))
    [action] = core.actions
    assert action.type == "run-deployment" and action.deployment_id == followup
    rendered = hydrate(action.parameters, HydrationContext(
        render_jinja=True, jinja_context={"event": crashed}, raise_on_error=True))
    assert rendered == {"flow_run_id": str(run_id)}
