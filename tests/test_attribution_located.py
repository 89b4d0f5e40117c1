"""The located-jumps estimator: known answers on step functions, and raw errors that show."""

from __future__ import annotations

import numpy as np
import pytest

from tests._vote_models import exact_ig, random_vote_model
from textig.attribution import integrated_gradients
from textig.attribution.ig import COMPLETENESS_TOLERANCE
from textig.attribution.located import NODES_PER_JUMP, PRECISION, PROBE_OFFSET, SHARE_PRECISION

# how far a measured share may be off, relative: its nudge's final bracket, and the probe's
# distance to its jump (known to the jump's bracket)
SHARE_ERROR = SHARE_PRECISION + PRECISION / (2 * PROBE_OFFSET)


def _halfspaces(normals: np.ndarray, offsets: np.ndarray, heights: np.ndarray):
    """F(z) = Σ_k heights[k]·[normals[k]·z > offsets[k]] (one label): flat boundaries."""

    def f(X: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(X) @ normals.T > offsets) * heights).sum(axis=1, keepdims=True)

    return f


def _exact(normals, offsets, heights, x, baseline) -> tuple[np.ndarray, np.ndarray]:
    """Σ over the boundaries the path crosses of ±height·δ⊙n / (δ·n), and the most each
    feature's estimate may be off when every share is measured to ±SHARE_ERROR."""
    delta = x - baseline
    out, bound = np.zeros_like(delta), np.zeros_like(delta)
    for n, b, h in zip(normals, offsets, heights, strict=True):
        start, end = float(n @ baseline > b), float(n @ x > b)
        if start != end:
            out += h * (end - start) * delta * n / (delta @ n)
            bound += SHARE_ERROR * np.abs(h * delta * n / (delta @ n))
    return out, bound


def test_oblique_steps_get_their_exact_ig() -> None:
    """Three tilted half-spaces crossed along the path (one downwards): IG to 1e-3."""
    rng = np.random.default_rng(0)
    d = 6
    baseline, x = rng.normal(size=d), rng.normal(size=d)
    normals = rng.normal(size=(3, d))
    normals *= np.sign(normals @ (x - baseline))[:, None]  # the path enters every half-space
    mids = baseline + np.array([0.2, 0.5, 0.9])[:, None] * (x - baseline)
    offsets = np.einsum("kd,kd->k", normals, mids)
    heights = np.array([1.0, -2.0, 3.0])
    f = _halfspaces(normals, offsets, heights)
    result = integrated_gradients(
        f, x, baseline, targets=[0], estimator="piecewise", complete=False
    )
    assert result.method == "located"
    exact, bound = _exact(normals, offsets, heights, x, baseline)
    assert np.all(np.abs(result.attributions[0] - exact) <= bound)
    assert result.raw_completeness_error[0] <= bound.sum() / abs(exact.sum())
    assert result.steps_used[0] == 3 * NODES_PER_JUMP


def test_knn_votes_get_their_exact_ig() -> None:
    model = random_vote_model(n=300, d=8, n_labels=6, k=10, seed=1)
    rng = np.random.default_rng(2)
    baseline = model.E.mean(axis=0) + 0.3 * rng.normal(size=8)
    cosines = []
    for _ in range(4):
        x = rng.normal(size=8)
        result = integrated_gradients(model, x, baseline, complete=False, max_steps=4000)
        assert result.method == "located"
        exact = exact_ig(model, x, baseline)[result.targets]
        cosines += [a @ b / np.linalg.norm(a) / np.linalg.norm(b)
                    for a, b in zip(result.attributions, exact, strict=True)]  # fmt: skip
        assert np.all(result.raw_completeness_error <= COMPLETENESS_TOLERANCE)
    # one label misses a pair of jumps that cancel inside a scan cell (cosine 0.988)
    assert np.median(cosines) > 0.9999 and np.min(cosines) > 0.98


