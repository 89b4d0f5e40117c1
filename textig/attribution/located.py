"""IG of a piecewise-constant black box from the jumps it locates along the path.

Between boundaries the score is constant, so IG is Σ_jumps ΔF · share, with share_i =
(x_i - x'_i)·n_i / ((x - x')·n) for the boundary's normal n (``exact``). Without the model's
help the jumps are found from scores alone: F along the path at ``cells + 1`` points, then
bisection of every cell whose target scores differ, down to an alpha bracket of ``precision``.

Each share is then measured, not assumed: from a probe point q a distance u (in alpha) before
the jump, a nudge t along axis i reaches a flat boundary when t = u·((x - x')·n)/n_i, so
share_i = (x_i - x'_i)·u / t. The nudge t is found per feature and sign by geometric bisection
on the model's axis-nudged scores (the first nudge that turns q's scores into those after the
jump).
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
NODES_PER_JUMP = 2 * (BISECTIONS + 2)  # axis-nudged probes per jump: both ends, both signs


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
    t_i = τ_i·offset·|δ_i| is the smallest nudge along +e_i or -e_i whose first change of the
    probe's target scores (``start``) lands on the scores after the jump (``end``); 0 where
    neither direction's first change does within REACH.

    Each direction is bisected on its own: a flat boundary lies on one side of the probe, and
    the other side may hold another boundary that is nearer; bisecting on the first change of
    either (one nudge size for both) would stop there and lose the share."""
    size = offsets[:, None] * np.abs(delta)[None, :]  # (J, d)
    log_lo = np.full((2, *size.shape), -np.log(REACH))  # (direction +/-, J, d)
    log_hi = np.full((2, *size.shape), np.log(REACH))
    moved_far, landed = _first_changes(model, probes, size, log_hi, start, end, targets)
    capped, landed_near = _first_changes(model, probes, size, log_lo, start, end, targets)
    landed &= moved_far
    for _ in range(BISECTIONS):
        mid = 0.5 * (log_lo + log_hi)
        now, now_landed = _first_changes(model, probes, size, mid, start, end, targets)
        log_hi, log_lo = np.where(now, mid, log_hi), np.where(now, log_lo, mid)
        landed = np.where(now, now_landed, landed)
    log_tau = np.where(capped, -np.log(REACH), 0.5 * (log_lo + log_hi))
    landed = np.where(capped, landed_near, landed)
    log_tau = np.where(landed, log_tau, np.inf)  # a direction that never lands is never taken
    plus = landed[0] & (log_tau[0] <= log_tau[1])  # both land: the nearer boundary
    minus = landed[1] & ~plus
    nearest = np.where(plus, log_tau[0], np.where(minus, log_tau[1], np.inf))
    direction = plus.astype(float) - minus.astype(float)
    return np.sign(delta)[None, :] * direction * np.exp(-nearest)


def _first_changes(model, probes, size, log_tau, start, end, targets):
    """For nudges exp(log_tau[0])·size along +e_i and exp(log_tau[1])·size along -e_i of each
    probe: (moved, landed), each (2, J, d): the target scores differ from ``start``; they
    equal ``end``. One model call: the probes twice, with the + and the - nudge sizes."""
    m = len(probes)
    steps = np.exp(log_tau).reshape(2 * m, -1) * np.concatenate([size, size])
    plus, minus = model.point_differences(np.concatenate([probes, probes]), steps, targets)
    reached = np.stack([plus[:m], minus[m:]])  # (2, J, d, T)
    moved = np.any(reached != start[None, :, None], axis=3)
    return moved, np.all(reached == end[None, :, None], axis=3)
