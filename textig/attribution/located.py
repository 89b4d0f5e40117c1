"""IG of a piecewise-constant black box from the jumps it locates along the path.

Between boundaries the score is constant, so IG is Σ_jumps ΔF · share, with share_i =
(x_i - x'_i)·n_i / ((x - x')·n) for the boundary's normal n (``exact``). Without the model's
help the jumps are found from scores alone: F along the path at ``cells + 1`` points, then
bisection of every cell whose target scores differ, down to an alpha bracket of ``precision``.

Each share is then measured, not assumed: from a probe point q a distance u (in alpha) before
the jump, a nudge t along axis i reaches a flat boundary when t = u·((x - x')·n)/n_i, so
share_i = (x_i - x'_i)·u / t. The nudge t is found per feature and sign by geometric bisection
on the model's one-sided nudge scores (the first nudge that turns q's scores into those after
the jump), only for the directions whose first change lies within reach.
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

# alpha bracket of a located jump: a probe PROBE_OFFSET from its centre is that far from the
# jump to ±PRECISION / (2 PROBE_OFFSET) = ±5e-5 (±0.16 % at the 1/32 offset of ATTEMPTS),
# every share of the jump scaled alike; each halving below it costs a model call per jump
PRECISION = 1e-10
PROBE_OFFSET = 1e-6  # alpha from the probe point to its jump (at most a quarter of the gap)
REACH = 1e4  # shares below 1/REACH in magnitude read as 0; above REACH, capped
# halvings of log(nudge) over [1/REACH, REACH]: each share to ±SHARE_PRECISION (0.45 %), a
# tenth of the 5 % completeness rule (14, ±0.06 %, cost 3 more model calls per jump)
BISECTIONS = 11
SHARE_PRECISION = float(np.expm1(np.log(REACH) / 2**BISECTIONS))  # half the final bracket
# nudged probe rows per jump, at most: both ends and every halving, a row per direction
# (features searched one way share a row; a second row only where some feature needs both)
NODES_PER_JUMP = 2 * (BISECTIONS + 2)
# probes whose shares are measured together: a model may remember what it computed for a point
# (AnnexML's nudge_scores keeps a batch of 32 probes' keys), and the same probes are nudged
# over all 2 + BISECTIONS calls of a batch
PROBE_BATCH = 32
JUMP_TOLERANCE = 0.01  # |Σ shares - 1| beyond the shares' precision: the jump is measured again
# measurements of a jump: (side, 1 = the roomier one; probe offset, x PROBE_OFFSET)
ATTEMPTS = ((1.0, 1.0), (-1.0, 1.0), (1.0, 1 / 32), (-1.0, 1 / 32))


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
        middle = model.along(x, baseline, mid, targets)
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
    budget: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """IG (T, d), Σ_jumps (after - before)·measured shares, and the probe nodes (T,) spent on
    the jumps that move each target.

    A flat boundary's shares sum to 1, so a jump whose measured shares miss 1 by more than
    ``JUMP_TOLERANCE`` beyond their precision (``_mismeasured``) was mismeasured (a nudge met
    another boundary first, or another jump lies between probe and jump): it is measured again
    (``ATTEMPTS``: from the other side, then from probes 32 times closer), while every target it
    moves has ``budget`` nodes left. The last measurement counts whatever its sum: nothing picks a
    best one or rescales, so a jump no probe can measure (two boundaries crossed at one alpha) still
    shows in the raw completeness error.
    """
    delta = x - baseline
    change = jumps.after - jumps.before  # (J, T)
    moves = change != 0
    shares = np.zeros((len(change), len(delta)))
    used = np.zeros(len(targets), dtype=np.int64)
    gaps = np.stack([
        jumps.lo - np.concatenate([[-np.inf], jumps.hi[:-1]]),
        np.concatenate([jumps.lo[1:], [np.inf]]) - jumps.hi,
    ])  # fmt: skip
    roomier = np.where(gaps[0] >= gaps[1], -1.0, 1.0)
    todo = np.arange(len(change))
    for flip, shrink in ATTEMPTS:
        cost = NODES_PER_JUMP * moves[todo].sum(axis=0)
        todo = todo[~np.any(moves[todo][:, used + cost > budget], axis=1)]
        if not len(todo):
            break
        used += NODES_PER_JUMP * moves[todo].sum(axis=0)
        side = flip * roomier[todo]
        room = np.where(side < 0, gaps[0, todo], gaps[1, todo])
        offset = np.minimum(shrink * PROBE_OFFSET, 0.25 * room)
        shares[todo] = _measured_shares(model, x, baseline, targets, jumps, todo, side, offset)
        todo = todo[_mismeasured(shares[todo])]
    return change.T @ shares, used


def _mismeasured(shares: np.ndarray) -> np.ndarray:
    """Jumps whose shares (J, d) miss 1 by more than JUMP_TOLERANCE beyond what measuring each
    share to ±SHARE_PRECISION can explain (shares of both signs add their errors up)."""
    slack = JUMP_TOLERANCE + SHARE_PRECISION * np.abs(shares).sum(axis=1)
    return np.abs(shares.sum(axis=1) - 1.0) > slack


def _measured_shares(model, x, baseline, targets, jumps, which, side, offset) -> np.ndarray:
    """(len(which), d) shares of the jumps ``which``, each probed ``offset`` before (side -1)
    or after (+1) it; 0 for a probe whose scores are not those on its side of the jump."""
    centres = 0.5 * (jumps.lo[which] + jumps.hi[which])
    alphas = centres + side * offset
    probes = path_points(x, baseline, alphas)
    before, after = jumps.before[which], jumps.after[which]
    start = np.where(side[:, None] < 0, before, after)
    end = np.where(side[:, None] < 0, after, before)
    ready = np.flatnonzero(np.all(model.along(x, baseline, alphas, targets) == start, axis=1))
    out = np.zeros((len(which), len(x)))
    for first in range(0, len(ready), PROBE_BATCH):
        batch = ready[first : first + PROBE_BATCH]
        found = probe_shares(
            model, probes[batch], x - baseline, offset[batch], start[batch], end[batch], targets
        )
        out[batch] = -side[batch, None] * found
    return out


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
    either (one nudge size for both) would stop there and lose the share. Only the directions
    whose first change lies inside the reach need bisecting: one whose farthest nudge
    (REACH) changes no target score has none there, and one whose nearest nudge (1/REACH)
    already changes them has its first change at the cap. Every nudge is scored one-sided
    (``Counter.nudged``), only for the (probe, feature, direction) triples still searched."""
    size = offsets[:, None] * np.abs(delta)[None, :]  # (J, d)
    signed = _DIRECTIONS * size  # (direction +/-, J, d): unit nudges, 0 where δ_i = 0
    log_lo = np.full(signed.shape, -np.log(REACH))
    log_hi = np.full(signed.shape, np.log(REACH))
    moved_far, landed = _first_changes(model, probes, signed * REACH, start, end, targets)
    capped, landed_near = _first_changes(
        model, probes, np.where(moved_far, signed / REACH, 0.0), start, end, targets
    )
    searched = moved_far & ~capped
    for _ in range(BISECTIONS):
        mid = 0.5 * (log_lo + log_hi)
        steps = np.where(searched, signed * np.exp(mid), 0.0)
        now, now_landed = _first_changes(model, probes, steps, start, end, targets)
        now &= searched
        log_hi, log_lo = np.where(now, mid, log_hi), np.where(now | ~searched, log_lo, mid)
        landed = np.where(now, now_landed, landed)
    log_tau = np.where(capped, -np.log(REACH), 0.5 * (log_lo + log_hi))
    landed = np.where(capped, landed_near, landed)
    log_tau = np.where(landed, log_tau, np.inf)  # a direction that never lands is never taken
    plus = landed[0] & (log_tau[0] <= log_tau[1])  # both land: the nearer boundary
    minus = landed[1] & ~plus
    nearest = np.where(plus, log_tau[0], np.where(minus, log_tau[1], np.inf))
    direction = plus.astype(float) - minus.astype(float)
    return np.sign(delta)[None, :] * direction * np.exp(-nearest)