def test_a_nearer_boundary_behind_a_probe_does_not_hide_its_share() -> None:
    """The path crosses z0 + z1 = 1 at alpha 0.5 (shares 1/2, 1/2, 0). A second boundary,
    nearly parallel to the path and never crossed by it, lies a few 1e-7 from the probe along
    -e0 only: feature 0's first change that way is the wrong one, and only bisecting +e0 on
    its own finds the jump's boundary (one nudge size for both signs lost half the jump)."""
    normals = np.array([[1.0, 1.0, 0.0], [-1.0, 0.0, 1.0 + 1e-7]])
    f = _halfspaces(normals, np.array([1.0, 2e-7]), np.array([1.0, 5.0]))
    x, baseline = np.ones(3), np.zeros(3)
    assert f(np.stack([baseline, x]))[:, 0].tolist() == [0.0, 1.0]  # only the first is crossed
    result = integrated_gradients(
        f, x, baseline, targets=[0], estimator="piecewise", complete=False
    )
    assert result.method == "located"
    np.testing.assert_allclose(result.attributions[0], [0.5, 0.5, 0.0], atol=0.5 * SHARE_ERROR)
    assert result.raw_completeness_error[0] <= SHARE_ERROR


def test_a_mismeasured_jump_is_measured_again_from_its_other_side() -> None:
    """As above, but the second boundary lies a few 1e-7 along +e0, the way to the jump's
    boundary from before it: feature 0's share is lost there (shares sum to 1/2), so the jump
    is probed again from after it, where -e0 reaches the boundary first (two measurements)."""
    normals = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, -1.0 - 1e-7]])
    f = _halfspaces(normals, np.array([1.0, 1e-7]), np.array([1.0, 5.0]))
    x, baseline = np.ones(3), np.zeros(3)
    assert f(np.stack([baseline, x]))[:, 0].tolist() == [0.0, 1.0]
    result = integrated_gradients(
        f, x, baseline, targets=[0], estimator="piecewise", complete=False
    )
    np.testing.assert_allclose(result.attributions[0], [0.5, 0.5, 0.0], atol=0.5 * SHARE_ERROR)
    assert result.steps_used[0] == 2 * NODES_PER_JUMP


def test_simultaneous_crossings_show_in_the_raw_error() -> None:
    """Two boundaries crossed at the same alpha make one jump of 2 whose shares no single-axis
    nudge reproduces (each reaches a score of 1): the raw error must say so."""
    normals, offsets, heights = np.eye(2), np.array([0.5, 0.5]), np.array([1.0, 1.0])
    f = _halfspaces(normals, offsets, heights)
    result = integrated_gradients(f, np.ones(2), np.zeros(2), estimator="piecewise", complete=False)
    assert result.method == "located"
    assert result.raw_completeness_error[0] > 0.05 and not result.converged[0]
    rescaled = integrated_gradients(f, np.ones(2), np.zeros(2), estimator="piecewise")
    assert rescaled.raw_completeness_error[0] == result.raw_completeness_error[0]


def test_too_many_jumps_for_the_budget_fall_back_to_the_quotient() -> None:
    """A staircase of 40 steps along feature 0: 40 jumps x NODES_PER_JUMP nodes exceed a
    budget of 160 nodes, or of 30 jumps' nodes (which the 20 cells of a 5-step scan, two
    jumps each, would fit: the budget counts jumps, not cells), so the quotient estimator
    runs (and says so); a larger budget locates them all and returns the exact IG."""

    def stairs(X: np.ndarray) -> np.ndarray:
        return np.floor(40.0 * np.atleast_2d(X)[:, :1] + 0.5)

    x, baseline = np.array([1.0, 0.3]), np.array([0.0, -0.2])
    cheap = integrated_gradients(stairs, x, baseline, estimator="piecewise", max_steps=160)
    assert cheap.method == "stratified"
    assert cheap.steps_used[0] <= 160 and cheap.step_budget == 160
    coarse = integrated_gradients(
        stairs, x, baseline, estimator="piecewise", steps=5, max_steps=30 * NODES_PER_JUMP
    )
    assert coarse.method == "stratified"
    located = integrated_gradients(
        stairs, x, baseline, estimator="piecewise", steps=20, max_steps=40 * NODES_PER_JUMP
    )
    assert located.method == "located"
    assert located.steps_used[0] == 40 * NODES_PER_JUMP
    assert located.attributions[0] == pytest.approx([40.0, 0.0], abs=0.05)
    assert located.raw_completeness_error[0] <= SHARE_ERROR


