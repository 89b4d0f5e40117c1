"""Conformance checks every scorer passes, the way scikit-learn's ``check_estimator`` runs
every estimator: ``check_scorer(scorer, X)`` raises ``ConformanceError`` naming the first
broken promise of the protocol (``textig.models.protocol``) or of a capability it offers.

Each check measures the model against itself by an independent route (scores row by row vs in
a batch, path jumps vs the scores at the path's ends, neighbours' weights vs the scores,
gradients vs central differences), so a wrong adapter fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from textig.errors import TextigError
from textig.models.protocol import (
    HasAxisScores,
    HasGradients,
    HasNeighbours,
    HasNudgeScores,
    HasPathJumps,
    HasPathScores,
    Scorer,
    feature_mean,
)

TOLERANCE = 1e-9


class ConformanceError(AssertionError):
    """A scorer breaks a promise of the model protocol."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConformanceError(message)


def check_interface(scorer: Scorer, X: np.ndarray) -> None:
    """Label names, dimension, describe(), and the required methods."""
    _require(isinstance(scorer, Scorer), "not a Scorer: labels, dim, check_features, describe")
    labels = list(scorer.labels)
    _require(len(labels) > 0, "the scorer names no labels")
    _require(all(isinstance(name, str) for name in labels), "label names must be strings")
    _require(len(set(labels)) == len(labels), "label names must be unique")
    _require(isinstance(scorer.dim, int) and scorer.dim == X.shape[1], "dim must be X's width")
    info = scorer.describe()
    _require(isinstance(info, dict) and isinstance(info.get("class"), str), "describe(): class")
    try:
        json.dumps(info)
    except (TypeError, ValueError) as error:
        raise ConformanceError(f"describe() is not plain JSON data: {error}") from None


def check_features(scorer: Scorer, X: np.ndarray) -> None:
    """Its own dimension is accepted; another is refused with a TextigError."""
    scorer.check_features(None, scorer.dim)
    for wrong in (scorer.dim + 1, max(scorer.dim - 1, 1)):
        if wrong == scorer.dim:
            continue
        try:
            scorer.check_features(None, wrong)
        except TextigError:
            continue
        raise ConformanceError(f"check_features accepted {wrong}-d features (dim {scorer.dim})")


def check_scores(scorer: Scorer, X: np.ndarray) -> None:
    """(n, L) finite float64; deterministic; a row's scores do not depend on its batch."""
    scores = scorer(X)
    _require(isinstance(scores, np.ndarray), "scores must be a numpy array")
    _require(scores.shape == (len(X), len(scorer.labels)), f"scores shape {scores.shape}")
    _require(scores.dtype == np.float64, f"scores must be float64, not {scores.dtype}")
    _require(bool(np.all(np.isfinite(scores))), "scores must be finite")
    _require(np.array_equal(scorer(X), scores), "two calls on the same batch differ")
    alone = np.concatenate([scorer(X[i : i + 1]) for i in range(len(X))])
    scale = max(1.0, float(np.max(np.abs(scores))))
    _require(
        bool(np.allclose(alone, scores, rtol=0, atol=1e-6 * scale)),
        "a row's scores depend on the batch it is scored in",
    )


def check_path_jumps(scorer: HasPathJumps, X: np.ndarray) -> None:
    """Jumps lie in [0, 1] with finite (d,) normals, and telescope: Σ ΔF = F(x) - F(x'),
    on paths between consecutive sample points."""
    for x, baseline in zip(X[1:5], X[:4], strict=False):
        jumps = scorer.path_jumps(x, baseline)
        ends = scorer(np.stack([baseline, x]))
        total = np.zeros(ends.shape[1])
        for jump in jumps:
            _require(0.0 <= jump.alpha <= 1.0, f"a jump at alpha {jump.alpha} is off the path")
            normal = np.asarray(jump.normal)
            _require(normal.shape == (scorer.dim,), f"a jump's normal has shape {normal.shape}")
            _require(bool(np.all(np.isfinite(normal))), "a jump's normal is not finite")
            for label, value in jump.label_delta.items():
                total[int(label)] += value
        error = np.max(np.abs(total - (ends[1] - ends[0])))
        _require(error <= TOLERANCE * max(1.0, float(np.max(np.abs(ends)))),
                 f"path jumps sum to F(x) - F(x') only within {error:.3g}")  # fmt: skip


def _materialised(scorer: Scorer, points: np.ndarray, steps: np.ndarray, columns) -> np.ndarray:
    """(m, d, C) scores of points[p] + steps[p, i]·e_i, each nudged copy scored itself."""
    m, d = points.shape
    nudged = points[:, None, :] + np.eye(d)[None] * steps[:, None, :]
    return scorer(nudged.reshape(-1, d))[:, columns].reshape(m, d, -1)


def check_axis_scores(scorer: HasAxisScores, X: np.ndarray) -> None:
    """Nudge scores equal the scores of the nudged points, materialised."""
    points, d = X[:2], X.shape[1]
    steps = np.linspace(0.01, 0.05, d)
    columns = np.arange(min(3, len(scorer.labels)))
    plus, minus = scorer.axis_scores(points, steps, columns)
    for got, sign, name in ((plus, 1.0, "+"), (minus, -1.0, "-")):
        want = _materialised(scorer, points, sign * np.broadcast_to(steps, points.shape), columns)
        _require(bool(np.allclose(got, want, atol=1e-9)), f"axis_scores({name}) differ")


