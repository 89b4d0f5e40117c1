"""Private helpers: input validation and batched, chunked model calls."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from textig.attribution.paths import path_points
from textig.errors import TextigError

ScoreFn = Callable[[np.ndarray], np.ndarray]


def as_vector(value, name: str, dim: int | None = None) -> np.ndarray:
    """``value`` as a finite float64 (d,) vector, or a TextigError naming what is wrong."""
    try:
        vec = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TextigError(f"{name} must be a numeric vector") from exc
    if vec.ndim != 1 or vec.size == 0:
        raise TextigError(f"{name} must be a non-empty 1-d vector, got shape {vec.shape}")
    if dim is not None and vec.size != dim:
        raise TextigError(f"{name} has {vec.size} features, expected {dim}")
    if not np.all(np.isfinite(vec)):
        raise TextigError(f"{name} contains NaN or infinite values")
    return vec


def check_scores(scores, n: int, n_labels: int | None) -> np.ndarray:
    """The model's output as finite float64 (n, L), or a TextigError."""
    out = np.asarray(scores, dtype=np.float64)
    if out.ndim != 2 or out.shape[0] != n or (n_labels is not None and out.shape[1] != n_labels):
        want = f"({n}, {n_labels if n_labels is not None else 'L'})"
        raise TextigError(f"the model returned scores of shape {out.shape}, expected {want}")
    if not np.all(np.isfinite(out)):
        raise TextigError("the model returned NaN or infinite scores")
    return out


def check_positive(value: float, name: str) -> None:
    if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise TextigError(f"{name} must be a positive number, got {value!r}")


def resolve_targets(targets, f_x: np.ndarray, f_baseline: np.ndarray) -> np.ndarray:
    if targets is None:
        return np.flatnonzero(f_x != f_baseline)
    chosen = np.atleast_1d(np.asarray(targets))
    if chosen.ndim != 1 or (chosen.size and not np.issubdtype(chosen.dtype, np.integer)):
        raise TextigError("targets must be a list of integer label ids")
    if chosen.size and (chosen.min() < 0 or chosen.max() >= len(f_x)):
        raise TextigError(f"target label ids must lie in [0, {len(f_x) - 1}]")
    return chosen.astype(np.int64)


class Counter:
    """Wraps f: chunks batches to ``batch_size`` rows, validates outputs, counts samples."""

    def __init__(self, f: ScoreFn, batch_size: int, n_labels: int | None = None) -> None:
        if not callable(f):
            raise TextigError("f must be callable: (n, d) array -> (n, L) scores")
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise TextigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.f, self.batch_size, self.n_labels = f, int(batch_size), n_labels
        self.samples = 0
        self.has_axis = callable(getattr(f, "axis_scores", None))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """f(X) in chunks of at most ``batch_size`` rows: (n, L) float64."""
        parts = []
        for start in range(0, len(X), self.batch_size):
            chunk = X[start : start + self.batch_size]
            parts.append(check_scores(self.f(chunk), len(chunk), self.n_labels))
            self.n_labels = parts[-1].shape[1]
        self.samples += len(X)
        return np.concatenate(parts)

    def along(
        self, x: np.ndarray, baseline: np.ndarray, alphas: np.ndarray, columns: np.ndarray
    ) -> np.ndarray:
        """(n, T): f(baseline + alpha·(x - baseline))[columns] for each of the ``alphas``.

        Uses ``f.path_scores`` when the model has it (points on one line, scored faster than
        one by one); else scores the materialised path points.
        """
        if not callable(getattr(self.f, "path_scores", None)):
            return self(path_points(x, baseline, alphas))[:, columns]
        scores = np.asarray(self.f.path_scores(baseline, x, alphas, columns), dtype=np.float64)
        if scores.shape != (len(alphas), len(columns)) or not np.all(np.isfinite(scores)):
            raise TextigError("the model's path_scores gave a wrong shape or non-finite scores")
        self.samples += len(alphas)
        return scores

    def axis_differences(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(plus, minus), each (m, d, T): f(points[p] ± steps[i]·e_i)[columns].

        Uses ``f.axis_scores`` when the model has it; otherwise materialises the nudged copies
        of the features with a non-zero step (the others get the point's own scores).
        """
        m, d = points.shape
        moved = np.flatnonzero(steps)
        per_chunk = max(1, self.batch_size // max(2 * len(moved), 1))
        plus = np.empty((m, d, len(columns)))
        minus = np.empty((m, d, len(columns)))
        for start in range(0, m, per_chunk):
            block = slice(start, min(start + per_chunk, m))
            plus[block], minus[block] = self._axis_block(points[block], steps, moved, columns)
        return plus, minus

    def nudged(self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(m, d, T): f(points[p] + steps[p, i]·e_i)[columns], one signed step per point and
        feature; a zero step gives the point's own scores.

        Uses ``f.nudge_scores`` in batches of up to ``batch_size`` nudges where the model has
        it; else materialises the nudges with a non-zero step (the others are the point).
        Counts one sample per non-zero step: a zero step is the point, scored once.
        """
        m, d = points.shape
        live = steps != 0
        if callable(getattr(self.f, "nudge_scores", None)):
            per_chunk = max(1, self.batch_size // d)
            out = np.concatenate([
                self._nudge_block(points[s : s + per_chunk], steps[s : s + per_chunk], columns)
                for s in range(0, m, per_chunk)
            ])  # fmt: skip
            self.samples += int(live.sum())
            return out
        out = np.empty((m, d, len(columns)))
        out[:] = self(points)[:, None, columns]
        p, i = np.nonzero(live)
        nudges = points[p].copy()
        nudges[np.arange(len(p)), i] += steps[p, i]
        out[p, i] = self(nudges)[:, columns]
        return out

    def _nudge_block(self, P: np.ndarray, steps: np.ndarray, columns: np.ndarray) -> np.ndarray:
        scores = np.asarray(self.f.nudge_scores(P, steps, columns=columns), dtype=np.float64)
        if scores.shape != (*P.shape, len(columns)) or not np.all(np.isfinite(scores)):
            raise TextigError("the model's nudge_scores gave a wrong shape or non-finite scores")
        return scores

    def _axis_block(self, P: np.ndarray, steps: np.ndarray, moved: np.ndarray, columns):
        m, d = P.shape
        if self.has_axis:
            plus, minus = self.f.axis_scores(P, steps, columns=columns)
            self.samples += 2 * m * d
            shape = (m, d, len(columns))
            plus = np.asarray(plus, dtype=np.float64).reshape(shape)
            minus = np.asarray(minus, dtype=np.float64).reshape(shape)
            if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
                raise TextigError("the model's axis_scores returned NaN or infinite scores")
            return plus, minus
        k = len(moved)
        nudges = np.zeros((2 * k, d))
        nudges[np.arange(k), moved] = steps[moved]
        nudges[k + np.arange(k), moved] = -steps[moved]
        batch = (P[:, None, :] + nudges[None, :, :]).reshape(-1, d)
        scores = self(batch)[:, columns].reshape(m, 2 * k, len(columns))
        plus = np.empty((m, d, len(columns)))
        if k < d:  # unmoved features keep the point's own scores
            plus[:] = self(P)[:, None, columns]
        minus = plus.copy()
        plus[:, moved], minus[:, moved] = scores[:, :k], scores[:, k:]
        return plus, minus
