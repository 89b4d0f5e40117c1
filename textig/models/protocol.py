"""The model protocol: what textig needs from a model to explain it, and what makes it better.

A **scorer** maps features to label scores. That is all the black-box IG estimator needs.
Optional **capabilities** let a model give more: exact IG (``path_jumps``), faster black-box IG
(``axis_scores``, ``nudge_scores``, ``path_scores``), autograd IG (``gradients``), evidence
(``neighbours``), and a default baseline (``feature_mean``). ``Explainer`` talks to models only
through this protocol; each kind of model gets a small adapter (``textig.models.adapters``), and
every adapter passes the same conformance checks (``textig.models.conformance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from textig.attribution.exact import PathJump
from textig.errors import TextigError


@runtime_checkable
class Scorer(Protocol):
    """The required part: label names, a feature check, and batch scores.

    ``labels``: the label names, in score-column order. ``dim``: the feature dimension.
    ``check_features(identity, dim)`` refuses (TextigError) features the model was not made
    for: another dimension, or another embedder where the model recorded one.
    ``__call__(X)``: scores (n, L) float64 of a batch X (n, dim).
    ``describe()``: plain data about the model for reports: at least ``class``; ``path`` (the
    file it was read from), ``scores`` (what the scores are) and parameters where known.
    """

    labels: Sequence[str]
    dim: int

    def check_features(self, identity: str | None, dim: int) -> None: ...

    def __call__(self, X: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class HasPathJumps(Protocol):
    """Piecewise-constant scores whose changes along a straight path are known exactly.

    ``path_jumps(x, baseline)``: every jump of the scores along x' + alpha(x - x'), each with
    its alpha, the label changes and the normal of the boundary crossed (exact IG sums them).
    """

    def path_jumps(self, x: np.ndarray, baseline: np.ndarray) -> list[PathJump]: ...


@runtime_checkable
class HasAxisScores(Protocol):
    """Scores of every one-feature nudge of some points, faster than materialising them.

    ``axis_scores(points (m, d), steps (d,), columns)`` -> (plus, minus), each (m, d, C):
    the scores of ``points[p] ± steps[i]·e_i`` for the label ``columns``.
    """

    def axis_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class HasNudgeScores(Protocol):
    """Scores of one-sided, per-point one-feature nudges, faster than materialising them.

    ``nudge_scores(points (m, d), steps (m, d), columns)`` -> (m, d, C): the scores of
    ``points[p] + steps[p, i]·e_i`` (signed steps; a zero step gives the point's own scores).
    The located-jumps estimator probes every jump at once with it, each feature only the way
    and at the size its search needs.
    """

    def nudge_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> np.ndarray: ...


@runtime_checkable
class HasPathScores(Protocol):
    """Scores of many points on one straight line, faster than scoring them one by one.

    ``path_scores(start (d,), end (d,), alphas (n,), columns)`` -> (n, C): the scores of
    ``start + alpha·(end - start)``. The located-jumps estimator bisects along the explained
    path with it; a model whose ranking keys are linear in x ranks only what can change there.
    """

    def path_scores(
        self, start: np.ndarray, end: np.ndarray, alphas: np.ndarray, columns=None
    ) -> np.ndarray: ...


@runtime_checkable
class HasGradients(Protocol):
    """Differentiable scores: ``gradients(X (n, d), targets (T,))`` -> (n, T, d)."""

    def gradients(self, X: np.ndarray, targets: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Neighbour:
    """A training item behind a score: it adds ``weight`` to the score of each of its labels.

    For AnnexML the weight is the number of learners that found it (one vote each); for a
    uniform kNN classifier, 1/k. A label's score is the sum of its neighbours' weights.
    """

    index: int
    weight: float
    labels: tuple[int, ...]


@runtime_checkable
class HasNeighbours(Protocol):
    """Scores made of training items' votes: ``neighbours(x)`` lists the items behind them.

    ``max_score`` is the largest score a label can get (AnnexML: learners * neighbours).
    """

    max_score: float

    def neighbours(self, x: np.ndarray) -> list[Neighbour]: ...


def check_feature_identity(
    dim: int, embedder: str | None, identity: str | None, given: int
) -> None:
    """Refuse features of another dimension, or of another embedder than the recorded one."""
    if given != dim:
        raise TextigError(
            f"model expects {dim}-d features, the embedder gives {given}-d "
            f"(trained with {embedder or 'unknown embedder'})"
        )
    if identity is not None and embedder is not None and identity != embedder:
        raise TextigError(f"model was trained with embedder {embedder!r}, not {identity!r}")


def feature_mean(scorer: Scorer) -> np.ndarray | None:
    """The mean of the model's training features, where the model recorded it."""
    mean = getattr(scorer, "feature_mean", None)
    return None if mean is None else np.asarray(mean, dtype=np.float64)


def capabilities(scorer: Scorer) -> list[str]:
    """Names of the optional capabilities a scorer offers, for reports and errors."""
    found = {
        "path_jumps": isinstance(scorer, HasPathJumps),
        "axis_scores": isinstance(scorer, HasAxisScores),
        "nudge_scores": isinstance(scorer, HasNudgeScores),
        "path_scores": isinstance(scorer, HasPathScores),
        "gradients": isinstance(scorer, HasGradients),
        "neighbours": isinstance(scorer, HasNeighbours),
        "feature_mean": feature_mean(scorer) is not None,
    }
    return [name for name, present in found.items() if present]