def check_nudge_scores(scorer: HasNudgeScores, X: np.ndarray) -> None:
    """One-sided nudges, each point its own signed steps (some zero), equal the scores of the
    nudged points, materialised."""
    points, d = X[:2], X.shape[1]
    ramp = np.linspace(0.01, 0.05, d)
    steps = np.stack([ramp * np.resize([1.0, -1.0, 0.0], d), -ramp[::-1]])[: len(points)]
    columns = np.arange(min(3, len(scorer.labels)))
    got = np.asarray(scorer.nudge_scores(points, steps, columns))
    _require(got.shape == (len(points), d, len(columns)), f"nudge_scores shape {got.shape}")
    want = _materialised(scorer, points, steps, columns)
    _require(bool(np.allclose(got, want, atol=1e-9)), "nudge_scores differ")


def check_path_scores(scorer: HasPathScores, X: np.ndarray) -> None:
    """Scores along a line (ends, inside, a little beyond) equal the scores of its points."""
    start, end = X[0], X[1]
    alphas = np.concatenate([np.linspace(0.0, 1.0, 41), [-0.05, 1.05, 0.5]])
    columns = np.arange(min(3, len(scorer.labels)))
    got = np.asarray(scorer.path_scores(start, end, alphas, columns))
    _require(got.shape == (len(alphas), len(columns)), f"path_scores shape {got.shape}")
    want = scorer(start[None, :] + alphas[:, None] * (end - start)[None, :])[:, columns]
    _require(bool(np.allclose(got, want, atol=1e-9)), "path_scores differ")


def check_gradients(scorer: HasGradients, X: np.ndarray) -> None:
    """Gradients (n, T, d) equal central differences of the scores (relative 1e-4)."""
    points, d = X[:2], X.shape[1]
    targets = np.arange(min(3, len(scorer.labels)))
    grads = np.asarray(scorer.gradients(points, targets))
    _require(grads.shape == (len(points), len(targets), d), f"gradients shape {grads.shape}")
    h = 1e-5 * max(1.0, float(np.max(np.abs(points))))
    eye = np.eye(d) * h
    plus = scorer((points[:, None, :] + eye[None]).reshape(-1, d)).reshape(len(points), d, -1)
    minus = scorer((points[:, None, :] - eye[None]).reshape(-1, d)).reshape(len(points), d, -1)
    numeric = ((plus - minus) / (2 * h))[..., targets].transpose(0, 2, 1)
    scale = max(1e-8, float(np.max(np.abs(numeric))))
    error = float(np.max(np.abs(grads - numeric))) / scale
    _require(error <= 1e-4, f"gradients differ from central differences by {error:.3g}")


def check_neighbours(scorer: HasNeighbours, X: np.ndarray) -> None:
    """The weights of the neighbours carrying a label add up to its score."""
    scores = scorer(X)
    _require(float(scorer.max_score) >= float(np.max(scores)), "a score exceeds max_score")
    for row, x in enumerate(X):
        total = np.zeros(scores.shape[1])
        for item in scorer.neighbours(x):
            _require(item.weight > 0, "a neighbour has a weight <= 0")
            total[list(item.labels)] += item.weight
        error = float(np.max(np.abs(total - scores[row])))
        _require(error <= TOLERANCE * max(1.0, scorer.max_score),
                 f"neighbours' weights differ from the scores by {error:.3g}")  # fmt: skip


def check_feature_mean(scorer: Scorer, X: np.ndarray) -> None:
    """A recorded training mean is a finite (dim,) vector."""
    mean = feature_mean(scorer)
    if mean is not None:
        _require(mean.shape == (scorer.dim,), f"feature_mean has shape {mean.shape}")
        _require(bool(np.all(np.isfinite(mean))), "feature_mean is not finite")


def scorer_checks(scorer: Scorer) -> list[Callable[[Scorer, np.ndarray], None]]:
    """The checks that apply to this scorer: the required ones and its capabilities'."""
    checks: list[Callable] = [check_interface, check_features, check_scores, check_feature_mean]
    if isinstance(scorer, HasPathJumps):
        checks.append(check_path_jumps)
    if isinstance(scorer, HasAxisScores):
        checks.append(check_axis_scores)
    if isinstance(scorer, HasNudgeScores):
        checks.append(check_nudge_scores)
    if isinstance(scorer, HasPathScores):
        checks.append(check_path_scores)
    if isinstance(scorer, HasGradients):
        checks.append(check_gradients)
    if isinstance(scorer, HasNeighbours):
        checks.append(check_neighbours)
    return checks


def check_scorer(scorer: Scorer, X: np.ndarray | None = None, *, seed: int = 0) -> None:
    """Run every check that applies on the sample points ``X`` (n >= 3, default: seeded
    normal points of the scorer's dimension). Raises ConformanceError."""
    if X is None:
        X = np.random.default_rng(seed).normal(size=(6, scorer.dim))
    X = np.asarray(X, dtype=np.float64)
    _require(X.ndim == 2 and len(X) >= 3, "check_scorer needs at least 3 sample points")
    for check in scorer_checks(scorer):
        check(scorer, X)
