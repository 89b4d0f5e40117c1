"""Toy fitted AnnexML states and a naive brute-force reference, shared by the exact-IG tests.

The toys carry the fitted-state attributes of the AnnexML contract (``learners_`` with
``centers`` and ``clusters`` of ``W``, ``E``, ``ids``; ``Y_``; ``num_nn``; ``score``), so the
code under test sees exactly what a real model offers. The reference scores one row at a
time with plain Python ordering, independent of the vectorised code.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp


def toy_model(learners, Y, num_nn: int, score: str = "votes") -> SimpleNamespace:
    """A fitted-state stand-in: learners = [(centers, [(W, E, ids), ...]), ...]."""
    built = [
        SimpleNamespace(
            centers=np.asarray(centers, dtype=np.float32),
            clusters=[
                SimpleNamespace(
                    W=np.asarray(W, dtype=np.float32),
                    E=np.asarray(E, dtype=np.float32),
                    ids=np.asarray(ids, dtype=np.int64),
                    graph=None,
                )
                for W, E, ids in clusters
            ],
        )
        for centers, clusters in learners
    ]
    return SimpleNamespace(
        learners_=built, Y_=sp.csr_matrix(np.asarray(Y)), num_nn=num_nn, score=score
    )


def random_model(
    rng: np.random.Generator,
    *,
    d: int = 6,
    emb: int = 4,
    n: int = 40,
    n_labels: int = 7,
    n_learners: int = 3,
    n_clusters: int = 2,
    num_nn: int = 3,
    duplicates: int = 0,
) -> SimpleNamespace:
    """Random fitted state; ``duplicates`` training points repeat another one's embedding."""
    Y = (rng.random((n, n_labels)) < 0.3).astype(np.float64)
    learners = []
    for _ in range(n_learners):
        centers = rng.normal(size=(n_clusters, d))
        owner = np.arange(n) % n_clusters
        clusters = []
        for c in range(n_clusters):
            ids = np.flatnonzero(owner == c)
            E = rng.normal(size=(len(ids), emb))
            E /= np.linalg.norm(E, axis=1, keepdims=True)
            for r in range(min(duplicates, len(ids) - 1)):
                E[-1 - r] = E[r]
            clusters.append((rng.normal(size=(d, emb)), E, ids))
        learners.append((centers, clusters))
    return toy_model(learners, Y, num_nn)


def naive_votes(model, X: np.ndarray) -> np.ndarray:
    """Brute-force votes one row at a time: argmax cluster, top num_nn keys, ties by position."""
    Y = model.Y_.toarray()
    scores = np.zeros((len(X), Y.shape[1]))
    for r, x in enumerate(np.asarray(X, dtype=np.float64)):
        for learner in model.learners_:
            partition = [float(x @ np.asarray(c, dtype=np.float64)) for c in learner.centers]
            cluster = learner.clusters[int(np.argmax(partition))]
            z = x @ np.asarray(cluster.W, dtype=np.float64)
            keys = [float(np.asarray(e, dtype=np.float64) @ z) for e in cluster.E]
            order = sorted(range(len(keys)), key=lambda j: (-keys[j], j))
            for j in order[: model.num_nn]:
                scores[r] += Y[cluster.ids[j]]
    return scores


def test_naive_votes_counts_neighbour_labels_by_hand() -> None:
    """1 learner, 1 cluster, W = I in 2-D: keys are plain dot products with E's rows."""
    E = [[1, 0], [0, 1], [-1, 0]]
    Y = [[1, 0], [0, 1], [1, 1]]
    model = toy_model([([[1, 0]], [(np.eye(2), E, [0, 1, 2])])], Y, num_nn=1)
    np.testing.assert_array_equal(naive_votes(model, np.array([[2.0, 1.0]])), [[1, 0]])
    np.testing.assert_array_equal(naive_votes(model, np.array([[1.0, 3.0]])), [[0, 1]])
    np.testing.assert_array_equal(naive_votes(model, np.array([[-1.0, 0.5]])), [[1, 1]])


def test_naive_votes_breaks_ties_by_position() -> None:
    E = [[0, 1], [1, 0], [1, 0]]
    Y = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    model = toy_model([([[1, 0]], [(np.eye(2), E, [0, 1, 2])])], Y, num_nn=1)
    np.testing.assert_array_equal(naive_votes(model, np.array([[1.0, 0.0]])), [[0, 1, 0]])
    np.testing.assert_array_equal(naive_votes(model, np.array([[1.0, 1.0]])), [[1, 0, 0]])


class ToyVotes:
    """A toy fitted state as a scorer with path jumps (what the AnnexML adapter offers)."""

    def __init__(self, model) -> None:
        from textig.annexml.fast_path import BruteForceScorer

        self.fast = BruteForceScorer(model)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.fast(X)

    def path_jumps(self, x: np.ndarray, baseline: np.ndarray):
        from textig.annexml.exact import path_jumps

        return path_jumps(self.fast, x, baseline)


def exact_ig(model, x, baseline, *, targets=None):
    """Exact IG (textig.attribution.exact) of a toy fitted state's brute-force votes."""
    from textig.attribution.exact import exact_integrated_gradients

    return exact_integrated_gradients(ToyVotes(model), x, baseline, targets=targets)
