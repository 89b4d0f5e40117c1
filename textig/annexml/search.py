"""Nearest training samples of a query inside one cluster: exact brute force and an
approximate inverted-file search.

Brute force is the reference semantics every other part of textig reproduces: the ``num_nn``
highest keys E @ z, ties to the lower position in the cluster. The approximate search
(``pred_type=1``) groups each cluster's unit embeddings into buckets by spherical k-means
(capped at ``_CAPACITY`` times the mean size) and scores only the members of the ``NUM_PROBE``
buckets whose centroids are closest to the query — the batched stand-in for the reference's
kNN-graph walk, which cannot be vectorised in numpy. All (query, bucket) pairs of a batch are
scored bucket by bucket into one padded array, so a batch costs one product per bucket and one
partial partition per query, not one Python step per query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NUM_PROBE = 8  # buckets scored per query by the approximate search
INDEX_VERSION = 2  # how buckets are built (2: capacity-capped); models cached by older code differ
_CHUNK = 4096  # query rows scored at once, to bound memory
_BUCKET_CHUNK = 32768  # queries per bucket search: fewer, larger products per bucket
_CAPACITY = 1.5  # largest bucket allowed, relative to the mean bucket size


PositionOf = Callable[[np.ndarray, np.ndarray], np.ndarray]


def top_k(
    values: np.ndarray, k: int, positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) positions of the k largest values per row, ordered by (-value, position), and
    those values.

    ``positions`` (n, m) names each column (default: the column index); position -1 (value
    -inf) pads rows with fewer than k finite values. Exact including ties, for any size.
    """
    if positions is None:
        return top_k_of(values, k, lambda rows, cols: cols)
    return top_k_of(values, k, lambda rows, cols: np.take_along_axis(positions[rows], cols, 1))


def top_k_of(values: np.ndarray, k: int, position_of: PositionOf) -> tuple[np.ndarray, np.ndarray]:
    """``top_k`` with the positions given by ``position_of(rows, cols)`` ((r,) rows, (r, c)
    columns -> (r, c) positions), so wide callers never build the full position matrix.

    A partial partition finds each row's k-th largest value; only rows where it is tied with an
    entry left out need positions of the whole row.
    """
    n, m = values.shape
    if m <= k:
        cols = np.broadcast_to(np.arange(m), (n, m))
    else:
        kth = np.partition(values, m - k, axis=1)[:, m - k]
        chosen = values >= kth[:, None]
        ties = np.flatnonzero(chosen.sum(axis=1) > k)
        if ties.size:
            every = np.broadcast_to(np.arange(m), (ties.size, m))
            resolved = _lowest_tied(values[ties], kth[ties], position_of(ties, every), k)
            chosen[ties] = False
            chosen[ties[:, None], resolved] = True
        cols = (np.flatnonzero(chosen) % m).reshape(n, k)
    vals = np.take_along_axis(values, cols, axis=1).astype(np.float64)
    pos = position_of(np.arange(n), cols).astype(np.int64)
    order = np.lexsort((pos, -vals), axis=1)
    pos, vals = np.take_along_axis(pos, order, axis=1), np.take_along_axis(vals, order, axis=1)
    missing = ~np.isfinite(vals)
    pos[missing], vals[missing] = -1, -np.inf
    if m < k:
        pos = np.concatenate([pos, np.full((n, k - m), -1, np.int64)], axis=1)
        vals = np.concatenate([vals, np.full((n, k - m), -np.inf)], axis=1)
    return pos, vals


def _lowest_tied(values: np.ndarray, kth: np.ndarray, positions: np.ndarray, k: int) -> np.ndarray:
    """Columns of each row's top k when the k-th value is tied: every value above it, then the
    tied entries with the lowest positions."""
    priority = np.full(values.shape, np.iinfo(np.int64).max)
    tied = values == kth[:, None]
    priority[tied] = positions[tied]
    priority[values > kth[:, None]] = -2
    return np.argpartition(priority, k - 1, axis=1)[:, :k]


