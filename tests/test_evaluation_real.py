"""Faithfulness and plausibility with the real GloVe embedder on real IAPR captions."""

from __future__ import annotations

import numpy as np
import pytest

from textig.evaluation.faithfulness import caption_faithfulness
from textig.evaluation.plausibility import caption_plausibility

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def glove():
    from embeddings import get_embedder

    return get_embedder("glove")


def test_a_label_driven_by_one_word_is_found_by_the_additive_scores(glove, iapr_dir) -> None:
    from textig.data import load_dataset

    caption = next(c for c in load_dataset(iapr_dir).test if c.id == "00/26")
    direction = glove.encode(["palm"])[0].astype(np.float64)
    direction /= np.linalg.norm(direction)

    def palm_model(X: np.ndarray) -> np.ndarray:
        """Label 0: 100 x the cosine of the caption to "palm"."""
        unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        return (100 * unit @ direction)[:, None]

    baseline = np.zeros(glove.dim)
    words = {
        "default": glove.word_attributions(caption.text, direction[None], baseline),
        "original": glove.word_attributions(
            caption.text, direction[None], baseline, method="cosine"
        ),
    }
    (result,) = caption_faithfulness(
        glove, palm_model, caption.text, [0], words, empty_features=baseline
    )
    default, random = result.curves["default"], result.curves["random"]
    assert result.n_content >= 20
    assert default.aopc("comprehensiveness", "words") > 2 * random.aopc(
        "comprehensiveness", "words"
    )
    assert default.aopc("sufficiency", "words") < random.aopc("sufficiency", "words")
    (record,) = caption_plausibility(caption.id, ["palm"], words)
    assert record.ranks["default"] == 1
