"""The two IG estimators: tiny central differences (smooth models) and coarse ones (votes).

Both integrate a central-difference quotient along the path; they differ in the step. A smooth
model needs a tiny step so the quotient converges to the gradient. A piecewise-constant model
(AnnexML votes) has zero gradient almost everywhere: a step h_i = c·|x_i - x'_i| instead makes
the quotient non-zero while the nudged point sits on the other side of a jump, and for a flat
jump boundary with normal n crossed at alpha* this happens on an alpha-interval of width
2c·|w_i|, w_i = (x_i - x'_i)·n_i / ((x - x')·n). Integrating the quotient therefore returns the
jump's exact IG share ΔF·w_i; the only error is how well the nodes measure those widths.
"""

from __future__ import annotations

import numpy as np

from textig.attribution._utils import Counter
from textig.attribution.paths import path_points


def smooth_attributions(
    model: Counter,
    x: np.ndarray,
    baseline: np.ndarray,
    targets: np.ndarray,
    nodes: np.ndarray,
    weights: np.ndarray,
    relative_step: float,
) -> np.ndarray:
    """IG (T, d) from central differences with one tiny step, relative to max|x - x'|."""
    delta = x - baseline
    steps = np.where(delta != 0, relative_step * np.max(np.abs(delta)), 0.0)
    plus, minus = model.axis_differences(path_points(x, baseline, nodes), steps, targets)
    safe = np.where(steps > 0, 2.0 * steps, 1.0)
    gradient = np.einsum("k,kdt->td", weights, plus - minus) / safe  # path-averaged (T, d)
    return gradient * delta[None, :]


def coarse_attributions(
    model: Counter,
    x: np.ndarray,
    baseline: np.ndarray,
    targets: np.ndarray,
    nodes: np.ndarray,
    weights: np.ndarray,
    scale: float,
) -> np.ndarray:
    """IG (T, d) from central differences with steps scale·|x_i - x'_i| (jump-sized)."""
    delta = x - baseline
    steps = scale * np.abs(delta)
    plus, minus = model.axis_differences(path_points(x, baseline, nodes), steps, targets)
    change = np.einsum("k,kdt->td", weights, plus - minus)
    return change * np.sign(delta)[None, :] / (2.0 * scale)


def enforce_completeness(attributions: np.ndarray, gap: np.ndarray, delta: np.ndarray):
    """Rescale each row to sum to its F(x) - F(x'); returns (attributions, how per row).

    A row whose sum has the gap's sign is scaled (shares kept). A row that saw no change, or
    the opposite one, gets the missing amount spread along the path direction (x_i - x'_i)²,
    the share of a jump whose boundary is orthogonal to the path.
    """
    out = attributions.copy()
    how = []
    direction = delta * delta / float(delta @ delta)
    for row, target_gap in enumerate(gap):
        total = out[row].sum()
        if target_gap == 0.0 and total == 0.0:
            how.append("none")
        elif total * target_gap > 0:
            out[row] *= target_gap / total
            how.append("rescaled")
        else:
            out[row] += (target_gap - total) * direction
            how.append("spread")
    return out, how
