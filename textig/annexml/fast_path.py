"""Brute-force AnnexML votes, fast enough for Integrated Gradients sample batches.

The IG estimator sends each caption's path points plus, for every point, one copy per feature
nudged up and one nudged down: ~m·(2d+1) samples (38,000 for SBERT). Scoring them naively
costs a full neighbour search each. Here a nudge of feature i by t moves every ranking key
linearly: key_j(x + t·e_i) = key_j(x) + t·G[j, i] with G = E Wᵀ, and the cluster scores by
t·centers[:, i]. So the keys of a point are computed once, only training points close enough
to the point's top set to be reached by any nudge are re-ranked, and only samples whose
neighbour set actually changes pay for a label lookup.

Semantics (identical in ``__call__``, ``axis_scores`` and ``textig.annexml.exact``): per learner,
cluster = argmax_k x·centers[k] (ties: lowest k); key_j = e_j·(Wᵀx); the ``num_nn`` highest keys
win, ties to the lower position in the cluster; the score of a label is the number of
(learner, neighbour) pairs whose training sample carries it. Keys are computed once per
*distinct* training embedding, so duplicated training points always tie exactly and the
position rule decides, whatever the arithmetic. Input rows are not L2-normalised: scaling a
row by a positive number changes no argmax and no ranking, so the votes are the model's.
Two computations of the same vote can only differ where two distinct training points' keys
agree to within floating-point rounding (~1e-15 relative), where no order is meaningful.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from textig.annexml.parallel import one_blas_thread, parallel_map
from textig.annexml.search import top_k
from textig.attribution.lines import candidates
from textig.attribution.paths import path_points
from textig.errors import TextigError

_BLOCK = 1 << 22  # elements of a key matrix computed at once, to bound memory
_FEW_ROWS = 4  # requests of up to this many rows go through the recent-rows key cache
_RECENT_KEYS = 96  # (row, cluster) key vectors kept: two rows of every cluster, and more
# (probe, cluster) key vectors nudge_scores keeps: a batch of 32 probes in all 30 clusters of
# 15 learners x 2 (~100 MB at 12,000 members): the located-jumps estimator nudges the same
# probes over a dozen calls, and their keys and top members are most of a call's work
_PROBE_KEYS = 1024
_LINES = 64  # (line, cluster) candidate sets path_scores keeps: one path in 30 clusters, twice
_PROBE_BATCHES = 32  # (probe rows, cluster) stacks of those keys: a batch in every cluster
_SAMPLE_PER_NN = 32  # top_members' sample: 32 members per neighbour sought (~k·size/32k kept)
BOTH_SIGNS = np.array([1.0, -1.0])  # axis_scores: every step taken up and down
ONE_SIGN = np.array([1.0])  # nudge_scores: every (signed) step taken as given


@dataclass(frozen=True)
class PreparedCluster:
    """One cluster's brute-force data; duplicated training embeddings are tracked."""

    W: np.ndarray  # (d, emb) float64
    E: np.ndarray  # (n_c, emb) float64 training embeddings (member = position in cluster)
    copies: np.ndarray  # (n_dup,) members whose embedding repeats an earlier member's...
    sources: np.ndarray  # (n_dup,) ...this one, the first with that embedding
    ids: np.ndarray  # (n_c,) int64 training-sample index of each member
    labels: sp.csr_matrix  # (n_c, L) labels of each member
    reach: np.ndarray  # (d,) ‖W[i]‖·max‖e_j‖: bounds how far a unit nudge of feature i moves a key
    _picked: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Number of members (training samples) of the cluster."""
        return len(self.ids)

    def keys(self, X: np.ndarray) -> np.ndarray:
        """Ranking keys (n, n_c) of every member; copies get their source's key bit for bit."""
        keys = (X @ self.W) @ self.E.T
        if self.copies.size:
            keys[:, self.copies] = keys[:, self.sources]
        return keys

    def label_columns(self, columns: np.ndarray) -> sp.csr_matrix:
        """``labels[:, columns]``, kept for the last columns asked: IG asks for the same target
        labels in every call of an explanation, and slicing a sparse matrix is not free."""
        key = columns.tobytes()
        kept = self._picked.get(key)
        if kept is None:
            kept = self.labels[:, columns]
            self._picked.clear()
            self._picked[key] = kept
        return kept

    def axis_gain(self, members: np.ndarray) -> np.ndarray:
        """G rows (len(members), d): how each member's key moves per unit of each feature."""
        return self.E[self.source[members]] @ self.W.T

    def embedding(self, member: int) -> np.ndarray:
        """Training embedding e_j of one member."""
        return self.E[member]

    @cached_property
    def source(self) -> np.ndarray:
        """(n_c,) each member's first member with the same embedding (itself if unique)."""
        source = np.arange(self.size)
        source[self.copies] = self.sources
        return source

    @cached_property
    def axis_bound(self) -> np.ndarray:
        """(d,) gamma_i = max_j |G[j, i]|: the most a unit nudge of feature i moves any key."""
        bound = np.zeros(len(self.W))
        for s in range(0, self.size, 4096):
            np.maximum(bound, np.abs(self.E[s : s + 4096] @ self.W.T).max(axis=0), out=bound)
        return bound


