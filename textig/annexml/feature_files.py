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
from textig.errors import TextigError

if TYPE_CHECKING:
    from textig.data import Dataset


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
    if dataset is None:
        raise TextigError("an npz feature file carries no labels: give --data as well")
    try:
        with np.load(path, allow_pickle=False) as data:
            X, valid = data[f"X_{split}"], data[f"valid_{split}"].astype(bool)
            ids, identity = data[f"ids_{split}"].tolist(), str(data["identity"])
            checksum = str(data["checksum"])
    except KeyError as error:
        raise TextigError(f"{path} has no {error} array (written by 'textig embed'?)") from None
    except (OSError, ValueError) as error:
        raise TextigError(f"cannot read features {path}: {error}") from None
    if checksum != dataset.checksum():
        raise TextigError(f"{path} was computed from other data than {dataset.path}")
    Y = dataset.label_matrix(split)
    if Y.shape[0] != len(X):
        raise TextigError(f"{path} has {len(X)} {split} rows, the dataset {Y.shape[0]}")
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
