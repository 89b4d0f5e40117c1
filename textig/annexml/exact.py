"""Exact Integrated Gradients of AnnexML's brute-force vote scores.

Along the straight path x(alpha) = x' + alpha(x - x') every quantity AnnexML ranks by is
linear in alpha: a learner's partition scores ⟨x(alpha), centers_k⟩ and, inside a cluster, the
ranking key of each training point, e_j·Wᵀx(alpha) = (1 - alpha)·a_j + alpha·c_j with a_j, c_j
its keys at x' and x. So the votes are piecewise constant along the path and change only
where two lines cross. A piecewise-constant F has the exact IG
Σ_jumps ΔF·(x_i - x'_i)·n_i / Σ_l (x_l - x'_l)·n_l, with n the normal of the boundary
crossed: W(e_j - e_k) when training point j replaces k in a neighbour set, and
centers_c - centers_d when the learner switches cluster (the whole set changes).
Completeness holds by construction: every jump's shares sum to one and the jumps telescope
from F(x') to F(x).

This explains *brute-force* prediction (pred_type 0, ``search="brute"``); with graph search
(pred_type 1) the model's own scores may differ where the graph misses a neighbour.

Ties follow the brute-force rule (lower position in the cluster wins; lowest cluster index
for partition ties). Identical training points give identical lines, never swap, and enter
or leave one after another at the same alpha. Where several lines cross at one point, the jump is
recorded as a sequence of pairwise swaps: the strongest outsider just after the crossing
(largest slope, then lowest position) replaces the weakest insider (smallest slope, then
highest position), repeatedly; each swap uses its own pair's normal. Any pairing keeps
completeness; this one is deterministic. A swap whose normal is orthogonal to the path (only
possible from rounding) spreads its ΔF along the path direction, (x_i - x'_i)² / ‖x - x'‖².
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from textig.annexml.fast_path import BruteForceScorer, PreparedCluster, PreparedLearner
from textig.attribution.paths import path_averaged_gradient
from textig.errors import TextigError

_COARSE, _FINE = 8, 4  # path pieces per cluster segment, each pruned to lines near its top set
_MAX_SWAPS_PER_LINE = 64  # guard against a non-terminating sweep (a bug, never data)


@dataclass(frozen=True)
class Jump:
    """One change of a learner's neighbour set along the path."""

    alpha: float
    learner: int
    kind: str  # "swap" (one neighbour replaced) or "partition" (the learner changed cluster)
    clusters: tuple[int, int]  # cluster before, cluster after (equal for a swap)
    entering: tuple[int, ...]  # training-sample ids that join the neighbour set
    leaving: tuple[int, ...]  # training-sample ids that drop out
    label_delta: dict[int, int]  # label id -> change of its vote count (non-zero only)
    share: np.ndarray = field(repr=False)  # (d,) how ΔF splits over features; sums to 1


@dataclass(frozen=True)
class ExactIG:
    """Exact IG of the brute-force votes for some target labels."""

    attributions: np.ndarray  # (T, d)
    targets: np.ndarray  # (T,) label ids
    f_x: np.ndarray  # (L,) brute-force votes at x
    f_baseline: np.ndarray  # (L,) brute-force votes at the baseline
    completeness_error: np.ndarray  # (T,) |Σ attr - ΔF| / max(|ΔF|, 1): ΔF is an integer
    jumps: list[Jump]
    x: np.ndarray = field(repr=False)
    baseline: np.ndarray = field(repr=False)

    @property
    def gbar(self) -> np.ndarray:
        """Path-averaged gradient (T, d): attributions / (x - x'), 0 where x_i = x'_i."""
        return path_averaged_gradient(self.attributions, self.x, self.baseline)


@dataclass
class _Swap:
    alpha: float
    entering: int  # position in the cluster
    leaving: int


def _top_by(values: np.ndarray, k: int, *tie_breaks: np.ndarray) -> np.ndarray:
    """Mask of the top k by value desc, then each tie-break desc, then position asc."""
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    if k >= n:
        mask[:] = True
        return mask
    kth = np.partition(values, n - k)[n - k]
    near = np.flatnonzero(values >= kth)  # every line that can be in the top k
    keys = (near, *(-t[near] for t in reversed(tie_breaks)), -values[near])
    mask[near[np.lexsort(keys)[:k]]] = True
    return mask


