"""Adapter: textig's AnnexML (and models read from the reference C++ tool) as a scorer.

The only place outside ``textig.annexml`` that knows AnnexML's internals. Explanations use the
*brute-force* scores (pred_type 0): exact and reproducible, and what the jumps describe; with
graph search the model's own predictions may differ where the graph misses a neighbour.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from textig.annexml import AnnexML
from textig.annexml.exact import path_jumps
from textig.annexml.fast_path import BruteForceScorer
from textig.attribution.exact import PathJump
from textig.errors import TextigError
from textig.models.protocol import Neighbour

_PARAMS = ("emb_size", "num_learner", "num_nn", "pred_type", "score", "seed")


class AnnexMLScorer:
    """An AnnexML model's brute-force scores; ``score="similarity"`` models (smooth between
    vote jumps) get this plain scorer, vote models the ``AnnexMLVotes`` one."""

    scale_invariant = True  # AnnexML L2-normalises its input

    def __init__(self, model: AnnexML, *, path: str | None = None) -> None:
        if getattr(model, "learners_", None) is None:
            raise TextigError("the AnnexML model is not fitted: fit or load it first")
        self.model, self.path = model, path
        n_labels = model.Y_.shape[1]
        self.labels = [str(label) for label in getattr(model, "labels_", range(n_labels))]
        self.dim = int(model.learners_[0].centers.shape[1])
        self.feature_mean = getattr(model, "feature_mean_", None)

    def check_features(self, identity: str | None, dim: int) -> None:
        self.model.check_compatible(identity, dim)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.decision_function(X, search="brute"), dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"class": type(self.model).__name__, "path": self.path}
        info.update({p: getattr(self.model, p) for p in _PARAMS if hasattr(self.model, p)})
        info["scores"] = "brute-force"
        return info


class AnnexMLVotes(AnnexMLScorer):
    """Vote-count AnnexML: fast nudges and path scores, exact path jumps, and the neighbours
    behind a score."""

    def __init__(self, model: AnnexML, *, path: str | None = None) -> None:
        super().__init__(model, path=path)
        self._fast = BruteForceScorer.for_model(model)
        self.max_score = float(model.num_nn * len(model.learners_))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self._fast(X)

    def axis_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._fast.axis_scores(points, steps, columns)

    def nudge_scores(
        self, points: np.ndarray, steps: np.ndarray, columns: np.ndarray | None = None
    ) -> np.ndarray:
        return self._fast.nudge_scores(points, steps, columns)

    def path_scores(
        self, start: np.ndarray, end: np.ndarray, alphas: np.ndarray, columns=None
    ) -> np.ndarray:
        return self._fast.path_scores(start, end, alphas, columns)

    def path_jumps(self, x: np.ndarray, baseline: np.ndarray) -> list[PathJump]:
        return path_jumps(self._fast, x, baseline)

    def neighbours(self, x: np.ndarray) -> list[Neighbour]:
        """Training samples among x's brute-force neighbours, with how many learners found
        each; their labels' votes add up to x's scores."""
        found: Counter[int] = Counter()
        for learner, (cluster, members) in zip(
            self._fast.learners, self._fast.neighbours(np.atleast_2d(x)), strict=True
        ):
            ids = learner.clusters[int(cluster[0])].ids
            found.update(int(ids[m]) for m in members[0] if m >= 0)
        Y = self.model.Y_.tocsr()
        return [
            Neighbour(i, float(n), tuple(int(v) for v in Y.indices[Y.indptr[i] : Y.indptr[i + 1]]))
            for i, n in sorted(found.items(), key=lambda item: (-item[1], item[0]))
        ]


def annexml_scorer(model: AnnexML, *, path: str | None = None) -> AnnexMLScorer:
    """The adapter matching the model's scoring: votes get the exact capabilities."""
    if getattr(model, "score", "votes") == "votes":
        return AnnexMLVotes(model, path=path)
    return AnnexMLScorer(model, path=path)
