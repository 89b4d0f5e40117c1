"""Gauss-Legendre quadrature on [0, 1] and its Kronrod extension: the one definition that
embeddings and textig share.

It lives here because ``embeddings`` must not import ``textig`` while ``textig`` may import
``embeddings`` (word-level IG in the SBERT back-projection and feature-level IG both need it).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import legendre


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights summing to 1 for the integral of f over [0, 1]; exact for
    polynomials of degree up to 2·steps - 1."""
    nodes, weights = legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


def gauss_kronrod(steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Kronrod extension of the ``steps``-point Gauss-Legendre rule on [0, 1]: the
    ``steps + 1`` added nodes, the new weights of the Gauss nodes (in ``gauss_legendre``'s
    order) and the weights of the added nodes. All 2·steps + 1 points together are exact for
    polynomials of degree up to 3·steps + 1.

    Why: when the Gauss rule on a stretch is not accurate enough, its points are kept and only
    steps + 1 are added (halving the stretch would discard them and cost 2·steps new ones).
    The added nodes are the zeros of the Stieltjes polynomial E, orthogonal to every
    polynomial of degree <= steps under the weight P_steps; the weights make the rule exact
    on the Legendre polynomials up to degree 2·steps.
    """
    n = steps
    x, w = legendre.leggauss(3 * n + 4)  # exact for the products below (degree <= 3n + 2)
    basis = np.stack([legendre.legval(x, np.eye(n + 2)[j]) for j in range(n + 2)])
    weighted = w * basis[n]  # <P_n P_j P_k> = weighted @ (P_j P_k)
    system = np.array(
        [[weighted @ (basis[j] * basis[k]) for j in range(n + 1)] for k in range(n + 1)]
    )
    rhs = -np.array([weighted @ (basis[n + 1] * basis[k]) for k in range(n + 1)])
    stieltjes = np.append(np.linalg.lstsq(system, rhs, rcond=None)[0], 1.0)
    added = np.sort(legendre.legroots(stieltjes).real)
    gauss, _ = legendre.leggauss(n)
    nodes = np.concatenate([gauss, added])
    vandermonde = np.stack([legendre.legval(nodes, np.eye(2 * n + 1)[j]) for j in range(2 * n + 1)])
    moments = np.zeros(2 * n + 1)
    moments[0] = 2.0
    weights = np.linalg.solve(vandermonde, moments)
    return (added + 1) / 2, weights[:n] / 2, weights[n:] / 2
