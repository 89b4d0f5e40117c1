"""HTML reports: escaping, self-containment, colours on the original text, files written."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from test_explain_support import TRAIN, FakeEmbedder, LinearModel

from embeddings.base import WordScore
from textig.explain import Explainer
from textig.report import (
    IndexEntry,
    compare,
    render_comparison,
    render_explanation,
    render_index,
    slugify,
    word_agreement,
    write_explanation,
    write_index,
)
from textig.report.colors import caption_segments, score_color
from textig.report.svg import bar_chart

HOSTILE = 'A dog <script>alert(1)</script> runs in the "park" & sleeps'


def explain(text: str = HOSTILE, **kwargs):
    explainer = Explainer(FakeEmbedder(), LinearModel(), training_features=TRAIN)
    return explainer.explain(text, **kwargs)


def external_references(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)


def test_script_caption_is_escaped_everywhere() -> None:
    page = render_explanation(explain(true_labels=["dog"]))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;park&#34;" in page or "&quot;park&quot;" in page


def test_report_is_self_contained() -> None:
    page = render_explanation(explain())
    assert external_references(page) == []
    assert "<link" not in page and "<script" not in page.lower()
    assert "<style>" in page and "<svg" in page


def test_words_are_coloured_on_the_original_characters() -> None:
    explanation = explain(labels=["dog"])
    page = render_explanation(explanation)
    spans = re.findall(
        r'<span class="w (\w+)" style="([^"]*)" title="([^"]*)"[^>]*>([^<]*)</span>', page
    )
    words = explanation.labels[0].words
    assert [html.unescape(s[3]) for s in spans] == [w.text for w in words]
    for (kind, style, title, _), word in zip(spans, words, strict=True):
        assert kind == word.kind
        assert float(title.split()[0]) == pytest.approx(word.score, rel=1e-5)
        colour = "transparent" if word.score == 0 else "33, 102, 172" if word.score > 0 else "178"
        assert colour in style
    # the coloured caption reproduces the original text exactly, each scored word followed
    # by its score in print
    block = re.search(r'<div class="caption">(.*?)</div>', page, flags=re.S).group(1)
    shown = re.findall(r'>([^<]*)</span><sup class="ws">([^<]+)</sup>', block)
    scored = [w for w in words if w.score != 0]
    assert [(html.unescape(t), float(v)) for t, v in shown] == [
        (w.text, pytest.approx(w.score, rel=1e-2)) for w in scored
    ]
    assert scored
    text = re.sub(r'<sup class="ws">[^<]*</sup>', "", block)
    assert html.unescape(re.sub(r"<[^>]+>", "", text)) == HOSTILE


def test_caption_segments_cover_text_and_skip_overlaps() -> None:
    text = "red, blue"
    words = [WordScore("red", 0, 3, 2.0), WordScore("ed", 1, 3, 1.0), WordScore("blue", 5, 9, -1.0)]
    segments = caption_segments(text, words)
    assert "".join(s.text for s in segments) == text
    assert [s.word.text for s in segments if s.word] == ["red", "blue"]
    assert segments[0].title == "+2"


def test_colour_scale_is_signed_and_relative() -> None:
    assert score_color(0.0, 1.0) == "transparent"
    assert score_color(1.0, 0.0) == "transparent"
    assert score_color(2.0, 2.0).startswith("rgba(33, 102, 172, 0.850")
    assert score_color(-1.0, 2.0).startswith("rgba(178, 24, 43, 0.425")


def test_bar_chart_geometry() -> None:
    chart = bar_chart([(4, 2.0), (1, -1.0), (0, 0.0)])
    positive, negative, zero = chart.bars
    assert positive.x == chart.centre and positive.width == pytest.approx(2 * negative.width)
    assert negative.x + negative.width == pytest.approx(chart.centre)
    assert zero.width == 0 and positive.name == "dim 4"
    assert chart.height == 3 * (positive.height + 6)


def test_labels_ranked_by_strongest_feature_and_true_labels_shown() -> None:
    explanation = explain("a dog runs in the park", labels="top3", true_labels=["grass", "sky"])
    page = render_explanation(explanation)
    table = page.split("ranked by their strongest feature")[1]
    strongest = sorted(explanation.labels, key=lambda lab: -abs(lab.features[0][1]))
    positions = [table.index(f"<td>{label.label}</td>") for label in strongest]
    assert positions == sorted(positions)
    assert "not among the predictions" in page and "sky" in page
    assert "completeness error" in page


def test_write_explanation_writes_matching_json_and_html(tmp_path: Path) -> None:
    explanation = explain()
    html_path, json_path = write_explanation(explanation, tmp_path / "out", "one")
    assert html_path.read_text(encoding="utf-8") == render_explanation(explanation)
    assert json.loads(json_path.read_text(encoding="utf-8"))["caption"] == HOSTILE
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [".textig.lock", "one.html", "one.json"]  # the lock of write_unit


def test_index_links_reports_and_lists_failures(tmp_path: Path) -> None:
    hits = {
        "glove": [
            {"label": "dog", "score": 7.0, "true": True},
            {"label": "cat", "score": 2.0, "true": False},
        ]
    }
    entries = [
        IndexEntry("00-1", HOSTILE, "00/1", ("dog",), ("dog", "grass"), hits),
        IndexEntry("00-2", "", "00/2", error="the caption is empty"),
    ]
    path, data_path = write_index(entries, tmp_path, "batch <b>")
    page = path.read_text(encoding="utf-8")
    assert page == render_index(entries, "batch <b>")
    assert 'href="00-1.html"' in page and 'href="00-2.html"' not in page
    assert "the caption is empty" in page and "<b>" not in page and "<script" not in page
    data = json.loads(data_path.read_text(encoding="utf-8"))
    assert (data["n_reports"], data["n_failed"]) == (1, 1)
    first, failed = data["entries"]
    assert first["html"] == "00-1.html" and failed["html"] is None
    assert failed["error"] == "the caption is empty"
    assert first["predicted"]["glove"][0] == {"label": "dog", "score": 7.0, "true": True}
    # P@k counts the true labels among the top k predictions (two predictions: P@3 = 1/3)
    assert first["precision"]["glove"] == {"P@1": 1.0, "P@3": 1 / 3, "P@5": 1 / 5}
    assert data["mean_precision"] == {"glove": first["precision"]["glove"]}


def test_slugify() -> None:
    assert slugify("A dog <script>, über!") == "a-dog-script-uber"
    assert slugify("00/25") == "00-25"
    assert slugify("!!!") == "caption"
    assert len(slugify("word " * 50)) <= 40


def test_comparison_agreement_and_page() -> None:
    caption = "a dog runs in the park with a cat"
    left = explain(caption, labels=["dog", "cat"])
    right = Explainer(FakeEmbedder(), LinearModel(), baseline="text:cat sleeps").explain(
        caption, labels=["cat", "sky"]
    )
    comparison = compare(left, right)
    assert [a.label for a in comparison.agreement] == ["cat"]
    assert comparison.agreement[0].n_shared_words == 4
    # identical word rankings agree perfectly
    assert word_agreement(left.labels[0], left.labels[0]).spearman == pytest.approx(1.0)
    page = render_comparison(comparison)
    assert external_references(page) == [] and page.count('<div class="caption">') == 2
    top = page.split("<h2>")[0]  # the different baselines are said before anything else
    assert "different baselines" in top and "text:cat sleeps" in top
    assert "fewer than 8 words" in page  # rho over 4 words carries its caveat
    assert render_comparison(compare(left, left)).count("different baselines") == 0
    assert json.loads(json.dumps(comparison.to_dict()))["agreement"][0]["label"] == "cat"


def test_notebooks_show_the_report_itself() -> None:
    explanation = explain(labels=["dog", "cat"])
    cell = explanation._repr_html_()
    assert cell.startswith("<iframe srcdoc=") and "<script" not in cell.lower()
    srcdoc = re.search(r'srcdoc="([^"]*)"', cell).group(1)
    assert html.unescape(srcdoc) == render_explanation(explanation)
    assert 'sandbox="allow-same-origin"' in cell  # no script runs inside the frame
    comparison = compare(explanation, explanation)
    srcdoc = re.search(r'srcdoc="([^"]*)"', comparison._repr_html_()).group(1)
    assert html.unescape(srcdoc) == render_comparison(comparison)


def test_index_counts_true_labels_in_the_top_5_and_marks_the_found_ones() -> None:
    hits = [
        {"label": "dog", "score": 90.0, "true": True},
        {"label": "sky", "score": 40.0, "true": False},
        {"label": "park", "score": 20.0, "true": True},
    ]
    entry = IndexEntry(
        "a", "a dog in the park", "00/1", ("dog",), ("dog", "park", "cat"), {"g": hits}
    )
    page = render_index([entry], "batch")
    assert "<strong>2</strong> of 3" in page
    row = page.split("00/1")[-1]
    assert '<span class="true">park</span>' in row and '<span class="">cat</span>' in row
    assert '<span class="hit"><span class="false">sky</span> 40</span>' in row
