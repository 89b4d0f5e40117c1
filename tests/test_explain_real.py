"""Real IAPR TC-12 data: explain caption 00/26 with a small GloVe model trained on a subset."""

from __future__ import annotations

import json

import pytest

from textig.explain import Explainer
from textig.report import render_explanation

pytestmark = pytest.mark.shared


@pytest.mark.parametrize("method", ["exact", "estimate"])
def test_caption_00_26_explains_the_requested_true_labels(iapr_glove, method: str) -> None:
    embedder, dataset, model, X = iapr_glove
    caption = next(c for c in dataset.test if c.id == "00/26")
    explainer = Explainer(embedder, model, method=method, training_features=X)
    explanation = explainer.explain(
        caption.text, labels=["palm", "tree", "people"], true_labels=caption.labels
    )
    data = json.loads(explanation.to_json())
    assert [label["label"] for label in data["labels"]] == ["palm", "tree", "people"]
    for label in data["labels"]:
        assert label["true"] is True
        assert label["completeness_error"] <= 0.05
        if label["word_gap"] is not None:
            assert label["word_gap"] <= 0.01
        texts = [w["text"] for w in label["words"]]
        assert "palm" in texts and "(mostly)" not in texts and "mostly" in texts
        for word in label["words"]:
            assert caption.text[word["start"] : word["end"]] == word["text"]
    page = render_explanation(explanation)
    assert page.count('<div class="caption">') == 3
