"""Exact IG and the fast path on a trained AnnexML model over real IAPR GloVe features.

The model is the session's small real model (``iapr_glove`` in conftest: a 12,000-caption
subset, two clusters per learner); only a few test captions are embedded, so the tests stay
fast. The full-size checks live in bench/estimator_vs_exact.py.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from textig.annexml.exact import fine_grid_integrated_gradients
from textig.annexml.fast_path import BruteForceScorer
from textig.attribution.exact import exact_integrated_gradients
from textig.models import as_scorer

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def real(iapr_glove):
    """(model, test features (n, 50) incl. a train duplicate, training-subset mean baseline)."""
    embedder, dataset, model, X_train = iapr_glove
    train = [c.text for c in dataset.train]
    test = [c.text for c in dataset.test]
    known = set(train)
    duplicate = next(c for c in test if c in known)
    chosen = [*[c for c in test[:40] if c.strip()][::8], duplicate]
    X = embedder.encode(chosen).astype(np.float64)
    return model, X, X_train[:400].mean(axis=0).astype(np.float64)


def _top5(model, x: np.ndarray) -> np.ndarray:
    scores = model.decision_function(x[None, :], search="brute")[0]
    return np.lexsort((np.arange(len(scores)), -scores))[:5]


def test_exact_ig_is_complete_and_matches_brute_force_endpoints(real) -> None:
    model, X, baseline = real
    for x in X:
        result = exact_integrated_gradients(as_scorer(model), x, baseline, targets=_top5(model, x))
        ends = model.decision_function(np.stack([baseline, x]), search="brute")
        np.testing.assert_array_equal(result.f_baseline, ends[0])
        np.testing.assert_array_equal(result.f_x, ends[1])
        gap = result.f_x[result.targets] - result.f_baseline[result.targets]
        assert np.all(np.abs(result.attributions.sum(axis=1) - gap) < 1e-6)


def test_fine_grid_agrees_with_exact_on_a_real_caption(real) -> None:
    full, X, baseline = real
    model = copy.copy(full)  # two learners keep the bisection quick
    model.learners_ = full.learners_[:2]
    exact = exact_integrated_gradients(as_scorer(model), X[0], baseline, targets=_top5(model, X[0]))
    scorer = BruteForceScorer(model)  # the model's brute force, faster (equality tested below)
    grid, found = fine_grid_integrated_gradients(
        model, X[0], baseline, exact.targets, points=500, resolution=1e-9, score=scorer
    )
    assert found > 0
    np.testing.assert_allclose(grid, exact.attributions, atol=1e-6)


def test_scorer_equals_brute_force_decision_function(real) -> None:
    model, X, baseline = real
    path = baseline + np.linspace(0, 1, 9)[:, None] * (X[-1] - baseline)
    batch = np.concatenate([X, path])
    scorer = BruteForceScorer.for_model(model)
    np.testing.assert_array_equal(scorer(batch), model.decision_function(batch, search="brute"))


def test_axis_scores_equal_materialised_nudges_on_real_model(real) -> None:
    model, X, baseline = real
    points = baseline + np.array([0.3, 0.7])[:, None] * (X[1] - baseline)
    steps = 0.3 * np.abs(X[1] - baseline)
    plus, minus = BruteForceScorer.for_model(model).axis_scores(points, steps)
    for p, point in enumerate(points):
        nudged = np.concatenate([point + np.diag(steps), point - np.diag(steps)])
        ref = model.decision_function(nudged, search="brute")
        np.testing.assert_array_equal(plus[p], ref[: len(steps)])
        np.testing.assert_array_equal(minus[p], ref[len(steps) :])
