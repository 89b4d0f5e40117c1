"""Bad inputs and degenerate baselines give a one-line TextigError, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from tests._vote_models import random_vote_model
from textig.attribution import integrated_gradients, is_scale_invariant, resolve_baseline
from textig.errors import TextigError

A = np.random.default_rng(0).normal(size=(3, 4))


def linear(X: np.ndarray) -> np.ndarray:
    return X @ A.T


X4, B4 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, -1.0, 2.0])


@pytest.mark.parametrize(
    ("f", "x", "baseline", "kwargs"),
    [
        (linear, X4[:3], B4, {}),  # shapes differ
        (linear, np.ones((2, 4)), B4, {}),  # x not a vector
        (linear, np.array([1.0, np.nan, 0, 0]), B4, {}),
        (linear, X4, np.array([0, np.inf, 0, 0]), {}),
        (linear, X4, X4.copy(), {}),  # x == baseline
        (lambda X: np.ones(len(X)), X4, B4, {}),  # 1-d output
        (lambda X: np.ones((len(X) + 1, 3)), X4, B4, {}),  # wrong rows
        (lambda X: np.full((len(X), 3), np.nan), X4, B4, {}),
        (linear, X4, B4, {"estimator": "magic"}),
        (linear, X4, B4, {"method": "simpson"}),
        (linear, X4, B4, {"steps": 0}),
        (linear, X4, B4, {"targets": [7]}),
        (linear, X4, B4, {"targets": ["a"]}),
        (linear, X4, B4, {"scale": -1.0}),
        (linear, X4, B4, {"batch_size": 0}),
        ("not callable", X4, B4, {}),
    ],
)
def test_bad_input_is_a_textig_error(f, x, baseline, kwargs) -> None:
    with pytest.raises(TextigError):
        integrated_gradients(f, x, baseline, **kwargs)


def test_output_shape_changing_between_calls_is_an_error() -> None:
    calls = []

    def f(X: np.ndarray) -> np.ndarray:
        calls.append(1)
        return X @ A.T if len(calls) == 1 else X @ A.T[:, :2]

    with pytest.raises(TextigError, match="shape"):
        integrated_gradients(f, X4, B4)


def test_zero_and_parallel_baselines_refused_for_scale_invariant_model() -> None:
    model = random_vote_model(n=100, d=4, n_labels=3, k=5, seed=0)
    assert is_scale_invariant(model, X4)
    for baseline in (np.zeros(4), 0.5 * X4, -2.0 * X4):
        with pytest.raises(TextigError, match="scale-invariant"):
            integrated_gradients(model, X4, baseline)


def test_zero_baseline_fine_for_ordinary_model() -> None:
    assert not is_scale_invariant(linear, X4)
    result = integrated_gradients(linear, X4, np.zeros(4))
    assert np.allclose(result.attributions, A * X4)


def test_no_changing_label_gives_empty_result() -> None:
    result = integrated_gradients(lambda X: np.ones((len(X), 2)), X4, B4)
    assert result.attributions.shape == (0, 4) and len(result.targets) == 0


def test_resolve_baseline() -> None:
    feats = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(resolve_baseline("zero", 4), np.zeros(4))
    assert np.array_equal(resolve_baseline("mean", 4, training_features=feats), feats.mean(0))
    assert np.array_equal(resolve_baseline([1, 2, 3, 4], 4), [1.0, 2.0, 3.0, 4.0])
    narrow = {"training_features": feats[:, :2]}
    for bad, kwargs in [("mean", {}), ("median", {}), ([1, 2], {}), ("mean", narrow)]:
        with pytest.raises(TextigError):
            resolve_baseline(bad, 4, **kwargs)
