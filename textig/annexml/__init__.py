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
from textig.annexml.model import AnnexML
from textig.annexml.params import DEFAULTS, check_params
from textig.annexml.reference_file import is_reference_file, read_reference_model
from textig.annexml.state import Cluster, Learner


def code_version() -> list[int]:
    """What of this package's code changes a trained model or its file (file format, mini-batch
    sizes, index layout): part of every cache key of trained models."""
    from textig.annexml import learner, partition, search, storage

    return [storage.FORMAT_VERSION, learner.BATCH, partition.BATCH, search.INDEX_VERSION]


__all__ = [
    "DEFAULTS",
    "AnnexML",
    "Cluster",
    "Learner",
    "check_params",
    "code_version",
    "evaluate",
    "is_reference_file",
    "ndcg_at_k",
    "precision_at_k",
    "propensity_weights",
    "psndcg_at_k",
    "psp_at_k",
    "rank_labels",
    "read_reference_model",
]
