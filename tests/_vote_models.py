"""A toy kNN vote model (scores = votes of the k nearest training points) and its exact IG.

The score is piecewise constant and scale-invariant, like AnnexML's. Along the path
x' + alpha(x - x') each ranking key e_j·x is linear in alpha, so the neighbour set only changes
where two keys cross; a swap of j (in) for k (out) has the boundary normal e_j - e_k, and its
exact IG share of feature i is ΔF·Δx_i(e_j - e_k)_i / (Δx·(e_j - e_k)).
"""

from __future__ import annotations

import itertools

import numpy as np


class KnnVotes:
    """Votes (n, L) of the k training points with the highest e_j·x (ties: lower j)."""

    def __init__(self, E: np.ndarray, Y: np.ndarray, k: int) -> None:
        self.E, self.Y, self.k = np.asarray(E, float), np.asarray(Y, float), k

    def members(self, X: np.ndarray) -> np.ndarray:
        keys = np.atleast_2d(X) @ self.E.T
        return np.argsort(-keys, axis=1, kind="stable")[:, : self.k]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.Y[self.members(X)].sum(axis=1)


def random_vote_model(n: int, d: int, n_labels: int, k: int, seed: int) -> KnnVotes:
    """Unit-norm random training points with random sparse labels."""
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(n, d))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    Y = (rng.random((n, n_labels)) < 0.3).astype(float)
    return KnnVotes(E, Y, k)


def exact_ig(model: KnnVotes, x: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Exact IG (L, d) of every label, from the pairwise key crossings along the path."""
    delta = x - baseline
    a, b = model.E @ baseline, model.E @ delta
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = (a[None, :] - a[:, None]) / (b[:, None] - b[None, :])
    alphas = np.unique(cross[np.isfinite(cross) & (cross > 0) & (cross < 1)])
    probes = np.concatenate([[0.0], (alphas[:-1] + alphas[1:]) / 2, [1.0]]) if len(alphas) else []
    attributions = np.zeros((model.Y.shape[1], len(x)))
    if len(alphas) == 0:
        return attributions
    sets = model.members(baseline[None, :] + np.asarray(probes)[:, None] * delta[None, :])
    for before, after in itertools.pairwise(sets):
        entering = np.setdiff1d(after, before)
        leaving = np.setdiff1d(before, after)
        for j, k in zip(entering, leaving, strict=True):
            normal = model.E[j] - model.E[k]
            share = delta * normal / (delta @ normal)
            attributions += np.outer(model.Y[j] - model.Y[k], share)
    return attributions
