"""Precomputed features for training/evaluating without an embedder.

Two kinds of file: the npz written by ``textig embed`` (``X_<split>``, ``valid_<split>``,
``identity``, ``checksum``; labels come from the dataset) and multi-label svmlight (labels in
the file). Rows that carry no features are left out of training and evaluation, and always
reported — the reference drops them silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from textig.annexml.formats import read_svmlight
from textig.data.model import SPLITS
from textig.errors import TextigError
from textig.limits import MAX_FEATURES
from textig.npz import NpzReader, expansion_budget

if TYPE_CHECKING:
    from textig.data import Dataset

_MEMBERS = {"identity", "checksum"} | {f"{k}_{s}" for k in ("X", "ids", "valid") for s in SPLITS}


@dataclass(frozen=True)
class FeatureSet:
    """Usable rows of one split with their labels, and what was left out."""

    X: np.ndarray  # (n, d) float32
    Y: sp.csr_matrix  # (n, L) 0/1
    identity: str | None  # embedder identity, when the file records it
    left_out: list[str]  # descriptions of rows without features


def _label_matrix(labels: list[tuple[int, ...]], width: int) -> sp.csr_matrix:
    rows = [i for i, y in enumerate(labels) for _ in y]
    cols = [c for y in labels for c in y]
    if cols and max(cols) >= width:
        raise TextigError(f"label id {max(cols)} outside the {width} labels of the dictionary")
    return sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(labels), width))


def _from_npz(path: Path, split: str, dataset: Dataset | None) -> FeatureSet:
    """The split's rows of a ``textig embed`` npz, read like any untrusted file: member sizes
    against a budget before anything is inflated, then each member's dtype and shape against
    the dataset's row count (``textig.npz``)."""
    if dataset is None:
        raise TextigError("an npz feature file carries no labels: give --data as well")
    Y = dataset.label_matrix(split)
    n = Y.shape[0]
    what = f"{path} is not a feature file written by 'textig embed'"
    with NpzReader(path, what, expansion_budget(path)) as data:
        unknown = sorted(data.names - _MEMBERS)
        if unknown:
            raise data.fail(f"unknown member(s) {', '.join(unknown)}")
        if f"X_{split}" not in data.names:
            raise data.fail(f"it holds no {split} split")
        checksum = str(data.read("checksum", "U", ()))
        if checksum != dataset.checksum():
            raise TextigError(f"{path} was computed from other data than {dataset.path}")
        with np.errstate(over="ignore"):  # beyond float32's range -> inf, refused below
            X = data.read(f"X_{split}", "f", (n, None), n * MAX_FEATURES).astype(np.float32)
        if not 0 < X.shape[1] <= MAX_FEATURES:
            raise data.fail(f"X_{split} has {X.shape[1]} features, expected 1 to {MAX_FEATURES}")
        valid = data.read(f"valid_{split}", "b", (n,))
        ids = data.read(f"ids_{split}", "U", (n,)).tolist()
        identity = str(data.read("identity", "U", ()))
    if ids != [caption.id for caption in dataset.split(split)]:
        raise TextigError(f"{path}: its {split} caption ids differ from those of {dataset.path}")
    if not np.isfinite(X).all():
        raise TextigError(f"{path}: X_{split} holds NaN or infinite values")
    left_out = [f"caption {i}" for i, ok in zip(ids, valid, strict=True) if not ok]
    return FeatureSet(X[valid], Y[valid], identity, left_out)


def load_features(
    path: str | Path, split: str, dataset: Dataset | None = None, n_labels: int | None = None
) -> FeatureSet:
    """Features and labels of ``split`` from an npz (``textig embed``) or an svmlight file.

    An svmlight file only lists the label ids it uses: its label count comes from the dataset,
    else ``n_labels`` (a model's), else the largest id it holds.
    """
    path = Path(path)
    if not path.is_file():
        raise TextigError(f"feature file not found: {path}")
    if path.suffix == ".npz":
        return _from_npz(path, split, dataset)
    data = read_svmlight(path)
    width = len(dataset.vocabulary) if dataset is not None else n_labels
    if width is None:
        width = max((max(y) + 1 for y in data.labels if y), default=0)
    keep = np.ones(len(data.X), dtype=bool)
    rows_without = [i for i, feats in enumerate(data.X) if not feats.any()]
    keep[rows_without] = False
    Y = _label_matrix(data.labels, width)
    left_out = [f"line {n}" for n in data.featureless_lines]
    return FeatureSet(data.X[keep], Y[keep], None, left_out)
