"""Quadrature rules and path points of textig.attribution."""

from __future__ import annotations

import numpy as np
import pytest

from textig.attribution import RULES, path_points, quadrature
from textig.errors import TextigError

# highest polynomial degree each rule integrates exactly with m cells
EXACT_DEGREE = {"left": 0, "right": 0, "middle": 1, "trapezoid": 1}


def _integral(method: str, steps: int, degree: int) -> float:
    nodes, weights = quadrature(method, steps)
    return float(weights @ nodes**degree)


@pytest.mark.parametrize("method", RULES)
def test_weights_sum_to_one_and_nodes_lie_in_unit_interval(method: str) -> None:
    nodes, weights = quadrature(method, 7)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all((nodes >= 0) & (nodes <= 1))


@pytest.mark.parametrize(("method", "degree"), EXACT_DEGREE.items())
def test_riemann_rules_exact_up_to_their_degree(method: str, degree: int) -> None:
    for p in range(degree + 1):
        assert _integral(method, 5, p) == pytest.approx(1.0 / (p + 1), abs=1e-14)
    assert _integral(method, 5, degree + 1) != pytest.approx(1.0 / (degree + 2), abs=1e-6)


def test_known_riemann_errors() -> None:
    m = 10
    assert _integral("left", m, 1) == pytest.approx(0.5 - 0.5 / m)
    assert _integral("right", m, 1) == pytest.approx(0.5 + 0.5 / m)
    assert _integral("middle", m, 2) == pytest.approx(1 / 3 - 1 / (12 * m**2))
    assert _integral("trapezoid", m, 2) == pytest.approx(1 / 3 + 1 / (6 * m**2))


@pytest.mark.parametrize("m", [1, 3, 8])
def test_gauss_legendre_exact_to_degree_2m_minus_1(m: int) -> None:
    for p in range(2 * m):
        assert _integral("gausslegendre", m, p) == pytest.approx(1.0 / (p + 1), rel=1e-12)
    assert _integral("gausslegendre", m, 2 * m) != pytest.approx(1.0 / (2 * m + 1), rel=1e-9)


def test_stratified_one_seeded_node_per_cell() -> None:
    nodes, _ = quadrature("stratified", 20, rng=np.random.default_rng(3))
    assert np.array_equal(np.floor(nodes * 20), np.arange(20))
    again, _ = quadrature("stratified", 20, rng=np.random.default_rng(3))
    other, _ = quadrature("stratified", 20, rng=np.random.default_rng(4))
    assert np.array_equal(nodes, again) and not np.array_equal(nodes, other)


def test_path_points_run_from_baseline_to_input() -> None:
    x, baseline = np.array([1.0, 2.0]), np.array([-1.0, 0.0])
    points = path_points(x, baseline, np.array([0.0, 0.5, 1.0]))
    assert np.allclose(points, [[-1.0, 0.0], [0.0, 1.0], [1.0, 2.0]])


@pytest.mark.parametrize(("method", "steps"), [("simpson", 5), ("middle", 0), ("left", 2.5)])
def test_bad_rule_or_steps_is_a_textig_error(method: str, steps) -> None:
    with pytest.raises(TextigError):
        quadrature(method, steps)
