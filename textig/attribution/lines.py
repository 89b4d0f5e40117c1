"""The top-k set of lines along a path: where a nearest-neighbour set changes, in closed form.

Along the straight path x(alpha) = x' + alpha(x - x'), every ranking key a nearest-neighbour
model sorts by is linear in alpha when the key is linear in x: an inner product e_j·Wᵀx
(AnnexML), a cosine to a fixed unit vector (scaled by the query's norm, which no ranking sees),
or a negated squared distance up to the query's own norm, 2x·t_j - ‖t_j‖² (euclidean kNN).
So a model's neighbour set is piecewise constant along the path and changes only where two
lines cross. This module finds those crossings exactly, for any model with such keys.

Lines are given by their values at the two path ends, ``a`` (alpha = 0) and ``c`` (alpha = 1).
Ties follow the brute-force rule at the path's ends (higher key, then lower position) and the
right limit inside it (at a crossing, the strongest outsider just after it — largest slope,
then lowest position — replaces the weakest insider — smallest slope, then highest position —
one pair at a time). Identical lines never swap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_COARSE, _FINE = 8, 64  # path steps of the coarse and the fine pruning grids
_MAX_SWAPS_PER_LINE = 64  # guard against a non-terminating sweep (a bug, never data)


@dataclass(frozen=True)
class Swap:
    """Line ``entering`` replaces line ``leaving`` in the top set at ``alpha``."""

    alpha: float
    entering: int
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


def exact_top(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of the top k by (value desc, position asc): the brute-force rule at an endpoint."""
    return _top_by(values, k)


def right_limit_top(a: np.ndarray, c: np.ndarray, alpha: float, k: int) -> np.ndarray:
    """Mask of the top k just after alpha: ties go to the larger slope, then the lower position."""
    return _top_by(a + alpha * (c - a), k, c - a)


def _overtaking(a: np.ndarray, c: np.ndarray, rows: np.ndarray, cols: np.ndarray):
    """(start, end) (len(rows), len(cols)): line rows[r] ranks above line cols[q] just after
    alpha exactly when start[r, q] <= alpha < end[r, q] (ties: the lower position ranks above).
    """
    d0 = a[rows, None] - a[None, cols]
    d1 = c[rows, None] - c[None, cols]
    rise = d1 - d0
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = d0 / -rise
    ahead = (rise == 0) & ((d0 > 0) | ((d0 == 0) & (rows[:, None] < cols[None, :])))
    start = np.where(rise > 0, cross, np.where((rise < 0) | ahead, -np.inf, np.inf))
    end = np.where(rise < 0, cross, np.inf)
    return start, end


