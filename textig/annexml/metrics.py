"""Ranking metrics as the reference evaluation scripts compute them.

Predictions are ranked by (-score, label id) and cut at k. P@k counts hits over N·k;
nDCG@k divides DCG@k (gain 1/log2(rank+1)) by the ideal DCG over min(k, |y|) hits;
the propensity-scored variants weight each hit of label l by w_l = 1 + C(N_l + B)^-A with
C = (ln N - 1)(B + 1)^A (A = 0.55, B = 1.5; N_l = training frequency of l, N = training size)
and normalise by the best achievable weighted score (the k largest weights of y), as a
ratio of sums over samples.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from textig.errors import TextigError
from textig.ranking import rank_labels

PROPENSITY_A = 0.55
PROPENSITY_B = 1.5


def _truth(Y: sp.spmatrix | np.ndarray, n: int) -> sp.csr_matrix:
    T = sp.csr_matrix(Y)
    if T.shape[0] != n:
        raise TextigError(f"{T.shape[0]} label rows for {n} prediction rows")
    T.data[:] = 1
    return T


def _hits(ranked: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """(n, k) bool: is the label at each rank a true label of its row?"""
    valid = (ranked >= 0) & (ranked < truth.shape[1])
    rows = np.broadcast_to(np.arange(len(ranked))[:, None], ranked.shape)
    hits = np.zeros(ranked.shape, dtype=bool)
    hits[valid] = np.asarray(truth[rows[valid], ranked[valid]]).ravel() > 0
    return hits


def propensity_weights(
    train_labels: sp.spmatrix, a: float = PROPENSITY_A, b: float = PROPENSITY_B
) -> np.ndarray:
    """Inverse propensity w_l = 1 + C(N_l + B)^-A of each label, from training frequencies."""
    T = sp.csr_matrix(train_labels)
    n = T.shape[0]
    freq = np.asarray((T > 0).sum(axis=0)).ravel()
    c = (np.log(n) - 1.0) * (b + 1.0) ** a
    return 1.0 + c * (freq + b) ** (-a)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def precision_at_k(ranked: np.ndarray, Y, k: int) -> float:
    """P@k = Σ |top-k ∩ y| / (N·k)."""
    hits = _hits(ranked[:, :k], _truth(Y, len(ranked)))
    return float(hits.sum() / (len(ranked) * k))


def ndcg_at_k(ranked: np.ndarray, Y, k: int) -> float:
    """Mean over samples of DCG@k / IDCG@min(k, |y|); rows without labels count 0."""
    truth = _truth(Y, len(ranked))
    hits = _hits(ranked[:, :k], truth)
    disc = _discounts(k)
    dcg = hits @ disc[: hits.shape[1]]
    sizes = np.minimum(np.diff(truth.indptr), k)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[sizes]
    return float(np.mean(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)))


def _weighted(ranked: np.ndarray, Y, k: int, weights: np.ndarray, discount: bool) -> float:
    """Σ weighted gain / Σ best achievable weighted gain, both per sample normalised by
    IDCG@min(k, |y|) when discounted (as the reference script does)."""
    truth = _truth(Y, len(ranked))
    top = ranked[:, :k]
    hits = _hits(top, truth)
    disc = _discounts(k) if discount else np.ones(k)
    gain = np.where(hits, weights[np.clip(top, 0, len(weights) - 1)], 0.0) @ disc[: top.shape[1]]
    best = np.zeros(len(ranked))
    for i in range(len(ranked)):
        w = np.sort(weights[truth.indices[truth.indptr[i] : truth.indptr[i + 1]]])[::-1][:k]
        best[i] = w @ disc[: len(w)]
    if discount:
        sizes = np.minimum(np.diff(truth.indptr), k)
        ideal = np.concatenate([[1.0], np.cumsum(disc)])[sizes]
        gain, best = gain / ideal, best / ideal
    return float(gain.sum() / best.sum()) if best.sum() > 0 else 0.0


def psp_at_k(ranked: np.ndarray, Y, k: int, weights: np.ndarray) -> float:
    """PSP@k: propensity-weighted hits over the best achievable weighted hits (summed)."""
    return _weighted(ranked, Y, k, weights, discount=False)


def psndcg_at_k(ranked: np.ndarray, Y, k: int, weights: np.ndarray) -> float:
    """PSnDCG@k: propensity-weighted nDCG over the best achievable one."""
    return _weighted(ranked, Y, k, weights, discount=True)


def evaluate(
    scores: np.ndarray, Y, train_labels=None, ks: tuple[int, ...] = (1, 2, 3, 4, 5)
) -> dict[str, float]:
    """All metrics at every k: keys "P@k", "nDCG@k" and, given training labels, "PSP@k",
    "PSnDCG@k"."""
    ranked = rank_labels(scores, max(ks))
    out = {f"P@{k}": precision_at_k(ranked, Y, k) for k in ks}
    out |= {f"nDCG@{k}": ndcg_at_k(ranked, Y, k) for k in ks}
    if train_labels is not None:
        w = propensity_weights(train_labels)
        out |= {f"PSP@{k}": psp_at_k(ranked, Y, k, w) for k in ks}
        out |= {f"PSnDCG@{k}": psndcg_at_k(ranked, Y, k, w) for k in ks}
    return out
