"""The stack's Prefect UI in a real browser: the deployments and the daily schedule."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from deployments.stack import Stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    """A page of Debian's Chromium driven by Playwright (`make test` installs Chromium)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is not installed: run scripts/ensure_chromium.sh (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_ui_lists_the_deployments_and_the_arxiv_schedule(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.ui_url}/deployments", wait_until="networkidle")
    listing = page.get_by_role("link", name="arxiv-ingest").first
    listing.wait_for(timeout=60_000)
    text = page.inner_text("body")
    assert "4 Deployments" in text
    for name in ("process-paper", "arxiv-ingest", "bulk-process", "cleanup"):
        assert name in text, name

    listing.click()
    page.get_by_text("At 06:00 AM every day").wait_for(timeout=60_000)
    # The work pool's name arrives with a later request than the schedule.
    page.get_by_text("papers", exact=True).first.wait_for(timeout=60_000)
    details = page.inner_text("body")
    assert "flows/ingest_arxiv.py:ingest_arxiv" in details
    assert "scheduled" in details and "papers" in details  # its work queue and pool
