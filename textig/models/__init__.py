"""Models as scorers: the protocol textig explains through, and adapters for common models.

``as_scorer(model)`` wraps a model in the adapter registered for its kind (textig's AnnexML,
scikit-learn estimators, torch modules) or returns it unchanged when it already satisfies the
``Scorer`` protocol. Third-party adapters register with ``register_adapter``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textig.errors import TextigError
from textig.models.protocol import (
    HasAxisScores,
    HasGradients,
    HasNeighbours,
    HasNudgeScores,
    HasPathJumps,
    Neighbour,
    Scorer,
    capabilities,
    feature_mean,
)

__all__ = [
    "HasAxisScores",
    "HasGradients",
    "HasNeighbours",
    "HasNudgeScores",
    "HasPathJumps",
    "Neighbour",
    "Scorer",
    "as_scorer",
    "capabilities",
    "feature_mean",
    "register_adapter",
]

Adapter = Callable[..., Scorer]
_ADAPTERS: list[tuple[str, Callable[[Any], bool], Adapter]] = []


def register_adapter(name: str, accepts: Callable[[Any], bool], adapter: Adapter) -> None:
    """Register ``adapter(model, labels=..., path=...)`` for models where ``accepts(model)``."""
    _ADAPTERS.append((name, accepts, adapter))


def _builtin_adapters() -> list[tuple[str, Callable[[Any], bool], Adapter]]:
    """Built-in adapters, matched by class name so that no optional package is imported."""

    def is_annexml(model: Any) -> bool:
        from textig.annexml import AnnexML

        return isinstance(model, AnnexML)

    def annexml(model: Any, *, labels=None, path=None) -> Scorer:
        from textig.models.annexml import annexml_scorer

        return _with_labels(annexml_scorer(model, path=path), labels)

    def is_sklearn(model: Any) -> bool:
        return any(c.__module__.startswith("sklearn.") for c in type(model).__mro__)

    def sklearn(model: Any, *, labels=None, path=None) -> Scorer:
        from textig.models.sklearn import sklearn_scorer

        return sklearn_scorer(model, labels=labels, path=path)

    def is_torch(model: Any) -> bool:
        return any(c.__module__.startswith("torch.nn") for c in type(model).__mro__)

    def torch(model: Any, *, labels=None, path=None) -> Scorer:
        from textig.models.torch import TorchScorer

        return TorchScorer(model, labels=labels, path=path)

    return [("annexml", is_annexml, annexml), ("sklearn", is_sklearn, sklearn),
            ("torch", is_torch, torch)]  # fmt: skip


def as_scorer(
    model: Any, *, labels: Sequence[str] | None = None, path: str | None = None
) -> Scorer:
    """The scorer for ``model``: itself if it satisfies the protocol, else its adapter's.

    ``labels`` names the label columns for models that carry no names; for a model that does,
    they must be the same names (a model trained on other data is refused).
    """
    if isinstance(model, Scorer):
        return _with_labels(model, labels)
    for _, accepts, adapter in [*_ADAPTERS, *_builtin_adapters()]:
        if accepts(model):
            return adapter(model, labels=labels, path=path)
    raise TextigError(
        f"textig cannot explain a {type(model).__name__}: it needs a model with an adapter "
        "(AnnexML, scikit-learn, torch) or an object with labels, dim, check_features, "
        "describe and __call__ (see textig.models.Scorer)"
    )


def _with_labels(scorer: Scorer, labels: Sequence[str] | None) -> Scorer:
    """Refuse ``labels`` that differ from the names the model carries."""
    if labels is not None and list(labels) != list(scorer.labels):
        raise TextigError(
            f"the model's {len(scorer.labels)} labels differ from the dataset's {len(labels)}: "
            "use the data the model was trained on"
        )
    return scorer
