""" "Why not LABEL?": IG against a caption that gets the label, on a toy with known answers and
on the real model (exact IG must stay complete)."""

from __future__ import annotations

import numpy as np
import pytest
from test_explain_support import LABELS, VECTORS, A, FakeEmbedder, LinearModel

from textig.errors import TextigError
from textig.explain import Explainer

TRAINING = [
    ("t1", "the dog", (0,)),
    ("t2", "the cat", (1,)),
    ("t3", "a dog in the park", (0, 2)),
]


def toy() -> Explainer:
    embedder = FakeEmbedder()
    X = embedder.encode([text for _, text, _ in TRAINING])
    return Explainer(
        embedder, LinearModel(), training_features=X, training_captions=TRAINING, method="estimate"
    )


def test_the_reference_is_the_nearest_training_caption_that_gets_the_label() -> None:
    # x = mean(cat, sleeps) = (-0.2, 0.8, 0.2): cos with "the dog" < 0 < cos with t3's mean
    assert toy().contrast_caption("the cat sleeps", LABELS.index("dog")) == "a dog in the park"


def test_the_differing_word_carries_the_whole_difference() -> None:
    explanation = toy().why_not("the cat", "dog", reference="the dog")
    [label] = explanation.labels
    expected = A[0] @ (np.array(VECTORS["cat"]) - np.array(VECTORS["dog"]))  # -3.05
    assert label.score - label.baseline_score == pytest.approx(expected)
    words = {w.text: w.score for w in label.words}
    assert words["the"] == 0.0
    assert words["cat"] == pytest.approx(expected, rel=1e-6)
    assert explanation.baseline["kind"] == "text:the dog"
    assert explanation.notes[0].startswith("why not dog?")


def test_why_not_needs_training_captions_or_a_reference() -> None:
    plain = Explainer(FakeEmbedder(), LinearModel(), baseline="text:a park")
    with pytest.raises(TextigError, match="training captions"):
        plain.why_not("the cat", "dog")
    assert plain.why_not("the cat", "dog", reference="the dog").labels[0].label == "dog"


@pytest.mark.shared
def test_why_not_on_a_real_caption_is_complete_under_exact_ig(iapr_glove) -> None:
    embedder, dataset, model, X = iapr_glove
    usable = [c for c in dataset.train[:12000] if embedder.unusable_reason(c.text) is None]
    captions = [(c.id, c.text, tuple(c.label_ids)) for c in usable]
    explainer = Explainer(embedder, model, training_features=X, training_captions=captions)
    caption = dataset.test[3]
    scores = explainer.scores([caption.text])[0]
    missing = next(
        name
        for name, score in zip(explainer.vocabulary, scores, strict=True)
        if score == 0 and any(explainer.vocabulary.index(name) in c[2] for c in captions[:3000])
    )
    explanation = explainer.why_not(caption.text, missing)
    [label] = explanation.labels
    assert explanation.settings["estimator"] == "exact"
    assert label.baseline_score > label.score == 0
    assert label.completeness_error < 1e-6
    assert any(value != 0 for _, value in label.features)
    assert any(w.score != 0 for w in label.words)
