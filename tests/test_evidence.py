"""Evidence from models with neighbours: the training captions behind a label's score, and the
exact path events that moved it — both must add up to the scores the model gives."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import get_embedder
from textig.cli.explain import training_captions
from textig.data import load_dataset
from textig.explain import Explainer
from textig.features import embed_split
from textig.training import train_or_load


@pytest.fixture(scope="module")
def demo():
    dataset = load_dataset(None)
    glove = get_embedder("glove")
    model = train_or_load(glove, dataset, progress=False)
    features = embed_split(glove, dataset, "train", warn_skipped=False)
    explainer = Explainer(glove, model)
    captions = training_captions(glove, dataset, explainer.scorer, features)
    return dataset, Explainer(glove, model, training_captions=captions)


def test_neighbour_votes_add_up_to_each_score(demo) -> None:
    dataset, explainer = demo
    for caption in dataset.test[:5]:
        explanation = explainer.explain(caption.text, labels="top5")
        for label in explanation.labels:
            assert label.evidence, "a positive score has neighbours behind it"
            assert sum(n["weight"] for n in label.evidence) == pytest.approx(label.score)
            assert all(label.label in n["labels"] for n in label.evidence)


def test_evidence_names_the_training_captions(demo) -> None:
    dataset, explainer = demo
    by_id = {c.id: c for c in dataset.train}
    label = explainer.explain(dataset.test[0].text, labels="top1").labels[0]
    for n in label.evidence:
        caption = by_id[n["caption_id"]]
        assert n["text"] == caption.text and label.label in caption.labels


def test_path_events_add_up_to_the_score_change(demo) -> None:
    dataset, explainer = demo
    explanation = explainer.explain(dataset.test[1].text, labels="top3")
    assert explanation.settings["estimator"] == "exact"
    for label in explanation.labels:
        change = sum(event["delta"] for event in label.events)
        assert change == pytest.approx(label.score - label.baseline_score)
        alphas = [event["alpha"] for event in label.events]
        assert alphas == sorted(alphas) and all(0 <= a <= 1 for a in alphas)


def test_a_label_no_neighbour_carries_has_empty_evidence(demo) -> None:
    dataset, explainer = demo
    scores = explainer.scores([dataset.test[0].text])[0]
    absent = explainer.vocabulary[int(np.flatnonzero(scores == 0)[0])]
    [label] = explainer.explain(dataset.test[0].text, labels=[absent]).labels
    assert label.score == 0 and label.evidence == []
