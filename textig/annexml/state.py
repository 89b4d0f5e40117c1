"""The fitted state of an AnnexML model as plain data: what training produces, what a model
file stores, and what the scorers read.

Kept apart from the estimator so that the file format (``storage``) and the estimator
(``model``) depend on this module, not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from textig.annexml.search import BucketIndex


@dataclass
class Cluster:
    """One cluster of one learner: its embedding map and its training samples' embeddings."""

    W: np.ndarray  # (d, emb) float32
    E: np.ndarray  # (n_c, emb) float32 unit rows (zero rows for zero inputs)
    ids: np.ndarray  # (n_c,) int64 training-sample indices, ascending
    graph: np.ndarray | None = None  # (n_c, num_edge) int32; unused by the bucket search
    index: BucketIndex | None = field(default=None, repr=False)


@dataclass
class Learner:
    """One ensemble member: K partition scorers and one Cluster per scorer."""

    centers: np.ndarray  # (K, d) float32
    clusters: list[Cluster]


@dataclass
class ModelState:
    """Everything a fitted model holds besides its code: parameters, training labels,
    learners, and what a file needs to refuse foreign features."""

    params: dict[str, Any]
    dim: int
    labels: list[str]
    embedder_identity: str | None
    Y: sp.csr_matrix  # (n_train, n_labels) 0/1
    learners: list[Learner]
    feature_mean: np.ndarray | None  # (dim,) float64 mean training features; None in old files
