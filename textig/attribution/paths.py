"""Quadrature rules on [0, 1] and the straight path between a baseline and an input.

IG is an integral over alpha in [0, 1]; each rule returns nodes and weights whose weighted sum
approximates it. Gauss-Legendre is exact for polynomials up to degree 2m - 1 and is the right
choice for smooth models; "stratified" (one seeded random node per equal cell) is unbiased for
discontinuous integrands, where a fixed grid measures every jump with the same offset.
"""

from __future__ import annotations

import numpy as np

from embeddings.quadrature import gauss_legendre
from textig.errors import TextigError

RULES = ("left", "right", "middle", "trapezoid", "gausslegendre", "stratified")


def quadrature(
    method: str, steps: int, *, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(nodes (n,), weights (n,)) of ``method`` with ``steps`` cells on [0, 1]; weights sum to 1.

    Trapezoid uses steps + 1 nodes (both ends); every other rule uses ``steps`` nodes.
    """
    if not isinstance(steps, int | np.integer) or isinstance(steps, bool) or steps < 1:
        raise TextigError(f"steps must be a positive integer, got {steps!r}")
    m = int(steps)
    cells = np.arange(m, dtype=np.float64)
    if method == "left":
        return cells / m, np.full(m, 1.0 / m)
    if method == "right":
        return (cells + 1.0) / m, np.full(m, 1.0 / m)
    if method == "middle":
        return (cells + 0.5) / m, np.full(m, 1.0 / m)
    if method == "trapezoid":
        weights = np.full(m + 1, 1.0 / m)
        weights[[0, -1]] = 0.5 / m
        return np.linspace(0.0, 1.0, m + 1), weights
    if method == "gausslegendre":
        return gauss_legendre(m)
    if method == "stratified":
        rng = rng if rng is not None else np.random.default_rng(0)
        return (cells + rng.random(m)) / m, np.full(m, 1.0 / m)
    raise TextigError(f"unknown quadrature method {method!r} (known: {', '.join(RULES)})")


def path_points(x: np.ndarray, baseline: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Points baseline + alpha·(x - baseline), one row per alpha: (n, d)."""
    alphas = np.asarray(alphas, dtype=np.float64)
    return baseline[None, :] + alphas[:, None] * (x - baseline)[None, :]


def path_averaged_gradient(
    attributions: np.ndarray, x: np.ndarray, baseline: np.ndarray
) -> np.ndarray:
    """ḡ = IG / (x - x') per feature, 0 where x_i = x'_i: what word back-projections chain on."""
    delta = x - baseline
    safe = np.where(delta == 0, 1.0, delta)
    return np.where(delta == 0, 0.0, attributions / safe)
