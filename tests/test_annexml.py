"""AnnexML estimator: known answers on toy data, the brute-force vote semantics, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from textig.annexml import AnnexML, Cluster, Learner
from textig.errors import TextigError

SMALL = {"num_learner": 3, "emb_size": 8, "num_nn": 5, "emb_iter": 3, "cls_iter": 2}


def blobs(n_per: int, n_classes: int = 4, d: int = 16, seed: int = 0, noise: float = 0.1):
    """Well separated direction clusters (the same for every seed; ``seed`` draws the noise);
    class c carries labels {c, n_classes + c // 2}."""
    centers = np.linalg.qr(np.random.default_rng(0).standard_normal((d, d)))[0][:n_classes]
    rng = np.random.default_rng(seed + 1)
    cls = np.repeat(np.arange(n_classes), n_per)
    X = centers[cls] + noise * rng.standard_normal((len(cls), d))
    Y = [(int(c), n_classes + int(c) // 2) for c in cls]
    return X.astype(np.float32), Y, cls


def naive_votes(model: AnnexML, X: np.ndarray) -> np.ndarray:
    """Reference semantics written as plainly as possible (loops, sorted())."""
    Y = model.Y_.toarray()
    out = np.zeros((len(X), Y.shape[1]))
    for i, x in enumerate(X.astype(np.float64)):
        for learner in model.learners_:
            sims = [float(x @ c) for c in learner.centers.astype(np.float64)]
            k = sims.index(max(sims))
            cluster = learner.clusters[k]
            z = x @ cluster.W.astype(np.float64)
            keys = cluster.E.astype(np.float64) @ z
            best = sorted(range(len(keys)), key=lambda j: (-keys[j], j))[: model.num_nn]
            for j in best:
                out[i] += Y[cluster.ids[j]]
    return out


@pytest.fixture(scope="module")
def toy_model() -> tuple[AnnexML, np.ndarray, list]:
    X, Y, _ = blobs(30)
    return AnnexML(**SMALL).fit(X, Y, embedder="toy-embedder"), X, Y


def test_separated_clusters_get_perfect_precision(toy_model) -> None:
    model, _, _ = toy_model
    X_test, _, cls = blobs(10, seed=1)
    for search in ("brute", "graph"):
        top, _ = model.predict_top_k(X_test, 1, search=search)
        assert np.all((top[:, 0] == cls) | (top[:, 0] == 4 + cls // 2))


def test_votes_are_integers_in_range_and_match_naive(toy_model) -> None:
    model, _, _ = toy_model
    X_test, _, _ = blobs(5, seed=2, noise=0.6)
    scores = model.decision_function(X_test, search="brute")
    assert np.array_equal(scores, np.round(scores))
    assert scores.min() >= 0 and scores.max() <= model.num_learner * model.num_nn
    assert np.array_equal(scores, naive_votes(model, X_test))


def test_scale_invariance(toy_model) -> None:
    model, X, _ = toy_model
    assert np.array_equal(
        model.decision_function(X[:20], search="brute"),
        model.decision_function(7.5 * X[:20], search="brute"),
    )


def hand_model(E: np.ndarray, labels: list[list[int]], num_nn: int) -> AnnexML:
    """A fitted model built by hand: one learner, one cluster, W = identity."""
    model = AnnexML(num_learner=1, num_nn=num_nn, emb_size=E.shape[1], pred_type=0)
    n = len(E)
    rows = [i for i, y in enumerate(labels) for _ in y]
    cols = [c for y in labels for c in y]
    model.Y_ = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n, 3))
    model.labels_, model.dim_, model.embedder_identity_ = ["a", "b", "c"], E.shape[1], None
    cluster = Cluster(np.eye(E.shape[1], dtype=np.float32), E.astype(np.float32), np.arange(n))
    model.learners_ = [Learner(np.ones((1, E.shape[1]), np.float32), [cluster])]
    return model


def test_ties_go_to_the_lower_position() -> None:
    E = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    model = hand_model(E, [[0], [1], [2]], num_nn=1)
    assert model.decision_function(np.array([[1.0, 0.0]])).tolist() == [[1.0, 0.0, 0.0]]
    assert model.decision_function(np.array([[0.0, 1.0]])).tolist() == [[0.0, 1.0, 0.0]]


def test_similarity_score_weights_votes_by_cosine() -> None:
    E = np.array([[1.0, 0.0], [0.6, 0.8]])
    model = hand_model(E, [[0], [1]], num_nn=2)
    model.score = "similarity"
    assert np.allclose(model.decision_function(np.array([[2.0, 0.0]])), [[1.0, 0.6, 0.0]])


@pytest.mark.parametrize("cls_type", [0, 1])
def test_tiny_training_set(cls_type: int) -> None:
    X, Y, _ = blobs(2, n_classes=2, d=4)
    model = AnnexML(**SMALL | {"num_nn": 10, "cls_type": cls_type}).fit(X, Y)
    scores = model.decision_function(X)
    assert scores.max() <= model.num_learner * len(X)
    assert scores.sum() > 0


def test_two_clusters_per_learner_when_n_allows() -> None:
    X, _, _ = blobs(3000, n_classes=4, d=8)
    Y = [(i % 2000,) for i in range(len(X))]  # sparse label overlap keeps this test fast
    model = AnnexML(num_learner=1, emb_size=4, num_nn=3, emb_iter=1, cls_iter=1).fit(X, Y)
    sizes = [len(c.ids) for c in model.learners_[0].clusters]
    assert len(sizes) == 2 and sum(sizes) == len(X)


def test_same_seed_same_scores_other_seed_other_model() -> None:
    X, Y, _ = blobs(20, noise=0.5)
    a = AnnexML(**SMALL).fit(X, Y)
    b = AnnexML(**SMALL).fit(X, Y)
    c = AnnexML(**SMALL | {"seed": 1}).fit(X, Y)
    assert np.array_equal(a.decision_function(X), b.decision_function(X))
    assert not np.array_equal(a.learners_[0].clusters[0].W, c.learners_[0].clusters[0].W)


def test_zero_feature_rows_do_not_break_training() -> None:
    X, Y, _ = blobs(10)
    X[3] = 0.0
    model = AnnexML(**SMALL).fit(X, Y)
    assert all(np.isfinite(c.W).all() for lr in model.learners_ for c in lr.clusters)


def test_bad_inputs_are_textig_errors(toy_model) -> None:
    model, X, Y = toy_model
    with pytest.raises(TextigError, match="dimension"):
        model.decision_function(X[:, :5])
    with pytest.raises(TextigError, match="NaN"):
        model.decision_function(np.full((1, X.shape[1]), np.nan))
    with pytest.raises(TextigError, match="label rows"):
        AnnexML(**SMALL).fit(X, Y[:-1])
    with pytest.raises(TextigError, match="score"):
        AnnexML(score="max").fit(X, Y)
    with pytest.raises(TextigError, match="not fitted"):
        AnnexML().decision_function(X)
