"""The one label-ranking rule: higher score first, ties to the lower label id.

Reports, P@k, top-k predictions and parity checks all rank labels this way, so a caption's
"rank 1" label is the same everywhere.
"""

from __future__ import annotations

import numpy as np


def rank_labels(scores: np.ndarray, k: int | None = None) -> np.ndarray:
    """Label ids by decreasing score, ties to the lower id: (k,) for scores (L,), (n, k) for
    (n, L); every label when ``k`` is None."""
    scores = np.asarray(scores)
    ids = np.broadcast_to(np.arange(scores.shape[-1]), scores.shape)
    order = np.lexsort((ids, -scores), axis=-1)
    return order if k is None else order[..., :k]
