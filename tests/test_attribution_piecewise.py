"""IG on a piecewise-constant, scale-invariant kNN vote model, against its exact IG."""

from __future__ import annotations

import numpy as np
import pytest

from tests._vote_models import exact_ig, random_vote_model
from textig.attribution import integrated_gradients

D = 8


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def cases():
    """(model, x, baseline, exact IG of the changing labels, their ids) for 8 inputs."""
    model = random_vote_model(n=300, d=D, n_labels=6, k=10, seed=1)
    rng = np.random.default_rng(2)
    baseline = model.E.mean(axis=0) + 0.3 * rng.normal(size=D)
    out = []
    for _ in range(8):
        x = rng.normal(size=D)
        scores = model(np.stack([baseline, x]))
        targets = np.flatnonzero(scores[0] != scores[1])
        out.append((model, x, baseline, exact_ig(model, x, baseline)[targets], targets))
    return out


def test_exact_ig_helper_is_complete(cases) -> None:
    for model, x, baseline, exact, targets in cases:
        scores = model(np.stack([baseline, x]))
        assert np.allclose(exact.sum(axis=1), scores[1, targets] - scores[0, targets])


def _cosines(cases, **kwargs) -> list[float]:
    found = []
    for model, x, baseline, exact, targets in cases:
        result = integrated_gradients(model, x, baseline, targets=targets, **kwargs)
        found += [_cosine(a, b) for a, b in zip(result.attributions, exact, strict=True)]
    return found


def test_auto_estimator_tracks_exact_ig(cases) -> None:
    """Few jumps: the default piecewise estimator locates them and measures their shares."""
    cos = _cosines(cases, steps=100, max_steps=1600)
    assert np.median(cos) > 0.999 and np.mean(cos) > 0.99


def test_quotient_estimator_tracks_exact_ig(cases) -> None:
    """The axis-nudge quotient on stratified nodes (what runs where jumps are too many)."""
    cos = _cosines(cases, steps=100, max_steps=200, method="stratified")
    assert np.median(cos) > 0.7 and np.mean(cos) > 0.6


def test_tiny_steps_fail_on_votes(cases) -> None:
    """The seeds' mistake: a tiny step rarely crosses a jump (guards the test's power)."""
    cos = _cosines(cases, steps=100, max_steps=100, estimator="piecewise", scale=1e-4)
    assert np.mean(cos) < 0.5


def test_raw_completeness_error_is_measured_not_imposed(cases) -> None:
    """The raw error is |Σ raw attributions - ΔF| / |ΔF| of the estimate before rescaling:
    recomputed here from the unrescaled attributions, and unchanged by the rescaling."""
    model, x, baseline, _, targets = cases[0]
    raw = integrated_gradients(
        model, x, baseline, targets=targets, complete=False, method="stratified"
    )
    assert raw.estimator == "piecewise" and raw.method == "stratified"
    gap = raw.f_x[targets] - raw.f_baseline[targets]
    measured = np.abs(raw.attributions.sum(axis=1) - gap) / np.abs(gap)
    np.testing.assert_allclose(raw.raw_completeness_error, measured, rtol=1e-12)
    rescaled = integrated_gradients(model, x, baseline, targets=targets, method="stratified")
    np.testing.assert_array_equal(rescaled.raw_completeness_error, raw.raw_completeness_error)
    # this toy's grazing crossings (huge opposite shares) defeat the axis-nudge estimator:
    # the raw error must show it, whatever the rescaled sums say
    assert np.max(rescaled.raw_completeness_error) > 0.05
    assert np.all(rescaled.converged == (rescaled.raw_completeness_error <= 0.05))


def test_labels_that_miss_get_more_nodes_within_the_budget(cases) -> None:
    model, x, baseline, _, targets = cases[3]

    def run(budget: int):
        return integrated_gradients(
            model, x, baseline, targets=targets, steps=50, max_steps=budget, method="stratified"
        )

    once = run(50)
    assert np.all(once.steps_used == 50)
    refined = run(400)
    missed = once.raw_completeness_error > 0.05
    assert np.all(refined.steps_used[~missed] == 50)
    assert np.all(refined.steps_used[missed] > 50) and np.all(refined.steps_used <= 400)
    stopped_early = refined.steps_used < 400
    assert np.all(refined.raw_completeness_error[stopped_early] <= 0.05)
    assert np.all(refined.converged[stopped_early])


def test_default_targets_are_the_changing_labels(cases) -> None:
    model, x, baseline, _, targets = cases[0]
    result = integrated_gradients(model, x, baseline)
    assert np.array_equal(result.targets, targets)


def test_deterministic_given_seed(cases) -> None:
    model, x, baseline, _, targets = cases[1]

    def run(seed: int):
        return integrated_gradients(
            model, x, baseline, targets=targets, seed=seed, method="stratified"
        )

    first, again, other = run(5), run(5), run(6)
    assert np.array_equal(first.attributions, again.attributions)
    assert not np.array_equal(first.attributions, other.attributions)


def test_unused_feature_gets_zero_on_votes() -> None:
    model = random_vote_model(n=200, d=D, n_labels=4, k=5, seed=3)
    model.E[:, -1] = 0.0  # keys ignore the last feature
    rng = np.random.default_rng(4)
    x, baseline = rng.normal(size=D), model.E.mean(axis=0) + 0.3 * rng.normal(size=D)
    for method in (None, "stratified"):
        result = integrated_gradients(
            model, x, baseline, estimator="piecewise", complete=False, method=method
        )
        assert np.all(result.attributions[:, -1] == 0.0)


@pytest.mark.parametrize("reach", [1.0, 4e-4])
def test_a_probe_straddling_a_jump_still_means_piecewise(reach: float) -> None:
    """A tiny probe step that happens to cross a jump makes a finite difference of the whole
    jump, ΔF/2h: it must not pass for a smooth gradient, even where it happens to account for
    F(x) - F(x') (reach 4e-4), or the estimate comes back all zero."""
    x, baseline = np.array([reach, 1.0, 1.0, 1.0]), np.array([0.0, 0.5, 0.0, 0.0])
    threshold = reach / 3.0 + 0.5e-4  # feature 0 at the first probe node, within its tiny step

    def step(X: np.ndarray) -> np.ndarray:
        return 10.0 * (np.asarray(X)[:, :1] > threshold)

    result = integrated_gradients(step, x, baseline)
    assert result.estimator == "piecewise"
    assert result.attributions[0, 0] == pytest.approx(10.0, rel=1e-3)  # exact IG: feature 0
    assert np.allclose(result.attributions[0, 1:], 0.0)
    assert result.raw_completeness_error[0] <= 0.05  # measured before any rescaling
