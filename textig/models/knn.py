"""Adapter: scikit-learn's ``KNeighborsClassifier`` (uniform weights) with exact IG.

A uniform kNN classifier scores a label by the share of the k nearest training points that
carry it, so its scores are piecewise constant. Along the path x(alpha) = x' + alpha(x - x')
the ranking key of every training point t_j is linear in alpha:

- euclidean: -‖x - t_j‖² = 2x·t_j - ‖t_j‖² - ‖x‖², and ‖x‖² is the same for every j;
- cosine: x·t_j / (‖x‖‖t_j‖), and ‖x‖ > 0 is the same for every j (t_j = 0 keys 0).

So the neighbour set changes only where two keys cross, found in closed form by
``textig.attribution.lines``; a swap of j (entering) for m (leaving) crosses the boundary
with normal ∇(key_j - key_m): 2(t_j - t_m), or t_j/‖t_j‖ - t_m/‖t_m‖. Each swap changes a
label's share by (y_j - y_m)/k. These are the path jumps exact IG sums.

Scores follow one brute-force rule (nearer first, then the lower training index), which is
scikit-learn's wherever distances do not tie; ``describe()`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textig.attribution.exact import PathJump
from textig.attribution.lines import top_k_path
from textig.errors import TextigError
from textig.models.protocol import Neighbour, check_feature_identity

METRICS = ("euclidean", "cosine")


def knn_metric(model: Any) -> str | None:
    """The metric textig can follow exactly ("euclidean" or "cosine"), or None."""
    metric = getattr(model, "effective_metric_", getattr(model, "metric", None))
    params = getattr(model, "effective_metric_params_", None) or {}
    if metric == "minkowski" and params.get("p", getattr(model, "p", 2)) == 2:
        metric = "euclidean"
    if metric in METRICS and not (set(params) - {"p"}):
        return str(metric)
    return None


def is_exact_knn(model: Any) -> bool:
    """A fitted KNeighborsClassifier with uniform weights and a metric textig follows."""
    return (
        type(model).__name__ == "KNeighborsClassifier"
        and getattr(model, "weights", None) == "uniform"
        and hasattr(model, "_fit_X")
        and knn_metric(model) is not None
    )


def _label_matrix(model: Any) -> tuple[np.ndarray, list[str]]:
    """(Y (n_train, L) 0/1, default label names): one column per class of a single output,
    one per output of a multi-label (0/1) fit."""
    y = np.asarray(model._y)
    if not getattr(model, "outputs_2d_", False):
        classes = list(model.classes_)
        Y = np.zeros((len(y), len(classes)))
        Y[np.arange(len(y)), y.astype(np.int64)] = 1.0
        return Y, [str(c) for c in classes]
    columns = []
    for o, classes in enumerate(model.classes_):
        values = [int(c) for c in classes] if np.all(np.isin(classes, (0, 1))) else None
        if values is None:
            raise TextigError(
                "a multi-output kNN explains 0/1 label columns only; output "
                f"{o} has classes {list(classes)[:5]}"
            )
        columns.append(np.asarray(classes)[y[:, o].astype(np.int64)] == 1)
    return np.column_stack(columns).astype(np.float64), [str(o) for o in range(len(columns))]


class KnnScorer:
    """Vote shares of a uniform kNN classifier: exact path jumps, fast nudges and the
    neighbours behind a score. ``scale_invariant`` for cosine (a zero baseline is refused)."""

    max_score = 1.0

    def __init__(
        self,
        model: Any,
        *,
        labels: Sequence[str] | None = None,
        path: str | None = None,
        embedder: str | None = None,
        feature_mean: np.ndarray | None = None,
    ) -> None:
        if not is_exact_knn(model):
            raise TextigError(
                "exact kNN needs a fitted KNeighborsClassifier with weights='uniform' and a "
                f"{' or '.join(METRICS)} metric"
            )
        self.model, self.path, self.embedder = model, path, embedder
        self.metric = knn_metric(model)
        self.scale_invariant = self.metric == "cosine"
        train = np.asarray(model._fit_X, dtype=np.float64)
        if train.ndim != 2 or not np.all(np.isfinite(train)):
            raise TextigError("the kNN model's training features are not a finite (n, d) array")
        self.k = int(model.n_neighbors)
        if not 1 <= self.k <= len(train):
            raise TextigError(f"n_neighbors={self.k} does not fit {len(train)} training points")
        self.Y, names = _label_matrix(model)
        self.labels = list(labels) if labels is not None else names
        if len(self.labels) != self.Y.shape[1]:
            raise TextigError(
                f"the kNN model has {self.Y.shape[1]} label columns, {len(self.labels)} names given"
            )
        self.dim = train.shape[1]
        if self.metric == "cosine":
            norms = np.linalg.norm(train, axis=1, keepdims=True)
            self._points = np.divide(train, norms, out=np.zeros_like(train), where=norms > 0)
            self._offset = np.zeros(len(train))
        else:
            self._points, self._offset = 2.0 * train, np.einsum("ij,ij->i", train, train)
        self.feature_mean = feature_mean
        self.embedder_name: str | None = None  # recorded in textig's skops files

    def check_features(self, identity: str | None, dim: int) -> None:
        check_feature_identity(self.dim, self.embedder, identity, dim)

    def keys(self, X: np.ndarray) -> np.ndarray:
        """Ranking keys (n, n_train), larger = nearer; linear in each row of X."""
        return np.atleast_2d(X) @ self._points.T - self._offset

    def members(self, X: np.ndarray) -> np.ndarray:
        """(n, k) training indices of each row's neighbours (nearer first, ties: lower index)."""
        keys = self.keys(X)
        chosen = _top_k(keys, self.k)
        rows = np.arange(len(keys))[:, None]
        return chosen[rows, np.lexsort((chosen, -keys[rows, chosen]), axis=1)]

    def axis_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every nudge points[p] ± steps[i]·e_i, (m, d, C) each, without a full
        neighbour search per nudge (``_nudged``)."""
        points = np.asarray(points, dtype=np.float64)
        steps = np.broadcast_to(np.asarray(steps, dtype=np.float64), points.shape)
        both = self._nudged(points, steps, columns, (1.0, -1.0))
        return both[:, :, 0], both[:, :, 1]

    def nudge_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores (m, d, C) of points[p] + steps[p, i]·e_i: each point its own signed steps."""
        points = np.asarray(points, dtype=np.float64)
        steps = np.asarray(steps, dtype=np.float64)
        if steps.shape != points.shape:
            raise TextigError(f"steps must have the points' shape {points.shape}")
        return self._nudged(points, steps, columns, (1.0,))[:, :, 0]

    def _nudged(self, points, steps, columns, signs) -> np.ndarray:
        """(m, d, S, C) scores of points[p] + signs[s]·steps[p, i]·e_i: a nudge moves key j
        by its step times g_ji (g the key's gradient), so only points whose key is within
        twice the largest move of the k-th can enter the set; those are ranked for every
        nudge at once."""
        Y = self.Y if columns is None else self.Y[:, np.asarray(columns, dtype=np.int64)]
        out = np.empty((len(points), points.shape[1], len(signs), Y.shape[1]))
        largest = np.max(np.abs(self._points), axis=0)
        for p, keys in enumerate(self.keys(points)):
            reach = 2.0 * float(np.max(np.abs(steps[p]) * largest))
            kth = np.partition(keys, len(keys) - self.k)[len(keys) - self.k]
            near = np.flatnonzero(keys >= kth - reach)  # ascending: position order = index order
            moves = steps[p][:, None] * self._points[near].T  # (d, c)
            for s, sign in enumerate(signs):
                chosen = near[_top_k(keys[near][None, :] + sign * moves, self.k)]
                out[p, :, s] = Y[chosen].sum(axis=1) / self.k
        return out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.metric == "cosine" and not np.all(np.any(X != 0, axis=1)):
            raise TextigError("the cosine kNN model cannot score a zero feature vector")
        return self.Y[self.members(X)].sum(axis=1) / self.k

    def path_jumps(self, x: np.ndarray, baseline: np.ndarray) -> list[PathJump]:
        """Every neighbour swap from ``baseline`` to ``x``, ordered by alpha."""
        ends = np.stack([np.ravel(baseline), np.ravel(x)]).astype(np.float64)
        if self.metric == "cosine":
            _refuse_origin(ends[0], ends[1])
        a, c = self.keys(ends)
        jumps = []
        for swap in top_k_path(a, c, self.k)[1]:
            j, m = swap.entering, swap.leaving
            change = (self.Y[j] - self.Y[m]) / self.k
            delta = {int(label): float(change[label]) for label in np.flatnonzero(change)}
            normal = self._points[j] - self._points[m]
            detail = {"kind": "swap", "entering": (j,), "leaving": (m,)}
            jumps.append(PathJump(swap.alpha, delta, normal, detail))
        return jumps

    def neighbours(self, x: np.ndarray) -> list[Neighbour]:
        """The k training points behind x's scores, nearest first, each worth 1/k."""
        return [
            Neighbour(int(i), 1.0 / self.k, tuple(int(v) for v in np.flatnonzero(self.Y[i])))
            for i in self.members(np.asarray(x, dtype=np.float64))[0]
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "class": type(self.model).__name__,
            "path": self.path,
            "n_neighbors": self.k,
            "metric": self.metric,
            "weights": "uniform",
            "training_points": len(self._offset),
            "scores": "vote share of the k nearest (ties: lower training index)",
        }


def _top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """(r, k) column indices of each row's k largest keys (ties: the lower column), unordered."""
    rows = np.arange(len(keys))[:, None]
    chosen = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    kth = keys[rows, chosen].min(axis=1, keepdims=True)
    tied = (keys == kth).sum(axis=1) > (keys[rows, chosen] == kth).sum(axis=1)
    for r in np.flatnonzero(tied):  # a tie at the k-th key: the lower index wins
        chosen[r] = np.lexsort((np.arange(keys.shape[1]), -keys[r]))[:k]
    return chosen


def _refuse_origin(baseline: np.ndarray, x: np.ndarray) -> None:
    """A cosine ranking is undefined at 0: refuse a path through (or from, or to) the origin."""
    delta = x - baseline
    alpha = min(max(float(-(baseline @ delta) / (delta @ delta)), 0.0), 1.0)
    scale = max(np.linalg.norm(baseline), np.linalg.norm(x))
    if np.linalg.norm(baseline + alpha * delta) <= 1e-12 * scale:
        raise TextigError(
            "the path from the baseline to x passes through the zero vector, where the cosine "
            "kNN ranking is undefined; use a baseline that is not a negative multiple of x"
        )
