"""The embedding learner of one (learner, cluster): a linear map z = Wᵀx, trained so that each
sample's label-similar positives are closer in cosine than random members of the cluster.

Loss per sample i with positives p and sampled negatives n (as many as positives):
Σ_p log(1 + Σ_n exp(gamma*(cos(z_i, z_n) - cos(z_i, z_p)))), minimised with AdaGrad (accumulator
starting at 1, step eta0/√G). Every (sample, partner) pair contributes a rank-one gradient
x ⊗ v on both ends; a mini-batch sums them and also sums their elementwise squares into G,
so the accumulator grows exactly as with per-sample updates — only the staleness of W within
one batch differs (bench/annexml.py compares batch sizes).
"""

from __future__ import annotations

import numpy as np

BATCH = 8  # base samples per AdaGrad step (bench/annexml.py: 8 beats 64 by ~0.6 P@3 points)
_TINY = 1e-12


def init_weights(d: int, emb_size: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform(-√(1/d), √(1/d)) init, scaled so that ‖z‖ starts near ‖x‖ = 1."""
    bound = np.sqrt(1.0 / d)
    return rng.uniform(-bound, bound, size=(d, emb_size)).astype(np.float32)


def _pair_coefficients(cos: np.ndarray, num_pos: int, gamma: float) -> np.ndarray:
    """Ascent coefficient of each pair's cosine, (b, 2P): positives > 0, negatives < 0."""
    pos, neg = cos[:, :num_pos], cos[:, num_pos:]
    t = np.exp(-gamma * (pos[:, :, None] - neg[:, None, :]))  # (b, P, N)
    t = gamma * t / (1.0 + t.sum(axis=2, keepdims=True))
    return np.concatenate([t.sum(axis=2), -t.sum(axis=1)], axis=1)


def train_embedding(
    X: np.ndarray,
    positives: np.ndarray,
    *,
    emb_size: int,
    iters: int,
    eta0: float,
    gamma: float,
    rng: np.random.Generator,
    batch: int | None = None,
) -> np.ndarray:
    """(d, emb_size) float32 W for the unit rows X of one cluster, positives indexing into X.

    ``batch`` defaults to the module's ``BATCH``, read at call time so a benchmark can vary it.
    """
    batch = BATCH if batch is None else batch
    n, d = X.shape
    W = init_weights(d, emb_size, rng)
    G = np.ones_like(W)
    X2 = X * X
    usable = (positives[:, 0] >= 0) & (np.abs(X).sum(axis=1) > 0)
    num_pos = positives.shape[1]
    for _ in range(iters):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            base = order[start : start + batch]
            negatives = rng.integers(0, n, size=(len(base), num_pos))
            base_ok = usable[base]
            if not base_ok.any():
                continue
            base, negatives = base[base_ok], negatives[base_ok]
            partners = np.concatenate([positives[base], negatives], axis=1)
            _adagrad_step(X, X2, W, G, base, partners, num_pos, eta0, gamma)
    return W


def _adagrad_step(
    X: np.ndarray,
    X2: np.ndarray,
    W: np.ndarray,
    G: np.ndarray,
    base: np.ndarray,
    partners: np.ndarray,
    num_pos: int,
    eta0: float,
    gamma: float,
) -> None:
    """One mini-batch AdaGrad step of the cosine ranking loss, in place on W and G."""
    b, m = partners.shape
    flat = partners.ravel()
    Xb, Xp = X[base], X[flat]
    zb = Xb @ W  # (b, e)
    zp = (Xp @ W).reshape(b, m, -1)  # (b, m, e)
    nb = np.linalg.norm(zb, axis=1)
    npn = np.linalg.norm(zp, axis=2)
    ip = np.einsum("be,bme->bm", zb, zp)
    valid = (npn > _TINY) & (nb[:, None] > _TINY)
    nb_safe, np_safe = np.maximum(nb, _TINY), np.maximum(npn, _TINY)
    cos = np.where(valid, ip / (nb_safe[:, None] * np_safe), 0.0)
    coef = _pair_coefficients(cos, num_pos, gamma) * valid
    scale = (coef / (nb_safe[:, None] * np_safe))[:, :, None]
    v_base = scale * (zp - (ip / nb_safe[:, None] ** 2)[:, :, None] * zb[:, None, :])
    v_part = scale * (zb[:, None, :] - (ip / np_safe**2)[:, :, None] * zp)
    v_part = v_part.reshape(b * m, -1).astype(np.float32)
    grad = Xb.T @ v_base.sum(axis=1).astype(np.float32) + Xp.T @ v_part
    G += X2[base].T @ (v_base * v_base).sum(axis=1).astype(np.float32)
    G += X2[flat].T @ (v_part * v_part)
    W += eta0 * grad / np.sqrt(G)
