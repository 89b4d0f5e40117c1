"""`textig serve` end to end in a real browser: Playwright drives Debian's Chromium (Playwright
cannot download its own browsers here) against the real command on the demo corpus with GloVe.

Skipped when Playwright, Starlette or Chromium is missing, except where
``TEXTIG_REQUIRE_BROWSER=1`` (CI), so a lost browser fails the run instead of hiding it.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

REQUIRED = os.environ.get("TEXTIG_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = (
    "a dog <script>alert('pwned')</script> on the grass "
    '<img src=x onerror="alert(\'img\')"> near a "tree" & a house'
)


def _missing() -> str | None:
    for module in ("playwright", "starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed"
    return None if CHROMIUM else "chromium is not installed"


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None and not REQUIRED, reason=str(_missing())),
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The URL of a `textig serve` started for this module (models load once)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "textig", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        yield _address(process, timeout=900)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _address(process: subprocess.Popen, timeout: float) -> str:
    """The address the server prints once its models are loaded and it listens."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"textig serve exited: {process.stderr.read()[-2000:]}")
        if selector.select(timeout=1):
            line = process.stdout.readline()
            found = re.search(r"http://\S+", line)
            if found:
                return found.group()
    pytest.fail("textig serve did not start in time")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "TEXTIG_REQUIRE_BROWSER=1 but no chromium on PATH"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def _explain(browser, server: str, caption: str, labels: str = "top3"):
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server)
    page.fill("#caption", caption)
    page.fill("#labels", labels)
    page.click("#explain")
    page.wait_for_selector("iframe")
    return page, page.frame_locator("iframe").first, dialogs


def test_type_a_caption_and_see_coloured_words(browser, server: str) -> None:
    page, report, dialogs = _explain(browser, server, "a palm tree on a sandy beach")
    words = report.locator("span.w.word")
    words.first.wait_for()
    assert words.count() >= 4
    colours = [words.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(4)]
    assert any(re.match(r"rgba\(33, 102, 172, 0\.\d+\)", c) for c in colours), colours
    printed = report.locator("sup.ws").all_inner_texts()
    assert printed and all(re.fullmatch(r"[+-][\d.e+-]+", p) for p in printed)
    assert report.locator("h3").first.inner_text().startswith("palm")
    assert page.locator(".reports p.note").first.inner_text().startswith("glove: explained in")
    assert dialogs == []
    page.close()


def test_a_hostile_caption_stays_inert_text(browser, server: str) -> None:
    page, report, dialogs = _explain(browser, server, HOSTILE, labels="dog,grass")
    report.locator("span.w.word").first.wait_for()
    caption = report.locator("p.caption").inner_text()
    assert "<script>alert('pwned')</script>" in caption and "<img src=x" in caption
    assert report.locator("script").count() == 0 and report.locator("img").count() == 0
    assert page.locator("script").count() == 0
    assert page.locator("textarea#caption").input_value() == HOSTILE  # echoed as text
    assert page.title().startswith("textig explorer: a dog <script>")
    page.wait_for_timeout(300)
    assert dialogs == []
    page.close()
