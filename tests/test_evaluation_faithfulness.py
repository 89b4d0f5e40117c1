"""Faithfulness metrics on a fake embedder + model where known words drive known labels."""

from __future__ import annotations

import re

import numpy as np
import pytest

from embeddings.base import Embedder, Token, WordScore
from textig.errors import TextigError
from textig.evaluation.faithfulness import caption_faithfulness
from textig.evaluation.words import deletion_sizes, only_spans, random_order, without_spans

VOCAB = {"dog": 0, "cat": 1, "chased": 2, "tree": 3}


class CountEmbedder(Embedder):
    """Features = counts of the vocabulary words; captions without one cannot be encoded."""

    name = "count"
    identity = "count@test"
    dim = len(VOCAB)

    def __init__(self) -> None:
        self.encode_calls = 0

    def tokens(self, text: str) -> list[Token]:
        return [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", text)]

    def unusable_reason(self, text: str) -> str | None:
        known = [t for t in self.tokens(text) if t.text.lower() in VOCAB]
        return None if known else "has no known word"

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        self.encode_calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in self.tokens(text):
                if token.text.lower() in VOCAB:
                    out[i, VOCAB[token.text.lower()]] += 1
        return out


class DogCatModel:
    """Label 0 scores 10 per "dog", label 1 scores 5 per "cat"; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, features: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.stack([10 * features[:, 0], 5 * features[:, 1]], axis=1).astype(np.float64)


def scored(embedder: Embedder, text: str, scores: dict[str, float]) -> list[WordScore]:
    """Word scores of a caption (stopwords marked as the real embedders do)."""
    words = []
    for t in embedder.tokens(text):
        kind = "stopword" if t.text.lower() in {"the", "a", "under"} else "word"
        words.append(WordScore(t.text, t.start, t.end, scores.get(t.text, 0.0), kind))
    return words


CAPTION = "the dog chased a cat under the tree"


def run(order_scores: dict[str, float], empty=None, text: str = CAPTION, labels=(0,)):
    embedder, model = CountEmbedder(), DogCatModel()
    words = [scored(embedder, text, order_scores) for _ in labels]
    empty = np.zeros(embedder.dim) if empty is None else empty
    result = caption_faithfulness(
        embedder, model, text, list(labels), {"default": words}, empty_features=empty, seed=3
    )
    return result, embedder, model


def test_perfect_order_is_fully_comprehensive_and_sufficient() -> None:
    (label,), _, _ = run({"dog": 1.0, "cat": 0.5, "tree": 0.2, "chased": 0.1})
    curve = label.curves["default"]
    assert label.n_content == 4 and label.full_score == 10.0
    assert curve.sizes == (1, 2, 3, 1, 1, 2)  # ceil of 10/20/50% of 4 words, at least 1
    assert curve.aopc("comprehensiveness", "words") == 10.0
    assert curve.aopc("comprehensiveness", "percent") == 10.0
    assert curve.aopc("sufficiency", "words") == 0.0
    random = label.curves["random"]
    assert random.aopc("comprehensiveness", "words") < 10.0
    assert random.aopc("sufficiency", "words") > 0.0


def test_aopc_arithmetic_on_a_hand_computed_order() -> None:
    # order cat, dog, tree, chased: "dog" is deleted from k = 2 on, kept alone never before k = 2
    (label,), _, _ = run({"cat": 0.9, "dog": 0.8, "tree": 0.2, "chased": 0.1})
    curve = label.curves["default"]
    assert curve.comprehensiveness == (0.0, 10.0, 10.0, 0.0, 0.0, 10.0)
    assert curve.sufficiency == (10.0, 0.0, 0.0, 10.0, 10.0, 0.0)
    assert curve.aopc("comprehensiveness", "words") == pytest.approx(20 / 3)
    assert curve.aopc("comprehensiveness", "percent") == pytest.approx(10 / 3)
    assert curve.aopc("sufficiency", "percent") == pytest.approx(20 / 3)


def test_random_order_is_the_mean_of_five_permutations() -> None:
    (label,), embedder, _ = run({"dog": 1.0})
    content = [w for w in scored(embedder, CAPTION, {}) if w.kind == "word"]
    expected = np.mean(
        [
            [
                10.0 * ("dog" in {w.text for w in random_order(content, CAPTION, 3, d)[:k]})
                for k in (1, 2, 3)
            ]
            for d in range(5)
        ],
        axis=0,
    )
    assert label.curves["random"].comprehensiveness[:3] == pytest.approx(tuple(expected))


def test_each_label_uses_its_own_scores_and_one_batched_call() -> None:
    embedder, model = CountEmbedder(), DogCatModel()
    words = {
        "default": [scored(embedder, CAPTION, {"dog": 1}), scored(embedder, CAPTION, {"cat": 1})],
        "original": [
            scored(embedder, CAPTION, {"tree": 1}),
            scored(embedder, CAPTION, {"tree": 1}),
        ],
    }
    dog, cat = caption_faithfulness(
        embedder, model, CAPTION, [0, 1], words, empty_features=np.zeros(4)
    )
    assert (embedder.encode_calls, model.calls) == (1, 1)
    assert dog.curves["default"].comprehensiveness[0] == 10.0
    assert cat.curves["default"].comprehensiveness[0] == 5.0
    assert cat.curves["original"].comprehensiveness[0] == 0.0


def test_caption_emptied_by_deletion_scores_at_the_baseline_features() -> None:
    empty = np.array([0.3, 0.0, 0.0, 0.0])  # the model gives 3 votes to "dog" there
    (label,), _, _ = run({"dog": 1.0}, empty=empty, text="the dog")
    assert label.n_content == 1 and label.empty_score == 3.0
    assert label.curves["default"].comprehensiveness == (7.0,) * 6
    assert label.curves["default"].sufficiency == (0.0,) * 6


def test_bad_inputs_are_refused_with_textig_errors() -> None:
    embedder = CountEmbedder()
    words = {"default": [scored(embedder, CAPTION, {})]}
    with pytest.raises(TextigError, match="no known word"):
        caption_faithfulness(
            embedder, DogCatModel(), "the sky", [0], words, empty_features=np.zeros(4)
        )
    with pytest.raises(TextigError, match="random"):
        caption_faithfulness(
            embedder,
            DogCatModel(),
            CAPTION,
            [0],
            {"random": words["default"]},
            empty_features=np.zeros(4),
        )


def test_text_edits_cut_and_keep_character_spans() -> None:
    text = "a dog, (mostly) white cars"
    assert without_spans(text, [(2, 5), (22, 26)]) == "a , (mostly) white"
    assert only_spans(text, [(22, 26), (2, 5)]) == "dog cars"
    assert without_spans("dog", [(0, 3)]) == ""


def test_deletion_sizes_round_up_and_cap() -> None:
    assert deletion_sizes(25, (1, 2, 3), (0.1, 0.2, 0.5)) == [1, 2, 3, 3, 5, 13]
    assert deletion_sizes(10, (1, 2, 3), (0.1, 0.2, 0.5)) == [1, 2, 3, 1, 2, 5]
    assert deletion_sizes(2, (1, 2, 3), (0.1, 0.2, 0.5)) == [1, 2, 2, 1, 1, 1]
