"""Integrated Gradients of any black-box batch scorer f: (n, d) -> (n, L), without autograd.

``estimator="auto"`` decides between the smooth estimator (tiny central differences at
Gauss-Legendre nodes, converging to the true IG) and the coarse one for piecewise-constant
models such as AnnexML's votes (see ``estimators``) by probing the model once: a smooth model's
tiny central differences double when the step doubles; a piecewise-constant model's are zero,
or a whole jump that does not scale with the step. Which estimator ran is recorded in the
result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textig.attribution._utils import (
    Counter,
    ScoreFn,
    as_vector,
    check_positive,
    resolve_targets,
)
from textig.attribution.baselines import check_baseline
from textig.attribution.estimators import (
    coarse_attributions,
    enforce_completeness,
    smooth_attributions,
)
from textig.attribution.located import (
    NODES_PER_JUMP,
    changed_cells,
    locate_jumps,
    located_jump_attributions,
)
from textig.attribution.paths import path_averaged_gradient, path_points, quadrature
from textig.errors import TextigError

ESTIMATORS = ("auto", "smooth", "piecewise")
_PROBE_NODES = np.array([1.0 / 3.0, 2.0 / 3.0])
_LINEAR_TOLERANCE = 0.25  # |D(2h) - 2·D(h)| / |2·D(h)| of a smooth model's central difference
COMPLETENESS_TOLERANCE = 0.05  # the IG authors' sum-to-diff rule: raw error <= 5 %
# the piecewise estimator's node budget per label, 256 x steps: the located route reserves
# NODES_PER_JUMP (26) per jump, and a top-5 label of an IAPR AnnexML model moves in up to ~330
# jumps (GloVe; median ~150); the quotient route doubles its nodes up to the same budget
_MAX_DOUBLINGS = 8
BUDGET_FACTOR = 1 << _MAX_DOUBLINGS  # default max_steps = BUDGET_FACTOR x steps
_SCAN_CELLS = 4  # the piecewise estimator scans the path in 4 x steps cells for jumps


@dataclass(frozen=True)
class IGResult:
    """Feature attributions for some target labels, with what is needed to trust them."""

    attributions: np.ndarray  # (T, d)
    targets: np.ndarray  # (T,) label ids
    f_x: np.ndarray  # (L,) scores at x
    f_baseline: np.ndarray  # (L,) scores at the baseline
    completeness_error: np.ndarray  # (T,) relative, of the returned attributions
    raw_completeness_error: np.ndarray  # (T,) relative, before any completeness correction
    steps_used: np.ndarray  # (T,) path nodes each label used (an int is broadcast)
    n_evaluations: int  # model samples scored (nudges served by axis_scores included)
    estimator: str  # "smooth" or "piecewise"
    method: str  # quadrature rule
    x: np.ndarray = field(repr=False)
    baseline: np.ndarray = field(repr=False)
    jumps: tuple = field(default=(), repr=False)  # exact IG: the path jumps it summed
    converged: np.ndarray | None = None  # (T,) raw error <= COMPLETENESS_TOLERANCE (default)
    step_budget: int | None = None  # the most nodes a label could use (estimators that refine)

    def __post_init__(self) -> None:
        count = len(self.targets)
        object.__setattr__(self, "steps_used", np.broadcast_to(self.steps_used, count).copy())
        if self.converged is None:
            met = self.raw_completeness_error <= COMPLETENESS_TOLERANCE
            object.__setattr__(self, "converged", np.asarray(met, dtype=bool))

    @property
    def gbar(self) -> np.ndarray:
        """Path-averaged gradient (T, d): attributions / (x - x'), 0 where x_i = x'_i."""
        return path_averaged_gradient(self.attributions, self.x, self.baseline)


def default_scale(dim: int) -> float:
    """Quotient step 0.03·sqrt(d/50), clipped to [0.03, 0.1]: measured on the IAPR AnnexML
    models (bench/ig_estimator.py, 15 captions, budget 1600 nodes): GloVe raw completeness
    <= 5 % on 36 / 49 / 64 % of pairs at 0.1 / 0.05 / 0.03, cosine to exact IG 0.975 /
    0.981 / 0.984; SBERT 66 / 72 % at 0.1 / 0.05. A smaller step crosses fewer boundaries
    the path does not cross and cuts fewer slabs at the path's ends (the bias that more
    nodes cannot remove); a jump's slab width is c·|w_i| and the w_i shrink as d grows,
    hence the sqrt(d) growth.
    """
    return float(np.clip(0.03 * np.sqrt(dim / 50.0), 0.03, 0.1))


def relative_completeness_error(attributions: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """|Σ_i IG_i - ΔF| / |ΔF| per row; where ΔF = 0, |Σ_i IG_i| / Σ_i |IG_i| (0 if all zero)."""
    total = attributions.sum(axis=1)
    scale = np.where(gap != 0, np.abs(gap), np.abs(attributions).sum(axis=1))
    return np.where(scale > 0, np.abs(total - gap) / np.where(scale > 0, scale, 1.0), 0.0)


def integrated_gradients(
    f: ScoreFn,
    x,
    baseline,
    *,
    targets=None,
    steps: int = 50,
    method: str | None = None,
    estimator: str = "auto",
    batch_size: int = 16384,
    seed: int = 0,
    relative_step: float = 1e-4,
    scale: float | tuple[float, ...] | None = None,
    complete: bool | None = None,
    max_steps: int | None = None,
) -> IGResult:
    """IG of ``f`` from ``baseline`` to ``x`` for the ``targets`` label columns.

    targets: label ids (default: every label whose score differs between x and the baseline).
    steps: path nodes. method: quadrature rule (default "gausslegendre" for smooth models,
    "stratified" for piecewise ones). relative_step: the smooth estimator's step, relative to
    max|x - x'|. scale: the piecewise estimator's step, relative to each |x_i - x'_i| (default
    ``default_scale(d)``; several scales: their estimates, each on its own nodes, are averaged).
    complete: rescale each label's attributions to sum to F(x) - F(x') (default: only for the
    piecewise estimator, whose raw sum is noisy; the raw error is kept in the result).
    max_steps: the piecewise estimator's node budget per label (default ``BUDGET_FACTOR``·steps =
    256·steps). Located jumps (the default rule) reserve ``NODES_PER_JUMP`` nudged probe nodes per
    jump of the label (the most one measurement can use), more for jumps measured again; a label
    with more jumps than the budget holds sends the caption to the quotient estimator, whose
    stratified rule gives a label whose raw completeness error exceeds 5 % as many fresh nodes
    again, until it meets the rule or the next doubling would pass the budget. Reported per label in
    ``steps_used`` and ``converged``, the budget in ``step_budget``.
    """
    if estimator not in ESTIMATORS:
        raise TextigError(f"unknown estimator {estimator!r} (known: {', '.join(ESTIMATORS)})")
    check_positive(relative_step, "relative_step")
    x = as_vector(x, "x")
    scales = tuple(np.atleast_1d(default_scale(x.size) if scale is None else scale).tolist())
    for value in scales:
        check_positive(value, "scale")
    baseline = as_vector(baseline, "baseline", x.size)
    model = Counter(f, batch_size)
    check_baseline(f, x, baseline)
    ends = model(np.stack([baseline, x]))
    f_baseline, f_x = ends[0], ends[1]
    targets = resolve_targets(targets, f_x, f_baseline)
    gap = f_x[targets] - f_baseline[targets]
    if len(targets) == 0:
        empty = np.zeros((0, x.size))
        return IGResult(empty, targets, f_x, f_baseline, np.zeros(0), np.zeros(0), 0,
                        model.samples, "none", "none", x, baseline)  # fmt: skip
    if estimator == "auto":
        estimator = _detect(model, x, baseline, targets, gap, relative_step)
    rng = np.random.default_rng(seed)
    nodes, weights = quadrature(method or "stratified", steps, rng=rng)  # validates steps
    budget = steps * BUDGET_FACTOR if max_steps is None else max_steps
    check_positive(budget, "max_steps")
    raw = None
    if estimator == "piecewise" and method is None:
        raw, used = _located(model, x, baseline, targets, steps, budget)
        method = "located" if raw is not None else "stratified"
    method = method or "gausslegendre"  # the smooth estimator's default rule
    if raw is None and estimator == "smooth":
        nodes, weights = quadrature(method, steps, rng=rng)
        used = np.full(len(targets), len(nodes))
        raw = smooth_attributions(model, x, baseline, targets, nodes, weights, relative_step)
    elif raw is None:  # the axis-nudge quotient on stratified nodes, refined where it misses
        used = np.full(len(targets), len(nodes))
        raw = _multiscale(model, x, baseline, targets, (nodes, weights), scales, method, rng)

        def fresh(n: int, columns: np.ndarray) -> np.ndarray:
            rule = quadrature(method, n, rng=rng)
            return _multiscale(model, x, baseline, columns, rule, scales, method, rng)

        if method == "stratified":  # a fixed rule's fresh nodes would be the same nodes
            raw, used = _refine(targets, gap, raw, used, budget, fresh)
    complete = estimator == "piecewise" if complete is None else complete
    attributions = enforce_completeness(raw, gap, x - baseline)[0] if complete else raw
    return IGResult(
        attributions=attributions,
        targets=targets,
        f_x=f_x,
        f_baseline=f_baseline,
        completeness_error=relative_completeness_error(attributions, gap),
        raw_completeness_error=relative_completeness_error(raw, gap),
        steps_used=used,
        n_evaluations=model.samples,
        estimator=estimator,
        method=method,
        x=x,
        baseline=baseline,
        step_budget=budget if estimator == "piecewise" else None,
    )


def _located(model, x, baseline, targets, steps, budget):
    """(raw attributions, probe nodes per label) from located jumps, or (None, None) when some
    label moves in more jumps than ``budget`` nodes can probe (``NODES_PER_JUMP`` nudged probe
    nodes each): the quotient estimator then runs. The scan of 4 x steps cells bounds the
    count from below before any bisection; the located jumps give it exactly."""
    alphas = np.linspace(0.0, 1.0, _SCAN_CELLS * steps + 1)
    scores = model.along(x, baseline, alphas, targets)
    if _most_jumps(scores[1:] != scores[:-1]) * NODES_PER_JUMP > budget:
        return None, None
    if not len(changed_cells(scores)):  # the targets' scores never change: nothing to share
        return np.zeros((len(targets), x.size)), np.zeros(len(targets), dtype=int)
    jumps = locate_jumps(model, x, baseline, targets, alphas, scores)
    if _most_jumps(jumps.after != jumps.before) * NODES_PER_JUMP > budget:
        return None, None
    return located_jump_attributions(model, x, baseline, targets, jumps, budget)


def _most_jumps(changes: np.ndarray) -> int:
    """The most cells or jumps (rows of ``changes``) in which one label (column) changes."""
    return int(changes.sum(axis=0).max(initial=0))


def _refine(targets, gap, raw, used, budget, estimate):
    """Adaptive refinement: while a label's raw completeness error exceeds the tolerance and
    its node count can double within ``budget``, estimate it again on as many fresh
    stratified nodes and average the two (equal weights: equal node counts). Labels that meet
    the rule stop; the raw error stays measured, never imposed.

    Returns (raw attributions, nodes used per label)."""
    raw, used = raw.copy(), used.copy()
    while True:
        error = relative_completeness_error(raw, gap)
        missing = np.flatnonzero((error > COMPLETENESS_TOLERANCE) & (2 * used <= budget))
        if not missing.size:
            return raw, used
        # labels still missing have been refined every round, so they share one node count
        more = estimate(int(used[missing[0]]), targets[missing])
        raw[missing] = 0.5 * (raw[missing] + more)
        used[missing] *= 2


def _multiscale(model, x, baseline, targets, rule, scales, method, rng) -> np.ndarray:
    """Mean of the coarse estimates at each scale; scales after the first get fresh nodes."""
    estimates = []
    for k, scale in enumerate(scales):
        nodes, weights = rule if k == 0 else quadrature(method, len(rule[0]), rng=rng)
        estimates.append(coarse_attributions(model, x, baseline, targets, nodes, weights, scale))
    return np.mean(estimates, axis=0)


def _detect(model: Counter, x, baseline, targets, gap, relative_step: float) -> str:
    """ "smooth" if tiny central differences at two path points scale with the step (doubling
    h doubles them) for most of those that are non-zero; "piecewise" if they are all zero or
    mostly do not scale: a vote model's difference is a whole jump ΔF, the same at h and 2h,
    wherever a tiny step happens to straddle one."""
    changing = gap != 0
    if not changing.any():
        return "smooth"
    delta = x - baseline
    moved = delta != 0
    steps = np.where(moved, relative_step * np.max(np.abs(delta)), 0.0)
    points = path_points(x, baseline, _PROBE_NODES)
    d1, d2 = (
        (plus - minus)[:, moved][..., changing]
        for plus, minus in (model.axis_differences(points, k * steps, targets) for k in (1, 2))
    )
    nonzero = (d1 != 0) | (d2 != 0)
    if not nonzero.any():
        return "piecewise"
    linear = np.abs(d2 - 2.0 * d1) <= _LINEAR_TOLERANCE * np.abs(2.0 * d1)
    return "smooth" if np.mean(linear[nonzero]) >= 0.5 else "piecewise"
