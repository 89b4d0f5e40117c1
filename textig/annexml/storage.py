"""AnnexML model files: one npz of plain arrays plus a JSON header, never pickle.

The header records the format version, parameters, feature dimension, label vocabulary and
the embedder identity, so a file written for other features (or by another version) is
refused with a one-line reason instead of producing silent nonsense.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from textig._utils import atomic_open
from textig.annexml.search import BucketIndex
from textig.errors import TextigError

if TYPE_CHECKING:
    from textig.annexml.model import AnnexML

FORMAT = "textig-annexml"
FORMAT_VERSION = 1


def _arrays(model: AnnexML) -> dict[str, np.ndarray]:
    arrays = {
        "Y_indptr": model.Y_.indptr.astype(np.int64),
        "Y_indices": model.Y_.indices.astype(np.int64),
    }
    if getattr(model, "feature_mean_", None) is not None:
        arrays["feature_mean"] = np.asarray(model.feature_mean_, dtype=np.float64)
    for li, learner in enumerate(model.learners_):
        arrays[f"l{li}_centers"] = learner.centers
        for ci, c in enumerate(learner.clusters):
            key = f"l{li}_c{ci}_"
            arrays |= {key + "W": c.W, key + "E": c.E, key + "ids": c.ids}
            if c.index is not None:
                arrays[key + "bucket_centroids"] = c.index.centroids
                arrays[key + "bucket"] = c.index.bucket
    return arrays


def save_model(model: AnnexML, path: str | Path) -> None:
    """Write ``model`` to ``path`` atomically."""
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": model.get_params(),
        "dim": model.dim_,
        "labels": model.labels_,
        "embedder_identity": model.embedder_identity_,
        "n_train": int(model.Y_.shape[0]),
        "clusters": [len(learner.clusters) for learner in model.learners_],
    }
    with atomic_open(path, "wb") as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **_arrays(model))


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not path.is_file():
        raise TextigError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):  # np.load would otherwise guess it is a pickle
        raise TextigError(f"{path} is not a textig AnnexML model (not an npz archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        header = json.loads(str(arrays.pop("header")))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as error:
        raise TextigError(f"{path} is not a readable textig AnnexML model ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TextigError(f"{path} is not a textig AnnexML model file")
    if header.get("format_version") != FORMAT_VERSION:
        raise TextigError(
            f"{path} has model format version {header.get('format_version')}; this textig "
            f"reads version {FORMAT_VERSION}: retrain the model"
        )
    return header, arrays


def load_model(cls: type[AnnexML], path: str | Path) -> AnnexML:
    """Rebuild a fitted model from ``path``, checking every array's shape."""
    from textig.annexml.model import Cluster, Learner

    path = Path(path)
    header, arrays = _read(path)
    try:
        model = cls(**header["params"])
        dim, n_train, labels = int(header["dim"]), int(header["n_train"]), list(header["labels"])
        indptr, indices = arrays["Y_indptr"], arrays["Y_indices"]
        mean = arrays.get("feature_mean")  # absent in files written before it was kept
        _expect(mean is None or (mean.shape == (dim,) and bool(np.isfinite(mean).all())), path)
        data = np.ones(len(indices), dtype=np.float32)
        model.Y_ = sp.csr_matrix((data, indices, indptr), shape=(n_train, len(labels)))
        learners = []
        for li, n_clusters in enumerate(header["clusters"]):
            centers = arrays[f"l{li}_centers"]
            _expect(centers.ndim == 2 and centers.shape == (n_clusters, dim), path)
            clusters = [
                _cluster(arrays, f"l{li}_c{ci}_", dim, model, n_train, path, Cluster)
                for ci in range(n_clusters)
            ]
            learners.append(Learner(centers, clusters))
    except (KeyError, TypeError, ValueError) as error:
        raise TextigError(f"{path} is a corrupt textig AnnexML model ({error})") from None
    model.learners_, model.dim_, model.labels_ = learners, dim, labels
    model.embedder_identity_ = header.get("embedder_identity")
    model.feature_mean_ = mean
    return model


def _cluster(arrays, key: str, dim: int, model: AnnexML, n_train: int, path: Path, cls):
    W, E, ids = arrays[key + "W"], arrays[key + "E"], arrays[key + "ids"]
    _expect(W.shape == (dim, model.emb_size) and E.shape == (len(ids), model.emb_size), path)
    _expect(ids.size == 0 or (ids.min() >= 0 and ids.max() < n_train), path)
    index = None
    if key + "bucket" in arrays:
        bucket, centroids = arrays[key + "bucket"], arrays[key + "bucket_centroids"]
        _expect(bucket.shape == ids.shape and centroids.shape[1:] == (model.emb_size,), path)
        _expect(bucket.size == 0 or (bucket.min() >= 0 and bucket.max() < len(centroids)), path)
        index = BucketIndex(centroids, bucket)
    return cls(W=W, E=E, ids=ids, index=index)


def _expect(condition: bool, path: Path) -> None:
    if not condition:
        raise TextigError(f"{path} is a corrupt textig AnnexML model (inconsistent shapes)")
