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

import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from textig.errors import TextigError

_BLOCK = 1 << 22  # elements of a key matrix computed at once, to bound memory
_SIGNS = np.array([1.0, -1.0])


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

    def axis_gain(self, members: np.ndarray) -> np.ndarray:
        """G rows (len(members), d): how each member's key moves per unit of each feature."""
        return self.E[self.source[members]] @ self.W.T

    def embedding(self, member: int) -> np.ndarray:
        """Training embedding e_j of one member."""
        return self.E[member]

    def label_ids(self, member: int) -> np.ndarray:
        """Label ids carried by one member."""
        return self.labels.indices[self.labels.indptr[member] : self.labels.indptr[member + 1]]

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
    """(n, k) positions of the k highest keys per row, ascending; ties go to lower positions."""
    n, size = keys.shape
    if k >= size:
        return np.broadcast_to(np.arange(size), (n, size)).copy()
    top = np.argpartition(keys, size - k, axis=1)[:, size - k :]
    kth = np.take_along_axis(keys, top, axis=1).min(axis=1)
    tied = np.flatnonzero((keys >= kth[:, None]).sum(axis=1) > k)
    if tied.size:  # the k-th key is shared beyond the top k: let positions decide
        sub = keys[tied]
        order = np.lexsort((np.broadcast_to(np.arange(size), sub.shape), -sub), axis=1)
        top[tied] = order[:, :k]
    return np.sort(top, axis=1)


