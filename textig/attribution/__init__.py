"""Model-agnostic Integrated Gradients for black-box batch scorers (no autograd needed)."""

from textig.attribution.baselines import check_baseline, is_scale_invariant, resolve_baseline
from textig.attribution.gradient import gradient_x_input
from textig.attribution.ig import (
    IGResult,
    default_scale,
    integrated_gradients,
    relative_completeness_error,
)
from textig.attribution.paths import RULES, path_averaged_gradient, path_points, quadrature

__all__ = [
    "RULES",
    "IGResult",
    "check_baseline",
    "default_scale",
    "gradient_x_input",
    "integrated_gradients",
    "is_scale_invariant",
    "path_averaged_gradient",
    "path_points",
    "quadrature",
    "relative_completeness_error",
    "resolve_baseline",
]
