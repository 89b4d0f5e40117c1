"""`textig serve`'s app without a browser: limits, loaded embedders only, local hosts only,
security headers, and the same report the files hold."""

from __future__ import annotations

import html
import re

import pytest
from test_explain_support import TRAIN, FakeEmbedder, LinearModel

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from textig.explain import Explainer
from textig.limits import MAX_CAPTION_CHARS
from textig.report import render_explanation
from textig.serve import MAX_LABELS, Explorer, create_app


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    def make(identity: str) -> Explainer:
        return Explainer(FakeEmbedder(identity), LinearModel(), training_features=TRAIN)

    return Explorer({"fake": make("fake@1"), "other": make("fake@1")})


@pytest.fixture
def client(explorer: Explorer) -> TestClient:
    return TestClient(create_app(explorer), base_url="http://127.0.0.1:8765")


def _untimed(page: str) -> str:
    return re.sub(r'<details class="timings">.*?</details>', "", page, flags=re.S)


def test_the_form_comes_first_and_the_reports_are_the_files(client, explorer) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<textarea id="caption"' in page.text
    assert "<iframe" not in page.text
    text = "a dog runs in the park"
    page = client.get("/", params={"caption": text, "labels": "dog,cat", "embedder": "fake"})
    assert page.status_code == 200
    [srcdoc] = re.findall(r'srcdoc="([^"]*)"', page.text)
    expected = explorer.explainers["fake"].explain(text, labels=["dog", "cat"])
    assert _untimed(html.unescape(srcdoc)) == _untimed(render_explanation(expected))
    assert 'sandbox=""' in page.text  # the report runs no script, even if one slipped in
    both = client.get("/", params={"caption": text, "embedder": ["fake", "other"]})
    assert both.text.count("<iframe") == 2


def test_the_api_answers_json_for_each_chosen_embedder(client) -> None:
    answer = client.get(
        "/api/explain", params={"caption": "a dog", "labels": "top2", "embedder": "other"}
    )
    assert answer.status_code == 200
    data = answer.json()
    assert list(data["embedders"]) == ["other"]
    assert data["embedders"]["other"]["explanation"]["caption"] == "a dog"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"caption": "x" * (MAX_CAPTION_CHARS + 1)}, "at most"),
        ({"caption": "a dog", "labels": f"top{MAX_LABELS + 1}"}, "between 1 and"),
        ({"caption": "a dog", "labels": "true"}, "true labels"),
        ({"caption": "a dog", "labels": "dgo"}, "unknown label"),
        ({"caption": "a dog", "embedder": "sbert:/etc"}, "loaded ones"),
        ({"caption": "a dog", "baseline": "file:/etc/passwd"}, "baseline must be"),
        ({"caption": "the of and"}, "no known content word"),
    ],
)
def test_bad_requests_get_one_line_and_touch_nothing(client, params, message) -> None:
    answer = client.get("/api/explain", params=params)
    assert answer.status_code == 400 and message in answer.json()["error"]
    page = client.get("/", params=params)
    assert page.status_code == 400 and message in html.unescape(page.text)


def test_only_local_hosts_and_strict_headers(explorer) -> None:
    remote = TestClient(create_app(explorer), base_url="http://attacker.example")
    assert remote.get("/").status_code == 400  # DNS rebinding: a foreign Host header
    answer = TestClient(create_app(explorer), base_url="http://localhost").get("/")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_command_refuses_a_port_out_of_range(capsys) -> None:
    """A usage error: argparse's one line, exit 2."""
    from textig.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["serve", "--port", "70000"])
    assert raised.value.code == 2 and "argument --port" in capsys.readouterr().err
