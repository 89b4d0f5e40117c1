"""Ranking metrics on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from textig.annexml.metrics import evaluate, propensity_weights, rank_labels

# two samples, four labels; sample 0 true {0, 2}, sample 1 true {3}
TRUTH = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]]))
SCORES = np.array([[5.0, 5.0, 1.0, 0.0], [0.0, 2.0, 2.0, 1.0]])


def test_ranking_breaks_ties_by_label_id() -> None:
    assert rank_labels(SCORES, 3).tolist() == [[0, 1, 2], [1, 2, 3]]


def test_precision_and_ndcg_by_hand() -> None:
    m = evaluate(SCORES, TRUTH, ks=(1, 2, 3))
    assert m["P@1"] == pytest.approx(1 / 2)
    assert m["P@3"] == pytest.approx(3 / 6)
    d = [1 / math.log2(r + 1) for r in (1, 2, 3)]
    ndcg3_s0 = (d[0] + d[2]) / (d[0] + d[1])
    ndcg3_s1 = d[2] / d[0]
    assert m["nDCG@3"] == pytest.approx((ndcg3_s0 + ndcg3_s1) / 2)
    assert m["nDCG@1"] == pytest.approx(0.5)


def test_propensity_scored_by_hand() -> None:
    train = sp.csr_matrix(np.array([[1, 0, 0, 1], [1, 0, 1, 0], [1, 0, 0, 0]]))
    w = propensity_weights(train)
    c = (math.log(3) - 1) * 2.5**0.55
    assert w == pytest.approx([1 + c * (n + 1.5) ** -0.55 for n in (3, 0, 1, 1)])
    m = evaluate(SCORES, TRUTH, train_labels=train, ks=(1, 3))
    # P@1 hits: sample 0 label 0; best: sample 0 max(w0, w2) = w2, sample 1 w3
    assert m["PSP@1"] == pytest.approx(w[0] / (w[2] + w[3]))
    # P@3 hits: sample 0 labels 0, 2; sample 1 label 3; best: w0 + w2 and w3
    assert m["PSP@3"] == pytest.approx(1.0)
    assert m["PSnDCG@3"] < 1.0
