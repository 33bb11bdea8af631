"""prefect.yaml read as `prefect deploy` reads it: what every deployment carries to any worker."""

from __future__ import annotations

from typing import Any

import yaml

from deployments.stack import HEARTBEAT_SECONDS, PROJECT_DIR, ZOMBIE_AFTER_SECONDS


def _deployments() -> list[dict[str, Any]]:
    return yaml.safe_load((PROJECT_DIR / "prefect.yaml").read_text())["deployments"]


def test_every_deployment_sets_the_heartbeat_the_zombie_automation_expects() -> None:
    """A worker started by hand has Prefect's 180 s heartbeat; the automation crashes runs after
    90 s of silence, so the interval must come with the deployment, not the worker."""
    beats = {d["name"]: d["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]
             for d in _deployments()}
    assert set(beats.values()) == {str(HEARTBEAT_SECONDS)}, beats
    assert ZOMBIE_AFTER_SECONDS >= 3 * HEARTBEAT_SECONDS, "fewer than three missed beats"


def test_every_deployment_runs_on_the_papers_pool() -> None:
    assert {d["work_pool"]["name"] for d in _deployments()} == {"papers"}
