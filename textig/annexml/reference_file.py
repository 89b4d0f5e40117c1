"""Models written by the reference C++ AnnexML (``annexml train`` -> ``.bin``), read into
textig's own ``AnnexML`` so that brute-force scores, exact IG and reports work unchanged.

Layout (yahoojapan/AnnexML, as written on x86-64: little-endian, ``u64`` = size_t, ``i32`` =
int, ``f32`` = float), learned from the public source; this reader is written independently:

- parameters: 16 four-byte values (emb_size, num_learner, num_nn, cls_type, cls_iter, emb_iter,
  label_normalize as i32; eta0, lambda, gamma as f32; pred_type, num_edge as i32; search_eps
  as f32; num_thread, seed, verbose as i32), then four strings (i32 length, bytes): the train,
  predict, model and result file names of the training command;
- training labels: u64 rows; per row u64 count and count i32 label ids;
- u64 learners; per learner a partition, then an embedding:
  - partition: u64 K, u64 columns (one per feature id, id 0 included); per column u64 count
    and count (i32 cluster, f32 weight) pairs;
  - embedding: u64 emb_size, i32 seed, i32 verbose; u64 clusters, per cluster u64 rows and per
    row (i32 feature id, u64 n = emb_size, n f32); u64 training rows, per row (u64 n, n f32):
    the unit embedding of the row in its cluster of this learner (zeros elsewhere); u64
    clusters, per cluster u64 members and their u64 training-row indices, ascending.

The reference's brute-force prediction (``pred_type=0``) is textig's ``score="votes"``
semantics exactly, up to rounding: the input is L2-normalised (a positive scaling, which
changes no argmax and no ranking, so textig skips it); its cluster is the first k with the
largest x·center_k; its embedding z = Σ_f x_f·W[f] is *not* normalised; the ``num_nn``
members with the largest e_j·z win, ties to the earlier member (the stored order, ascending
training index, which becomes ``Cluster.ids``); a label scores one vote per (learner,
neighbour) pair whose training row carries it (``label_normalize`` only shapes training).
Two details differ, and ``bench/reference_parity.py`` finds each case (4 of 1,962 IAPR test
captions, votes off by at most 3). The reference computes in float32 (FMA, -ffast-math),
textig in float64, so keys that agree to float32 rounding may be ordered differently. And the
reference keeps its top k in a heap (std::pop_heap), which evicts *some* key equal to the
minimum, not always the latest: when identical training embeddings straddle the ``num_nn``
boundary it may keep a later copy where textig keeps the earlier. textig keeps its rule: its
votes change only where two keys cross the boundary, the events exact IG integrates, while the
heap's pick also moves when keys reorder inside the top k.

Feature ids are the svmlight ids as written; textig writes them 1-based, so feature id f is
column f-1. The reference keeps an untrained row for feature id 0, which 1-based inputs never
reach: the reader drops it, and refuses files trained on 0-based ids. The kNN-graph index of
``pred_type=1`` is not stored (the reference rebuilds it at load time) and textig's
approximate search is not the reference's, so the loaded model has ``pred_type=0``; the
file's own parameters are kept in ``reference_params_``.

Every count is checked against the bytes left before anything is allocated, indices against
their ranges, floats for finiteness; textig holds W and the centres densely, so their dense
size is capped at a multiple of the file size. A truncated, foreign or crafted file raises a
one-line ``TextigError``.
"""

from __future__ import annotations

import itertools
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from textig.errors import TextigError
from textig.ranking import rank_labels

if TYPE_CHECKING:
    from textig.annexml.model import AnnexML
    from textig.annexml.state import Learner

_INT_PARAMS = ("emb_size", "num_learner", "num_nn", "cls_type", "cls_iter", "emb_iter")
_PARAM_LAYOUT = (
    *((name, "i") for name in (*_INT_PARAMS, "label_normalize")),
    *((name, "f") for name in ("eta0", "lambda", "gamma")),
    ("pred_type", "i"),
    ("num_edge", "i"),
    ("search_eps", "f"),
    *((name, "i") for name in ("num_thread", "seed", "verbose")),
)
_FILE_NAMES = ("train_file", "predict_file", "model_file", "result_file")
_DENSE_BUDGET = 4  # dense W and centres may take at most this many times the file's bytes...
_DENSE_FLOOR = 64 << 20  # ...or this many bytes, whichever is larger


class _Corrupt(Exception):
    """A structural problem; ``read_reference_model`` turns it into a TextigError."""


