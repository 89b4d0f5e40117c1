"""A real browser opens a report: hostile captions stay text, coloured words render.

Needs headless Chromium (Debian package ``chromium``); skipped when it is absent, except where
``TEXTIG_REQUIRE_BROWSER=1`` (CI installs Chromium and sets it, so a lost browser fails the run).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_explain_support import TRAIN, FakeEmbedder, LinearModel

from textig.explain import Explainer
from textig.report import write_explanation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HOSTILE = (
    "A dog <script>document.title='pwned'; alert(1)</script> runs in the park "
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', '1')\"> cat"
)

REQUIRED = os.environ.get("TEXTIG_REQUIRE_BROWSER") == "1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="headless chromium not installed"),
]


def _chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None, "TEXTIG_REQUIRE_BROWSER=1 but no chromium on PATH"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={cwd / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def report(tmp_path: Path) -> Path:
    explainer = Explainer(FakeEmbedder(), LinearModel(), training_features=TRAIN)
    explanation = explainer.explain(HOSTILE, labels=["dog", "cat"], true_labels=["dog"])
    html_path, _ = write_explanation(explanation, tmp_path, "hostile")
    return html_path


def test_browser_runs_no_script_and_shows_the_words(report: Path) -> None:
    result = _chromium("--dump-dom", report.as_uri(), cwd=report.parent)
    dom = result.stdout
    assert "<body" in dom, result.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", dom, flags=re.S).group(1)
    assert title.startswith("textig: A dog &lt;script&gt;")  # not replaced by the script
    assert "data-pwned" not in re.search(r"<body[^>]*>", dom).group(0)
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "&lt;script&gt;document.title" in dom  # shown as text
    words = re.findall(r'<span class="w word"[^>]*>([^<]+)</span>', dom)
    assert {"dog", "runs", "park", "cat"} <= {html.unescape(w) for w in words}
    styles = re.findall(r'<span class="w word" style="([^"]+)"', dom)
    assert any("rgba(33, 102, 172" in s for s in styles)  # a blue (positive) word


def test_browser_screenshot(report: Path) -> None:
    shot = report.parent / "shot.png"
    result = _chromium(
        f"--screenshot={shot}", "--window-size=1000,1400", report.as_uri(), cwd=report.parent
    )
    assert shot.is_file(), result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
