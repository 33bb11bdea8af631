"""The stack's Prefect UI in a real browser: the deployments and the daily schedule, a paper run
started from the "Custom run" form and its report, a bulk run's progress and outcomes.

Screenshots of every step go to the test's tmp dir (their paths are printed; `-s` shows them).
`PAPERFLOW_UI_SCREENSHOTS=<dir>` copies the two shown in the README there (docs/images/).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.stack import Stack
from tests.conftest import SAMPLE_PDF
from tests.deployments.browser import Shots, wait_for_images, wait_for_text
from tests.deployments.conftest import stack_s3
from tests.pdfs import make_paper

pytestmark = pytest.mark.slow

SAMPLE_TITLE = "VESPA: Very large-scale Evolutionary and Selective Pressure Analyses"
SAMPLE_AUTHORS = ("Andrew E. Webb", "Thomas A. Walsh", "Mary J. O’Connell")
RUN_TIMEOUT = 420.0
VIEWPORT = {"width": 1280, "height": 800}



@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (`make test` installs Chromium)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is not installed: run scripts/ensure_chromium.sh (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def _api(stack: Stack, path: str, body: dict[str, Any] | None = None) -> Any:
    if body is None:
        response = httpx.get(f"{stack.api_url}{path}", timeout=30)
    else:
        response = httpx.post(f"{stack.api_url}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _deployment_id(stack: Stack, name: str) -> str:
    found = [d for d in _api(stack, "/deployments/filter", {}) if d["name"] == name]
    assert found, f"no {name} deployment"
    return str(found[0]["id"])


def _wait_for_run(stack: Stack, run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = _api(stack, f"/flow_runs/{run_id}")
        if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['state']['name']}"
        time.sleep(2)


def _put_pdf(stack: Stack, name: str, data: bytes) -> str:
    """Store a PDF in the stack's bucket; its s3:// URI is a source the worker can read."""
    bucket = stack.s3_env["PAPERFLOW_S3_BUCKET"]
    key = f"ui-test/{uuid.uuid4().hex[:8]}/{name}"
    stack_s3(stack).put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/pdf")
    return f"s3://{bucket}/{key}"


def _keep_for_docs(shot: Path, name: str) -> None:
    """Copy a screenshot to $PAPERFLOW_UI_SCREENSHOTS (how docs/images/ was made)."""
    target = os.environ.get("PAPERFLOW_UI_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)


def _open_artifact(page: Any, shots: Shots, card_text: str, name: str) -> None:
    """From a run's Artifacts tab: the artifact's card, then its latest version."""
    with shots.step(f"open the artifact {card_text!r}"):
        page.get_by_text(card_text).first.click()
        # A keyed artifact opens its key's timeline; its versions link by short id.
        version = page.get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$")).first
        version.wait_for(timeout=30_000)
        shots.shot(f"{name}-versions")
        version.click()
        page.wait_for_url(re.compile(r"/artifacts/artifact/"), timeout=30_000)
        page.wait_for_load_state("networkidle")


def _open_artifacts_tab(page: Any, shots: Shots, stack: Stack, run_id: str, name: str) -> None:
    with shots.step("open the run's Artifacts tab"):
        page.goto(f"{stack.ui_url}/v2/runs/flow-run/{run_id}", wait_until="networkidle")
        tab = page.get_by_role("tab", name="Artifacts")
        tab.click()
        page.wait_for_load_state("networkidle")
        # The cards sit under the run's graph: bring the tabs to the top of the window.
        tab.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        shots.shot(f"{name}-artifacts")


def test_ui_lists_the_deployments_and_the_arxiv_schedule(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.ui_url}/deployments", wait_until="networkidle")
    listing = page.get_by_role("link", name="arxiv-ingest").first
    listing.wait_for(timeout=60_000)
    text = page.inner_text("body")
    assert re.search(r"\d+ Deployments", text)
    for name in ("process-paper", "arxiv-ingest", "bulk-process", "cleanup"):
        assert name in text, name

    listing.click()
    page.get_by_text("At 06:00 AM every day").wait_for(timeout=60_000)
    # The work pool's name arrives with a later request than the schedule.
    page.get_by_text("papers", exact=True).first.wait_for(timeout=60_000)
    details = page.inner_text("body")
    assert "flows/ingest_arxiv.py:ingest_arxiv" in details
    assert "scheduled" in details and "papers" in details  # its work queue and pool


def test_custom_run_from_the_ui_shows_the_papers_report(stack: Stack, page: Any,
                                                        tmp_path: Path) -> None:
    """Deployment page → Run → Custom run with an s3:// source → Completed → Artifacts → the
    report with the title, the authors, the first page and the figures as loaded images."""
    source = _put_pdf(stack, "vespa.pdf", SAMPLE_PDF.read_bytes())
    shots = Shots(page, tmp_path / "screenshots")
    started = time.perf_counter()

    with shots.step("open the process-paper deployment"):
        page.goto(f"{stack.ui_url}/v2/deployments", wait_until="networkidle")
        page.get_by_role("link", name="process-paper", exact=True).first.click()
        page.wait_for_url(re.compile(r"/deployments/deployment/"), timeout=30_000)
        page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30_000)
        shots.shot("deployment")

    with shots.step("open the Custom run form"):
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Custom run", exact=True).click()
        page.wait_for_url(re.compile(r"/run(\?|$)"), timeout=30_000)
        page.get_by_text("source", exact=True).first.wait_for(timeout=30_000)

    with shots.step("type the source into the form and submit it"):
        # `source: str | bytes` renders as str/binary tabs over a text area; str is selected.
        field = page.locator("textarea").first
        field.fill(source)
        assert field.input_value() == source
        shots.shot("custom-run-form")
        with page.expect_response(lambda r: r.url.endswith("/create_flow_run")
                                  and r.request.method == "POST") as created:
            page.get_by_role("button", name="Submit", exact=True).click()
        response = created.value
        assert response.status == 201, f"create_flow_run answered {response.status}: " \
                                        f"{response.text()[:2000]}"
        run = response.json()
        assert run["parameters"]["source"] == source
        run_id = run["id"]

    with shots.step("wait for the run to be Completed"):
        page.goto(f"{stack.ui_url}/v2/runs/flow-run/{run_id}", wait_until="networkidle")
        finished = _wait_for_run(stack, run_id)
        assert finished["state"]["type"] == "COMPLETED", finished["state"]
        wait_for_text(page, r"\bCompleted\b", 60)
        shots.shot("run-completed")
    seconds = time.perf_counter() - started

    with shots.step("the run is named after the paper and tagged with its source kind"):
        page.reload(wait_until="networkidle")
        wait_for_text(page, re.escape(f"paper: {SAMPLE_TITLE}"), 30)
        # The header shows the first tags and "+N" for the others; hovering shows them all.
        page.wait_for_function("() => [...document.querySelectorAll('span')].some("
                               "s => s.textContent.trim() === 'source:s3')", timeout=30_000)
        more = page.get_by_text(re.compile(r"^\+\d+$")).first
        if more.count():
            more.hover()
            page.wait_for_timeout(500)
        shots.shot("run-named")
    tags = _api(stack, f"/flow_runs/{run_id}")["tags"]
    assert "source:s3" in tags and "on-demand" in tags, tags

    _open_artifacts_tab(page, shots, stack, run_id, "paper")
    with shots.step("the Artifacts tab lists the report, the references and the progress"):
        wait_for_text(page, "Extraction report: " + re.escape(SAMPLE_TITLE), 30)
        text = page.inner_text("body")
        assert re.search(r"\d+ references", text), text[-2000:]
        assert "Extracting" in text  # the progress artifact's description

    _open_artifact(page, shots, "Extraction report:", "paper")
    with shots.step("the report shows the title, the authors and the images"):
        page.get_by_role("heading", name=SAMPLE_TITLE, exact=True).first.wait_for(
            timeout=30_000)
        text = wait_for_text(page, "Authors:", 30)
        for author in SAMPLE_AUTHORS:
            assert author in text, author
        previews = wait_for_images(page, lambda i: i["alt"].startswith("First page of"))
        assert previews[0]["naturalWidth"] == 300, previews  # the 300 px thumbnail
        assert "/thumbs/md.webp" in previews[0]["src"]
        figures = wait_for_images(page, lambda i: i["alt"].startswith("Figure"), count=2)
        assert all("/images/" in i["src"] for i in figures), figures
        assert "## Figures" not in text and "<img" not in text  # rendered, not shown as source
        report = shots.shot("paper-report")
        _keep_for_docs(report, "ui-paper-report.png")
        shots.shot("paper-report-full", full_page=True)
    print(f"\nCustom run from the UI to Completed: {seconds:.1f} s")