class _Cursor:
    """Reads little-endian values off the file's bytes, never past their end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def _unpack(self, fmt: str, what: str) -> Any:
        size = struct.calcsize(fmt)
        if size > self.left:
            raise _Corrupt(f"truncated in {what}")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def u64(self, what: str) -> int:
        return self._unpack("<Q", what)

    def i32(self, what: str) -> int:
        return self._unpack("<i", what)

    def f32(self, what: str) -> float:
        return self._unpack("<f", what)

    def count(self, what: str, item_bytes: int) -> int:
        """A u64 count of items of at least ``item_bytes`` each, which must fit in what is left."""
        n = self.u64(f"the count of {what}")
        if n * item_bytes > self.left:
            raise _Corrupt(f"{what}: {n} items do not fit in the {self.left} bytes left")
        return n

    def array(self, dtype: np.dtype, n: int, what: str) -> np.ndarray:
        """``n`` items of ``dtype`` as a read-only view (no copy)."""
        dtype = np.dtype(dtype)
        if n * dtype.itemsize > self.left:
            raise _Corrupt(f"truncated in {what}")
        view = np.frombuffer(self.data, dtype=dtype, count=n, offset=self.pos)
        self.pos += n * dtype.itemsize
        return view

    def text(self, what: str) -> str:
        n = self.i32(f"the length of {what}")
        if n < 0:
            raise _Corrupt(f"{what} has length {n}")
        if n > self.left:
            raise _Corrupt(f"truncated in {what}")
        value = self.data[self.pos : self.pos + n].decode("utf-8", errors="replace")
        self.pos += n
        return value


@dataclass
class _RawCluster:
    """One cluster as stored: sparse W rows and members (views into the file)."""

    feature_ids: np.ndarray  # (r,) int32 ascending, id 0 first
    rows: np.ndarray  # (r, emb) float32
    members: np.ndarray  # (m,) uint64 ascending training-row indices


@dataclass
class _RawLearner:
    """One learner as stored: the partition's (cluster, column, weight) triples and clusters."""

    columns: int
    center_entries: tuple[np.ndarray, np.ndarray, np.ndarray]  # cluster, feature id, weight
    clusters: list[_RawCluster]
    embeddings: np.ndarray  # (n_train, emb) float32


def _finite(values: np.ndarray, what: str) -> None:
    if not np.isfinite(values).all():
        raise _Corrupt(f"{what} contain NaN or infinite values")


def _read_params(cur: _Cursor) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, kind in _PARAM_LAYOUT:
        if kind == "i":
            params[name] = cur.i32(f"parameter {name}")
        else:
            value = cur.f32(f"parameter {name}")
            if not np.isfinite(value):
                raise _Corrupt(f"parameter {name} is {value}")
            params[name] = float(str(np.float32(value)))  # 0.1, not 0.10000000149
    for name in _FILE_NAMES:
        params[name] = cur.text(f"parameter {name}")
    for name in ("emb_size", "num_learner", "num_nn"):
        if params[name] < 1:
            raise _Corrupt(f"parameter {name} is {params[name]}, not a positive count")
    if params["emb_size"] * 4 > cur.left:  # every stored embedding takes 4 bytes a component
        raise _Corrupt(f"emb_size {params['emb_size']} does not fit in the file")
    return params


def _read_labels(cur: _Cursor) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' label ids as csr (indptr, indices)."""
    n = cur.count("training label rows", 8)
    if n == 0:
        raise _Corrupt("no training rows")
    indptr = np.zeros(n + 1, dtype=np.int64)
    parts = []
    for i in range(n):
        row = cur.array("<i4", cur.count(f"labels of training row {i}", 4), "labels")
        if row.size and (row.min() < 0 or np.unique(row).size != row.size):
            raise _Corrupt(f"training row {i} has a negative or repeated label id")
        parts.append(row)
        indptr[i + 1] = indptr[i] + row.size
    indices = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    return indptr, indices


def _read_partition(cur: _Cursor, li: int) -> tuple[int, int, tuple]:
    K = cur.u64(f"learner {li}'s cluster count")
    columns = cur.count(f"learner {li}'s partition columns", 8)
    ks, fids, weights = [], [], []
    pair = np.dtype([("k", "<i4"), ("w", "<f4")])
    for column in range(columns):
        entries = cur.array(pair, cur.count("partition weights", pair.itemsize), "partition")
        ks.append(entries["k"])
        weights.append(entries["w"])
        fids.append(np.full(entries.size, column, dtype=np.int64))
    k = np.concatenate(ks) if ks else np.zeros(0, np.int32)
    w = np.concatenate(weights) if weights else np.zeros(0, np.float32)
    if k.size and (k.min() < 0 or k.max() >= K):
        raise _Corrupt(f"learner {li}'s partition names a cluster outside 0..{K - 1}")
    _finite(w, f"learner {li}'s partition weights")
    return K, columns, (k, np.concatenate(fids) if fids else np.zeros(0, np.int64), w)