class _Pairs:
    """``_overtaking`` of (outsider, insider) pairs: from one table of every pair when the lines
    are few, else computed for the pairs asked."""

    _TABLE = 1024  # lines up to which the table of every pair (8 MB each) is kept

    def __init__(self, a: np.ndarray, c: np.ndarray) -> None:
        self.a, self.c = a, c
        self.table = None
        if len(a) <= self._TABLE:
            every = np.arange(len(a))
            self.table = _overtaking(a, c, every, every)

    def cells(self, out: np.ndarray, ins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.table is None:
            return _overtaking(self.a, self.c, out, ins)
        at = np.ix_(out, ins)
        return self.table[0][at], self.table[1][at]


def sweep(a: np.ndarray, c: np.ndarray, inside: np.ndarray, lo: float, hi: float) -> list[Swap]:
    """Swaps keeping ``inside`` the top set of the lines (1-alpha)a + alpha·c, alpha in [lo, hi).

    Each step finds the earliest alpha (not before the last swap) at which some outside line j
    ranks above some inside line k just after alpha, and swaps them; a pair already in the
    wrong order (only rounding can cause it) is swapped at once. Exactly, no line enters or
    leaves twice at one alpha; where rounding of nearly concurrent crossings says otherwise,
    that is ignored, so the sweep ends. ``inside`` is updated in place.
    """
    swaps: list[Swap] = []
    position = np.arange(len(a))
    slope = c - a
    pairs = _Pairs(a, c)
    now = lo
    moved = np.zeros(len(a), dtype=bool)  # lines that entered or left at alpha = now
    for _ in range(_MAX_SWAPS_PER_LINE * len(a) + 16):
        out, ins = np.flatnonzero(~inside), np.flatnonzero(inside)
        if len(out) == 0 or len(ins) == 0:
            return swaps
        start, end = pairs.cells(out, ins)
        when = np.where(now < end, np.maximum(start, now), np.inf)
        if moved.any():  # a line moves at most once per alpha: breaks rounding cycles
            when[(when == now) & (moved[out, None] | moved[None, ins])] = np.inf
        first = when.min()
        if first >= hi:
            return swaps
        if first > now:
            moved[:] = False
        hit = when == first
        rows = np.flatnonzero(hit.any(axis=1))
        j_row = rows[np.lexsort((position[out[rows]], -slope[out[rows]]))[0]]
        cols = np.flatnonzero(hit[j_row])
        k_col = cols[np.lexsort((-position[ins[cols]], slope[ins[cols]]))[0]]
        j, k = int(out[j_row]), int(ins[k_col])
        inside[j], inside[k] = True, False
        moved[j] = moved[k] = True
        swaps.append(Swap(float(first), j, k))
        now = float(first)
    raise RuntimeError("line sweep did not terminate")  # pragma: no cover - a bug guard


def endpoint_fixups(inside: np.ndarray, target: np.ndarray, c: np.ndarray) -> list[Swap]:
    """Pairwise swaps at alpha = 1 from the set just before the endpoint to the set at it."""
    position = np.arange(len(c))
    entering = np.flatnonzero(target & ~inside)
    leaving = np.flatnonzero(inside & ~target)
    entering = entering[np.lexsort((position[entering], -c[entering]))]
    leaving = leaving[np.lexsort((-position[leaving], c[leaving]))]
    inside[:] = target
    return [Swap(1.0, int(j), int(k)) for j, k in zip(entering, leaving, strict=True)]


def _near_lines(a: np.ndarray, c: np.ndarray, grid: np.ndarray, k: int, slack: float) -> np.ndarray:
    """The lines whose higher end on some step of ``grid`` reaches that step's k-th lower end.

    On a step, k lines stay above the k-th largest of the lower end values, so a line whose
    higher end value is below it is not in the top set anywhere on the step.
    """
    if len(a) <= k:
        return np.arange(len(a))
    values = a[None, :] + grid[:, None] * (c - a)[None, :]
    high = np.maximum(values[:-1], values[1:])
    low = np.minimum(values[:-1], values[1:])
    low.partition(len(a) - k, axis=1)
    floor = low[:, len(a) - k]
    return np.flatnonzero((high >= (floor - slack)[:, None]).any(axis=0))


def candidates(a: np.ndarray, c: np.ndarray, lo: float, hi: float, k: int) -> np.ndarray:
    """Positions (ascending) of every line that can be in the top k somewhere on [lo, hi).

    Short steps keep the bound of ``_near_lines`` tight, and each pass only sees the survivors
    of the one before: [lo, hi) as one step, then a coarse grid, then a fine one (the k-th lower
    end of a subset of the lines is still a valid floor).
    """
    if hi <= lo:
        return np.zeros(0, dtype=np.int64)
    slack = 1e-9 * (np.max(np.abs(a)) + np.max(np.abs(c)))
    near = np.arange(len(a))
    for steps in (1, _COARSE, _FINE):
        near = near[_near_lines(a[near], c[near], np.linspace(lo, hi, steps + 1), k, slack)]
    return near


def sweep_pruned(a: np.ndarray, c: np.ndarray, inside: np.ndarray, lo: float, hi: float, k: int):
    """``sweep`` over [lo, hi) of only the lines that can reach the top set (``candidates``).

    Equal to ``sweep`` on all lines, much faster when there are many (a cluster, a training set).
    """
    cand = np.union1d(candidates(a, c, lo, hi, k), np.flatnonzero(inside))
    local = inside[cand]
    swaps = [
        Swap(s.alpha, int(cand[s.entering]), int(cand[s.leaving]))
        for s in sweep(a[cand], c[cand], local, lo, hi)
    ]
    inside[cand] = local
    return swaps


def top_k_path(a: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, list[Swap]]:
    """The top-k set at alpha = 0 (positions) and every swap until the set at alpha = 1.

    The swaps replay the set from the brute-force set at the start to the brute-force set at
    the end, the last ones possibly at alpha = 1 where an endpoint tie decides.
    """
    k = min(k, len(a))
    inside = exact_top(a, k)
    start = np.flatnonzero(inside)
    swaps = sweep_pruned(a, c, inside, 0.0, 1.0, k)
    swaps += endpoint_fixups(inside, exact_top(c, k), c)
    return start, swaps
