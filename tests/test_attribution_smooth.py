"""IG on smooth models: the estimator must converge to the true IG."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textig.attribution import gradient_x_input, integrated_gradients, quadrature

RNG = np.random.default_rng(7)
D, L = 6, 3


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_linear_model_exact() -> None:
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    result = integrated_gradients(lambda X: X @ A.T, x, baseline)
    assert result.estimator == "smooth"
    assert _relative(result.attributions, A * (x - baseline)) < 1e-6
    assert np.all(result.completeness_error < 1e-6)


def test_quadratic_model_matches_closed_form() -> None:
    # f_l(x) = Σ_i A_li x_i², so IG_li = A_li (x_i² - x'_i²)
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    result = integrated_gradients(lambda X: (X**2) @ A.T, x, baseline, steps=8)
    assert _relative(result.attributions, A * (x**2 - baseline**2)) < 1e-6


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(D, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8), torch.nn.Tanh(),
        torch.nn.Linear(8, L),
    ).double()  # fmt: skip
    with torch.no_grad():
        net[0].weight[:, -1] = 0.0  # the last feature is a dummy
    return net


def _autograd_ig(net: torch.nn.Module, x: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    nodes, weights = quadrature("gausslegendre", 200)
    points = torch.tensor(baseline + nodes[:, None] * (x - baseline), requires_grad=True)
    rows = []
    for label in range(L):
        (grad,) = torch.autograd.grad(net(points)[:, label].sum(), points)
        rows.append(weights @ grad.numpy() * (x - baseline))
    return np.stack(rows)


def test_torch_mlp_matches_autograd_ig() -> None:
    net = _mlp()
    x, baseline = RNG.normal(size=D), RNG.normal(size=D) * 0.1

    def f(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(X)).numpy()

    result = integrated_gradients(f, x, baseline, targets=np.arange(L))
    assert result.estimator == "smooth"
    truth = _autograd_ig(net, x, baseline)
    assert _relative(result.attributions, truth) < 1e-3
    assert np.all(result.attributions[:, -1] == 0.0)  # dummy: exactly zero
    assert np.all(result.completeness_error < 1e-3)
    few = integrated_gradients(f, x, baseline, targets=np.arange(L), steps=2)
    assert _relative(few.attributions, truth) > _relative(result.attributions, truth)


def test_symmetric_features_get_equal_attributions() -> None:
    def f(X: np.ndarray) -> np.ndarray:
        return np.stack([np.sin(X[:, 0] + X[:, 1]) * X[:, 2], X[:, 0] * X[:, 1]], axis=1)

    x, baseline = np.array([0.7, 0.7, 1.3]), np.array([0.1, 0.1, 0.2])
    result = integrated_gradients(f, x, baseline, targets=[0, 1])
    assert result.attributions[:, 0] == pytest.approx(result.attributions[:, 1], rel=1e-9)
    assert np.all(result.attributions[:, 0] != 0)


def test_gbar_times_delta_is_the_attribution() -> None:
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    baseline[2] = x[2]
    result = integrated_gradients(lambda X: np.tanh(X @ A.T), x, baseline)
    assert np.allclose(result.gbar * (x - baseline), result.attributions)
    assert np.all(result.gbar[:, 2] == 0) and np.all(result.attributions[:, 2] == 0)


def test_axis_scores_fast_path_gives_the_same_answer() -> None:
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    calls = {"axis": 0}

    class Model:
        def __call__(self, X: np.ndarray) -> np.ndarray:
            return np.tanh(X @ A.T)

        def axis_scores(self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray):
            calls["axis"] += 1
            nudges = np.diag(steps)[None, :, :]
            plus, minus = self(points[:, None, :] + nudges), self(points[:, None, :] - nudges)
            return plus[..., columns], minus[..., columns]

    fast = integrated_gradients(Model(), x, baseline)
    slow = integrated_gradients(lambda X: np.tanh(X @ A.T), x, baseline)
    assert calls["axis"] > 0
    assert np.allclose(fast.attributions, slow.attributions, rtol=1e-12, atol=1e-15)


def test_small_batches_give_the_same_answer() -> None:
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    sizes = []

    def f(X: np.ndarray) -> np.ndarray:
        sizes.append(len(X))
        return np.tanh(X @ A.T)

    small = integrated_gradients(f, x, baseline, batch_size=7)
    assert max(sizes) <= 7
    big = integrated_gradients(f, x, baseline)
    assert np.allclose(small.attributions, big.attributions)


def test_gradient_x_input_of_linear_model() -> None:
    A = RNG.normal(size=(L, D))
    x, baseline = RNG.normal(size=D), RNG.normal(size=D)
    gxi = gradient_x_input(lambda X: X @ A.T, x, baseline, targets=[0, 2], scale=1e-3)
    assert np.allclose(gxi, A[[0, 2]] * (x - baseline))