def _read_matrix(cur: _Cursor, emb: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    row = np.dtype([("fid", "<i4"), ("n", "<u8"), ("v", "<f4", (emb,))], align=False)
    rows = cur.array(row, cur.count(what, row.itemsize), what)
    if rows.size and (rows["n"] != emb).any():
        raise _Corrupt(f"{what} has rows of another length than emb_size {emb}")
    fids = rows["fid"]
    if fids.size and (fids[0] != 0 or (np.diff(fids) <= 0).any()):
        raise _Corrupt(
            f"{what}: feature ids are not 0 then strictly ascending (a model trained on "
            "0-based svmlight ids? textig reads models trained on 1-based ids)"
        )
    _finite(rows["v"], what)
    return fids, rows["v"]


def _read_embedding(cur: _Cursor, li: int, emb: int, n_train: int) -> tuple[list, np.ndarray]:
    if cur.u64(f"learner {li}'s emb_size") != emb:
        raise _Corrupt(f"learner {li}'s emb_size differs from the parameters' {emb}")
    cur.i32("embedding seed"), cur.i32("embedding verbose")
    n_clusters = cur.count(f"learner {li}'s embedding clusters", 8)
    matrices = [_read_matrix(cur, emb, f"learner {li} W {c}") for c in range(n_clusters)]
    stored = np.dtype([("n", "<u8"), ("v", "<f4", (emb,))], align=False)
    if cur.count(f"learner {li}'s embeddings", stored.itemsize) != n_train:
        raise _Corrupt(f"learner {li} embeds another number of rows than the {n_train} labelled")
    rows = cur.array(stored, n_train, "embeddings")
    if (rows["n"] != emb).any():
        raise _Corrupt(f"learner {li} has embeddings of another length than {emb}")
    _finite(rows["v"], f"learner {li}'s embeddings")
    if cur.count(f"learner {li}'s member lists", 8) != n_clusters:
        raise _Corrupt(f"learner {li} has {n_clusters} W matrices but other member lists")
    seen = np.zeros(n_train, dtype=bool)
    clusters = []
    for c, (fids, W) in enumerate(matrices):
        members = cur.array("<u8", cur.count(f"learner {li} cluster {c} members", 8), "members")
        if members.size and (members.max() >= n_train or (np.diff(members) <= 0).any()):
            raise _Corrupt(f"learner {li} cluster {c} members are out of range or unsorted")
        if seen[members].any():
            raise _Corrupt(f"learner {li} puts a training row in two clusters")
        seen[members] = True
        clusters.append(_RawCluster(fids, W, members))
    return clusters, rows["v"]


def _read_learners(cur: _Cursor, params: dict[str, Any], n_train: int) -> list[_RawLearner]:
    n = cur.count("learners", 32)
    if n != params["num_learner"]:
        raise _Corrupt(f"{n} learners stored but num_learner is {params['num_learner']}")
    learners = []
    for li in range(n):
        K, columns, entries = _read_partition(cur, li)
        clusters, embeddings = _read_embedding(cur, li, params["emb_size"], n_train)
        # with one cluster the reference skips partitioning and stores an empty partition
        if len(clusters) != K and not (columns == 0 and len(clusters) == 1):
            raise _Corrupt(f"learner {li}: {K} partition clusters but {len(clusters)} embedded")
        learners.append(_RawLearner(columns, entries, clusters, embeddings))
    if cur.left:
        raise _Corrupt(f"{cur.left} unexpected bytes after the last learner")
    return learners


def _dimension(learners: list[_RawLearner]) -> int:
    """Feature dimension: the partition's columns minus id 0 (W's largest id when every
    partition is empty, as the reference leaves it for a single cluster)."""
    dims = {lr.columns - 1 for lr in learners if lr.columns}
    if len(dims) > 1:
        raise _Corrupt(f"learners disagree on the feature dimension ({sorted(dims)})")
    ids = [c.feature_ids for lr in learners for c in lr.clusters if c.feature_ids.size]
    top = max((int(f[-1]) for f in ids), default=0)
    dim = dims.pop() if dims else top
    if dim < 1 or top > dim:
        raise _Corrupt(f"W names feature id {top} beyond the dimension {dim}")
    return dim


def _check_budget(learners: list[_RawLearner], dim: int, emb: int, file_bytes: int) -> None:
    dense = sum(len(lr.clusters) * dim * (emb + 1) * 4 for lr in learners)
    budget = max(_DENSE_BUDGET * file_bytes, _DENSE_FLOOR)
    if dense > budget:
        raise _Corrupt(
            f"its dense matrices would take {dense / 1e6:.0f} MB for a {file_bytes / 1e6:.0f} MB "
            "file (textig holds W densely: a model of sparse high-dimensional features)"
        )


def _build_learner(raw: _RawLearner, dim: int, emb: int) -> Learner:
    from textig.annexml.state import Cluster, Learner

    k, fids, weights = raw.center_entries
    centers = np.zeros((len(raw.clusters), dim), dtype=np.float32)
    used = fids >= 1  # column 0 is feature id 0, which 1-based inputs never carry
    np.add.at(centers, (k[used], fids[used] - 1), weights[used])
    clusters = []
    for c in raw.clusters:
        W = np.zeros((dim, emb), dtype=np.float32)
        keep = c.feature_ids >= 1
        W[c.feature_ids[keep] - 1] = c.rows[keep]
        ids = c.members.astype(np.int64)
        clusters.append(Cluster(W=W, E=np.array(raw.embeddings[ids]), ids=ids))
    return Learner(centers, clusters)


def _model(
    params: dict[str, Any], learners: list[Learner], Y: sp.csr_matrix, labels: list[str], dim: int
) -> AnnexML:
    from textig.annexml.model import AnnexML

    model = AnnexML(
        **{name: params[name] for name in _INT_PARAMS},
        label_normalize=params["label_normalize"],
        eta0=params["eta0"],
        lam=params["lambda"],
        gamma=params["gamma"],
        pred_type=0,
        num_edge=params["num_edge"],
        search_eps=params["search_eps"],
        seed=params["seed"],
        score="votes",
    )
    model.learners_, model.Y_, model.labels_, model.dim_ = learners, Y, labels, dim
    model.embedder_identity_ = None  # a .bin does not say which embedder made its features
    model.feature_mean_ = None
    model.reference_params_ = params
    return model


def is_reference_file(path: str | Path) -> bool:
    """Whether ``path`` is a file to read as a reference model: an existing file that is not
    an npz (zip) archive, the container of textig's own model files, nor named like one (a
    damaged ``.npz`` is reported as such, not as a reference model without an embedder)."""
    path = Path(path)
    return path.is_file() and path.suffix.lower() != ".npz" and not zipfile.is_zipfile(path)


def read_reference_model(path: str | Path, labels: Sequence[str]) -> AnnexML:
    """The reference C++ AnnexML model at ``path`` as a fitted textig ``AnnexML``.

    ``labels`` names the label ids (a ``.bin`` stores none): the dataset vocabulary the model
    was trained with; a model using more label ids than it names is refused.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TextigError(f"cannot read model file {path}: {error.strerror or error}") from None
    try:
        cur = _Cursor(data)
        params = _read_params(cur)
        indptr, indices = _read_labels(cur)
        if params["num_nn"] > len(indptr) - 1:
            raise _Corrupt(f"num_nn {params['num_nn']} exceeds the {len(indptr) - 1} training rows")
        raw = _read_learners(cur, params, len(indptr) - 1)
        dim = _dimension(raw)
        _check_budget(raw, dim, params["emb_size"], len(data))
    except _Corrupt as error:
        raise TextigError(
            f"{path} is neither a textig model (npz) nor a reference AnnexML model: {error}"
        ) from None
    used = int(indices.max()) + 1 if indices.size else 0
    if used > len(labels):
        raise TextigError(
            f"{path} uses label ids up to {used - 1} but the vocabulary names only "
            f"{len(labels)} labels: pass the data the model was trained on"
        )
    Y = sp.csr_matrix(
        (np.ones(indices.size, dtype=np.float32), indices, indptr),
        shape=(len(indptr) - 1, len(labels)),
    )
    learners = [_build_learner(lr, dim, params["emb_size"]) for lr in raw]
    return _model(params, learners, Y, [str(name) for name in labels], dim)


def top_k_status(scores: np.ndarray, reference: Sequence[tuple[int, float]], k: int = 10) -> str:
    """How one line of a reference prediction file (label, score pairs, best first) compares
    with textig's scores (L,) of the same input.

    "exact": the same labels, scores and order as textig's top k (positive scores, ties to the
    lower label id); "tie_order": a top k of the same scores that orders, or at the k-th score
    picks, tied labels otherwise (the reference sorts an unordered map, so its order among
    equal scores is arbitrary); "differs": a score differs or a better label is missing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = rank_labels(scores, k)
    mine = [(int(label), float(scores[label])) for label in order if scores[label] > 0]
    ref = [(int(label), float(score)) for label, score in reference]
    if ref == mine:
        return "exact"
    labels = [label for label, _ in ref]
    valid = (
        len(ref) == len(mine) > 0
        and len(set(labels)) == len(labels)
        and all(0 <= label < scores.size and scores[label] == s for label, s in ref)
        and all(a >= b for (_, a), (_, b) in itertools.pairwise(ref))
        and set(np.flatnonzero(scores > ref[-1][1]).tolist()) <= set(labels)
    )
    return "tie_order" if valid else "differs"
