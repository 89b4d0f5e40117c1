"""The path jumps of AnnexML's brute-force vote scores: what exact Integrated Gradients sums.

Along the straight path x(alpha) = x' + alpha(x - x') every quantity AnnexML ranks by is
linear in alpha: a learner's partition scores ⟨x(alpha), centers_k⟩ and, inside a cluster, the
ranking key of each training point, e_j·Wᵀx(alpha) = (1 - alpha)·a_j + alpha·c_j with a_j, c_j
its keys at x' and x. So the votes are piecewise constant along the path and change only
where two lines cross. A piecewise-constant F has the exact IG
Σ_jumps ΔF·(x_i - x'_i)·n_i / Σ_l (x_l - x'_l)·n_l, with n the normal of the boundary
crossed: W(e_j - e_k) when training point j replaces k in a neighbour set, and
centers_c - centers_d when the learner switches cluster (the whole set changes).
Every jump's shares sum to one and the jumps telescope from F(x') to F(x), so the exact IG
(``textig.attribution.exact``) is complete whenever every jump is found: its completeness is
measured against the model's own scores, never imposed.

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
from dataclasses import dataclass

import numpy as np

from textig.annexml.fast_path import BruteForceScorer, PreparedCluster, PreparedLearner
from textig.annexml.parallel import one_blas_thread
from textig.attribution.exact import PathJump, jump_share
from textig.attribution.lines import (
    Swap,
    endpoint_fixups,
    exact_top,
    right_limit_top,
    sweep,
    sweep_pruned,
)
from textig.errors import TextigError


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
    inside = exact_top(u, 1)
    first = int(np.flatnonzero(inside)[0])
    switches = sweep(u, w, inside, 0.0, 1.0)
    switches += endpoint_fixups(inside, exact_top(w, 1), w)
    segments = [_Segment(first, 0.0, 1.0, True, True)]
    for s in switches:
        last = segments[-1]
        last.end, last.exact_end = s.alpha, False
        segments.append(_Segment(s.entering, s.alpha, 1.0, False, True))
    return segments


class _LearnerPath:
    """The exact jumps of one learner along the path."""

    def __init__(self, scorer: BruteForceScorer, index: int, ends: np.ndarray) -> None:
        self.scorer = scorer
        self.learner: PreparedLearner = scorer.learners[index]
        self.index, self.ends, self.k = index, ends, scorer.num_nn
        self.delta = ends[1] - ends[0]
        self.jumps: list[PathJump] = []

    def run(self) -> None:
        """Sweep every cluster segment and record swaps and partition switches."""
        scores = self.ends @ self.learner.centers.T
        previous: tuple[int, np.ndarray] | None = None
        for seg in _segments(scores[0], scores[1]):
            cluster = self.learner.clusters[seg.cluster]
            a, c = self.scorer.keys(cluster, self.ends)
            k = min(self.k, cluster.size)
            if seg.exact_start:
                inside = exact_top(a, k)
            elif seg.start == 1.0:
                inside = exact_top(c, k)
            else:
                inside = right_limit_top(a, c, seg.start, k)
            if previous is not None:
                self._partition(seg, previous, np.flatnonzero(inside))
            swaps = sweep_pruned(a, c, inside, seg.start, seg.end, k)
            if seg.exact_end and seg.end == 1.0:
                swaps += endpoint_fixups(inside, exact_top(c, k), c)
            self._swaps(seg.cluster, cluster, swaps)
            previous = (seg.cluster, np.flatnonzero(inside))

    def _swaps(self, c: int, cluster: PreparedCluster, swaps: list[Swap]) -> None:
        """Record one cluster's swaps; their normals W(e_j - e_k) in one product."""
        if not swaps:
            return
        entering = np.array([s.entering for s in swaps])
        leaving = np.array([s.leaving for s in swaps])
        normals = (cluster.E[entering] - cluster.E[leaving]) @ cluster.W.T
        for s, j, k, normal in zip(swaps, entering, leaving, normals, strict=True):
            delta = dict.fromkeys(cluster.label_ids(j).tolist(), 1)
            for label in cluster.label_ids(k).tolist():
                delta[label] = delta.get(label, 0) - 1
            delta = {label: v for label, v in delta.items() if v}
            ids = (int(cluster.ids[j]),), (int(cluster.ids[k]),)
            self._record(s.alpha, "swap", (c, c), *ids, delta, normal)

    def _record(self, alpha, kind, clusters, entering, leaving, delta, normal) -> None:
        detail = {
            "learner": self.index,
            "kind": kind,
            "clusters": clusters,
            "entering": entering,
            "leaving": leaving,
        }
        self.jumps.append(PathJump(alpha, delta, normal, detail))

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


def path_jumps(scorer: BruteForceScorer, x, baseline) -> list[PathJump]:
    """Every jump of the brute-force votes from ``baseline`` to ``x``, ordered by alpha.

    Each jump's ``detail`` says which learner changed, how ("swap": one neighbour replaced;
    "partition": the learner changed cluster), and which training samples entered and left.
    Only ``score="votes"`` models have jumps.
    """
    start, end = _check_inputs(scorer, x, baseline)
    ends = np.stack([start, end])
    paths = [_LearnerPath(scorer, i, ends) for i in range(len(scorer.learners))]
    with one_blas_thread():  # one path's products are small: threads only stall
        for path in paths:
            path.run()
    return sorted((j for p in paths for j in p.jumps), key=lambda j: (j.alpha, j.detail["learner"]))


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
        attributions += np.outer(change[targets], jump_share(end - start, normal))
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
