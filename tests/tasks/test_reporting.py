"""The progress artifact of a one-paper run: few requests, the last step always shown."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from tasks import reporting


def test_progress_updates_at_most_once_per_interval_and_at_the_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    artifact = uuid4()
    updates: list[tuple[UUID, float]] = []
    monkeypatch.setattr(reporting, "create_progress_artifact",
                        lambda progress, description: artifact)
    monkeypatch.setattr(reporting, "update_progress_artifact",
                        lambda artifact_id, progress: updates.append((artifact_id, progress)))
    now = [100.0]
    progress = reporting.ProgressReporter(5, "Extracting a.pdf", interval=1.0,
                                          clock=lambda: now[0])
    percents = []
    for elapsed in (0.1, 0.2, 1.3, 1.4, 1.5):  # seconds since the artifact was created
        now[0] = 100.0 + elapsed
        percents.append(progress.step())
    assert percents == [20.0, 40.0, 60.0, 80.0, 100.0]  # every step is counted and logged
    # 1.3 s: a second since the last request; 1.5 s: the last step, however soon.
    assert updates == [(artifact, 60.0), (artifact, 100.0)]