def selection(members: np.ndarray, size: int) -> sp.csr_matrix:
    """0/1 matrix (n, size) with ones at each row's member positions."""
    n, k = members.shape
    indptr = np.arange(0, n * k + 1, k)
    data = np.ones(n * k)
    return sp.csr_matrix((data, members.ravel(), indptr), shape=(n, size))


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
    score = getattr(model, "score", "votes")
    if isinstance(score, str) and score != "votes":
        raise TextigError(
            f"exact brute-force scoring supports score='votes' only, not score={score!r}"
        )


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
        for learner in self.learners:
            assigned = learner.assign(X)
            members = np.full((len(X), self.num_nn), -1, dtype=np.int64)
            for c in np.unique(assigned):
                rows = np.flatnonzero(assigned == c)
                top = self._top_in_cluster(learner.clusters[c], X[rows])
                members[rows, : top.shape[1]] = top
            result.append((assigned, members))
        return result

    def _top_in_cluster(self, cluster: PreparedCluster, X: np.ndarray) -> np.ndarray:
        block = max(1, _BLOCK // max(cluster.size, 1))
        parts = [
            top_members(cluster.keys(X[s : s + block]), self.num_nn)
            for s in range(0, len(X), block)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.int64)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Brute-force votes (n, L) float64 of each row of X."""
        X = self.validate(X, "X")
        scores = np.zeros((len(X), self.n_labels))
        for learner in self.learners:
            assigned = learner.assign(X)
            for c in np.unique(assigned):
                rows = np.flatnonzero(assigned == c)
                cluster = learner.clusters[c]
                top = self._top_in_cluster(cluster, X[rows])
                scores[rows] += (selection(top, cluster.size) @ cluster.labels).toarray()
        return scores

    def axis_scores(self, points: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Votes of every one-feature nudge: plus[p, i] = f(points[p] + steps[i]·e_i), minus -.

        Returns two (m, d, L) float64 arrays, equal to scoring the 2·m·d nudged copies.
        """
        P = self.validate(points, "points")
        t = np.asarray(steps, dtype=np.float64)
        if t.shape != (self.dim,) or not np.all(np.isfinite(t)):
            raise TextigError(f"steps must be a finite vector of length {self.dim}")
        m, d = P.shape
        base = np.zeros((m, self.n_labels))
        out = np.zeros((m, d, 2, self.n_labels))
        for learner in self.learners:
            _AxisLearner(learner, P, t, self.num_nn).accumulate(base, out)
        out += base[:, None, None, :]
        return out[:, :, 0], out[:, :, 1]


class _AxisLearner:
    """One learner's contribution to ``axis_scores``: base votes plus per-nudge corrections.

    A nudge of feature i by ±t_i moves member j's key by ±t_i·G[j, i] with G = E Wᵀ. The
    point's own k neighbours keep keys of at least tau_i (their lowest moved key) and no key
    moves by more than |t_i|·gamma_i (gamma_i = max_j |G[j, i]|), so only members whose key
    is at least tau_i - |t_i|·gamma_i can enter: a short prefix of the members by key. Their
    moved keys are computed exactly; a nudge is re-ranked only if some outsider reaches
    tau_i. Nudges that switch cluster (rare) are materialised and scored in full.
    """

    def __init__(self, learner: PreparedLearner, P: np.ndarray, t: np.ndarray, k: int) -> None:
        self.learner, self.P, self.t, self.k = learner, P, t, k
        scores = P @ learner.centers.T  # (m, K)
        moved = (
            scores[:, None, None, :]
            + (t[:, None] * _SIGNS)[None, :, :, None] * (learner.centers.T[None, :, None, :])
        )
        self.home = np.argmax(scores, axis=1)  # (m,)
        self.where = np.argmax(moved, axis=3)  # (m, d, 2) cluster of each nudged sample
        self.own_votes = np.zeros((len(P), learner.clusters[0].labels.shape[1]))

    def accumulate(self, base: np.ndarray, out: np.ndarray) -> None:
        """Add this learner's votes: the points' own to ``base``, changes of nudges to ``out``."""
        for c in np.unique(self.home):
            self._home_cluster(int(c), np.flatnonzero(self.home == c), out)
        base += self.own_votes
        points, axes, signs = np.nonzero(self.where != self.home[:, None, None])
        if points.size:
            nudged = self.P[points].copy()
            nudged[np.arange(len(points)), axes] += self.t[axes] * _SIGNS[signs]
            for c in np.unique(self.where[points, axes, signs]):
                hit = np.flatnonzero(self.where[points, axes, signs] == c)
                cluster = self.learner.clusters[c]
                top = top_members(cluster.keys(nudged[hit]), min(self.k, cluster.size))
                votes = (selection(top, cluster.size) @ cluster.labels).toarray()
                out[points[hit], axes[hit], signs[hit]] += votes - self.own_votes[points[hit]]

    def _home_cluster(self, c: int, rows: np.ndarray, out: np.ndarray) -> None:
        cluster = self.learner.clusters[c]
        base_keys = cluster.keys(self.P[rows])  # (r, n_c)
        k = min(self.k, cluster.size)
        own = top_members(base_keys, k)  # (r, k)
        self.own_votes[rows] = (selection(own, cluster.size) @ cluster.labels).toarray()
        if k == cluster.size:
            return
        changes = []  # (point, nudge ids (n,), new neighbour sets (n, k))
        for r, p in enumerate(rows):
            stays = self.where[p] == c  # (d, 2)
            if stays.any():
                changes.append((p, *self._nudges(cluster, base_keys[r], own[r], stays)))
        points = np.concatenate([np.full(len(n), p) for p, n, _ in changes] or [[]]).astype(int)
        if points.size:
            nudge = np.concatenate([n for _, n, _ in changes])
            tops = np.concatenate([top for _, _, top in changes])
            votes = (selection(tops, cluster.size) @ cluster.labels).toarray()
            out[points, nudge // 2, nudge % 2] += votes - self.own_votes[points]

    def _nudges(
        self, cluster: PreparedCluster, keys: np.ndarray, own: np.ndarray, stays: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nudges (ids 2·axis + sign) of one point that stay in its cluster and change its
        neighbour set, with their new sets (n, k)."""
        k, t = len(own), self.t
        margin = 1e-9 * float(np.max(np.abs(keys)))
        own_moved = keys[own][:, None] + cluster.axis_gain(own) * t[None, :]  # (k, d), plus
        low = np.minimum(own_moved, 2 * keys[own][:, None] - own_moved).min(axis=0)
        floor = low - np.abs(t) * cluster.axis_bound - margin  # (d,)
        ranked = np.flatnonzero(keys >= floor.min())
        ranked = ranked[np.lexsort((ranked, -keys[ranked]))]  # own first, then by key
        counts = np.maximum(np.searchsorted(-keys[ranked], -floor, side="right"), k)
        axis = np.repeat(np.arange(len(t)), counts)
        rank = np.arange(len(axis)) - np.repeat(np.cumsum(counts) - counts, counts)
        member = ranked[rank]
        gain = np.einsum("ij,ij->i", cluster.E[cluster.source[member]], cluster.W[axis])
        own_entries = (np.cumsum(counts) - counts)[:, None] + np.arange(k)  # own rank first
        moved = keys[member][None, :] + _SIGNS[:, None] * (t[axis] * gain)[None, :]  # (2, T)
        tau = moved[:, own_entries].min(axis=2)  # (2, d)
        high = moved >= tau[:, axis] - margin  # the new top k lies among these
        flagged = high & (rank >= k)[None, :] & stays[axis].T
        nudge_of = 2 * axis[None, :] + np.arange(2)[:, None]  # (2, T)
        flagged_nudges = np.unique(nudge_of[flagged])
        pick = high & np.isin(nudge_of, flagged_nudges)
        members = np.broadcast_to(member, moved.shape)
        return self._rerank(own, flagged_nudges, nudge_of[pick], members[pick], moved[pick])

    @staticmethod
    def _rerank(
        own: np.ndarray,
        nudges: np.ndarray,
        nudge_of: np.ndarray,
        member: np.ndarray,
        moved: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top k of each flagged nudge's candidates; keep those that differ from own."""
        k = len(own)
        order = np.lexsort((member, -moved, nudge_of))
        first = np.searchsorted(nudge_of[order], nudges)
        rank = np.arange(len(order)) - np.repeat(first, np.diff(np.append(first, len(order))))
        top = np.sort(member[order[rank < k]].reshape(len(nudges), k), axis=1)
        changed = np.any(top != own, axis=1)
        return nudges[changed], top[changed]
