"""AnnexML model files: one npz of plain arrays plus a JSON header, never pickle.

The header records the format version, parameters, feature dimension, label vocabulary and
the embedder identity, so a file written for other features (or by another version) is
refused with a one-line reason instead of producing silent nonsense.

A model file is untrusted input, validated completely before anything uses it: the archive's
member sizes against a budget before any is inflated (``textig.npz``); the header's fields,
types and caps (``textig.limits``) and its parameters with the check training uses; exactly
the members the header implies (none missing, none unknown), each against the shape the header
and the members read before it imply, before its data is inflated; index ranges (label ids,
training rows, buckets), the label matrix's CSR structure, and finite floats. Only then are the
arrays handed to the scorers, whose native indexing trusts them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from textig import safe_json
from textig._utils import atomic_open
from textig.annexml.params import check_params
from textig.annexml.search import BucketIndex
from textig.annexml.state import Cluster, Learner, ModelState
from textig.errors import TextigError
from textig.limits import (
    MAX_FEATURES,
    MAX_LABELS,
    MAX_MODEL_HEADER_BYTES,
    MAX_ROWS,
)
from textig.npz import NPY_HEADER_LIMIT, NpzReader, expansion_budget

FORMAT = "textig-annexml"
FORMAT_VERSION = 1
_HEADER_KEYS = {
    "format",
    "format_version",
    "params",
    "dim",
    "labels",
    "embedder_identity",
    "n_train",
    "clusters",
}
_CLUSTER_PARTS = ("W", "E", "ids")
_INDEX_PARTS = ("bucket", "bucket_centroids")


def _arrays(state: ModelState) -> dict[str, np.ndarray]:
    arrays = {
        "Y_indptr": state.Y.indptr.astype(np.int64),
        "Y_indices": state.Y.indices.astype(np.int64),
    }
    if state.feature_mean is not None:
        arrays["feature_mean"] = np.asarray(state.feature_mean, dtype=np.float64)
    for li, learner in enumerate(state.learners):
        arrays[f"l{li}_centers"] = learner.centers
        for ci, c in enumerate(learner.clusters):
            key = f"l{li}_c{ci}_"
            arrays |= {key + "W": c.W, key + "E": c.E, key + "ids": c.ids}
            if c.index is not None:
                arrays[key + "bucket_centroids"] = c.index.centroids
                arrays[key + "bucket"] = c.index.bucket
    return arrays


def save_model(state: ModelState, path: str | Path) -> None:
    """Write a fitted model's state to ``path`` atomically."""
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": state.params,
        "dim": state.dim,
        "labels": state.labels,
        "embedder_identity": state.embedder_identity,
        "n_train": int(state.Y.shape[0]),
        "clusters": [len(learner.clusters) for learner in state.learners],
    }
    with atomic_open(path, "wb") as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **_arrays(state))


@dataclass(frozen=True)
class _Header:
    """The validated header of a model file."""

    params: dict[str, Any]
    dim: int
    labels: list[str]
    embedder_identity: str | None
    n_train: int
    clusters: list[int]

    @property
    def emb(self) -> int:
        return int(self.params["emb_size"])


