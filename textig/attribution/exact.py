"""Exact Integrated Gradients of a piecewise-constant score, from the jumps along the path.

A score that is constant between boundaries changes along x(alpha) = x' + alpha(x - x') only
where the path crosses a boundary. At a crossing the jump ΔF is concentrated at one alpha, and
its IG share of feature i is Δx_i·n_i / (Δx·n), with n the boundary's normal (the gradient of
the function whose sign flips there). So the exact IG is Σ_jumps ΔF·share — no quadrature, no
step size. A model offers this by implementing ``path_jumps(x, baseline)`` (the model
protocol's path-jumps capability, ``textig.models``); each jump lists its label changes.

Completeness is measured, not imposed: the attributions' sums are compared with the model's
own scores at x and x', computed independently of the jumps, so a missed or misplaced jump
shows up as a completeness error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textig.attribution._utils import Counter, as_vector, resolve_targets
from textig.attribution.ig import IGResult, relative_completeness_error
from textig.errors import TextigError


@dataclass(frozen=True)
class PathJump:
    """One change of a piecewise-constant score along the path.

    ``label_delta`` maps label ids to the change of their score at ``alpha``; ``normal`` is
    the normal of the boundary crossed (its sign does not matter). ``detail`` says what
    changed, in the model's terms (e.g. which neighbour entered or left): for evidence.
    """

    alpha: float
    label_delta: Mapping[int, float]
    normal: np.ndarray = field(repr=False)
    detail: Mapping[str, Any] = field(default_factory=dict)


def jump_shares(delta: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(x - x')⊙n / ((x - x')·n) for each row n of ``normals``: how each jump splits over the
    features; each row sums to 1.

    A normal orthogonal to the path (only possible from rounding, since the path crosses the
    boundary) spreads the jump along the path direction, (x_i - x'_i)² / ‖x - x'‖².
    """
    weighted = delta[None, :] * normals
    total = weighted.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = weighted / total[:, None]
        flat = (total == 0.0) | ~np.isfinite(1.0 / total)
    shares[flat] = delta * delta / float(delta @ delta)
    return shares


def jump_share(delta: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """``jump_shares`` of one jump."""
    return jump_shares(delta, normal[None, :])[0]


def jump_attributions(jumps: list[PathJump], targets: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Σ over jumps of ΔF_target · share: (T, d)."""
    if not jumps or len(targets) == 0:
        return np.zeros((len(targets), len(delta)))
    column = {int(t): i for i, t in enumerate(targets)}
    change = np.zeros((len(jumps), len(targets)))
    for row, jump in enumerate(jumps):
        for label, value in jump.label_delta.items():
            if int(label) in column:
                change[row, column[int(label)]] = value
    used = np.flatnonzero(change.any(axis=1))
    if not len(used):
        return np.zeros((len(targets), len(delta)))
    shares = jump_shares(delta, np.stack([jumps[i].normal for i in used]))
    return change[used].T @ shares


def exact_integrated_gradients(f, x, baseline, *, targets=None) -> IGResult:
    """Exact IG of ``f`` from ``baseline`` to ``x``; ``f`` must offer ``path_jumps``.

    ``f`` is the batch scorer (n, d) -> (n, L) whose jumps ``f.path_jumps(x, baseline)``
    describes. targets: label ids (default: every label whose score differs).
    """
    finder = getattr(f, "path_jumps", None)
    if not callable(finder):
        raise TextigError("exact IG needs a model that offers path jumps (piecewise-constant)")
    x = as_vector(x, "x")
    baseline = as_vector(baseline, "baseline", x.size)
    if np.array_equal(x, baseline):
        raise TextigError("x equals the baseline: there is no path to attribute along")
    model = Counter(f, 2)
    ends = model(np.stack([baseline, x]))
    f_baseline, f_x = ends[0], ends[1]
    targets = resolve_targets(targets, f_x, f_baseline)
    jumps = list(finder(x, baseline))
    attributions = jump_attributions(jumps, targets, x - baseline)
    error = relative_completeness_error(attributions, f_x[targets] - f_baseline[targets])
    return IGResult(
        attributions=attributions,
        targets=targets,
        f_x=f_x,
        f_baseline=f_baseline,
        completeness_error=error,
        raw_completeness_error=error,
        steps_used=0,
        n_evaluations=model.samples,
        estimator="exact",
        method="path-jumps",
        x=x,
        baseline=baseline,
        jumps=tuple(jumps),
    )
