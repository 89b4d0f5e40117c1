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


def _overtaking(a: np.ndarray, c: np.ndarray, ins: np.ndarray):
    """(start, end) (P, M, K) for lines a, c (P, M) against the lines ``ins`` (P, K) of each
    row: line m ranks above line ins[q] just after alpha exactly when start <= alpha < end
    (ties: the lower position ranks above)."""
    rows = np.arange(a.shape[0])[:, None]
    d0 = a[:, :, None] - a[rows, ins][:, None, :]
    d1 = c[:, :, None] - c[rows, ins][:, None, :]
    rise = d1 - d0
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = d0 / -rise
    lower = np.arange(a.shape[1])[None, :, None] < ins[:, None, :]
    ahead = (rise == 0) & ((d0 > 0) | ((d0 == 0) & lower))
    start = np.where(rise > 0, cross, np.where((rise < 0) | ahead, -np.inf, np.inf))
    end = np.where(rise < 0, cross, np.inf)
    return start, end


class _Pairs:
    """``_overtaking`` of every line of each problem against some of its lines: read from a
    table of every pair when the problems are small, else computed for the pairs asked.
    Pairs with a padding line never overtake (start = inf)."""

    _TABLE = 1 << 21  # pairs up to which the table (16 MB) is kept

    def __init__(self, a: np.ndarray, c: np.ndarray, line: np.ndarray) -> None:
        self.a, self.c, self.line = a, c, line
        self.table = None
        if a.size * a.shape[1] <= self._TABLE:
            self.table = self._computed(np.broadcast_to(np.arange(a.shape[1]), a.shape))

    def _computed(self, ins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start, end = _overtaking(self.a, self.c, ins)
        rows = np.arange(len(ins))[:, None]
        real = self.line[:, :, None] & self.line[rows, ins][:, None, :]
        return np.where(real, start, np.inf), end

    def cells(self, ins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) (P, M, K) of every line against the lines ``ins`` (P, K)."""
        if self.table is None:
            return self._computed(ins)
        at = np.arange(len(ins))[:, None, None], np.arange(self.a.shape[1])[None, :, None]
        return self.table[0][(*at, ins[:, None, :])], self.table[1][(*at, ins[:, None, :])]

    def take(self, keep: np.ndarray) -> _Pairs:
        """The pairs of the kept problems only."""
        kept = _Pairs.__new__(_Pairs)
        kept.a, kept.c, kept.line = self.a[keep], self.c[keep], self.line[keep]
        kept.table = None if self.table is None else (self.table[0][keep], self.table[1][keep])
        return kept


@dataclass
class _Batch:
    """Problems padded to a common number of lines M (+1 slot that is never a line) and of
    insiders K (padded with that slot)."""

    a: np.ndarray  # (P, M)
    c: np.ndarray
    line: np.ndarray  # (P, M) bool: a real line
    inside: np.ndarray  # (P, M) bool
    ins: np.ndarray  # (P, K) positions of the insiders
    lo: np.ndarray  # (P,)
    hi: np.ndarray

    @classmethod
    def pad(cls, problems: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]):
        n = len(problems)
        m = max(len(p[0]) for p in problems) + 1
        k = max(1, max(int(p[2].sum()) for p in problems))
        batch = cls(
            np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m), dtype=bool),
            np.zeros((n, m), dtype=bool), np.full((n, k), m - 1),
            np.array([p[3] for p in problems], dtype=float),
            np.array([p[4] for p in problems], dtype=float),
        )  # fmt: skip
        for i, (a, c, inside, _, _) in enumerate(problems):
            batch.a[i, : len(a)], batch.c[i, : len(c)] = a, c
            batch.line[i, : len(a)], batch.inside[i, : len(a)] = True, inside
            held = np.flatnonzero(inside)
            batch.ins[i, : len(held)] = held
        return batch

    def take(self, keep: np.ndarray) -> _Batch:
        return _Batch(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def sweep_many(problems: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]):
    """Swaps keeping each ``inside`` the top set of its lines (1-alpha)a + alpha·c, alpha in
    [lo, hi), for independent problems (a, c, inside, lo, hi) side by side, one step of each
    per pass; each ``inside`` is updated in place.

    Each step finds the earliest alpha (not before the last swap) at which some outside line j
    ranks above some inside line k just after alpha, and swaps them; a pair already in the
    wrong order (only rounding can cause it) is swapped at once. Exactly, no line enters or
    leaves twice at one alpha; where rounding of nearly concurrent crossings says otherwise,
    that is ignored, so the sweep ends.
    """
    found: list[list[Swap]] = [[] for _ in problems]
    if not problems:
        return found
    batch = _Batch.pad(problems)
    index = np.arange(len(problems))  # problem of each batch row
    now = batch.lo.copy()
    moved = np.zeros_like(batch.inside)  # lines that entered or left at alpha = now
    slope = batch.c - batch.a
    pairs = _Pairs(batch.a, batch.c, batch.line)
    start, end = pairs.cells(batch.ins)  # every line against each insider, kept up to date
    for _ in range(_MAX_SWAPS_PER_LINE * batch.a.shape[1] + 16):
        from_now = np.where(batch.inside, np.inf, now[:, None])[:, :, None]  # insiders: never
        when = np.where(now[:, None, None] < end, np.maximum(start, from_now), np.inf)
        flat = when.reshape(len(when), -1)
        earliest = flat.argmin(axis=1)
        first = flat[np.arange(len(flat)), earliest]
        stuck = np.flatnonzero((first == now) & moved.any(axis=1))
        if len(stuck):  # a line moves at most once per alpha: breaks rounding cycles
            held = moved[stuck[:, None], batch.ins[stuck]][:, None, :]
            again = (when[stuck] == now[stuck, None, None]) & (moved[stuck, :, None] | held)
            when[stuck] = np.where(again, np.inf, when[stuck])
            earliest[stuck] = when[stuck].reshape(len(stuck), -1).argmin(axis=1)
            first[stuck] = flat[stuck, earliest[stuck]]
        going = first < batch.hi
        if not going.all():
            for i, b in zip(index[~going], np.flatnonzero(~going), strict=True):
                problems[i][2][:] = batch.inside[b, : len(problems[i][0])]
            if not going.any():
                return found
            keep = np.flatnonzero(going)
            batch, index, now, moved = batch.take(keep), index[keep], now[keep], moved[keep]
            first, when, slope = first[keep], when[keep], slope[keep]
            earliest, flat = earliest[keep], flat[keep]
            pairs, start, end = pairs.take(keep), start[keep], end[keep]
        moved[first > now] = False
        r = np.arange(len(index))
        j, q = np.divmod(earliest, batch.ins.shape[1])  # the pair, unless several tie
        tied = np.flatnonzero((flat == first[:, None]).sum(axis=1) > 1)
        if len(tied):
            j[tied], q[tied] = _tie_break(when[tied], first[tied], slope[tied], batch.ins[tied])
        k = batch.ins[r, q]
        batch.inside[r, j], batch.inside[r, k] = True, False
        batch.ins[r, q] = j
        column = pairs.cells(j[:, None])
        start[r, :, q], end[r, :, q] = column[0][:, :, 0], column[1][:, :, 0]
        moved[r, j] = moved[r, k] = True
        for i, alpha, entered, left in zip(index, first, j, k, strict=True):
            found[i].append(Swap(float(alpha), int(entered), int(left)))
        now = first
    raise RuntimeError("line sweep did not terminate")  # pragma: no cover - a bug guard


def _tie_break(when, first, slope, ins) -> tuple[np.ndarray, np.ndarray]:
    """(j, q) where several pairs overtake first: the strongest outsider just after (largest
    slope, then lowest position) and the weakest insider it overtakes (smallest slope, then
    highest position), at column q of ``ins``."""
    r = np.arange(len(when))
    hit = when == first[:, None, None]
    entering = hit.any(axis=2)
    best = np.where(entering, slope, -np.inf).max(axis=1, keepdims=True)
    j = np.argmax(entering & (slope == best), axis=1)
    leaving = hit[r, j]
    held = slope[r[:, None], ins]
    low = np.where(leaving, held, np.inf).min(axis=1, keepdims=True)
    return j, np.argmax(np.where(leaving & (held == low), ins, -1), axis=1)


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
    """The swaps over [lo, hi) of only the lines that can reach the top set (``candidates``).

    Equal to ``sweep_many`` on all lines, much faster when there are many (a cluster, a
    training set); ``inside`` is updated in place.
    """
    return sweep_pruned_many([(a, c, inside, lo, hi, k)])[0]


def sweep_pruned_many(problems: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float, int]]):
    """``sweep_pruned`` of independent problems (a, c, inside, lo, hi, k), side by side."""
    kept = [
        np.union1d(candidates(a, c, lo, hi, k), np.flatnonzero(inside))
        for a, c, inside, lo, hi, k in problems
    ]
    local = [inside[cand] for (_, _, inside, *_), cand in zip(problems, kept, strict=True)]
    found = sweep_many(
        [
            (a[cand], c[cand], held, lo, hi)
            for (a, c, _, lo, hi, _), cand, held in zip(problems, kept, local, strict=True)
        ]
    )
    for (_, _, inside, *_), cand, held in zip(problems, kept, local, strict=True):
        inside[cand] = held
    return [
        [Swap(s.alpha, int(cand[s.entering]), int(cand[s.leaving])) for s in swaps]
        for swaps, cand in zip(found, kept, strict=True)
    ]


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
