"""Bulk runs: 30 papers (some broken) in one flow run, every one accounted for."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest

from flows.bulk_process import bulk_process
from tests.pdfs import HTML_PAGE, make_paper
from tests.prefect_api import artifacts
from tests.webhooks import receive_webhooks

pytestmark = pytest.mark.usefixtures("prefect_server")

SECRET = "bulk-secret"


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperflow.settings import reload_settings

    monkeypatch.setenv("PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setenv("PAPERFLOW_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PAPERFLOW_WEBHOOK_BACKOFF_SECONDS", "0.05")
    reload_settings()


def test_thirty_papers_with_broken_ones(data_dir: Path, tmp_path: Path,
                                        webhook_env: None) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for n in range(25):
        (folder / f"paper-{n:02d}.pdf").write_bytes(
            make_paper(title=f"Bulk Paper {n}", nonce=f"bulk-{n}", figure=n % 5 == 0))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "landing.pdf").write_bytes(HTML_PAGE)
    (folder / "truncated.pdf").write_bytes(make_paper(nonce="bulk-truncated")[:4000])
    (folder / "notes.txt").write_text("not a paper")
    extra = tmp_path / "extra.pdf"
    extra.write_bytes(make_paper(title="Bulk Extra", nonce="bulk-extra"))
    missing = str(tmp_path / "missing.pdf")

    with receive_webhooks(SECRET) as receiver:
        start = time.perf_counter()
        state = bulk_process(sources=[str(extra), missing], folder=str(folder), batch_size=10,
                             concurrency=4, webhook_url=receiver.url, return_state=True)
        seconds = time.perf_counter() - start
        print(f"\n30-paper bulk run: {seconds:.1f} s wall, "
              f"{state.result().seconds:.1f} s in the flow")
        assert state.is_completed(), state.message
        summary = state.result()
        assert summary.total == 30 and summary.completed == 26 and summary.failed == 4
        assert len(receiver.received) == 30 and all(r.verified for r in receiver.received)
        assert sorted(r.body["status"] for r in receiver.received).count("failed") == 4
    by_source = {o.source: o for o in summary.outcomes}
    assert set(by_source) == {str(p) for p in folder.glob("*.pdf")} | {str(extra), missing}
    reasons = {Path(s).name: o.error for s, o in by_source.items() if o.status == "failed"}
    assert set(reasons) == {"empty.pdf", "landing.pdf", "truncated.pdf", "missing.pdf"}
    assert "empty" in reasons["empty.pdf"] and "HTML" in reasons["landing.pdf"]
    assert "No such file" in reasons["missing.pdf"]

    run_id = state.state_details.flow_run_id
    frame = pd.read_parquet(io.BytesIO(
        (data_dir / "store" / "runs" / str(run_id) / "summary.parquet").read_bytes()))
    assert len(frame) == 30 and (frame["status"] == "failed").sum() == 4
    csv = pd.read_csv(data_dir / "store" / "runs" / str(run_id) / "summary.csv")
    assert set(csv["source"]) == set(by_source)

    published = {a.key: a for a in artifacts(run_id) if a.key}
    assert published["bulk-progress"].data == 100.0
    assert len(published["bulk-outcomes"].data) > 0 and published["bulk-outcomes"].type == "table"
    assert "4 of 30 papers failed" in published["bulk-failures"].data
    assert not [k for k in published if k.startswith("paper-")], "no per-paper reports in bulk"

    # Re-run: done papers come from the cache, failed ones are tried again.
    start = time.perf_counter()
    again = bulk_process(sources=[str(extra), missing], folder=str(folder), batch_size=10,
                         concurrency=4)
    print(f"re-run: {time.perf_counter() - start:.1f} s")
    assert (again.cached, again.completed, again.failed) == (26, 0, 4)


def test_all_failed_fails_the_run(data_dir: Path, tmp_path: Path) -> None:
    state = bulk_process(sources=[str(tmp_path / "a.pdf"), str(tmp_path / "b.pdf")],
                         return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match="All 2 papers failed"):
        state.result()


def test_nothing_to_do_fails_fast(data_dir: Path, tmp_path: Path) -> None:
    state = bulk_process(folder=str(tmp_path), return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match="Nothing to process"):
        state.result()
    with pytest.raises(Exception, match="s3://bucket/prefix"):
        bulk_process(s3_prefix="bucket/papers")
