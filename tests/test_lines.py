"""The top-k line sweep (``textig.attribution.lines``) against a slow reference.

The reference is the plain sweep over every line, written out here: each step compares every
outside line with every inside line from scratch. The fast sweep prunes the lines that cannot
reach the top set and reads crossings from a table; on lines in general position and with ties
or duplicates it must give the very same swaps.
"""

from __future__ import annotations

import numpy as np
import pytest

from textig.attribution import lines
from textig.attribution.lines import (
    Swap,
    candidates,
    endpoint_fixups,
    exact_top,
    right_limit_top,
    sweep_many,
    sweep_pruned,
    top_k_path,
)


def reference_sweep(a, c, inside, lo, hi) -> list[Swap]:
    """Every outsider against every insider at each step; no pruning, no table."""
    swaps, position, slope, now = [], np.arange(len(a)), c - a, lo
    for _ in range(10 * len(a) + 16):
        out, ins = np.flatnonzero(~inside), np.flatnonzero(inside)
        if len(out) == 0 or len(ins) == 0:
            return swaps
        d0 = a[out, None] - a[None, ins]
        rise = (c[out, None] - c[None, ins]) - d0
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = d0 / -rise
        when = np.full(d0.shape, np.inf)
        when[rise > 0] = np.maximum(cross[rise > 0], now)
        tied_ahead = (d0 > 0) | ((d0 == 0) & (out[:, None] < ins[None, :]))
        when[((rise < 0) & (now < cross)) | ((rise == 0) & tied_ahead)] = now
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
    raise AssertionError("the reference sweep did not end")


def reference_path(a, c, k):
    inside = exact_top(a, k)
    start = np.flatnonzero(inside)
    swaps = reference_sweep(a, c, inside, 0.0, 1.0)
    return start, swaps + endpoint_fixups(inside, exact_top(c, k), c)


def _lines(rng, kind: str, n: int):
    if kind == "general":
        return rng.normal(size=n), rng.normal(size=n)
    if kind == "integer":  # many exact ties at the ends and exactly concurrent crossings
        return rng.integers(-3, 4, size=n).astype(float), rng.integers(-3, 4, size=n).astype(float)
    a, c = rng.normal(size=n), rng.normal(size=n)  # duplicated lines
    m = max(1, n // 3)
    a[:m], c[:m] = a[-m:], c[-m:]
    return a, c


@pytest.mark.parametrize("kind", ["general", "integer", "duplicates"])
def test_fast_sweep_equals_reference(kind: str) -> None:
    rng = np.random.default_rng({"general": 1, "integer": 2, "duplicates": 3}[kind])
    for _ in range(150):
        n, k = int(rng.integers(1, 80)), int(rng.integers(1, 9))
        a, c = _lines(rng, kind, n)
        start, swaps = top_k_path(a, c, k)
        ref_start, ref_swaps = reference_path(a, c, min(k, n))
        np.testing.assert_array_equal(start, ref_start)
        assert swaps == ref_swaps
        lo, hi = sorted(rng.random(2))
        inside = right_limit_top(a, c, lo, min(k, n))
        expected = reference_sweep(a, c, inside.copy(), lo, hi)
        assert sweep_pruned(a, c, inside, lo, hi, min(k, n)) == expected


def test_many_lines_sweep_equals_reference() -> None:
    """Thousands of lines (a cluster): pruning keeps a few dozen, the swaps are the same."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=4000)
    c = 0.6 * a + 0.8 * rng.normal(size=4000)
    start, swaps = top_k_path(a, c, 10)
    ref_start, ref_swaps = reference_path(a, c, 10)
    assert len(swaps) > 10
    np.testing.assert_array_equal(start, ref_start)
    assert swaps == ref_swaps
    assert len(candidates(a, c, 0.0, 1.0, 10)) < 200


def test_candidates_hold_every_line_ever_in_the_top_set() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        n, k = int(rng.integers(20, 400)), int(rng.integers(1, 12))
        a, c = rng.normal(size=n), rng.normal(size=n)
        lo, hi = sorted(rng.random(2))
        kept = set(candidates(a, c, lo, hi, k).tolist())
        for alpha in np.linspace(lo, hi, 400, endpoint=False):
            assert set(np.flatnonzero(right_limit_top(a, c, alpha, k))) <= kept


def test_nearly_concurrent_crossings_end() -> None:
    """Lines built through common points cross there only up to rounding, which can order
    three of them in a cycle (the reference sweep then never ends); the sweep ends, and its
    swaps replay the start set into the end set, so the jumps still telescope."""
    rng = np.random.default_rng(0)
    cycles = 0
    for _ in range(200):
        n, k = int(rng.integers(5, 60)), int(rng.integers(1, 8))
        points, slopes = rng.normal(size=3), rng.normal(size=n)
        at = rng.choice([0.25, 0.5, 0.75], size=n)
        a = points[rng.integers(0, 3, size=n)] - slopes * at
        c = a + slopes
        start, swaps = top_k_path(a, c, k)
        replay = np.zeros(n, dtype=bool)
        replay[start] = True
        for s in swaps:
            assert replay[s.leaving] and not replay[s.entering]
            replay[s.entering], replay[s.leaving] = True, False
        np.testing.assert_array_equal(replay, exact_top(c, min(k, n)))
        try:
            reference_path(a, c, min(k, n))
        except AssertionError:
            cycles += 1
    assert cycles > 0, "the test needs cases where the plain sweep cycles"


def test_the_pair_table_and_direct_pairs_agree(monkeypatch) -> None:
    rng = np.random.default_rng(9)
    a, c = _lines(rng, "integer", 60)
    problems = [(a, c, exact_top(a, 4), 0.0, 1.0), (a[:30], c[:30], exact_top(a[:30], 2), 0.2, 0.9)]
    with_table = sweep_many([(a, c, inside.copy(), lo, hi) for a, c, inside, lo, hi in problems])
    monkeypatch.setattr(lines._Pairs, "_TABLE", 0)
    assert sweep_many(problems) == with_table


def test_problems_swept_side_by_side_equal_each_alone() -> None:
    """Padding to a common size and stepping all problems together changes no problem's
    swaps or final set, whatever their sizes, set sizes and stretches of the path."""
    rng = np.random.default_rng(13)
    problems = []
    for n, k in [(1, 1), (5, 5), (40, 3), (80, 10), (12, 1), (60, 7)]:
        a, c = _lines(rng, "general" if n % 2 else "duplicates", n)
        lo, hi = sorted(rng.random(2))
        problems.append((a, c, right_limit_top(a, c, lo, k), lo, hi))
    alone = [reference_sweep(a, c, inside.copy(), lo, hi) for a, c, inside, lo, hi in problems]
    ends = [None] * len(problems)
    for i, (a, c, inside, lo, hi) in enumerate(problems):
        ends[i] = inside.copy()
        reference_sweep(a, c, ends[i], lo, hi)
    assert sweep_many(problems) == alone
    for (_, _, inside, _, _), end in zip(problems, ends, strict=True):
        np.testing.assert_array_equal(inside, end)
