"""Helpers for driving Prefect's UI in Chromium: screenshots at each step, readable failures."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HTML_TAIL = 4000
"""How much of the page's HTML a failure message carries."""


@dataclass
class Shots:
    """Numbered screenshots of one page into `folder`; their paths are printed as they are taken."""

    page: Any
    folder: Path
    taken: list[Path] = field(default_factory=list)

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path

    def failure(self, what: str, error: BaseException | None = None) -> AssertionError:
        """An AssertionError naming the step, the URL, a last screenshot and the HTML's tail."""
        shot = ""
        with contextlib.suppress(Exception):
            shot = str(self.shot("failed"))
        try:
            url, html = self.page.url, self.page.content()
        except Exception as exc:  # the page itself is gone
            url, html = "?", f"(no HTML: {exc})"
        cause = f"{type(error).__name__}: {error}\n" if error is not None else ""
        return AssertionError(f"UI step failed: {what}\n{cause}URL: {url}\nscreenshot: {shot}\n"
                              f"HTML tail:\n{html[-HTML_TAIL:]}")

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Run a UI step; any error becomes `failure(what)`."""
        try:
            yield
        except AssertionError as exc:
            if str(exc).startswith("UI step failed"):
                raise
            raise self.failure(what, exc) from exc
        except Exception as exc:
            raise self.failure(what, exc) from exc


def wait_for_text(page: Any, pattern: str | re.Pattern[str], timeout: float,
                  *, reload_every: float = 10.0, scope: str = "body") -> str:
    """Wait until the page's text matches `pattern`, reloading now and then (a run's state
    changes on the server; the page may not poll for it). Returns the matching text."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout
    reloaded = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            text = page.inner_text(scope, timeout=5_000)
            if regex.search(text):
                return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"no text matching {regex.pattern!r} within {timeout:.0f} s")
        if time.monotonic() - reloaded > reload_every:
            page.reload(wait_until="networkidle")
            reloaded = time.monotonic()
        else:
            page.wait_for_timeout(1_000)


def loaded_images(page: Any) -> list[dict[str, Any]]:
    """Every <img> of the page: alt, src and the width it decoded to (0: not loaded)."""
    return page.evaluate("""() => Array.from(document.images).map(i => ({
        alt: i.alt, src: i.currentSrc || i.src, complete: i.complete,
        naturalWidth: i.naturalWidth, width: i.width}))""")


def wait_for_images(page: Any, wanted: Callable[[dict[str, Any]], bool], count: int = 1,
                    timeout: float = 30.0) -> list[dict[str, Any]]:
    """Wait until at least `count` images picked by `wanted` have loaded (naturalWidth > 0)."""
    deadline = time.monotonic() + timeout
    while True:
        images = [i for i in loaded_images(page) if wanted(i)]
        if len([i for i in images if i["naturalWidth"] > 0]) >= count:
            return images
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} wanted images loaded: {images}")
        page.wait_for_timeout(500)
