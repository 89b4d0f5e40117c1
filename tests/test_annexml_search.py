"""Neighbour search inside one cluster: exact top-k with ties, and the bucket index against a
plain loop over the probed buckets' members."""

from __future__ import annotations

import numpy as np
import pytest

from textig.annexml.search import NUM_PROBE, BucketIndex, brute_force, top_k


def naive_top_k(values: np.ndarray, k: int, positions: np.ndarray) -> list[list[int]]:
    """Each row's k best positions by (-value, position), finite values only."""
    out = []
    for vals, pos in zip(values, positions, strict=True):
        ranked = sorted(
            (float(-v), int(p)) for v, p in zip(vals, pos, strict=True) if np.isfinite(v)
        )
        best = [p for _, p in ranked[:k]]
        out.append(best + [-1] * (k - len(best)))
    return out


@pytest.mark.parametrize("m", [3, 10, 40, 700])
def test_top_k_is_exact_with_ties_and_shuffled_positions(m: int) -> None:
    rng = np.random.default_rng(m)
    values = rng.integers(0, 4, size=(60, m)).astype(np.float32)  # heavy ties
    values[rng.random(values.shape) < 0.2] = -np.inf
    values[:3] = -np.inf  # rows with nothing finite
    positions = np.stack([rng.permutation(m) for _ in range(60)])
    pos, vals = top_k(values, 10, positions)
    assert pos.tolist() == naive_top_k(values, 10, positions)
    assert vals.shape == (60, 10) and np.all(vals[pos < 0] == -np.inf)
    for r in range(60):
        value_of = dict(zip(positions[r].tolist(), values[r].tolist(), strict=True))
        assert [value_of[p] for p in pos[r] if p >= 0] == vals[r][pos[r] >= 0].tolist()


def test_top_k_default_positions_are_columns() -> None:
    values = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]])
    pos, vals = top_k(values, 2)
    assert pos.tolist() == [[1, 2]] and vals.tolist() == [[3.0, 3.0]]


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    E = rng.standard_normal((n, d)).astype(np.float32)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def test_buckets_respect_the_capacity_and_cover_every_member() -> None:
    E = unit(np.random.default_rng(0), 3000, 12)
    index = BucketIndex.build(E, seed=0)
    counts = np.bincount(index.bucket, minlength=len(index.centroids))
    assert counts.sum() == len(E)
    assert counts.max() <= np.ceil(1.5 * len(E) / len(index.centroids))


def test_bucket_search_is_exact_among_the_probed_members() -> None:
    rng = np.random.default_rng(1)
    E = unit(rng, 900, 8)
    E[100:110] = E[5]  # duplicated training vectors: tied keys
    index = BucketIndex.build(E, seed=3)
    Z = np.concatenate([unit(rng, 200, 8), E[[5, 7]]]).astype(np.float32)
    pos, keys = index.search(Z, E, 10)
    for z, got, got_keys in zip(Z, pos, keys, strict=True):
        c = (index.centroids @ z).astype(np.float64)
        probed = sorted(range(len(c)), key=lambda b: (-c[b], b))[: min(NUM_PROBE, len(c))]
        members = np.flatnonzero(np.isin(index.bucket, probed))
        key = E[members] @ z
        best = sorted(range(len(members)), key=lambda j: (-key[j], members[j]))[:10]
        assert got.tolist() == [int(members[j]) for j in best]
        np.testing.assert_allclose(got_keys, key[best], rtol=1e-5)


def test_bucket_search_probing_every_bucket_is_brute_force() -> None:
    rng = np.random.default_rng(2)
    E = unit(rng, 6, 6)  # 6 members make at most 6 buckets, all of them probed
    index = BucketIndex.build(E, seed=0)
    Z = unit(rng, 30, 6)
    pos, _ = index.search(Z, E, 4)
    exact, _ = brute_force(Z.astype(np.float64), E.astype(np.float64), 4)
    assert np.array_equal(pos, exact)
