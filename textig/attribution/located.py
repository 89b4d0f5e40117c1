"""IG of a piecewise-constant black box from the jumps it locates along the path.

Between boundaries the score is constant, so IG is Σ_jumps ΔF · share, with share_i =
(x_i - x'_i)·n_i / ((x - x')·n) for the boundary's normal n (``exact``). Without the model's
help the jumps are found from scores alone: F along the path at ``cells + 1`` points, then
bisection of every cell whose target scores differ, down to an alpha bracket of ``precision``.

Each share is then measured, not assumed: from a probe point q a distance u (in alpha) before
the jump, a nudge t along axis i reaches a flat boundary when t = u·((x - x')·n)/n_i, so
share_i = (x_i - x'_i)·u / t. The nudge t is found per feature by geometric bisection on the
model's axis-nudged scores (the first nudge that turns q's scores into those after the jump).
Nothing forces a jump's shares to sum to 1: they do only where the boundary is flat at the
probe's scale and every nudge was measured, so the raw completeness error still measures the
estimate. What it cannot see is a pair of jumps that cancel inside one scan cell (more cells
find them; the cosine to an exact IG measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textig.attribution._utils import Counter
from textig.attribution.paths import path_points

PRECISION = 1e-12  # alpha bracket of a located jump
PROBE_OFFSET = 1e-6  # alpha from the probe point to its jump (at most a quarter of the gap)
REACH = 1e4  # shares below 1/REACH in magnitude read as 0; above REACH, capped
BISECTIONS = 14  # halvings of log(nudge) over [1/REACH, REACH]: shares to ±0.06 %
NODES_PER_JUMP = BISECTIONS + 2  # axis-nudged probe evaluations per jump (with both ends)


@dataclass(frozen=True)
class Jumps:
    """Located changes of the target scores: brackets [lo, hi] and the scores either side."""

    lo: np.ndarray  # (J,)
    hi: np.ndarray  # (J,)
    before: np.ndarray  # (J, T)
    after: np.ndarray  # (J, T)


def changed_cells(scores: np.ndarray) -> np.ndarray:
    """Indices k of the scan cells [alpha_k, alpha_k+1] whose target scores differ."""
    return np.flatnonzero(np.any(scores[:-1] != scores[1:], axis=1))


def locate_jumps(
    model: Counter,
    x: np.ndarray,
    baseline: np.ndarray,
    targets: np.ndarray,
    alphas: np.ndarray,
    scores: np.ndarray,
    precision: float = PRECISION,
) -> Jumps:
    """Bisect every scan cell whose target scores differ (``scores``: (len(alphas), T) at the
    sorted ``alphas``) until each change sits in a bracket no wider than ``precision``; a cell
    holding several changes splits into several brackets. One model call per level."""
    cells = changed_cells(scores)
    lo, hi = alphas[cells], alphas[cells + 1]
    before, after = scores[cells], scores[cells + 1]
    found = []
    while len(lo):
        narrow = hi - lo <= precision
        found.append((lo[narrow], hi[narrow], before[narrow], after[narrow]))
        lo, hi, before, after = lo[~narrow], hi[~narrow], before[~narrow], after[~narrow]
        if not len(lo):
            break
        mid = 0.5 * (lo + hi)
        middle = model(path_points(x, baseline, mid))[:, targets]
        left = np.any(before != middle, axis=1)
        right = np.any(middle != after, axis=1)
        lo = np.concatenate([lo[left], mid[right]])
        hi = np.concatenate([mid[left], hi[right]])
        before, after = (
            np.concatenate([before[left], middle[right]]),
            np.concatenate([middle[left], after[right]]),
        )
    lo, hi, before, after = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.argsort(lo, kind="stable")
    return Jumps(lo[order], hi[order], before[order], after[order])


def located_jump_attributions(
    model: Counter,
    x: np.ndarray,
    baseline: np.ndarray,
    targets: np.ndarray,
    jumps: Jumps,
    *,
    probe_offset: float = PROBE_OFFSET,
) -> np.ndarray:
    """IG (T, d): Σ_jumps (after - before) · measured shares."""
    delta = x - baseline
    out = np.zeros((len(targets), len(delta)))
    centres = 0.5 * (jumps.lo + jumps.hi)
    gap_before = jumps.lo - np.concatenate([[-np.inf], jumps.hi[:-1]])
    gap_after = np.concatenate([jumps.lo[1:], [np.inf]]) - jumps.hi
    side = np.where(gap_before >= gap_after, -1.0, 1.0)  # probe on the roomier side
    offset = np.minimum(probe_offset, 0.25 * np.maximum(gap_before, gap_after))
    probes = path_points(x, baseline, centres + side * offset)
    start = np.where(side[:, None] < 0, jumps.before, jumps.after)
    end = np.where(side[:, None] < 0, jumps.after, jumps.before)
    at_probe = model(probes)[:, targets]
    ready = np.flatnonzero(np.all(at_probe == start, axis=1))  # no other jump in between
    if not len(ready):
        return out
    shares = probe_shares(
        model, probes[ready], delta, offset[ready], start[ready], end[ready], targets
    )
    change = jumps.after[ready] - jumps.before[ready]  # (J, T)
    return out + change.T @ (-side[ready, None] * shares)


def probe_shares(
    model: Counter,
    probes: np.ndarray,
    delta: np.ndarray,
    offsets: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    targets: np.ndarray,
) -> np.ndarray:
    """(J, d) share_i·(-side) of each probe's jump: sign(δ_i)·sign(t_i)/τ_i, where
    t_i = τ_i·offset·|δ_i| is the smallest nudge along ±e_i that changes the probe's target
    scores (``start``), when that change lands on the scores after the jump (``end``); 0 where
    no nudge up to REACH changes them or the first change is another boundary's."""
    size = offsets[:, None] * np.abs(delta)[None, :]  # (J, d)
    log_lo = np.full(size.shape, -np.log(REACH))
    log_hi = np.full(size.shape, np.log(REACH))

    def nudge(log_tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        plus, minus = model.point_differences(probes, np.exp(log_tau) * size, targets)
        moved = np.any(plus != start[:, None], axis=2) | np.any(minus != start[:, None], axis=2)
        return moved, np.all(plus == end[:, None], axis=2), np.all(minus == end[:, None], axis=2)

    moved, to_plus, to_minus = nudge(log_hi)
    capped, cap_plus, cap_minus = nudge(log_lo)
    for _ in range(BISECTIONS):
        mid = 0.5 * (log_lo + log_hi)
        now, now_plus, now_minus = nudge(mid)
        log_hi = np.where(now, mid, log_hi)
        log_lo = np.where(now, log_lo, mid)
        to_plus = np.where(now, now_plus, to_plus)
        to_minus = np.where(now, now_minus, to_minus)
    log_tau = np.where(capped, -np.log(REACH), 0.5 * (log_lo + log_hi))
    to_plus = np.where(capped, cap_plus, to_plus)
    to_minus = np.where(capped, cap_minus, to_minus)
    direction = np.where(to_plus & ~to_minus, 1.0, np.where(to_minus & ~to_plus, -1.0, 0.0))
    direction = np.where(moved | capped, direction, 0.0)
    return np.sign(delta)[None, :] * direction * np.exp(-log_tau)