def _is_count(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _read_header(archive: NpzReader) -> _Header:
    if "header" not in archive.names:
        raise TextigError(f"{archive.path} is not a textig AnnexML model (no header)")
    if archive.size("header") > MAX_MODEL_HEADER_BYTES:
        raise archive.fail(f"header of {archive.size('header')} bytes")
    text = str(archive.read("header", "U", ()))
    try:
        header = safe_json.loads(text, max_chars=MAX_MODEL_HEADER_BYTES)
    except ValueError as error:
        raise archive.fail(f"header: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TextigError(f"{archive.path} is not a textig AnnexML model file")
    if header.get("format_version") != FORMAT_VERSION:
        raise TextigError(
            f"{archive.path} has model format version {header.get('format_version')}; this "
            f"textig reads version {FORMAT_VERSION}: retrain the model"
        )
    if set(header) != _HEADER_KEYS:
        raise archive.fail(f"header fields {sorted(header)}, expected {sorted(_HEADER_KEYS)}")
    return _check_header(archive, header)


def _check_header(archive: NpzReader, header: dict[str, Any]) -> _Header:
    params = header["params"]
    if not isinstance(params, dict):
        raise archive.fail("header params are not an object")
    try:
        check_params(params, complete=True)
    except TextigError as error:
        raise archive.fail(str(error)) from None
    dim, n_train, labels = header["dim"], header["n_train"], header["labels"]
    clusters, identity = header["clusters"], header["embedder_identity"]
    if not _is_count(dim, 1, MAX_FEATURES):
        raise archive.fail(f"dim {dim!r} is not a count in 1..{MAX_FEATURES}")
    if not _is_count(n_train, 1, MAX_ROWS):
        raise archive.fail(f"n_train {n_train!r} is not a count in 1..{MAX_ROWS}")
    if not isinstance(labels, list) or not 1 <= len(labels) <= MAX_LABELS:
        raise archive.fail(f"labels must be a list of 1..{MAX_LABELS} names")
    if not all(isinstance(name, str) for name in labels):
        raise archive.fail("labels must be strings")
    if not isinstance(identity, str | None):
        raise archive.fail("embedder_identity must be a string or null")
    if not isinstance(clusters, list) or len(clusters) != params["num_learner"]:
        raise archive.fail(f"{params['num_learner']} learners but cluster counts {clusters!r:.80}")
    if not all(_is_count(k, 1, n_train) for k in clusters):
        raise archive.fail(f"cluster counts must be in 1..{n_train}")
    return _Header(params, dim, labels, identity, n_train, clusters)


def _member_bounds(header: _Header) -> dict[str, int]:
    """Required members and the most elements each may hold, from the header alone."""
    n, dim, emb, L = header.n_train, header.dim, header.emb, len(header.labels)
    bounds = {"header": 0, "Y_indptr": n + 1, "Y_indices": n * L}
    for li, K in enumerate(header.clusters):
        bounds[f"l{li}_centers"] = K * dim
        for ci in range(K):
            key = f"l{li}_c{ci}_"
            bounds |= {key + "W": dim * emb, key + "E": n * emb, key + "ids": n}
    return bounds


def _check_members(archive: NpzReader, header: _Header) -> None:
    """Exactly the members the header implies, none larger than it allows, before any of
    them is inflated (sizes come from the archive's central directory)."""
    bounds = _member_bounds(header)
    missing = sorted(set(bounds) - archive.names)
    if missing:
        raise archive.fail(f"member(s) {', '.join(missing[:5])} missing")
    optional = {"feature_mean": header.dim}
    for li, K in enumerate(header.clusters):
        for ci in range(K):
            key = f"l{li}_c{ci}_"
            optional[key + "bucket"] = header.n_train
            optional[key + "bucket_centroids"] = bounds[key + "E"]
    unknown = sorted(archive.names - set(bounds) - set(optional))
    if unknown:
        raise archive.fail(f"unexpected member(s) {', '.join(unknown[:5])}")
    for name in archive.names - {"header"}:
        limit = {**bounds, **optional}[name] * 8 + NPY_HEADER_LIMIT + 16
        if archive.size(name) > limit:
            raise archive.fail(f"member {name!r} of {archive.size(name)} bytes exceeds its shape")


def _floats(archive: NpzReader, name: str, shape: tuple[int | None, ...], limit: int) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond float32's range -> inf, refused below
        values = archive.read(name, "f", shape, limit).astype(np.float32, copy=False)
    if not np.isfinite(values).all():
        raise archive.fail(f"member {name!r} holds NaN or infinite values")
    return values


def _ints(archive: NpzReader, name: str, shape: tuple[int | None, ...], limit: int) -> np.ndarray:
    return archive.read(name, "iu", shape, limit).astype(np.int64)


def _label_matrix(archive: NpzReader, header: _Header) -> sp.csr_matrix:
    n, L = header.n_train, len(header.labels)
    indptr = _ints(archive, "Y_indptr", (n + 1,), n + 1)
    if indptr[0] != 0 or (np.diff(indptr) < 0).any():
        raise archive.fail("Y_indptr is not a monotone row pointer starting at 0")
    if indptr[-1] > n * L:
        raise archive.fail(f"{indptr[-1]} label entries cannot fit {n} rows of {L} labels")
    indices = _ints(archive, "Y_indices", (int(indptr[-1]),), n * L)
    if indices.size and (indices.min() < 0 or indices.max() >= L):
        raise archive.fail(f"Y_indices name labels outside 0..{L - 1}")
    rows = np.repeat(np.arange(n), np.diff(indptr))
    order = np.lexsort((indices, rows))  # rows ascend already: sorts each row's label ids
    indices = indices[order]
    if ((np.diff(indices) == 0) & (rows[1:] == rows[:-1])).any():
        raise archive.fail("Y_indices repeat a label in a row")
    return sp.csr_matrix((np.ones(indices.size, np.float32), indices, indptr), shape=(n, L))


def _cluster(archive: NpzReader, key: str, header: _Header, seen: np.ndarray) -> Cluster:
    n, dim, emb = header.n_train, header.dim, header.emb
    ids = _ints(archive, key + "ids", (None,), n)
    if ids.size and (ids.min() < 0 or ids.max() >= n or (np.diff(ids) <= 0).any()):
        raise archive.fail(f"{key}ids are not ascending training rows in 0..{n - 1}")
    if seen[ids].any():
        raise archive.fail(f"{key}ids repeat a training row of another cluster")
    seen[ids] = True
    W = _floats(archive, key + "W", (dim, emb), dim * emb)
    E = _floats(archive, key + "E", (ids.size, emb), ids.size * emb)
    index = None
    parts = [key + part in archive.names for part in _INDEX_PARTS]
    if any(parts) and not all(parts):
        raise archive.fail(f"{key}bucket and {key}bucket_centroids come together")
    if all(parts):
        centroids = _floats(archive, key + "bucket_centroids", (None, emb), ids.size * emb)
        bucket = _ints(archive, key + "bucket", (ids.size,), ids.size)
        B = len(centroids)
        if ids.size and (B == 0 or bucket.min() < 0 or bucket.max() >= B):
            raise archive.fail(f"{key}bucket names buckets outside 0..{B - 1}")
        index = BucketIndex(centroids, bucket.astype(np.int32))
    return Cluster(W=W, E=E, ids=ids, index=index)


def _learners(archive: NpzReader, header: _Header) -> list[Learner]:
    learners = []
    for li, K in enumerate(header.clusters):
        centers = _floats(archive, f"l{li}_centers", (K, header.dim), K * header.dim)
        seen = np.zeros(header.n_train, dtype=bool)
        clusters = [_cluster(archive, f"l{li}_c{ci}_", header, seen) for ci in range(K)]
        learners.append(Learner(centers, clusters))
    return learners


def load_model(path: str | Path) -> ModelState:
    """The validated state of the model file at ``path``; any problem is a TextigError."""
    path = Path(path)
    if not path.is_file():
        raise TextigError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):  # a clearer message than the archive reader would give
        raise TextigError(f"{path} is not a textig AnnexML model (not an npz archive)")
    what = f"{path} is a corrupt textig AnnexML model"
    with NpzReader(path, what, expansion_budget(path)) as archive:
        header = _read_header(archive)
        _check_members(archive, header)
        Y = _label_matrix(archive, header)
        mean = None
        if "feature_mean" in archive.names:
            mean = archive.read("feature_mean", "f", (header.dim,), header.dim)
            if not np.isfinite(mean).all():
                raise archive.fail("feature_mean holds NaN or infinite values")
            mean = mean.astype(np.float64)
        learners = _learners(archive, header)
    return ModelState(
        params=header.params,
        dim=header.dim,
        labels=list(header.labels),
        embedder_identity=header.embedder_identity,
        Y=Y,
        learners=learners,
        feature_mean=mean,
    )
