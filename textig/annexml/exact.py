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

import itertools
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
    sweep_many,
    sweep_pruned_many,
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


def _segments(scores: list[np.ndarray]) -> list[list[_Segment]]:
    """Per learner, the partition of [0, 1] by its cluster: ``scores`` (2, K) are its partition
    scores at the path's ends (lines (1-alpha)u + alpha·w, top 1); all learners swept at once."""
    insides = [exact_top(u, 1) for u, _ in scores]
    firsts = [int(np.flatnonzero(inside)[0]) for inside in insides]
    problems = [(u, w, inside, 0.0, 1.0) for (u, w), inside in zip(scores, insides, strict=True)]
    swept = sweep_many(problems)
    found = []
    for (_, w), inside, first, switches in zip(scores, insides, firsts, swept, strict=True):
        switches += endpoint_fixups(inside, exact_top(w, 1), w)
        segments = [_Segment(first, 0.0, 1.0, True, True)]
        for s in switches:
            last = segments[-1]
            last.end, last.exact_end = s.alpha, False
            segments.append(_Segment(s.entering, s.alpha, 1.0, False, True))
        found.append(segments)
    return found


class _LearnerPath:
    """The exact jumps of one learner along the path."""

    def __init__(self, scorer: BruteForceScorer, index: int, ends: np.ndarray) -> None:
        self.scorer = scorer
        self.learner: PreparedLearner = scorer.learners[index]
        self.index, self.ends, self.k = index, ends, scorer.num_nn
        self.delta = ends[1] - ends[0]
        self.jumps: list[PathJump] = []

    def plan(self, segments: list[_Segment]):
        """Each cluster segment: (segment, keys at the ends a and c, its set at the start, k)."""
        planned = []
        for seg in segments:
            cluster = self.learner.clusters[seg.cluster]
            a, c = self.scorer.keys(cluster, self.ends)
            k = min(self.k, cluster.size)
            if seg.exact_start:
                inside = self._exact_top(cluster, 0)
            elif seg.start == 1.0:
                inside = self._exact_top(cluster, 1)
            else:
                inside = right_limit_top(a, c, seg.start, k)
            planned.append((seg, a, c, inside, k))
        return planned

    def record(self, planned, starts: list[np.ndarray], swept: list[list[Swap]]) -> None:
        """Record the partition switches and the swaps of the swept segments (``starts``:
        each segment's set at its start; the sets in ``planned`` are the ones at its end)."""
        previous: tuple[int, np.ndarray] | None = None
        for (seg, _, c, inside, _), first, swaps in zip(planned, starts, swept, strict=True):
            cluster = self.learner.clusters[seg.cluster]
            if previous is not None:
                self._partition(seg, previous, np.flatnonzero(first))
            if seg.exact_end and seg.end == 1.0:
                swaps = swaps + endpoint_fixups(inside, self._exact_top(cluster, 1), c)
            self._swaps(seg.cluster, cluster, swaps)
            previous = (seg.cluster, np.flatnonzero(inside))

    def _exact_top(self, cluster: PreparedCluster, end: int) -> np.ndarray:
        """Mask of the brute-force top set in ``cluster`` at the path's start (0) or end (1):
        the scorer's own (already computed when it scored the caption and its baseline)."""
        inside = np.zeros(cluster.size, dtype=bool)
        inside[self.scorer.top(cluster, self.ends[end : end + 1])[0]] = True
        return inside

    def _swaps(self, c: int, cluster: PreparedCluster, swaps: list[Swap]) -> None:
        """Record one cluster's swaps; their normals W(e_j - e_k) in one product."""
        if not swaps:
            return
        entering = np.array([s.entering for s in swaps])
        leaving = np.array([s.leaving for s in swaps])
        normals = (cluster.E[entering] - cluster.E[leaving]) @ cluster.W.T
        changes = _label_changes(cluster.labels, entering, leaving)
        ids = zip(cluster.ids[entering].tolist(), cluster.ids[leaving].tolist(), strict=True)
        for s, (j, k), delta, normal in zip(swaps, ids, changes, normals, strict=True):
            self._record(s.alpha, "swap", (c, c), (j,), (k,), delta, normal)

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
        scores = [ends @ learner.centers.T for learner in scorer.learners]
        plans = [path.plan(seg) for path, seg in zip(paths, _segments(scores), strict=True)]
        segments = [segment for plan in plans for segment in plan]
        starts = [inside.copy() for _, _, _, inside, _ in segments]
        swept = iter(
            sweep_pruned_many(
                [(a, c, inside, seg.start, seg.end, k) for seg, a, c, inside, k in segments]
            )
        )
        firsts = iter(starts)
        for path, plan in zip(paths, plans, strict=True):
            path.record(plan, [next(firsts) for _ in plan], [next(swept) for _ in plan])
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


def _label_changes(labels, entering: np.ndarray, leaving: np.ndarray) -> list[dict[int, int]]:
    """Per swap, {label: +1 or -1} for the labels member entering[i] carries and leaving[i]
    does not, or the other way round (a label both carry does not change)."""
    n_labels = labels.shape[1]

    def carried(members: np.ndarray) -> np.ndarray:  # swap · L + label, each pair once
        starts, counts = labels.indptr[members], np.diff(labels.indptr)[members]
        swap = np.repeat(np.arange(len(members)), counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.unique(swap * n_labels + labels.indices[np.repeat(starts, counts) + offset])

    gained, lost = carried(entering), carried(leaving)
    up = np.setdiff1d(gained, lost, assume_unique=True)
    down = np.setdiff1d(lost, gained, assume_unique=True)
    keys = np.concatenate([up, down])
    signs = np.repeat(np.array([1, -1]), [len(up), len(down)])
    order = np.argsort(keys, kind="stable")
    swap, label = np.divmod(keys[order], n_labels)
    bounds = np.searchsorted(swap, np.arange(len(entering) + 1)).tolist()
    label, sign = label.tolist(), signs[order].tolist()
    return [
        dict(zip(label[lo:hi], sign[lo:hi], strict=True)) for lo, hi in itertools.pairwise(bounds)
    ]


def _set_votes(cluster: PreparedCluster, members: np.ndarray) -> np.ndarray:
    return np.asarray(cluster.labels[members].sum(axis=0), dtype=np.float64).ravel()
