"""Adapter: scikit-learn classifiers as scorers, and their skops files (never pickle).

Scores are ``predict_proba`` (one column per label: the positive class of each output of a
multi-label fit, ``OneVsRestClassifier`` or ``MultiOutputClassifier``; one per class of a
multi-class fit), or ``decision_function`` when the estimator has no probabilities or the
caller asks for it. A uniform ``KNeighborsClassifier`` gets the exact adapter
(``textig.models.knn``).

A textig skops file holds a small dict: the estimator, its label names, the identity of the
embedder that made its features, the training-feature mean and the response used, so that
``textig explain "CAPTION" --model M.skops`` needs nothing else. A plain skops file of an
estimator is read too (labels then come from ``--data``). Loading trusts only scikit-learn's
own estimator types and a short list of vetted helper types; anything else is refused.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textig.errors import TextigError
from textig.models.knn import KnnScorer, is_exact_knn
from textig.models.protocol import check_feature_identity

FORMAT = "textig-sklearn"
VERSION = 1
RESPONSES = ("auto", "predict_proba", "decision_function")
# Types skops does not trust by default that a fitted estimator textig explains may hold:
# the neighbour search trees and distance metrics (plain data containers, no code execution).
TRUSTED_PREFIXES = (
    "sklearn.metrics._dist_metrics.",
    "sklearn.neighbors._kd_tree.",
    "sklearn.neighbors._ball_tree.",
)
MAX_FILE_BYTES = 2 << 30


class SklearnScorer:
    """A scikit-learn classifier's ``predict_proba`` or ``decision_function`` as (n, L) scores."""

    def __init__(
        self,
        model: Any,
        *,
        labels: Sequence[str] | None = None,
        path: str | None = None,
        embedder: str | None = None,
        feature_mean: np.ndarray | None = None,
        response: str = "auto",
    ) -> None:
        self.model, self.path, self.embedder = model, path, embedder
        self.dim = _n_features(model)
        self.response = _response(model, response)
        probe = self(np.zeros((1, self.dim)))
        n_labels = probe.shape[1]
        self.labels = list(labels) if labels is not None else _default_names(model, n_labels)
        if len(self.labels) != n_labels:
            raise TextigError(
                f"the model scores {n_labels} labels, {len(self.labels)} label names given"
            )
        self.feature_mean = feature_mean
        self.embedder_name: str | None = None  # recorded in textig's skops files

    def check_features(self, identity: str | None, dim: int) -> None:
        check_feature_identity(self.dim, self.embedder, identity, dim)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = getattr(self.model, self.response)(np.asarray(X, dtype=np.float64))
        if isinstance(out, list):  # one (n, classes) array per output: the positive class
            classes = self.model.classes_
            out = np.column_stack([_positive(o, c) for o, c in zip(out, classes, strict=True)])
        out = np.asarray(out, dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out

    def describe(self) -> dict[str, Any]:
        return {
            "class": _class_name(self.model),
            "path": self.path,
            "scores": self.response,
            **_plain_params(self.model),
        }


def _positive(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """P(label) of one output of a multi-label fit: the column of class 1 (0 if never seen)."""
    hits = np.flatnonzero(np.asarray(classes) == 1)
    return proba[:, hits[0]] if hits.size else np.zeros(len(proba))


def _n_features(model: Any) -> int:
    dim = getattr(model, "n_features_in_", None)
    if not isinstance(dim, int | np.integer) or dim < 1:
        raise TextigError(
            f"the {type(model).__name__} is not fitted (no n_features_in_): fit it first"
        )
    return int(dim)


def _response(model: Any, response: str) -> str:
    if response not in RESPONSES:
        raise TextigError(f"unknown response {response!r} (known: {', '.join(RESPONSES)})")
    found = [r for r in RESPONSES[1:] if callable(getattr(model, r, None))]
    if not found:
        raise TextigError(f"a {type(model).__name__} has no predict_proba or decision_function")
    if response == "auto":
        return found[0]
    if response not in found:
        raise TextigError(f"a {type(model).__name__} has no {response}")
    return response


def _default_names(model: Any, n_labels: int) -> list[str]:
    classes = getattr(model, "classes_", None)
    if isinstance(classes, np.ndarray) and classes.ndim == 1 and len(classes) == n_labels:
        return [str(c) for c in classes]
    return [str(i) for i in range(n_labels)]


def _class_name(model: Any) -> str:
    inner = getattr(model, "estimator", None)
    if inner is not None and hasattr(inner, "get_params"):
        return f"{type(model).__name__}({type(inner).__name__})"
    return type(model).__name__


def _plain_params(model: Any) -> dict[str, Any]:
    """The estimator's scalar parameters (for the report), nested ones by their path."""
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    return {
        k: v
        for k, v in sorted(params.items())
        if isinstance(v, bool | int | float | str) and not isinstance(v, np.generic)
    }


def sklearn_scorer(
    model: Any,
    *,
    labels: Sequence[str] | None = None,
    path: str | None = None,
    embedder: str | None = None,
    feature_mean: np.ndarray | None = None,
    response: str = "auto",
) -> KnnScorer | SklearnScorer:
    """The adapter for a fitted estimator: exact for a uniform kNN, else its scores."""
    if is_exact_knn(model) and response in ("auto", "predict_proba"):
        return KnnScorer(
            model, labels=labels, path=path, embedder=embedder, feature_mean=feature_mean
        )
    return SklearnScorer(
        model,
        labels=labels,
        path=path,
        embedder=embedder,
        feature_mean=feature_mean,
        response=response,
    )


def save_skops(
    model: Any,
    path: str | Path,
    *,
    labels: Sequence[str],
    embedder: Any,
    feature_mean: np.ndarray | None = None,
    response: str = "auto",
) -> Path:
    """Write a fitted estimator with what explaining it needs, atomically; returns the path.

    ``embedder``: the embedder that made the training features (its name and identity are
    recorded; an identity string records just that); ``feature_mean``: their mean (the
    default baseline).
    """
    import skops.io as sio

    identity = embedder if isinstance(embedder, str) or embedder is None else embedder.identity
    name = getattr(embedder, "name", None)
    scorer = sklearn_scorer(model, labels=labels, embedder=identity, response=response)
    mean = None if feature_mean is None else np.asarray(feature_mean, dtype=np.float64).ravel()
    if mean is not None and (mean.shape != (scorer.dim,) or not np.all(np.isfinite(mean))):
        raise TextigError(f"feature_mean must be a finite ({scorer.dim},) vector")
    content = {
        "format": FORMAT,
        "version": VERSION,
        "estimator": model,
        "labels": [str(label) for label in scorer.labels],
        "embedder": identity,
        "embedder_name": name,
        "feature_mean": mean,
        "response": response,
    }
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        sio.dump(content, temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_skops_file(path: str | Path) -> bool:
    """Whether ``path`` is a skops archive (a zip holding skops' schema.json)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "schema.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def load_skops(path: str | Path, labels: Sequence[str] | None = None) -> KnnScorer | SklearnScorer:
    """The scorer of a skops file: a textig one (labels and embedder inside), or a plain
    estimator (``labels`` then name its columns). Untrusted types are refused, never run."""
    import skops.io as sio

    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TextigError(f"{path} is larger than {MAX_FILE_BYTES >> 30} GiB: refused")
    try:
        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
        if refused:
            raise TextigError(f"{path} holds types textig does not trust: {', '.join(refused[:5])}")
        content = sio.load(path, trusted=untrusted)
    except TextigError:
        raise
    except Exception as error:  # skops raises many kinds on a damaged or foreign file
        raise TextigError(f"{path} is not a readable skops model: {error}") from None
    if isinstance(content, dict) and content.get("format") == FORMAT:
        return _from_content(content, path, labels)
    if not hasattr(content, "get_params"):
        raise TextigError(f"{path} holds a {type(content).__name__}, not a scikit-learn model")
    return sklearn_scorer(content, labels=labels, path=str(path))


def _from_content(
    content: dict[str, Any], path: Path, labels: Sequence[str] | None
) -> KnnScorer | SklearnScorer:
    if content.get("version") != VERSION:
        raise TextigError(f"{path} is a textig skops file of version {content.get('version')!r}")
    stored = content.get("labels")
    if not isinstance(stored, list) or not all(isinstance(s, str) for s in stored):
        raise TextigError(f"{path}: its label names are not a list of strings")
    if labels is not None and list(labels) != stored:
        raise TextigError(
            f"the model's {len(stored)} labels differ from the dataset's {len(labels)}: "
            "use the data the model was trained on"
        )
    embedder, name = content.get("embedder"), content.get("embedder_name")
    mean = content.get("feature_mean")
    response = content.get("response", "auto")
    texts = (embedder, name)
    if not all(t is None or isinstance(t, str) for t in texts) or response not in RESPONSES:
        raise TextigError(f"{path}: its embedder or response entry is malformed")
    scorer = sklearn_scorer(
        content.get("estimator"), labels=stored, path=str(path), embedder=embedder,
        response=response,
    )  # fmt: skip
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float64)
        if mean.shape != (scorer.dim,) or not np.all(np.isfinite(mean)):
            raise TextigError(f"{path}: its feature mean is not a finite ({scorer.dim},) vector")
        scorer.feature_mean = mean
    scorer.embedder_name = name
    return scorer
