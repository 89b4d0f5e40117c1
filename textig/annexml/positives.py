"""Label-similar "positive" neighbours of each training sample, shared by partitioner and learner.

AnnexML pulls together samples whose label sets overlap: the similarity of j to i is the sum,
over labels both carry, of 1/|y_j| (``label_normalize=1``) or 1 (``label_normalize=0``). The
``num_nn`` most similar samples are i's positives (repeated cyclically when fewer exist; a
sample with no label overlap at all gets none and is skipped by training).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from textig.annexml.search import top_k

_BLOCK_ROWS = 1024


def head_label_mask(Y: sp.csr_matrix, budget_per_sample: int) -> np.ndarray:
    """Labels kept when pairs are enumerated under a budget (the partitioner skips head labels).

    Labels are admitted from the rarest up while the number of (i, j) pairs they create,
    Σ (n_l² - n_l), stays within ``budget_per_sample`` * n. Frequent labels link almost
    everything and would make partitioning cost quadratic without telling clusters apart.
    """
    counts = np.asarray(Y.sum(axis=0)).ravel().astype(np.int64)
    order = np.sort(counts)
    budget = Y.shape[0] * budget_per_sample
    cost = np.cumsum(order * order - order)
    fits = order[cost <= budget]
    threshold = int(fits[-1]) if fits.size else int(order[-1]) if order.size else 0
    return counts <= threshold


def label_positives(
    Y: sp.csr_matrix, num_nn: int, *, label_normalize: int = 1, keep: np.ndarray | None = None
) -> np.ndarray:
    """(n, num_nn) int64 indices of each row's positives; rows without any are all -1.

    Ties in similarity go to the lower index, so the result is deterministic.
    """
    Y = sp.csr_matrix(Y, dtype=np.float32)
    Y.data[:] = 1.0
    sizes = np.asarray(Y.sum(axis=1)).ravel()
    weights = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0) if label_normalize else None
    Yk = Y if keep is None else Y @ sp.diags(keep.astype(np.float32))
    target = (sp.diags(weights.astype(np.float32)) @ Y if weights is not None else Y).T.tocsc()
    n = Y.shape[0]
    # Similarities are c/|y_j| (or integers): distinct values differ by at least 1/s², s the
    # largest label set. Subtracting column·eps with n·eps < 1/(2s²) orders equal similarities
    # by index without reordering different ones, so top-k never meets a tie.
    largest = float(sizes.max()) if label_normalize and n else 1.0
    eps = 1.0 / (2.0 * largest * largest * max(n, 1))
    offsets = np.arange(n) * eps
    out = np.full((n, num_nn), -1, dtype=np.int64)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        sim = (Yk[start:stop] @ target).toarray().astype(np.float64)
        sim[np.arange(stop - start), np.arange(start, stop)] = 0.0
        out[start:stop] = _top_cyclic(np.where(sim > 0, sim - offsets, 0.0), num_nn)
    return out


def _top_cyclic(sim: np.ndarray, k: int) -> np.ndarray:
    """Top-k columns per row by (-similarity, column), positive similarities only, cycled to k."""
    cols, vals = top_k(sim, k)
    have = (vals > 0).sum(axis=1)
    cycled = np.take_along_axis(cols, np.arange(k)[None, :] % np.maximum(have, 1)[:, None], axis=1)
    return np.where(have[:, None] > 0, cycled, -1)