def brute_force(Z: np.ndarray, E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact neighbours (n, k) of the query embeddings Z among rows of E, and their keys
    (-inf where the cluster has fewer than k members)."""
    idx = np.full((len(Z), k), -1, dtype=np.int64)
    keys = np.full((len(Z), k), -np.inf)
    for start in range(0, len(Z), _CHUNK):
        stop = start + _CHUNK
        idx[start:stop], keys[start:stop] = top_k(Z[start:stop] @ E.T, k)
    return idx, keys


@dataclass(frozen=True)
class BucketIndex:
    """Spherical k-means buckets of one cluster's unit embeddings."""

    centroids: np.ndarray  # (B, emb) float32
    bucket: np.ndarray  # (n_c,) int32 bucket of each member

    @classmethod
    def build(cls, E: np.ndarray, seed: int, iters: int = 8) -> BucketIndex:
        """Buckets of about √(NUM_PROBE·n_c) members: balances centroid and member scoring.
        No bucket exceeds ``_CAPACITY`` times the mean size, which bounds the work per query."""
        n = len(E)
        B = int(max(1, min(n, round(np.sqrt(NUM_PROBE * n)))))
        rng = np.random.default_rng(seed)
        centroids = E[rng.choice(n, size=B, replace=False)].astype(np.float64)
        for _ in range(iters):
            bucket = np.argmax(E @ centroids.T, axis=1)
            sums = np.zeros_like(centroids)
            np.add.at(sums, bucket, E)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            centroids = np.where(norms > 0, sums / np.where(norms > 0, norms, 1.0), centroids)
        capacity = int(np.ceil(_CAPACITY * n / B))
        bucket = _capped_assignment(E @ centroids.T, capacity)
        return cls(centroids.astype(np.float32), bucket.astype(np.int32))

    def search(self, Z: np.ndarray, E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate neighbours (n, k) and keys: exact among the probed buckets' members."""
        idx = np.full((len(Z), k), -1, dtype=np.int64)
        keys = np.full((len(Z), k), -np.inf)
        layout = self._layout(E)
        for start in range(0, len(Z), _BUCKET_CHUNK):
            stop = start + _BUCKET_CHUNK
            idx[start:stop], keys[start:stop] = self._search_chunk(Z[start:stop], layout, k)
        return idx, keys

    def _layout(self, E: np.ndarray) -> _BucketLayout:
        """The members grouped by bucket (cached: one cluster's E never changes)."""
        cached = self.__dict__.get("_cached_layout")
        if cached is None or cached.source is not E:
            cached = _BucketLayout.of(E, self.bucket, len(self.centroids))
            object.__setattr__(self, "_cached_layout", cached)
        return cached

    def _search_chunk(
        self, Z: np.ndarray, layout: _BucketLayout, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """One chunk of queries: each (query, probed bucket) pair is scored against the bucket's
        members in one matrix product per bucket, then one exact top-k per query."""
        n, B = len(Z), len(self.centroids)
        probes = min(NUM_PROBE, B)
        chosen, _ = top_k(Z @ self.centroids.T, probes)  # (n, probes)
        flat = chosen.ravel()
        order = np.argsort(flat, kind="stable")
        pairs = Z[order // probes]  # query of each (query, bucket) pair, grouped by bucket
        bounds = np.searchsorted(flat[order], np.arange(B + 1))
        width = layout.width
        scored = np.full((len(flat), width), -np.inf, dtype=np.float32)
        for b in np.flatnonzero(np.diff(bounds)):
            lo, hi = layout.bounds[b], layout.bounds[b + 1]
            scored[bounds[b] : bounds[b + 1], : hi - lo] = pairs[bounds[b] : bounds[b + 1]] @ (
                layout.E[lo:hi].T
            )
        values = np.empty_like(scored)
        values[order] = scored

        def position_of(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return layout.positions[chosen[rows[:, None], cols // width], cols % width]

        return top_k_of(values.reshape(n, probes * width), k, position_of)


def _capped_assignment(similarity: np.ndarray, capacity: int) -> np.ndarray:
    """Each member to its most similar centroid that has room: in rounds, every unplaced member
    proposes its best open centroid, which keeps its most similar proposers up to capacity."""
    n, B = similarity.shape
    similarity = similarity.copy()
    bucket = np.full(n, -1, dtype=np.int64)
    load = np.zeros(B, dtype=np.int64)
    while (free := np.flatnonzero(bucket < 0)).size:
        choice = np.argmax(similarity[free], axis=1)
        order = np.lexsort((-similarity[free, choice], choice))
        wanted = choice[order]
        rank = np.arange(len(order)) - np.searchsorted(wanted, wanted)
        accepted = rank < capacity - load[wanted]
        bucket[free[order[accepted]]] = wanted[accepted]
        load += np.bincount(wanted[accepted], minlength=B)
        similarity[:, load >= capacity] = -np.inf
    return bucket


@dataclass(frozen=True)
class _BucketLayout:
    """A cluster's members reordered bucket by bucket, with each bucket's original positions
    padded to the largest bucket (-1) so per-pair scores line up in one dense array."""

    source: np.ndarray  # the E this layout was built from
    E: np.ndarray  # (n_c, emb) members sorted by bucket
    bounds: np.ndarray  # (B + 1,) start of each bucket in E
    positions: np.ndarray  # (B, width) original position of each bucket's members, -1 padding
    width: int

    @classmethod
    def of(cls, E: np.ndarray, bucket: np.ndarray, B: int) -> _BucketLayout:
        """Group the members of E by their bucket (stable: positions ascend inside a bucket)."""
        members = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[members], np.arange(B + 1))
        width = int(max(1, np.diff(bounds).max(initial=1)))
        positions = np.full((B, width), -1, dtype=np.int64)
        for b in range(B):
            positions[b, : bounds[b + 1] - bounds[b]] = members[bounds[b] : bounds[b + 1]]
        return cls(E, np.ascontiguousarray(E[members]), bounds, positions, width)