def test_located_estimate_is_deterministic() -> None:
    model = random_vote_model(n=200, d=5, n_labels=3, k=5, seed=7)
    rng = np.random.default_rng(8)
    x, baseline = rng.normal(size=5), rng.normal(size=5)
    first = integrated_gradients(model, x, baseline, estimator="piecewise", seed=1)
    again = integrated_gradients(model, x, baseline, estimator="piecewise", seed=1)
    assert first.method == "located"
    assert np.array_equal(first.attributions, again.attributions)
    assert first.n_evaluations == again.n_evaluations


def test_sklearn_knn_probes_every_jump_at_once() -> None:
    """KnnScorer scores one-sided per-point nudges (``nudge_scores``): its exact IG to within
    the shares' precision, and the same shares as a scorer whose nudges are materialised."""
    from sklearn.neighbors import KNeighborsClassifier

    from textig.attribution.exact import exact_integrated_gradients
    from textig.models import as_scorer

    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(200, 6)), (rng.random((200, 3)) < 0.4).astype(int)
    scorer = as_scorer(KNeighborsClassifier(n_neighbors=5).fit(X, Y))
    x, baseline = rng.normal(size=6), X.mean(axis=0)
    one_call = integrated_gradients(scorer, x, baseline, estimator="piecewise", complete=False)
    exact = exact_integrated_gradients(scorer, x, baseline, targets=one_call.targets)
    assert one_call.method == "located"
    delta = x - baseline
    bound = np.zeros_like(exact.attributions)  # every share measured to ±SHARE_ERROR
    for jump in exact.jumps:
        share = np.abs(delta * jump.normal / (delta @ jump.normal))
        for row, label in enumerate(exact.targets):
            bound[row] += SHARE_ERROR * abs(jump.label_delta.get(int(label), 0.0)) * share
    assert np.all(np.abs(one_call.attributions - exact.attributions) <= bound)

    class ScoresOnly:
        def __call__(self, P):
            return scorer(P)

    materialised = integrated_gradients(
        ScoresOnly(), x, baseline, estimator="piecewise", complete=False
    )
    np.testing.assert_allclose(materialised.attributions, one_call.attributions, atol=1e-12)


def test_annexml_capabilities_change_no_estimate() -> None:
    """AnnexML scores path points (``path_scores``) and nudges (``nudge_scores``) faster than
    one by one; the located estimate is the same as from its scores alone."""
    from test_fast_path_toys import random_model

    from textig.annexml.fast_path import BruteForceScorer

    rng = np.random.default_rng(5)
    scorer = BruteForceScorer(random_model(rng, duplicates=1, n_clusters=3))
    x, baseline = 2.0 * rng.normal(size=6), rng.normal(size=6)
    fast = integrated_gradients(scorer, x, baseline, estimator="piecewise", complete=False)

    class ScoresOnly:
        def __call__(self, P):
            return scorer(P)

    plain = integrated_gradients(ScoresOnly(), x, baseline, estimator="piecewise", complete=False)
    assert fast.method == plain.method == "located"
    assert len(fast.targets) >= 2
    np.testing.assert_array_equal(fast.targets, plain.targets)
    np.testing.assert_allclose(fast.attributions, plain.attributions, atol=1e-12)
    assert fast.raw_completeness_error.max() <= 0.05


def test_a_path_that_changes_no_score_gets_zero_attributions() -> None:
    """An asked-for label whose score never moves along the path (a boundary the path misses):
    every feature scores 0, with no probe spent, not a crash."""
    rng = np.random.default_rng(4)
    d = 5
    baseline, x = rng.normal(size=d), rng.normal(size=d)
    normal = rng.normal(size=d)
    offset = max(normal @ baseline, normal @ x) + 1.0  # both ends (and the path) below it
    f = _halfspaces(normal[None], np.array([offset]), np.array([2.0]))
    result = integrated_gradients(
        f, x, baseline, targets=[0], estimator="piecewise", complete=False
    )
    assert result.method == "located"
    np.testing.assert_array_equal(result.attributions, np.zeros((1, d)))
    assert result.steps_used[0] == 0