def _exact_top(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of the top k by (value desc, position asc): the brute-force rule at an endpoint."""
    return _top_by(values, k)


def _right_limit_top(a: np.ndarray, c: np.ndarray, alpha: float, k: int) -> np.ndarray:
    """Mask of the top k just after alpha: ties go to the larger slope, then the lower position."""
    return _top_by(a + alpha * (c - a), k, c - a)


def _sweep(a: np.ndarray, c: np.ndarray, inside: np.ndarray, lo: float, hi: float) -> list[_Swap]:
    """Swaps keeping ``inside`` the top set of the lines (1-alpha)a + alpha·c, alpha in [lo, hi).

    Each step finds the earliest alpha at which some outside line j ranks above some inside line
    k (just after alpha) and swaps them; ``inside`` is updated in place.
    """
    swaps: list[_Swap] = []
    position = np.arange(len(a))
    slope = c - a
    now = lo
    for _ in range(_MAX_SWAPS_PER_LINE * len(a) + 16):
        out, ins = np.flatnonzero(~inside), np.flatnonzero(inside)
        if len(out) == 0 or len(ins) == 0:
            return swaps
        d0 = a[out, None] - a[None, ins]
        d1 = c[out, None] - c[None, ins]
        rise = d1 - d0
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = d0 / -rise
        when = np.full(d0.shape, np.inf)
        rising = rise > 0
        when[rising] = np.maximum(cross[rising], now)
        ahead_now = ((rise < 0) & (now < cross)) | (
            (rise == 0) & ((d0 > 0) | ((d0 == 0) & (out[:, None] < ins[None, :])))
        )
        when[ahead_now] = now  # only rounding can leave a line above an insider: fix at once
        when[when >= hi] = np.inf
        first = when.min()
        if not np.isfinite(first):
            return swaps
        hit = when == first
        rows = np.flatnonzero(hit.any(axis=1))
        j_row = rows[np.lexsort((position[out[rows]], -slope[out[rows]]))[0]]
        cols = np.flatnonzero(hit[j_row])
        k_col = cols[np.lexsort((-position[ins[cols]], slope[ins[cols]]))[0]]
        j, k = int(out[j_row]), int(ins[k_col])
        inside[j], inside[k] = True, False
        swaps.append(_Swap(float(first), j, k))
        now = float(first)
    raise RuntimeError("exact IG sweep did not terminate")  # pragma: no cover - a bug guard


def _endpoint_fixups(inside: np.ndarray, target: np.ndarray, c: np.ndarray) -> list[_Swap]:
    """Pairwise swaps at alpha = 1 from the set just before the endpoint to the set at it."""
    position = np.arange(len(c))
    entering = np.flatnonzero(target & ~inside)
    leaving = np.flatnonzero(inside & ~target)
    entering = entering[np.lexsort((position[entering], -c[entering]))]
    leaving = leaving[np.lexsort((-position[leaving], c[leaving]))]
    inside[:] = target
    return [_Swap(1.0, int(j), int(k)) for j, k in zip(entering, leaving, strict=True)]


def _share(delta: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(x - x')⊙n / ((x - x')·n), or the path direction when n is orthogonal to the path."""
    weighted = delta * normal
    total = weighted.sum()
    if total == 0.0 or not np.isfinite(1.0 / total):
        return delta * delta / float(delta @ delta)
    return weighted / total


def _pieces(
    a: np.ndarray, c: np.ndarray, lo: float, hi: float, k: int
) -> list[tuple[float, float, np.ndarray]]:
    """Split [lo, hi) into pieces, each with the members that can be in its top set.

    On a piece, k lines stay above the k-th largest of their lower end values, so a line
    whose higher end value is below that never enters. Short pieces keep this bound tight,
    so each sweep only handles the few lines near the top-k boundary. A coarse pass first
    drops lines that enter no coarse piece; they cannot be among the k highest lower ends of
    any finer piece either, so the fine pass sees only the survivors.
    """
    if hi <= lo:
        return []
    slack = 1e-9 * (np.max(np.abs(a)) + np.max(np.abs(c)))
    coarse = np.linspace(lo, hi, _COARSE + 1)
    pieces = []
    for g, near in enumerate(_near_lines(a, c, coarse, k, slack)):
        fine = np.linspace(coarse[g], coarse[g + 1], _FINE + 1)
        fine[-1] = coarse[g + 1]
        for f, sub in enumerate(_near_lines(a[near], c[near], fine, k, slack)):
            pieces.append((fine[f], fine[f + 1], near[sub]))
    return pieces


def _near_lines(
    a: np.ndarray, c: np.ndarray, grid: np.ndarray, k: int, slack: float
) -> list[np.ndarray]:
    """For each step of ``grid``: the lines whose higher end reaches the k-th lower end."""
    if len(a) <= k:
        return [np.arange(len(a))] * (len(grid) - 1)
    values = a[None, :] + grid[:, None] * (c - a)[None, :]
    high = np.maximum(values[:-1], values[1:])
    low = np.minimum(values[:-1], values[1:])
    low.partition(len(a) - k, axis=1)
    floor = low[:, len(a) - k]
    near = high >= (floor - slack)[:, None]
    return [np.flatnonzero(row) for row in near]


@dataclass
class _Segment:
    """A cluster's stretch [start, end) of the path and how its set is fixed at each end."""

    cluster: int
    start: float
    end: float
    exact_start: bool  # alpha = 0: brute-force tie rule, not the right limit
    exact_end: bool  # the set must be the brute-force one at alpha = 1


def _segments(u: np.ndarray, w: np.ndarray) -> list[_Segment]:
    """Partition of [0, 1] by the learner's cluster (lines (1-alpha)u + alphaw, top 1)."""
    inside = _exact_top(u, 1)
    first = int(np.flatnonzero(inside)[0])
    switches = _sweep(u, w, inside, 0.0, 1.0)
    switches += _endpoint_fixups(inside, _exact_top(w, 1), w)
    segments = [_Segment(first, 0.0, 1.0, True, True)]
    for s in switches:
        last = segments[-1]
        last.end, last.exact_end = s.alpha, False
        segments.append(_Segment(s.entering, s.alpha, 1.0, False, True))
    return segments


class _LearnerPath:
    """The exact jumps of one learner along the path."""

    def __init__(self, scorer: BruteForceScorer, index: int, ends: np.ndarray) -> None:
        self.learner: PreparedLearner = scorer.learners[index]
        self.index, self.ends, self.k = index, ends, scorer.num_nn
        self.delta = ends[1] - ends[0]
        self.jumps: list[Jump] = []
        self.start_votes = self.end_votes = None

    def run(self) -> None:
        """Sweep every cluster segment and record swaps and partition switches."""
        scores = self.ends @ self.learner.centers.T
        previous: tuple[int, np.ndarray] | None = None
        for seg in _segments(scores[0], scores[1]):
            cluster = self.learner.clusters[seg.cluster]
            a, c = cluster.keys(self.ends)
            k = min(self.k, cluster.size)
            if seg.exact_start:
                inside = _exact_top(a, k)
            elif seg.start == 1.0:
                inside = _exact_top(c, k)
            else:
                inside = _right_limit_top(a, c, seg.start, k)
            if previous is None:
                self.start_votes = _set_votes(cluster, np.flatnonzero(inside))
            else:
                self._partition(seg, previous, np.flatnonzero(inside))
            for lo, hi, near in _pieces(a, c, seg.start, seg.end, k):
                cand = np.union1d(near, np.flatnonzero(inside))
                local = inside[cand]
                for s in _sweep(a[cand], c[cand], local, lo, hi):
                    self._swap(seg.cluster, cluster, cand[s.entering], cand[s.leaving], s.alpha)
                inside[cand] = local
            if seg.exact_end and seg.end == 1.0:
                for s in _endpoint_fixups(inside, _exact_top(c, k), c):
                    self._swap(seg.cluster, cluster, s.entering, s.leaving, s.alpha)
            previous = (seg.cluster, np.flatnonzero(inside))
        cluster_index, members = previous
        self.end_votes = _set_votes(self.learner.clusters[cluster_index], members)

    def _record(self, alpha, kind, clusters, entering, leaving, delta, normal) -> None:
        share = _share(self.delta, normal)
        self.jumps.append(Jump(alpha, self.index, kind, clusters, entering, leaving, delta, share))

    def _swap(self, c: int, cluster: PreparedCluster, j: int, k: int, alpha: float) -> None:
        delta = dict.fromkeys(cluster.label_ids(j).tolist(), 1)
        for label in cluster.label_ids(k).tolist():
            delta[label] = delta.get(label, 0) - 1
        delta = {label: v for label, v in delta.items() if v}
        normal = cluster.W @ (cluster.embedding(j) - cluster.embedding(k))
        ids = (int(cluster.ids[j]),), (int(cluster.ids[k]),)
        self._record(alpha, "swap", (c, c), *ids, delta, normal)

    def _partition(self, seg: _Segment, previous: tuple[int, np.ndarray], members) -> None:
        old_index, old_members = previous
        old, new = self.learner.clusters[old_index], self.learner.clusters[seg.cluster]
        change = _set_votes(new, members) - _set_votes(old, old_members)
        delta = {int(label): int(change[label]) for label in np.flatnonzero(change)}
        normal = self.learner.centers[old_index] - self.learner.centers[seg.cluster]
        entering = tuple(int(i) for i in new.ids[members])
        leaving = tuple(int(i) for i in old.ids[old_members])
        self._record(
            seg.start, "partition", (old_index, seg.cluster), entering, leaving, delta, normal
        )


def _check_inputs(scorer: BruteForceScorer, x, baseline) -> tuple[np.ndarray, np.ndarray]:
    ends = scorer.validate(np.stack([np.ravel(baseline), np.ravel(x)]), "x and baseline")
    if np.array_equal(ends[0], ends[1]):
        raise TextigError("x equals the baseline: there is no path to attribute along")
    origin_alpha = _through_origin(ends[0], ends[1])
    if origin_alpha is not None:
        raise TextigError(
            f"the path from the baseline to x passes through the zero vector (alpha = "
            f"{origin_alpha:.3g}), where the scale-invariant AnnexML score is undefined; "
            "use a baseline that is not a negative multiple of x (e.g. the training mean)"
        )
    return ends[0], ends[1]


def _through_origin(baseline: np.ndarray, x: np.ndarray) -> float | None:
    """alpha in [0, 1] where x' + alpha(x - x') = 0, if any (includes a zero baseline or input)."""
    delta = x - baseline
    alpha = float(-(baseline @ delta) / (delta @ delta))
    alpha = min(max(alpha, 0.0), 1.0)
    point = baseline + alpha * delta
    scale = max(np.linalg.norm(baseline), np.linalg.norm(x))
    return alpha if np.linalg.norm(point) <= 1e-12 * scale else None


def exact_integrated_gradients(model, x, baseline, *, targets=None) -> ExactIG:
    """Exact IG of ``model``'s brute-force vote scores from ``baseline`` to ``x``.

    ``targets``: label ids to explain (default: every label whose score differs between x
    and the baseline). Only ``score="votes"`` models are supported.
    """
    scorer = BruteForceScorer.for_model(model)
    start, end = _check_inputs(scorer, x, baseline)
    ends = np.stack([start, end])
    paths = [_LearnerPath(scorer, i, ends) for i in range(len(scorer.learners))]
    for path in paths:
        path.run()
    f_baseline = np.sum([p.start_votes for p in paths], axis=0)
    f_x = np.sum([p.end_votes for p in paths], axis=0)
    targets = _targets(targets, f_x, f_baseline)
    jumps = sorted((j for p in paths for j in p.jumps), key=lambda j: (j.alpha, j.learner))
    attributions = _attribute(jumps, targets, len(start))
    gap = f_x[targets] - f_baseline[targets]
    error = np.abs(attributions.sum(axis=1) - gap) / np.maximum(np.abs(gap), 1.0)
    return ExactIG(attributions, targets, f_x, f_baseline, error, jumps, end, start)


def _targets(targets, f_x: np.ndarray, f_baseline: np.ndarray) -> np.ndarray:
    if targets is None:
        return np.flatnonzero(f_x != f_baseline)
    chosen = np.atleast_1d(np.asarray(targets))
    if chosen.ndim != 1 or not np.issubdtype(chosen.dtype, np.integer):
        raise TextigError("targets must be a list of integer label ids")
    if chosen.size and (chosen.min() < 0 or chosen.max() >= len(f_x)):
        raise TextigError(f"target label ids must lie in [0, {len(f_x) - 1}]")
    return chosen.astype(np.int64)


def _attribute(jumps: list[Jump], targets: np.ndarray, dim: int) -> np.ndarray:
    """Σ over jumps of ΔF_target · share: (T, d)."""
    if not jumps or len(targets) == 0:
        return np.zeros((len(targets), dim))
    column = {int(t): i for i, t in enumerate(targets)}
    change = np.zeros((len(jumps), len(targets)))
    for row, jump in enumerate(jumps):
        for label, value in jump.label_delta.items():
            if label in column:
                change[row, column[label]] = value
    return change.T @ np.stack([j.share for j in jumps])


def fine_grid_integrated_gradients(
    model,
    x,
    baseline,
    targets,
    *,
    points: int = 2000,
    resolution: float = 1e-12,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, int]:
    """Independent check of the exact IG: (attributions (T, d), number of jumps found).

    Scans the black-box brute-force scores (``model.decision_function(X, search="brute")``)
    on a grid of path points, bisects every grid step whose scores differ down to
    ``resolution``, and attributes each located jump with the normal of what changed there
    (read from the model's neighbour sets on both sides). Jumps that cancel inside one grid
    step are missed, so use enough points. ``score`` replaces the black box (e.g. a
    ``BruteForceScorer``, much faster than a model's own brute force).
    """
    scorer = BruteForceScorer.for_model(model)
    start, end = _check_inputs(scorer, x, baseline)
    targets = np.asarray(targets, dtype=np.int64)
    score = score or _black_box(model, scorer)

    def path(alphas: np.ndarray) -> np.ndarray:
        return start[None, :] + alphas[:, None] * (end - start)[None, :]

    grid = np.linspace(0.0, 1.0, points + 1)
    values = score(path(grid))
    step = np.flatnonzero(np.any(values[1:] != values[:-1], axis=1))
    lo, hi, f_lo, f_hi = grid[step], grid[step + 1], values[step], values[step + 1]
    while len(lo) and np.max(hi - lo) > resolution:
        mid = 0.5 * (lo + hi)
        f_mid = score(path(mid))
        left = np.any(f_lo != f_mid, axis=1)
        right = np.any(f_mid != f_hi, axis=1)
        lo = np.concatenate([lo[left], mid[right]])
        hi = np.concatenate([mid[left], hi[right]])
        f_lo = np.concatenate([f_lo[left], f_mid[right]])
        f_hi = np.concatenate([f_mid[left], f_hi[right]])
    attributions = np.zeros((len(targets), len(start)))
    for change, normal in _changes(scorer, path(lo), path(hi)):
        attributions += np.outer(change[targets], _share(end - start, normal))
    return attributions, len(lo)


def _black_box(model, scorer: BruteForceScorer):
    """The model's own brute-force scores when it has them, else the scorer's."""
    if hasattr(model, "decision_function"):
        return lambda X: np.asarray(model.decision_function(X, search="brute"))
    return scorer


def _changes(
    scorer: BruteForceScorer, before: np.ndarray, after: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(label change (L,), boundary normal (d,)) of every learner set that differs between
    each row of ``before`` and the same row of ``after``."""
    found = []
    sets = zip(scorer.neighbours(before), scorer.neighbours(after), strict=True)
    for learner, ((c0, m0), (c1, m1)) in zip(scorer.learners, sets, strict=True):
        for row in np.flatnonzero((c0 != c1) | np.any(m0 != m1, axis=1)):
            old_c, new_c = learner.clusters[c0[row]], learner.clusters[c1[row]]
            old, new = m0[row][m0[row] >= 0], m1[row][m1[row] >= 0]
            if c0[row] != c1[row]:
                change = _set_votes(new_c, new) - _set_votes(old_c, old)
                found.append((change, learner.centers[c0[row]] - learner.centers[c1[row]]))
                continue
            for j, k in zip(np.setdiff1d(new, old), np.setdiff1d(old, new), strict=True):
                change = (new_c.labels[j] - new_c.labels[k]).toarray().ravel()
                found.append((change, new_c.W @ (new_c.embedding(j) - new_c.embedding(k))))
    return found


def _set_votes(cluster: PreparedCluster, members: np.ndarray) -> np.ndarray:
    return np.asarray(cluster.labels[members].sum(axis=0), dtype=np.float64).ravel()