def test_bulk_run_shows_progress_and_outcomes(stack: Stack, page: Any, tmp_path: Path) -> None:
    """A bulk run over three papers (one of them broken): its Artifacts tab shows the progress
    at 100% and the outcomes table with each paper's title or error."""
    nonce = uuid.uuid4().hex[:6]
    titles = [f"Bulk Paper One on Graph Sampling {nonce}",
              f"Bulk Paper Two on Sparse Attention {nonce}"]
    sources = [_put_pdf(stack, f"bulk-{i}.pdf", make_paper(title=title, nonce=f"{nonce}{i}"))
               for i, title in enumerate(titles)]
    sources.append(_put_pdf(stack, "broken.pdf", b"<html>not a paper</html>"))
    shots = Shots(page, tmp_path / "screenshots")

    deployment = _deployment_id(stack, "bulk-process")
    run = _api(stack, f"/deployments/{deployment}/create_flow_run",
               {"parameters": {"sources": sources}})
    finished = _wait_for_run(stack, run["id"])
    assert finished["state"]["type"] == "COMPLETED", finished["state"]

    _open_artifacts_tab(page, shots, stack, run["id"], "bulk")
    with shots.step("the Artifacts tab shows the progress and the outcomes"):
        wait_for_text(page, r"bulk: 3 of 3 papers \(1 failed\)", 30)
        page.get_by_role("tab", name="Artifacts").evaluate(
            "e => e.scrollIntoView({block: 'start'})")
        text = page.inner_text("body")
        assert "PROGRESS" in text.upper() and "TABLE" in text.upper()
        assert "bulk: 2 processed, 0 already done, 1 failed" in text
        overview = shots.shot("bulk-artifacts")
        _keep_for_docs(overview, "ui-bulk-artifacts.png")

    _open_artifact(page, shots, "bulk: 2 processed", "bulk-outcomes")
    with shots.step("the outcomes table lists each paper"):
        page.get_by_role("table").first.wait_for(timeout=30_000)
        table = page.get_by_role("table").first.inner_text()
        for title in titles:
            assert title in table, table
        assert table.count("completed") == 2 and "failed" in table, table
        assert "HTML" in table, table  # why the broken one failed
        shots.shot("bulk-outcomes")