@dataclass(frozen=True)
class PreparedLearner:
    """One learner: partition scorers and its clusters."""

    centers: np.ndarray  # (K, d) float64
    clusters: tuple[PreparedCluster, ...]

    def assign(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each row of X (argmax of the partition scores, ties to the lowest)."""
        return np.argmax(X @ self.centers.T, axis=1)


def top_members(keys: np.ndarray, k: int) -> np.ndarray:
    """(n, k) positions of the k highest keys per row, ascending; ties go to lower positions.

    A full partition of every row costs most of a brute-force search, so a wide row is first
    cut to its candidates: the k-th highest key of an evenly spread sample of the members is
    at most the row's k-th highest, so every member with a key at least that high, ties
    included, is kept, and only they are ranked (the same top k, found among ~k·size/sample).
    """
    n, size = keys.shape
    if k >= size:
        return np.broadcast_to(np.arange(size), (n, size)).copy()
    stride = size // (_SAMPLE_PER_NN * k)
    if stride < 2:
        return np.sort(top_k(keys, k)[0], axis=1)
    sample = keys[:, ::stride]
    floor = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
    row, col = np.nonzero(keys >= floor[:, None])
    counts = np.bincount(row, minlength=n)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((n, int(counts.max())), -np.inf)
    positions = np.full(values.shape, -1, dtype=np.int64)
    values[row, slot], positions[row, slot] = keys[row, col], col
    return np.sort(top_k(values, k, positions)[0], axis=1)


def _member_votes(labels: sp.csr_matrix, members: np.ndarray) -> np.ndarray:
    """(L,) the label rows of ``members`` summed: one row's votes, without a sparse product."""
    rows = [np.arange(labels.indptr[m], labels.indptr[m + 1]) for m in members]
    take = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return np.bincount(labels.indices[take], labels.data[take], minlength=labels.shape[1])


def selection(members: np.ndarray, size: int) -> sp.csr_matrix:
    """0/1 matrix (n, size) with ones at each row's member positions."""
    n, k = members.shape
    indptr = np.arange(0, n * k + 1, k)
    data = np.ones(n * k)
    return sp.csr_matrix((data, members.ravel(), indptr), shape=(n, size))


def _blas_for(X: np.ndarray) -> contextlib.AbstractContextManager:
    """One BLAS thread for a few rows (their products are too small to share), else as set."""
    return one_blas_thread() if len(X) <= _FEW_ROWS else contextlib.nullcontext()


class _RecentRows:
    """What the last rows seen gave in each cluster, each computed once: their ranking keys,
    top members and votes (entries ``[keys, top or None, votes or None]``).

    Explaining one caption asks about the same two rows (the caption and its baseline, often
    the same baseline for every caption) several times: their scores, the path's ends, the
    neighbours. All three are pure functions of (cluster, row), so reusing them changes no
    result. Thread-safe; bounded to ``capacity`` entries, least recent dropped.
    """

    def __init__(self, capacity: int = _RECENT_KEYS) -> None:
        self._kept: OrderedDict[tuple[int, bytes], list] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def entries(self, cluster: PreparedCluster, X: np.ndarray) -> list[list]:
        """The entry of each row of X in ``cluster``; keys computed for the rows not kept."""
        names = [(id(cluster), row.tobytes()) for row in X]
        with self._lock:
            found = [self._kept.get(name) for name in names]
            for name, entry in zip(names, found, strict=True):
                if entry is not None:
                    self._kept.move_to_end(name)
        missing = [i for i, entry in enumerate(found) if entry is None]
        if missing:
            fresh = cluster.keys(X[missing])
            with self._lock:
                for i, keys in zip(missing, fresh, strict=True):
                    found[i] = self._kept.setdefault(names[i], [keys, None, None])
                    self._kept.move_to_end(names[i])
                while len(self._kept) > self.capacity:
                    self._kept.popitem(last=False)
        return found


class _Kept:
    """A small thread-safe least-recently-used memory of computed values, by name."""

    def __init__(self, capacity: int) -> None:
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def get(self, name, compute):
        """The value kept under ``name``, else ``compute()``, kept."""
        with self._lock:
            value = self._kept.get(name)
            if value is not None:
                self._kept.move_to_end(name)
                return value
        value = compute()
        with self._lock:
            self._kept[name] = value
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return value


def _prepare_cluster(cluster, Y: sp.csr_matrix) -> PreparedCluster:
    E = np.asarray(cluster.E, dtype=np.float64)
    W = np.asarray(cluster.W, dtype=np.float64)
    ids = np.asarray(cluster.ids, dtype=np.int64)
    if len(E):
        _, first, inverse = np.unique(E, axis=0, return_index=True, return_inverse=True)
        source = first[inverse.ravel()]
    else:
        source = np.zeros(0, dtype=np.int64)
    copies = np.flatnonzero(source != np.arange(len(E)))
    norm = float(np.max(np.linalg.norm(E, axis=1))) if len(E) else 0.0
    return PreparedCluster(
        W=W,
        E=E,
        copies=copies,
        sources=source[copies],
        ids=ids,
        labels=sp.csr_matrix(Y[ids]),
        reach=np.linalg.norm(W, axis=1) * norm,
    )


def _prepare_learner(learner, Y: sp.csr_matrix) -> PreparedLearner:
    clusters = tuple(_prepare_cluster(cluster, Y) for cluster in learner.clusters)
    return PreparedLearner(np.asarray(learner.centers, dtype=np.float64), clusters)


def _check_model(model) -> None:
    if getattr(model, "learners_", None) is None or getattr(model, "Y_", None) is None:
        raise TextigError("the AnnexML model is not fitted: fit or load it first")
    _check_structure(model)
    score = getattr(model, "score", "votes")
    if isinstance(score, str) and score != "votes":
        raise TextigError(
            f"exact brute-force scoring supports score='votes' only, not score={score!r}"
        )


def _check_structure(model) -> None:
    """The index structure the scorer's native indexing relies on (model files are checked
    in full when loaded; this also covers models assembled in code)."""
    Y = sp.csr_matrix(model.Y_)
    try:
        Y.check_format(full_check=True)
    except ValueError as error:
        raise TextigError(f"the model's label matrix is malformed ({error})") from None
    for learner in model.learners_:
        for cluster in learner.clusters:
            ids = np.asarray(cluster.ids)
            if ids.ndim != 1 or len(cluster.E) != ids.size:
                raise TextigError("a cluster's embeddings and training ids differ in length")
            if ids.size and (ids.min() < 0 or ids.max() >= Y.shape[0]):
                raise TextigError("a cluster names training rows outside the label matrix")


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class BruteForceScorer:
    """Brute-force vote scores of a fitted AnnexML model, as a batch function for IG.

    Calling it is ``model.decision_function(X, search="brute")``; ``axis_scores`` scores all
    one-feature nudges of a set of points without materialising them.
    """

    def __init__(self, model) -> None:
        _check_model(model)
        Y = sp.csr_matrix(model.Y_)
        self.num_nn = int(model.num_nn)
        self.n_labels = Y.shape[1]
        self.learners = tuple(_prepare_learner(learner, Y) for learner in model.learners_)
        self.dim = self.learners[0].centers.shape[1]
        self._recent = _RecentRows()
        self._probes = _RecentRows(_PROBE_KEYS)
        self._lines = _Kept(_LINES)
        self._batches = _Kept(_PROBE_BATCHES)

    def keys(self, cluster: PreparedCluster, X: np.ndarray) -> np.ndarray:
        """``cluster.keys(X)`` of one of this scorer's clusters; a few rows at a time are
        remembered (an explanation asks about the same caption several times)."""
        if len(X) > _FEW_ROWS:
            return cluster.keys(X)
        return np.stack([entry[0] for entry in self._recent.entries(cluster, X)])

    @classmethod
    def for_model(cls, model) -> BruteForceScorer:
        """The scorer of a model, prepared once per fitted state and reused."""
        try:
            cached = _CACHE.get(model)
        except TypeError:  # an object without weak references: prepare it every time
            return cls(model)
        if cached is not None and cached[0] is model.learners_:
            return cached[1]
        scorer = cls(model)
        _CACHE[model] = (model.learners_, scorer)
        return scorer

    def validate(self, X: np.ndarray, name: str) -> np.ndarray:
        """X as float64 (n, d), or a TextigError naming what is wrong."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise TextigError(f"{name} must have shape (n, {self.dim}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise TextigError(f"{name} contains NaN or infinite values")
        return X

    def neighbours(self, X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per learner: (cluster (n,), member positions (n, num_nn)) of each row of X.

        Positions are ascending per row and padded with -1 in clusters smaller than num_nn.
        """
        X = self.validate(X, "X")
        result = []
        with _blas_for(X):
            for learner in self.learners:
                assigned = learner.assign(X)
                members = np.full((len(X), self.num_nn), -1, dtype=np.int64)
                for c in np.unique(assigned):
                    rows = np.flatnonzero(assigned == c)
                    top = self.top(learner.clusters[c], X[rows])
                    members[rows, : top.shape[1]] = top
                result.append((assigned, members))
        return result

    def top(self, cluster: PreparedCluster, X: np.ndarray) -> np.ndarray:
        """(n, min(num_nn, size)) positions of each row's top members in ``cluster``, ascending
        (ties to the lower position); remembered for a few rows."""
        if len(X) <= _FEW_ROWS:
            return np.stack([self._recent_top(entry) for entry in self._recent.entries(cluster, X)])
        block = max(1, _BLOCK // max(cluster.size, 1))
        parts = [
            top_members(cluster.keys(X[s : s + block]), self.num_nn)
            for s in range(0, len(X), block)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.int64)

    def _votes_in_cluster(self, cluster: PreparedCluster, X: np.ndarray) -> np.ndarray:
        """(n, L) votes of rows that all fall in ``cluster``."""
        if len(X) > _FEW_ROWS:
            top = self.top(cluster, X)
            return (selection(top, cluster.size) @ cluster.labels).toarray()
        votes = []
        for entry in self._recent.entries(cluster, X):
            if entry[2] is None:
                entry[2] = _member_votes(cluster.labels, self._recent_top(entry))
            votes.append(entry[2])
        return np.stack(votes)

    def _recent_top(self, entry: list) -> np.ndarray:
        if entry[1] is None:
            entry[1] = top_members(entry[0][None], self.num_nn)[0]
        return entry[1]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Brute-force votes (n, L) float64 of each row of X."""
        X = self.validate(X, "X")
        scores = np.zeros((len(X), self.n_labels))
        with _blas_for(X):
            for learner in self.learners:
                assigned = learner.assign(X)
                for c in np.unique(assigned):
                    rows = np.flatnonzero(assigned == c)
                    scores[rows] += self._votes_in_cluster(learner.clusters[c], X[rows])
        return scores

    def path_scores(
        self, start: np.ndarray, end: np.ndarray, alphas: np.ndarray, columns=None
    ) -> np.ndarray:
        """Votes (n, C) of start + alpha·(end - start) for each of the ``alphas``, equal to
        scoring those points: the located-jumps estimator bisects along one path dozens of times.

        Every ranking key is linear along a line, so a cluster's keys at the two ends are
        computed once and only the members that can reach the top set somewhere on the line
        (``candidates``) are ranked at each alpha; the cluster of each point is found as in
        ``__call__``.
        """
        ends = self.validate(np.stack([start, end]), "path ends")
        a = np.asarray(alphas, dtype=np.float64)
        if a.ndim != 1 or not np.all(np.isfinite(a)):
            raise TextigError("alphas must be a finite 1-d array")
        cols = self._columns(columns)
        P = path_points(ends[1], ends[0], a)
        span = (float(a.min(initial=0.0)), float(a.max(initial=1.0)))  # [0, 1] and every alpha
        scores = np.zeros((len(a), len(cols)))
        with one_blas_thread():
            for learner in self.learners:
                assigned = learner.assign(P)
                for c in np.unique(assigned):
                    rows = np.flatnonzero(assigned == c)
                    cluster = learner.clusters[c]
                    top = selection(self._line_top(cluster, ends, span, a[rows]), cluster.size)
                    scores[rows] += (top @ cluster.label_columns(cols)).toarray()
        return scores

    def _line_top(self, cluster, ends, span, alphas) -> np.ndarray:
        """(n, k) top members, ascending, of the points at ``alphas`` on the line ``ends``."""
        if self.num_nn >= cluster.size:
            return np.broadcast_to(np.arange(cluster.size), (len(alphas), cluster.size)).copy()
        near, ends_keys = self._line(cluster, ends, span)
        keys = (1.0 - alphas)[:, None] * ends_keys[0] + alphas[:, None] * ends_keys[1]
        return near[top_members(keys, self.num_nn)]

    def _line(self, cluster, ends, span) -> tuple[np.ndarray, np.ndarray]:
        """The members that can be in the top set on the line within ``span`` (ascending) and
        their keys (2, n) at its ends, computed once per (line, cluster) among the last few."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            keys = self.keys(cluster, ends)
            near = candidates(keys[0], keys[1], span[0], span[1], self.num_nn)
            return near, keys[:, near]

        return self._lines.get((id(cluster), ends.tobytes(), span), compute)

    def _columns(self, columns) -> np.ndarray:
        """Label ids to score (default: every label), checked."""
        cols = np.arange(self.n_labels) if columns is None else np.asarray(columns, dtype=int)
        if cols.ndim != 1 or np.any((cols < 0) | (cols >= self.n_labels)):
            raise TextigError(f"columns must be label ids in [0, {self.n_labels})")
        return cols

    def axis_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Votes of every one-feature nudge: plus[p, i] = f(points[p] + steps[i]·e_i), minus -.

        Returns two (m, d, C) float64 arrays, equal to scoring the 2·m·d nudged copies and
        keeping the label ``columns`` (default: every label; IG asks for its targets only).
        """
        P = self.validate(points, "points")
        t = np.asarray(steps, dtype=np.float64)
        if t.shape != (self.dim,):
            raise TextigError(f"steps must have shape ({self.dim},), got {t.shape}")
        out = self._nudged(P, np.broadcast_to(t, P.shape), columns, BOTH_SIGNS, self._fresh)
        return out[:, :, 0], out[:, :, 1]

    def nudge_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> np.ndarray:
        """Votes (m, d, C) of points[p] + steps[p, i]·e_i, one signed step per point and
        feature: the located-jumps estimator nudges each feature of each probe the one way
        it needs, at its own size, so no nudge is scored only to be thrown away. A zero step
        costs nothing (the point's own votes)."""
        P = self.validate(points, "points")
        t = np.asarray(steps, dtype=np.float64)
        if t.shape != P.shape:
            raise TextigError(f"steps must have the points' shape {P.shape}, got {t.shape}")
        return self._nudged(P, t, columns, ONE_SIGN, self._remembered)[:, :, 0]

    def _fresh(self, cluster: PreparedCluster, P: np.ndarray) -> _Rows:
        """Keys and top members of the rows of P in ``cluster``."""
        keys = cluster.keys(P)
        return _Rows(cluster, keys, top_members(keys, self.num_nn))

    def _remembered(self, cluster: PreparedCluster, P: np.ndarray) -> _Rows:
        """``_fresh``, each (row, cluster) computed once while among the last ``_PROBE_KEYS``:
        nudge_scores is asked about the same probes again and again, at other steps, and
        mostly about the same rows of a cluster together: those are kept stacked too (with the
        gain rows of their top members, once asked)."""
        return self._batches.get((id(cluster), P.tobytes()), lambda: self._stacked(cluster, P))

    def _stacked(self, cluster: PreparedCluster, P: np.ndarray) -> _Rows:
        entries = self._probes.entries(cluster, P)
        missing = [entry for entry in entries if entry[1] is None]
        if missing:
            tops = top_members(np.stack([entry[0] for entry in missing]), self.num_nn)
            for entry, top in zip(missing, tops, strict=True):
                entry[1] = top
        keys, own = np.stack([e[0] for e in entries]), np.stack([e[1] for e in entries])
        return _Rows(cluster, keys, own)

    def _nudged(self, P: np.ndarray, t: np.ndarray, columns, signs: np.ndarray, state):
        """(m, d, S, C) votes of P[p] + signs[s]·t[p, i]·e_i for the label ``columns``; the
        points' keys and top members in a cluster come from ``state(cluster, rows)``."""
        if not np.all(np.isfinite(t)):
            raise TextigError("steps must be finite")
        cols = self._columns(columns)
        m, d = P.shape
        base = np.zeros((m, len(cols)))
        out = np.zeros((m, d, len(signs), len(cols)))
        flat = out.reshape(m * d * len(signs), len(cols))
        # Each learner returns its votes and sparse per-nudge changes, added here (votes are
        # integers, so the order of the additions cannot change the sums).
        for own, nudges, changes in parallel_map(
            lambda learner: _AxisLearner(learner, P, t, cols, signs, state).votes(),
            self.learners,
        ):
            base += own
            flat[nudges] += changes
        out += base[:, None, None, :]
        return out


class _AxisLearner:
    """One learner's contribution to ``axis_scores``: the points' votes and per-nudge changes.

    A nudge of feature i by ±t_i moves member j's key by ±t_i·G[j, i] with G = E Wᵀ, and may
    move the sample into another cluster. In the cluster a nudge lands in, the point's own k
    neighbours there keep keys of at least tau_i (their lowest moved key) and no key moves by
    more than |t_i|·gamma_i (gamma_i = max_j |G[j, i]|), so only members whose key is at least
    tau_i - |t_i|·gamma_i can enter: a short prefix of the members by key. Their moved keys are
    computed exactly, and a nudge is re-ranked only if some outsider reaches tau_i. All points
    of a cluster are handled in one vectorised pass. Each step is taken once per sign in
    ``signs`` (S of them); a zero step is the point itself and is left out.
    """

    def __init__(
        self,
        learner: PreparedLearner,
        P: np.ndarray,
        t: np.ndarray,
        columns: np.ndarray,
        signs: np.ndarray,
        state,
    ) -> None:
        self.learner, self.P, self.t, self.columns = learner, P, t, columns
        self.signs, self.state = signs, state
        scores = P @ learner.centers.T  # (m, K)
        moved = (
            scores[:, None, None, :]
            + (t[:, :, None] * signs)[:, :, :, None] * (learner.centers.T[None, :, None, :])
        )
        self.home = np.argmax(scores, axis=1)  # (m,)
        self.where = np.argmax(moved, axis=3)  # (m, d, S) cluster of each nudged sample
        self.nudged = np.broadcast_to((t != 0)[:, :, None], self.where.shape)

    def votes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(m, L) votes of the points, flat nudge ids (point, axis, sign) and their vote changes
        (n, L) relative to the point's votes, each nudge once."""
        m, d = self.P.shape
        per_point = len(self.signs) * d
        home_votes = np.zeros((m, len(self.columns)))
        nudges, changes, away = [], [], []
        for c in np.unique(self.where):
            lands = (self.where == c) & self.nudged  # (m, d, S)
            rows = np.flatnonzero((self.home == c) | lands.any(axis=(1, 2)))
            cluster = self.learner.clusters[c]
            own_votes, ids, new_votes = _LandedNudges(
                self.state(cluster, self.P[rows]), self.t[rows], lands[rows], self.signs
            ).changes(self.columns)
            home = self.home[rows] == c
            home_votes[rows[home]] = own_votes[home]
            point = rows[ids // per_point]
            nudges.append(point * per_point + ids % per_point)
            changes.append(new_votes - own_votes[ids // per_point])
            # nudges that leave their point's home cluster start from the votes of their own
            # neighbours in the cluster they land in
            p, i, sign = np.nonzero(lands[rows] & ~home[:, None, None])
            away.append((rows[p], (rows[p] * d + i) * len(self.signs) + sign, own_votes[p]))
        for point, ids, own in away:
            nudges.append(ids)
            changes.append(own - home_votes[point])
        return home_votes, *_summed(np.concatenate(nudges), np.concatenate(changes))


def _summed(ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids, ascending, with the sum of their rows."""
    if not ids.size:
        return ids, rows
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return ids[first], np.add.reduceat(rows[order], first, axis=0)


@dataclass
class _Rows:
    """Points in one cluster: their keys (r, n_c) and top members (r, k), and the gain rows
    (r, k, d) of those members, computed when first asked (the same probes are nudged again)."""

    cluster: PreparedCluster
    keys: np.ndarray
    own: np.ndarray

    @cached_property
    def own_gain(self) -> np.ndarray:
        r, k = self.own.shape
        return self.cluster.axis_gain(self.own.ravel()).reshape(r, k, -1)


class _LandedNudges:
    """The nudges of r points that land in one cluster: the points' own neighbours there and
    the nudges whose neighbour set differs from them."""

    def __init__(
        self,
        rows: _Rows,
        t: np.ndarray,
        lands: np.ndarray,
        signs: np.ndarray,
    ) -> None:
        self.cluster, self.t, self.lands, self.signs = rows.cluster, t, lands, signs  # (r, d, S)
        self.rows, self.keys, self.own = rows, rows.keys, rows.own
        self.k = self.own.shape[1]
        self.margin = 1e-9 * np.max(np.abs(self.keys), axis=1, initial=0.0)  # (r,)

    def changes(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Own votes (r, C) of the label columns, ids (point·S·d + S·axis + sign) of changed
        nudges, their votes."""
        cluster = self.cluster
        labels = cluster.label_columns(columns)
        own_votes = (selection(self.own, cluster.size) @ labels).toarray()
        none = np.zeros(0, dtype=np.int64), np.zeros((0, own_votes.shape[1]))
        if self.k == cluster.size:
            return own_votes, *none
        tau = self._own_lowest()
        entries = self._candidates(tau)
        if entries is None:
            return own_votes, *none
        ids, tops = self._rerank(tau, *entries)
        votes = (selection(tops, cluster.size) @ labels).toarray()
        return own_votes, ids, votes

    def _own_lowest(self) -> np.ndarray:
        """(S, r, d) tau: the lowest moved key of the point's own k under each nudge (per sign)."""
        own_keys = np.take_along_axis(self.keys, self.own, axis=1)[:, :, None]  # (r, k, 1)
        step = self.rows.own_gain * self.t[:, None]  # (r, k, d)
        return np.stack([(own_keys + sign * step).min(axis=1) for sign in self.signs])

    def _candidates(self, tau: np.ndarray):
        """Per (point, axis) pair with a landing nudge: its candidates (own first, then by key)
        with their keys moved both ways; None if no pair has an outsider that could enter."""
        r, d = self.t.shape
        active = self.lands.any(axis=2)  # (r, d)
        reach = np.abs(self.t) * self.cluster.axis_bound
        floor = np.where(active, tau.min(axis=0) - reach - self.margin[:, None], np.inf)
        flat = np.flatnonzero(self.keys >= floor.min(axis=1)[:, None])
        point, member = np.divmod(flat, self.keys.shape[1])
        key = self.keys.ravel()[flat]
        order = np.lexsort((member, -key, point))
        point, member, key = point[order], member[order], key[order]
        start = np.searchsorted(point, np.arange(r + 1))
        counts = np.zeros((r, d), dtype=np.int64)
        for p in range(r):
            counts[p] = np.searchsorted(-key[start[p] : start[p + 1]], -floor[p], side="right")
        counts = np.where(active, np.maximum(counts, self.k), 0).ravel()
        pair = np.repeat(np.arange(r * d), counts)  # (T,) point·d + axis
        rank = np.arange(len(pair)) - (np.cumsum(counts) - counts)[pair]
        if not np.any(rank >= self.k):
            return None
        entry = start[pair // d] + rank  # index into the sorted candidate lists
        axis = pair % d
        # nearby path points share most candidates: one gain row per distinct member
        distinct, which = np.unique(member, return_inverse=True)
        gain = self.cluster.axis_gain(distinct)[which[entry], axis]
        step = self.t.ravel()[pair] * gain
        moved = key[entry][None, :] + self.signs[:, None] * step[None, :]  # (S, T)
        return pair, rank, member[entry], moved

    def _rerank(self, tau, pair, rank, member, moved):
        """Exact top k of each nudge that some outsider can reach; keep those that change."""
        (r, d), k, n_signs = self.t.shape, self.k, len(self.signs)
        threshold = (tau - self.margin[None, :, None]).reshape(n_signs, r * d)
        own = (rank < k)[None, :]
        high = (moved >= threshold[:, pair]) | own  # (S, T): the new top k lies among these
        lands = self.lands.reshape(r * d, n_signs)[pair].T  # (S, T)
        # (S, T) nudge ids point·S·d + S·axis + sign
        nudge_of = n_signs * pair[None, :] + np.arange(n_signs)[:, None]
        flagged = np.zeros(n_signs * r * d, dtype=bool)
        flagged[nudge_of[high & ~own & lands]] = True
        ids, tops = [], []
        for sign in range(n_signs):  # per sign, entries come grouped by nudge, ascending
            pick = np.flatnonzero(high[sign] & flagged[nudge_of[sign]])
            if pick.size:
                nudges, top = _top_per_group(
                    nudge_of[sign, pick], moved[sign, pick], member[pick], k
                )
                ids.append(nudges)
                tops.append(top)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, k), dtype=np.int64)
        ids, tops = np.concatenate(ids), np.concatenate(tops)
        changed = np.any(tops != self.own[ids // (n_signs * d)], axis=1)
        return ids[changed], tops[changed]


_GROUP_CELLS = 1 << 21  # padded cells per top-k block in _top_per_group


def _top_per_group(group: np.ndarray, keys: np.ndarray, member: np.ndarray, k: int):
    """Distinct groups (entries come sorted by group, each with at least k) and the k members
    with the highest keys in each (ties to the lower member), ascending."""
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[first, len(group)])
    tops = np.empty((len(first), k), dtype=np.int64)
    rows = max(1, _GROUP_CELLS // int(sizes.max()))
    for lo in range(0, len(first), rows):
        hi = min(lo + rows, len(first))
        width = int(sizes[lo:hi].max())
        at = np.arange(first[lo], first[hi - 1] + sizes[hi - 1])
        row = np.repeat(np.arange(hi - lo), sizes[lo:hi])
        col = at - first[lo:hi][row]
        values = np.full((hi - lo, width), -np.inf)
        positions = np.full((hi - lo, width), -1, dtype=np.int64)
        values[row, col], positions[row, col] = keys[at], member[at]
        tops[lo:hi] = np.sort(top_k(values, k, positions)[0], axis=1)
    return group[first], tops
