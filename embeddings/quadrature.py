"""Gauss-Legendre quadrature on [0, 1]: the one definition that embeddings and textig share.

It lives here because ``embeddings`` must not import ``textig`` while ``textig`` may import
``embeddings`` (word-level IG in the SBERT back-projection and feature-level IG both need it).
"""

from __future__ import annotations

import numpy as np


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights summing to 1 for the integral of f over [0, 1]; exact for
    polynomials of degree up to 2·steps - 1."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2
