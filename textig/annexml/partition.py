"""Partitioning of the training set into K clusters, one partition per learner.

``cls_type=1`` learns K linear scorers so that label-similar samples land in the same cluster
(the "learned min-cut" of the label kNN graph): each visited sample picks its best-scoring
cluster, whose scorer then gets a logistic FTRL-Proximal step (L1 = ``lam``) with the sample's
positives as label 1 and random samples as label 0. ``cls_type=0`` is spherical k-means.
Samples are assigned by ``assign`` (argmax, ties to the lowest cluster) in both cases.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

BATCH = 32  # base samples per FTRL step; see bench/annexml.py for the accuracy check


def assign(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Cluster of each row: argmax over ``X @ centers.T``; np.argmax keeps the lowest on ties."""
    return np.argmax(X @ centers.T, axis=1)


def _init_rows(X: np.ndarray, K: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled sample order and the first K of it, whose vectors seed the K clusters."""
    order = rng.permutation(len(X))
    return order, X[order[:K]].astype(np.float64)


def spherical_kmeans(
    X: np.ndarray, K: int, iters: int, rng: np.random.Generator, *, progress: bool = False
) -> np.ndarray:
    """(K, d) unit centers of spherical k-means on unit rows X (stops when the objective stalls)."""
    _, centers = _init_rows(X, K, rng)
    if K == 1:
        return centers.astype(np.float32)
    previous = -np.inf
    for _ in tqdm(range(iters), desc="k-means", disable=not progress, leave=False):
        sims = X @ centers.T
        labels = np.argmax(sims, axis=1)
        objective = float(sims[np.arange(len(X)), labels].mean())
        sums = np.zeros_like(centers)
        np.add.at(sums, labels, X)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centers = np.where(norms > 0, sums / np.where(norms > 0, norms, 1.0), centers)
        if objective - previous < np.finfo(np.float32).eps:
            break
        previous = objective
    return centers.astype(np.float32)


class _FTRL:
    """FTRL-Proximal state of K logistic scorers (ascent convention: g = (y - sigmoid) x)."""

    def __init__(self, init: np.ndarray, eta0: float, lam: float) -> None:
        self.eta0, self.lam = eta0, lam
        self.w = init.copy()
        self.n = np.ones_like(init)
        z = init / eta0  # so that the first closed-form solve returns ``init`` exactly
        self.z = z + np.where(z > 0, lam, -lam)

    def step(self, grad: np.ndarray, grad_sq: np.ndarray) -> None:
        """Apply the summed gradient and summed squared per-pair gradients of one batch."""
        old = np.sqrt(self.n)
        self.n += grad_sq
        new = np.sqrt(self.n)
        self.z += grad + (new - old) / self.eta0 * self.w
        shrunk = np.sign(self.z) * np.maximum(np.abs(self.z) - self.lam, 0.0)
        self.w = self.eta0 * shrunk / new


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def learned_partition(
    X: np.ndarray,
    positives: np.ndarray | None,
    K: int,
    *,
    iters: int,
    eta0: float,
    lam: float,
    rng: np.random.Generator,
    progress: bool = False,
) -> np.ndarray:
    """(K, d) scorers of the learned partition (cls_type 1); K == 1 needs no training, and
    without positives (no label overlap anywhere) the K seed samples are the scorers."""
    order, init = _init_rows(X, K, rng)
    if K == 1 or positives is None:
        return init.astype(np.float32)
    ftrl = _FTRL(init, eta0, lam)
    has_pos = positives[:, 0] >= 0
    num_nn = positives.shape[1]
    for _ in tqdm(range(iters), desc="partition", disable=not progress, leave=False):
        order = order[rng.permutation(len(order))]
        visit = order[has_pos[order]]
        for start in range(0, len(visit), BATCH):
            base = visit[start : start + BATCH]
            negatives = rng.integers(0, len(X), size=(len(base), num_nn))
            _ftrl_batch(X, base, positives[base], negatives, ftrl)
    return ftrl.w.astype(np.float32)


def _ftrl_batch(
    X: np.ndarray, base: np.ndarray, pos: np.ndarray, neg: np.ndarray, ftrl: _FTRL
) -> None:
    """One FTRL step: each base picks its cluster; its pairs update that cluster's scorer."""
    K = ftrl.w.shape[0]
    chosen = np.argmax(X[base] @ ftrl.w.T, axis=1)
    partners = np.concatenate([pos, neg], axis=1)
    target = np.concatenate([np.ones(pos.shape), np.zeros(neg.shape)], axis=1).ravel()
    rows = np.repeat(chosen, partners.shape[1])
    Xp = X[partners.ravel()].astype(np.float64)
    margin = np.einsum("ij,ij->i", Xp, ftrl.w[rows])
    coef = target - _sigmoid(margin)
    onehot = np.zeros((K, len(rows)))
    onehot[rows, np.arange(len(rows))] = 1.0
    ftrl.step(onehot @ (coef[:, None] * Xp), onehot @ ((coef * coef)[:, None] * (Xp * Xp)))
