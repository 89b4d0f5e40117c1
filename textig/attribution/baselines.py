"""Baselines x' for IG, and the check that refuses a degenerate one.

A scale-invariant model (AnnexML L2-normalises its inputs) scores every point of the path from
a zero baseline, or from any baseline parallel to x, exactly like x (or not at all, where the
path crosses the origin): IG would attribute nothing, or garbage. Such baselines are refused.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from textig.attribution._utils import as_vector, check_scores
from textig.errors import TextigError

BASELINE_KINDS = ("zero", "mean")


def resolve_baseline(
    spec: str | np.ndarray, dim: int, *, training_features: np.ndarray | None = None
) -> np.ndarray:
    """The baseline vector (dim,) for "zero", "mean" (of ``training_features``) or an array.

    Caption baselines ("text:...") need an embedder and are resolved by the caller.
    """
    if isinstance(spec, str):
        if spec == "zero":
            return np.zeros(dim)
        if spec == "mean":
            if training_features is None:
                raise TextigError("the 'mean' baseline needs the training features")
            feats = np.asarray(training_features, dtype=np.float64)
            if feats.ndim != 2 or feats.shape[1] != dim or len(feats) == 0:
                raise TextigError(
                    f"training features must have shape (n, {dim}), got {feats.shape}"
                )
            return as_vector(feats.mean(axis=0), "the training-mean baseline", dim)
        raise TextigError(f"unknown baseline {spec!r} (known: {', '.join(BASELINE_KINDS)}, array)")
    return as_vector(spec, "baseline", dim)


def parallel_to(x: np.ndarray, baseline: np.ndarray, tol: float = 1e-9) -> bool:
    """True if the baseline is zero or a multiple of x (the path stays on one ray or hits 0)."""
    nb, nx = np.linalg.norm(baseline), np.linalg.norm(x)
    if nb == 0.0 or nx == 0.0:
        return True
    return abs(float(x @ baseline)) >= (1.0 - tol) * nb * nx


def is_scale_invariant(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> bool:
    """Whether f declares ``scale_invariant`` or scores x, 2x and x/2 identically."""
    declared = getattr(f, "scale_invariant", None)
    if declared is not None:
        return bool(declared)
    if not np.any(x):
        return False
    scores = check_scores(f(np.stack([x, 2.0 * x, 0.5 * x])), 3, None)
    return bool(np.array_equal(scores[0], scores[1]) and np.array_equal(scores[0], scores[2]))


def check_baseline(f, x: np.ndarray, baseline: np.ndarray) -> None:
    """Refuse x == x', and a zero/parallel baseline for a scale-invariant model."""
    if np.array_equal(x, baseline):
        raise TextigError("x equals the baseline: there is no path to attribute along")
    if not parallel_to(x, baseline):
        return
    probe = x if np.any(x) else baseline
    if is_scale_invariant(f, probe):
        kind = "the zero baseline" if not np.any(baseline) else "a baseline parallel to x"
        raise TextigError(
            f"{kind} is degenerate for this scale-invariant model (it normalises its inputs, so "
            "the path never changes direction); use e.g. the training-mean baseline"
        )
