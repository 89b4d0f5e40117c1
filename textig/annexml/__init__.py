"""AnnexML in Python: estimator, ranking metrics and the reference file formats."""

from textig.annexml.metrics import (
    evaluate,
    ndcg_at_k,
    precision_at_k,
    propensity_weights,
    psndcg_at_k,
    psp_at_k,
    rank_labels,
)
from textig.annexml.model import AnnexML, Cluster, Learner

__all__ = [
    "AnnexML",
    "Cluster",
    "Learner",
    "evaluate",
    "ndcg_at_k",
    "precision_at_k",
    "propensity_weights",
    "psndcg_at_k",
    "psp_at_k",
    "rank_labels",
]
