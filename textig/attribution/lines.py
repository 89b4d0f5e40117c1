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

_COARSE, _FINE = 8, 4  # path pieces per segment, each pruned to lines near its top set
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


def sweep(a: np.ndarray, c: np.ndarray, inside: np.ndarray, lo: float, hi: float) -> list[Swap]:
    """Swaps keeping ``inside`` the top set of the lines (1-alpha)a + alpha·c, alpha in [lo, hi).

    Each step finds the earliest alpha at which some outside line j ranks above some inside line
    k (just after alpha) and swaps them; ``inside`` is updated in place.
    """
    swaps: list[Swap] = []
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


def pieces(
    a: np.ndarray, c: np.ndarray, lo: float, hi: float, k: int
) -> list[tuple[float, float, np.ndarray]]:
    """Split [lo, hi) into pieces, each with the lines that can be in its top set.

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
    found = []
    for g, near in enumerate(_near_lines(a, c, coarse, k, slack)):
        fine = np.linspace(coarse[g], coarse[g + 1], _FINE + 1)
        fine[-1] = coarse[g + 1]
        for f, sub in enumerate(_near_lines(a[near], c[near], fine, k, slack)):
            found.append((fine[f], fine[f + 1], near[sub]))
    return found


def sweep_pruned(a: np.ndarray, c: np.ndarray, inside: np.ndarray, lo: float, hi: float, k: int):
    """``sweep`` over [lo, hi) that only looks at the lines near the top set of each piece.

    Equal to ``sweep`` on all lines, much faster when there are many (a cluster, a training set).
    """
    swaps: list[Swap] = []
    for start, end, near in pieces(a, c, lo, hi, k):
        cand = np.union1d(near, np.flatnonzero(inside))
        local = inside[cand]
        swaps += [
            Swap(s.alpha, int(cand[s.entering]), int(cand[s.leaving]))
            for s in sweep(a[cand], c[cand], local, start, end)
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
