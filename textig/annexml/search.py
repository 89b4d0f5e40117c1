"""Nearest training samples of a query inside one cluster: exact brute force and an
approximate inverted-file search.

Brute force is the reference semantics every other part of textig reproduces: the ``num_nn``
highest keys E @ z, ties to the lower position in the cluster. The approximate search
(``pred_type=1``) groups each cluster's unit embeddings into buckets by spherical k-means and
scores only the members of the ``NUM_PROBE`` buckets whose centroids are closest to the query —
the batched stand-in for the reference's kNN-graph walk, which cannot be vectorised in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_PROBE = 8  # buckets scored per query by the approximate search
_GROUPS = 64  # column groups used to find a safe threshold for exact top-k
_CHUNK = 4096  # query rows scored at once, to bound memory


def top_k(
    values: np.ndarray, k: int, positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) positions of the k largest values per row, ordered by (-value, position), and
    those values.

    ``positions`` (n, m) names each column (default: the column index); position -1 (value
    -inf) pads rows with fewer than k finite values. Exact including ties, for any size.
    """
    n, m = values.shape
    if positions is None:
        positions = np.broadcast_to(np.arange(m), (n, m))
    if m > 4 * max(k, _GROUPS):
        return _top_k_threshold(values, k, positions)
    order = np.lexsort((positions, -values), axis=1)[:, :k]
    pos = np.take_along_axis(positions, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(values, order, axis=1).astype(np.float64)
    missing = ~np.isfinite(vals)
    pos[missing], vals[missing] = -1, -np.inf
    if pos.shape[1] < k:
        pad = k - pos.shape[1]
        pos = np.concatenate([pos, np.full((n, pad), -1, np.int64)], axis=1)
        vals = np.concatenate([vals, np.full((n, pad), -np.inf)], axis=1)
    return pos, vals


def _top_k_threshold(
    values: np.ndarray, k: int, positions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of wide rows: the k-th largest group maximum bounds the k-th value from below,
    so only the few entries at or above it need sorting (rows with many ties at that bound,
    e.g. equal label overlaps, take the tie path instead)."""
    n, m = values.shape
    size = -(-m // _GROUPS)
    padded = np.full((n, size * _GROUPS), -np.inf, dtype=values.dtype)
    padded[:, :m] = values
    group_max = padded.reshape(n, _GROUPS, size).max(axis=2)
    threshold = -np.partition(-group_max, k - 1, axis=1)[:, k - 1]
    selected = values >= threshold[:, None]
    crowded = selected.sum(axis=1) > 8 * k
    if crowded.any():
        selected[crowded] = _first_k_by_position(values[crowded], k)
    rows, cols = np.nonzero(selected)
    vals, pos = values[rows, cols], positions[rows, cols]
    order = np.lexsort((pos, -vals, rows))
    rows, pos, vals = rows[order], pos[order], vals[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    out = np.full((n, k), -1, dtype=np.int64)
    out_vals = np.full((n, k), -np.inf)
    out[rows[keep], rank[keep]] = pos[keep]
    out_vals[rows[keep], rank[keep]] = vals[keep]
    return out, out_vals


def _first_k_by_position(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of each row's top k, ties at the k-th value resolved to the leftmost columns
    (positions must increase with the column, as in every caller of the wide path)."""
    kth = np.partition(values, values.shape[1] - k, axis=1)[:, values.shape[1] - k]
    above = values > kth[:, None]
    tied = values == kth[:, None]
    room = k - above.sum(axis=1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=1) <= room))


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
        """Buckets of about √(NUM_PROBE·n_c) members: balances centroid and member scoring."""
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
        bucket = np.argmax(E @ centroids.T, axis=1)
        return cls(centroids.astype(np.float32), bucket.astype(np.int32))

    def search(self, Z: np.ndarray, E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate neighbours (n, k) and keys: exact among the probed buckets' members."""
        n, B = len(Z), len(self.centroids)
        probes = min(NUM_PROBE, B)
        chosen, _ = top_k(Z @ self.centroids.T, probes)  # (n, probes)
        cand_val = np.full((n, probes * k), -np.inf)
        cand_pos = np.full((n, probes * k), -1, dtype=np.int64)
        flat = chosen.ravel()
        order = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[order], np.arange(B + 1))
        members = np.argsort(self.bucket, kind="stable")
        member_bounds = np.searchsorted(self.bucket[members], np.arange(B + 1))
        for b in range(B):
            hits = order[bounds[b] : bounds[b + 1]]
            if hits.size == 0:
                continue
            rows, slots = hits // probes, hits % probes
            pos = members[member_bounds[b] : member_bounds[b + 1]]
            vals = Z[rows] @ E[pos].T
            cols = slots[:, None] * k + np.arange(k)
            local_pos, local_val = top_k(vals, k, np.broadcast_to(pos, vals.shape))
            cand_pos[rows[:, None], cols], cand_val[rows[:, None], cols] = local_pos, local_val
        return top_k(cand_val, k, cand_pos)