_DIRECTIONS = np.array([1.0, -1.0])[:, None, None]  # nudge directions +e_i, -e_i


def _first_changes(model, probes, steps, start, end, targets):
    """For the signed nudges ``steps`` (2, J, d) of the probes (direction +/-, 0 where not
    asked): (moved, landed), each (2, J, d): the target scores differ from ``start``; they
    equal ``end``. One model call, one-sided: a probe's row nudges each feature its + way if
    asked, else its - way; a second row takes the - ways of features asked both ways."""
    asked = steps != 0
    first = np.where(asked[0], steps[0], steps[1])
    both = asked[0] & asked[1]
    twice = np.flatnonzero(both.any(axis=1))
    rows = np.concatenate([probes, probes[twice]])
    reached = model.nudged(rows, np.concatenate([first, np.where(both, steps[1], 0.0)[twice]]),
                           targets)  # fmt: skip
    m = len(probes)
    out = np.empty((2, *first.shape, len(targets)))
    out[0] = reached[:m]
    out[1] = reached[:m]  # where only - is asked, the first row holds it
    out[1, twice] = np.where(both[twice, :, None], reached[m:], reached[:m][twice])
    moved = np.any(out != start[None, :, None], axis=3) & asked
    landed = np.all(out == end[None, :, None], axis=3) & asked
    return moved, landed
