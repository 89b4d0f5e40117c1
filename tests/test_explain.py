"""Explainer on toy inputs with known answers: a linear model over fixed word vectors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from test_explain_support import LABELS, TRAIN, VECTORS, A, FakeEmbedder, LinearModel

from textig.errors import TextigError
from textig.explain import Explainer, _relative_gap

CAPTION = "A dog runs in the park, (mostly) Xyzzy."


def make(**kwargs) -> Explainer:
    kwargs.setdefault("training_features", TRAIN)
    return Explainer(FakeEmbedder(), LinearModel(), **kwargs)


def features(*words: str) -> np.ndarray:
    return np.mean([VECTORS[w] for w in words], axis=0)


def test_linear_model_attributions_and_words_match_closed_form() -> None:
    explanation = make(steps=8).explain(CAPTION, labels=["dog", "sky"])
    x = features("dog", "runs", "park")
    baseline = TRAIN[:5].astype(float).mean(axis=0)  # the all-zero row is not a training caption
    assert explanation.baseline["kind"] == "mean"
    for label in explanation.labels:
        row = A[LABELS.index(label.label)]
        expected = row * (x - baseline)
        got = np.zeros(3)
        for index, value in label.features:
            got[index] = value
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert label.score == pytest.approx(row @ x, rel=1e-6)
        assert label.baseline_score == pytest.approx(row @ baseline, rel=1e-6)
        scored = {w.text: w.score for w in label.words}
        assert scored["dog"] == pytest.approx((np.array(VECTORS["dog"]) - baseline) @ row / 3)
        assert label.word_sum == pytest.approx(label.attribution_sum, rel=1e-6)
        assert label.word_gap is not None and label.word_gap < 1e-6
        assert label.completeness_error < 1e-6


def test_word_spans_index_the_original_caption_and_stopwords_score_zero() -> None:
    explanation = make().explain(CAPTION, labels="top2")
    for label in explanation.labels:
        assert [w.text for w in label.words] == [
            "A",
            "dog",
            "runs",
            "in",
            "the",
            "park",
            "mostly",
            "Xyzzy",
        ]
        for word in label.words:
            assert CAPTION[word.start : word.end] == word.text
            if word.kind != "word":
                assert word.score == 0.0
        assert {w.kind for w in label.words} == {"word", "stopword", "oov"}


def test_top_labels_follow_scores_and_any_label_can_be_explained() -> None:
    explainer = make()
    scores = A @ features("dog", "runs", "park")
    explanation = explainer.explain(CAPTION, labels="top2", true_labels=["dog", "grass"])
    order = [LABELS[i] for i in np.argsort(-scores, kind="stable") if scores[i] > 0]
    assert [label.label for label in explanation.labels] == order[:2]
    assert [p["label"] for p in explanation.predicted] == order
    assert [label.true for label in explanation.labels] == [
        name in {"dog", "grass"} for name in order[:2]
    ]
    # "sky" scores below zero: not predicted, still explainable
    worst = explainer.explain(CAPTION, labels=["sky"])
    assert worst.labels[0].predicted_rank == 4
    by_id = explainer.explain(CAPTION, labels=[3])
    assert by_id.labels[0].label == "sky"
    truth = explainer.explain(CAPTION, labels="true", true_labels=["cat"])
    assert [label.label for label in truth.labels] == ["cat"]


def test_json_follows_the_documented_schema() -> None:
    data = json.loads(make().explain(CAPTION, labels="top3", true_labels=["dog"]).to_json())
    assert {"caption", "embedder", "model", "baseline", "settings", "labels"} <= data.keys()
    assert data["caption"] == CAPTION
    for label in data["labels"]:
        assert {
            "label",
            "score",
            "baseline_score",
            "true",
            "completeness_error",
            "features",
            "words",
        } <= label.keys()
        assert all(len(pair) == 2 and isinstance(pair[0], int) for pair in label["features"])
        for word in label["words"]:
            assert {"text", "start", "end", "score", "kind"} <= word.keys()
            assert CAPTION[word["start"] : word["end"]] == word["text"]
    assert data["settings"]["method"] == "estimate"
    assert data["timings"]["total"] >= data["timings"]["ig"] >= 0


def test_gradient_times_input_of_a_linear_model_equals_ig() -> None:
    label = make().explain(CAPTION, labels=["cat"]).labels[0]
    assert dict(label.gradient_x_input) == pytest.approx(dict(label.features), rel=1e-6)
    assert label.ig_gxi_cosine == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("caption", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("the of a", "no known content word"),
        ("dog " * 2000, "at most"),
    ],
)
def test_unexplainable_captions_raise_one_line_errors(caption: str, message: str) -> None:
    with pytest.raises(TextigError, match=message) as error:
        make().explain(caption)
    assert "\n" not in str(error.value)


class NormalisedLinear(LinearModel):
    """A scale-invariant model: f(x) = A x/‖x‖ (like AnnexML, it normalises its input)."""

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return super().__call__(X / np.where(norms > 0, norms, 1.0))


def test_zero_baseline_is_chosen_per_model() -> None:
    x = features("dog", "runs", "park")
    for explainer in (make(baseline="zero"), Explainer(FakeEmbedder(), LinearModel())):
        explanation = explainer.explain(CAPTION, labels=["dog"])
        assert explanation.baseline["kind"] == "zero"  # auto without a mean: zero is valid
        got = np.zeros(3)
        for index, value in explanation.labels[0].features:
            got[index] = value
        np.testing.assert_allclose(got, A[0] * x, atol=1e-6)
    with pytest.raises(TextigError, match="training features"):  # auto: mean, not zero
        Explainer(FakeEmbedder(), NormalisedLinear())
    explained = Explainer(FakeEmbedder(), NormalisedLinear(), training_features=TRAIN)
    assert explained.explain(CAPTION, labels=["dog"]).baseline["kind"] == "mean"


def test_unknown_label_lists_close_matches() -> None:
    with pytest.raises(TextigError, match=r"unknown label 'dgo'.*dog"):
        make().explain(CAPTION, labels=["dgo"])
    with pytest.raises(TextigError, match="outside"):
        make().explain(CAPTION, labels=[7])
    with pytest.raises(TextigError, match="true labels"):
        make().explain(CAPTION, labels="true")


def test_mismatched_model_and_baselines_are_refused() -> None:
    with pytest.raises(TextigError, match="trained with"):
        Explainer(FakeEmbedder("other@2"), LinearModel())
    with pytest.raises(TextigError, match="degenerate"):
        Explainer(FakeEmbedder(), NormalisedLinear(), baseline="zero")
    with pytest.raises(TextigError, match="training features"):
        Explainer(FakeEmbedder(), LinearModel(), baseline="mean")
    with pytest.raises(TextigError, match="unknown baseline"):
        make(baseline="blur")
    with pytest.raises(TextigError, match="no 'neutral' baseline"):
        make(baseline="neutral").explain(CAPTION)
    with pytest.raises(TextigError, match="exact"):
        make(method="exact")


def test_text_baseline_and_array_baseline() -> None:
    explanation = make(baseline="text:a cat sleeps").explain(CAPTION, labels=["dog"])
    x, baseline = features("dog", "runs", "park"), features("cat", "sleeps")
    assert explanation.baseline["kind"] == "text:a cat sleeps"
    assert explanation.labels[0].attribution_sum == pytest.approx(A[0] @ (x - baseline))
    same = make(baseline=baseline.astype(np.float32)).explain(CAPTION, labels=["dog"])
    assert same.labels[0].attribution_sum == pytest.approx(A[0] @ (x - baseline), rel=1e-6)
    with pytest.raises(TextigError, match="equals the baseline"):
        make(baseline="text:dog").explain("the dog", labels=["dog"])


def test_explanations_are_deterministic() -> None:
    first = make().explain(CAPTION).to_dict()
    second = make().explain(CAPTION).to_dict()
    first.pop("timings"), second.pop("timings")
    assert first == second


class WarningEmbedder(FakeEmbedder):
    """Warns like SBERT does when a caption is truncated."""

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        warnings.warn("caption truncated to 256 word pieces", UserWarning, stacklevel=2)
        return super()._encode(texts, progress)


def test_embedder_warnings_become_visible_notes() -> None:
    from textig.report import render_explanation

    explainer = Explainer(WarningEmbedder(), LinearModel(), training_features=TRAIN)
    explanation = explainer.explain(CAPTION, labels=["dog"])
    assert explanation.notes == ["caption truncated to 256 word pieces"]
    assert "Note: caption truncated to 256 word pieces" in render_explanation(explanation)


def test_word_gap_is_undefined_when_the_feature_sum_vanishes() -> None:
    # label "sky" depends on feature 2 only; a baseline equal to x in that feature gives sum 0
    x = FakeEmbedder().encode([CAPTION])[0].astype(np.float64)
    baseline = np.array([0.1, 0.2, x[2]])
    label = make(baseline=baseline).explain(CAPTION, labels=["sky"]).labels[0]
    assert label.attribution_sum == pytest.approx(0.0, abs=1e-12)
    assert label.word_gap is None
    # rounding noise in the feature sum (opposite attributions cancelling) is not a gap
    assert _relative_gap(1e-3, 1e-17, 0.4) is None
    assert _relative_gap(1.01, 1.0, 3.0) == pytest.approx(0.01)
