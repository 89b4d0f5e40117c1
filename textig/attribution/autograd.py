"""Integrated Gradients from a model's own gradients (autograd), for differentiable scorers.

IG_i = (x_i - x'_i) ∫₀¹ ∂F/∂x_i(x' + a(x - x')) da, integrated with a quadrature rule
(default Gauss-Legendre, exact for polynomial integrands up to degree 2·steps - 1). The same
nodes and weights as Captum's ``IntegratedGradients(method="gausslegendre")``. Nothing is
rescaled: the completeness error is the quadrature's own.
"""

from __future__ import annotations

import numpy as np

from textig.attribution._utils import Counter, as_vector, check_positive, resolve_targets
from textig.attribution.ig import IGResult, relative_completeness_error
from textig.attribution.paths import path_points, quadrature
from textig.errors import TextigError


def gradient_integrated_gradients(
    f, x, baseline, *, targets=None, steps: int = 50, method: str = "gausslegendre",
    batch_size: int = 256,
) -> IGResult:  # fmt: skip
    """IG of ``f`` from ``baseline`` to ``x``; ``f`` must offer ``gradients(X, targets)``.

    targets: label ids (default: every label whose score differs). steps: quadrature nodes.
    """
    grad = getattr(f, "gradients", None)
    if not callable(grad):
        raise TextigError("autograd IG needs a model that offers gradients (e.g. a torch module)")
    check_positive(batch_size, "batch_size")
    x = as_vector(x, "x")
    baseline = as_vector(baseline, "baseline", x.size)
    if np.array_equal(x, baseline):
        raise TextigError("x equals the baseline: there is no path to attribute along")
    model = Counter(f, batch_size)
    ends = model(np.stack([baseline, x]))
    f_baseline, f_x = ends[0], ends[1]
    targets = resolve_targets(targets, f_x, f_baseline)
    nodes, weights = quadrature(method, steps)
    points = path_points(x, baseline, nodes)
    gbar = np.zeros((len(targets), x.size))
    for start in range(0, len(points), int(batch_size)):
        chunk = np.asarray(grad(points[start : start + batch_size], targets), dtype=np.float64)
        if chunk.shape != (len(points[start : start + batch_size]), len(targets), x.size):
            raise TextigError(f"the model's gradients have shape {chunk.shape}")
        gbar += np.einsum("n,ntd->td", weights[start : start + batch_size], chunk)
    attributions = gbar * (x - baseline)[None, :]
    error = relative_completeness_error(attributions, f_x[targets] - f_baseline[targets])
    return IGResult(
        attributions=attributions,
        targets=targets,
        f_x=f_x,
        f_baseline=f_baseline,
        completeness_error=error,
        raw_completeness_error=error,
        steps_used=len(nodes),
        n_evaluations=model.samples + len(points),
        estimator="gradients",
        method=method,
        x=x,
        baseline=baseline,
    )
