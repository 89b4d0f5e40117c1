"""Baseline study: the same labels explained from several baselines, checked in closed form.

With the linear fake model f(x) = A x, IG from baseline b is A[l] * (x - b) exactly, so each
baseline's attributions, scores and words are known.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_explain_support import TRAIN, A, FakeEmbedder, LinearModel

from textig.errors import TextigError
from textig.explain import Explainer
from textig.report import render_baseline_study, write_baseline_study
from textig.study import baseline_study

CAPTION = "A dog runs in the park"


def _explainer() -> Explainer:
    return Explainer(FakeEmbedder(), LinearModel(), training_features=TRAIN)


def test_each_baseline_gets_its_own_exact_ig_for_the_same_labels() -> None:
    other = np.array([0.1, 0.9, -0.2])
    study = baseline_study(_explainer(), CAPTION, ["mean", "text:the cat sleeps", other])
    embedder = FakeEmbedder()
    x = embedder.encode([CAPTION])[0].astype(np.float64)
    references = [
        TRAIN[np.any(TRAIN != 0, axis=1)].mean(axis=0),
        embedder.encode(["the cat sleeps"])[0],
        other,
    ]
    first_labels = [label.label for label in study.explanations[0].labels]
    assert len(study.explanations) == 3
    for explanation, reference in zip(study.explanations, references, strict=True):
        assert [label.label for label in explanation.labels] == first_labels
        for label in explanation.labels:
            expected = A[label.label_id] * (x - reference.astype(np.float64))
            top = dict(label.features)
            for index, value in top.items():
                assert value == pytest.approx(expected[index], rel=1e-6, abs=1e-9)
            assert label.baseline_score == pytest.approx(A[label.label_id] @ reference, rel=1e-6)
            assert label.word_sum == pytest.approx(expected.sum(), rel=1e-6, abs=1e-9)
    kinds = [e.baseline["kind"] for e in study.explanations]
    assert kinds == ["mean", "text:the cat sleeps", "array"]


def test_a_study_needs_two_distinct_baselines() -> None:
    with pytest.raises(TextigError, match="at least two"):
        baseline_study(_explainer(), CAPTION, ["mean", "mean"])


def test_study_report_shows_every_baseline_and_escapes_text(tmp_path) -> None:
    hostile = "A dog <b>runs</b> in the park"
    study = baseline_study(_explainer(), hostile, ["mean", "text:<i>cat</i> sleeps"])
    page = render_baseline_study(study)
    assert "<b>runs" not in page and "&lt;b&gt;runs" in page
    assert "text:&lt;i&gt;cat&lt;/i&gt; sleeps" in page
    assert page.count('<div class="caption">') == 2 * len(study.explanations[0].labels)
    html_path, json_path = write_baseline_study(study, tmp_path, "study")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["baselines"] == ["mean", "text:<i>cat</i> sleeps"]
    assert len(data["explanations"]) == 2 and html_path.is_file()
