"""The AnnexML estimator: fit, vote-count scores, top-k prediction, and safe save/load.

Scores follow the reference exactly (``score="votes"``): per learner the input goes to the
cluster with the highest ``x·centers[k]`` (ties: lowest k), is embedded by z = x @ W, and its
``num_nn`` nearest training samples (highest E @ z, ties to the lower position in the cluster)
each vote once for every label they carry. ``score="similarity"`` is a documented deviation:
each vote is weighted by the cosine between z and the neighbour, so scores vary smoothly
between vote jumps. Inputs are L2-normalised for training; prediction skips the division
because positive scaling changes no argmax and no ranking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from textig.annexml.learner import train_embedding
from textig.annexml.parallel import parallel_map
from textig.annexml.params import DEFAULTS, check_params
from textig.annexml.partition import assign, learned_partition, spherical_kmeans
from textig.annexml.positives import head_label_mask, label_positives
from textig.annexml.search import BucketIndex, brute_force
from textig.annexml.state import Cluster, Learner, ModelState
from textig.annexml.storage import load_model, save_model
from textig.errors import TextigError
from textig.ranking import rank_labels

_PARTITION_BUDGET = 5000  # label pairs per sample enumerated for partition positives
_SAMPLES_PER_CLUSTER = 6000


def as_label_matrix(Y: Any, n: int, n_labels: int | None) -> sp.csr_matrix:
    """0/1 csr (n, L) from a sparse/dense matrix or from per-sample label-id lists."""
    if Y is None:
        raise TextigError("AnnexML needs labels Y: per-sample label-id lists or a 0/1 matrix")
    if sp.issparse(Y) or isinstance(Y, np.ndarray):
        M = sp.csr_matrix(Y, dtype=np.float32)
    else:
        rows = [i for i, labels in enumerate(Y) for _ in labels]
        cols = [int(label) for labels in Y for label in labels]
        if any(c < 0 for c in cols):
            raise TextigError("label ids must be non-negative")
        width = max(cols, default=-1) + 1
        M = sp.csr_matrix(
            (np.ones(len(cols), np.float32), (rows, cols)),
            shape=(len(Y), max(width, n_labels or 0)),
        )
    if M.shape[0] != n:
        raise TextigError(f"{M.shape[0]} label rows for {n} feature rows")
    if n_labels is not None and M.shape[1] > n_labels:
        raise TextigError(f"label ids go up to {M.shape[1] - 1} but only {n_labels} labels given")
    M.sum_duplicates()
    M.data[:] = 1.0
    M.eliminate_zeros()
    if n_labels is not None and M.shape[1] < n_labels:
        M.resize((n, n_labels))
    return M


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _identity_of(embedder: Any) -> str | None:
    return embedder if embedder is None or isinstance(embedder, str) else embedder.identity


class AnnexML:
    """AnnexML (Tagami, KDD 2017) multi-label classifier, scikit-learn style.

    Parameters keep the reference names and defaults (``lam`` is the reference's ``lambda``).
    ``pred_type=1`` searches neighbours approximately (bucket index), 0 exactly.
    """

    def __init__(
        self,
        emb_size: int = 50,
        num_learner: int = 15,
        num_nn: int = 10,
        cls_type: int = 1,
        cls_iter: int = 10,
        emb_iter: int = 10,
        label_normalize: int = 1,
        eta0: float = 0.1,
        lam: float = 4.0,
        gamma: float = 10.0,
        pred_type: int = 1,
        num_edge: int = 50,
        search_eps: float = 0.0,
        seed: int = 0,
        score: str = "votes",
    ) -> None:
        self.emb_size, self.num_learner, self.num_nn = emb_size, num_learner, num_nn
        self.cls_type, self.cls_iter, self.emb_iter = cls_type, cls_iter, emb_iter
        self.label_normalize, self.eta0, self.lam, self.gamma = label_normalize, eta0, lam, gamma
        self.pred_type, self.num_edge, self.search_eps = pred_type, num_edge, search_eps
        self.seed, self.score = seed, score

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn's contract, so ``sklearn.base.clone`` and
        grid searches work; ``deep`` changes nothing: AnnexML holds no sub-estimators)."""
        return {name: getattr(self, name) for name in DEFAULTS}

    def set_params(self, **params: Any) -> AnnexML:
        """Set constructor parameters by name (scikit-learn's contract); unknown names raise."""
        unknown = sorted(set(params) - set(DEFAULTS))
        if unknown:
            raise TextigError(
                f"unknown AnnexML parameter(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags: a multi-label model (its target, required, is a label
        matrix or label lists, never 1-d). Only scikit-learn asks for them, so scikit-learn is
        imported here and textig's cold start never loads it; AnnexML does not inherit
        ``BaseEstimator`` for the same reason."""
        from sklearn.utils import InputTags, Tags, TargetTags

        target = TargetTags(required=True, single_output=False, multi_output=True)
        return Tags(estimator_type=None, target_tags=target, input_tags=InputTags())

    @property
    def n_features_in_(self) -> int:
        """Feature dimension seen in ``fit`` (scikit-learn's name for ``dim_``)."""
        if not hasattr(self, "dim_"):
            raise AttributeError("n_features_in_: this AnnexML model is not fitted yet")
        return self.dim_

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != DEFAULTS[k]}
        return f"AnnexML({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ---- training -------------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        Y: Any,
        *,
        labels: list[str] | None = None,
        embedder: Any = None,
        progress: bool = False,
    ) -> AnnexML:
        """Train on dense features X (n, d) and labels Y (id lists or a 0/1 matrix).

        ``labels`` names the label ids; ``embedder`` (an Embedder or its identity string) is
        recorded so that a saved model refuses features from another embedder. The features'
        mean is kept too: it is the default IG baseline, and a saved model then needs no
        training data to be explained.
        """
        check_params(self.get_params())
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or len(X) == 0 or not np.isfinite(X).all():
            raise TextigError("features must be a non-empty finite 2-d array")
        self.Y_ = as_label_matrix(Y, len(X), len(labels) if labels is not None else None)
        self.labels_ = (
            list(labels) if labels is not None else [str(i) for i in range(self.Y_.shape[1])]
        )
        self.dim_ = X.shape[1]
        self.embedder_identity_ = _identity_of(embedder)
        self.feature_mean_ = X.mean(axis=0, dtype=np.float64)
        Xn = _unit_rows(X)
        K = max(len(X) // _SAMPLES_PER_CLUSTER, 1)
        seeds = np.random.SeedSequence(self.seed).spawn(self.num_learner)
        shared = self._partition_positives(K)
        bar = tqdm(total=self.num_learner * (K + 1), desc="AnnexML", disable=not progress)
        with bar:
            self.learners_ = parallel_map(lambda s: self._fit_learner(Xn, K, s, shared, bar), seeds)
        return self

    def _partition_positives(self, K: int) -> np.ndarray | None:
        if K == 1 or self.cls_type == 0 or self.cls_iter == 0:
            return None
        keep = head_label_mask(self.Y_, _PARTITION_BUDGET)
        return label_positives(
            self.Y_, self.num_nn, label_normalize=self.label_normalize, keep=keep
        )

    def _fit_learner(
        self, Xn: np.ndarray, K: int, seed: np.random.SeedSequence, positives, bar: tqdm
    ) -> Learner:
        part_seed, *cluster_seeds = seed.spawn(K + 1)
        rng = np.random.default_rng(part_seed)
        if self.cls_type == 1:
            centers = learned_partition(
                Xn, positives, K, iters=self.cls_iter, eta0=self.eta0, lam=self.lam, rng=rng
            )
        else:
            centers = spherical_kmeans(Xn, K, self.cls_iter, rng)
        bar.update()
        where = assign(Xn, centers)
        clusters = []
        for k, cseed in enumerate(cluster_seeds):
            clusters.append(self._fit_cluster(Xn, np.flatnonzero(where == k), cseed))
            bar.update()
        return Learner(centers, clusters)

    def _fit_cluster(
        self, Xn: np.ndarray, ids: np.ndarray, seed: np.random.SeedSequence
    ) -> Cluster:
        emb_seed, index_seed = seed.spawn(2)
        Xc = Xn[ids]
        positives = label_positives(self.Y_[ids], self.num_nn, label_normalize=self.label_normalize)
        W = train_embedding(
            Xc,
            positives,
            emb_size=self.emb_size,
            iters=self.emb_iter,
            eta0=self.eta0,
            gamma=self.gamma,
            rng=np.random.default_rng(emb_seed),
        )
        E = _unit_rows(Xc @ W)
        index = None
        if self.pred_type == 1 and len(ids):
            index = BucketIndex.build(E, int(index_seed.generate_state(1)[0]))
        return Cluster(W=W, E=E, ids=ids.astype(np.int64), index=index)

    # ---- prediction -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "learners_"):
            raise TextigError("this AnnexML model is not fitted yet")

    def _check_input(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.dim_:
            raise TextigError(
                f"features of dimension {X.shape[-1]} given to a model trained on dimension "
                f"{self.dim_}"
            )
        if not np.isfinite(X).all():
            raise TextigError("features contain NaN or infinite values")
        return X

    def neighbours(
        self, X: np.ndarray, *, search: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training-sample ids (n, num_learner, num_nn) found per learner (-1 when a cluster
        is smaller than num_nn) and their cosine to the query's embedding."""
        self._check_fitted()
        X = self._check_input(X)
        mode = search or ("graph" if self.pred_type == 1 else "brute")
        if mode not in ("brute", "graph"):
            raise TextigError(f"search must be 'brute' or 'graph', not {mode!r}")
        n, k = len(X), self.num_nn
        ids = np.full((n, len(self.learners_), k), -1, dtype=np.int64)
        cos = np.zeros((n, len(self.learners_), k))
        # float32 for the approximate search (its index is float32), float64 for the exact one
        Xs = X if mode == "brute" else X.astype(np.float32)

        def search_learner(li: int) -> None:
            learner = self.learners_[li]
            where = assign(X, learner.centers.astype(np.float64))
            for ci, cluster in enumerate(learner.clusters):
                rows = np.flatnonzero(where == ci)
                if rows.size == 0 or cluster.ids.size == 0:
                    continue
                Z = Xs[rows] @ cluster.W.astype(Xs.dtype)
                pos, keys = self._search(cluster, Z, k, mode)
                norms = np.linalg.norm(Z.astype(np.float64), axis=1)
                found = pos >= 0
                ids[rows, li] = np.where(found, cluster.ids[np.maximum(pos, 0)], -1)
                cos[rows, li] = np.where(found, keys / np.where(norms > 0, norms, 1.0)[:, None], 0)

        parallel_map(search_learner, range(len(self.learners_)))
        return ids, cos

    @staticmethod
    def _search(
        cluster: Cluster, Z: np.ndarray, k: int, mode: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Neighbours of the cluster-space queries Z and their keys."""
        if mode == "brute":
            return brute_force(Z, cluster.E.astype(np.float64), k)
        if cluster.index is None:
            cluster.index = BucketIndex.build(cluster.E, 0)
        return cluster.index.search(Z, cluster.E, k)

    def decision_function(self, X: np.ndarray, *, search: str | None = None) -> np.ndarray:
        """Scores (n, n_labels) float64: integer votes in [0, num_learner·num_nn] by default.

        ``search``: None follows ``pred_type``; "brute" is exact, "graph" approximate.
        """
        ids, cos = self.neighbours(X, search=search)
        n, N = len(ids), self.Y_.shape[0]
        found = ids >= 0
        weights = cos[found] if self.score == "similarity" else np.ones(int(found.sum()))
        rows = np.broadcast_to(np.arange(n)[:, None, None], ids.shape)[found]
        votes = sp.csr_matrix((weights, (rows, ids[found])), shape=(n, N))
        return np.asarray((votes @ self.Y_.astype(np.float64)).todense())

    def predict_top_k(
        self, X: np.ndarray, k: int = 5, *, search: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k label ids (n, k) by (-score, label id) and their scores."""
        scores = self.decision_function(X, search=search)
        order = rank_labels(scores, k)
        return order, np.take_along_axis(scores, order, axis=1)

    # ---- persistence ----------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted model as npz + JSON metadata (no pickle), atomically."""
        self._check_fitted()
        state = ModelState(
            params=self.get_params(),
            dim=self.dim_,
            labels=self.labels_,
            embedder_identity=self.embedder_identity_,
            Y=self.Y_,
            learners=self.learners_,
            feature_mean=getattr(self, "feature_mean_", None),
        )
        save_model(state, path)

    @classmethod
    def load(cls, path) -> AnnexML:
        """Read a model written by ``save``; bad or foreign files raise TextigError."""
        state = load_model(path)
        model = cls(**state.params)
        model.Y_, model.learners_, model.dim_ = state.Y, state.learners, state.dim
        model.labels_, model.embedder_identity_ = state.labels, state.embedder_identity
        model.feature_mean_ = state.feature_mean
        return model

    def check_compatible(self, embedder_identity: str | None, dim: int) -> None:
        """Refuse features of another dimension or from another embedder than the training's."""
        self._check_fitted()
        if dim != self.dim_:
            raise TextigError(
                f"model expects {self.dim_}-d features, the embedder gives {dim}-d "
                f"(trained with {self.embedder_identity_ or 'unknown embedder'})"
            )
        if (
            embedder_identity is not None
            and self.embedder_identity_ is not None
            and embedder_identity != self.embedder_identity_
        ):
            raise TextigError(
                f"model was trained with embedder {self.embedder_identity_!r}, "
                f"not {embedder_identity!r}"
            )
