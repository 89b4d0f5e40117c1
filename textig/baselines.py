"""Feature baselines x' for explaining captions: what each user-facing name resolves to.

The right baseline depends on the model. The zero vector is refused for a scale-invariant
model (AnnexML L2-normalises its input, so every point of the path from zero has the same
direction and the same scores, and IG would be flat); for others (a torch MLP, a logistic
regression, a euclidean kNN) zero is a valid "no signal" input. "auto" takes the embedder's
neutral baseline, else the training mean where it is known, else zero where it is valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embeddings.base import Embedder
from textig.attribution import resolve_baseline as feature_baseline
from textig.errors import TextigError

KNOWN = "auto, mean, neutral, zero, text:CAPTION"


def has_neutral_baseline(embedder: Embedder) -> bool:
    """Whether the embedder defines its own per-caption "no information" baseline."""
    return type(embedder).neutral_baseline is not Embedder.neutral_baseline


def offered_baselines(embedder: Embedder) -> list[str]:
    """The baseline names ``embedder`` supports ("zero" also depends on the model)."""
    neutral = ["neutral"] if has_neutral_baseline(embedder) else []
    return ["auto", "mean", *neutral, "zero", "text:CAPTION"]


def check_baseline_spec(spec: Any, embedder: Embedder) -> None:
    """Refuse a baseline name ``embedder`` does not offer, naming those it has (cheap: call it
    before any work)."""
    if isinstance(spec, np.ndarray) or (isinstance(spec, str) and spec.startswith("text:")):
        return
    offered = offered_baselines(embedder)
    if spec not in offered:
        has = ", ".join(offered)
        if spec in KNOWN.split(", "):
            raise TextigError(
                f"the {embedder.name} embedder has no {spec!r} baseline; it offers: {has}"
            )
        raise TextigError(f"unknown baseline {spec!r}; the {embedder.name} embedder offers: {has}")


def needs_training_features(embedder: Embedder, baseline: Any) -> bool:
    """Whether ``baseline`` resolves to the training mean for this embedder."""
    if isinstance(baseline, np.ndarray):
        return False
    return baseline == "mean" or (baseline == "auto" and not has_neutral_baseline(embedder))


def usable_rows(training_features: Any) -> np.ndarray:
    """The training rows that are real captions (all-zero rows mark captions not encoded)."""
    X = np.asarray(getattr(training_features, "X", training_features), dtype=np.float64)
    if X.ndim != 2:
        raise TextigError(f"training features must be an (n, dim) array, got shape {X.shape}")
    valid = getattr(training_features, "valid", np.any(X != 0, axis=1))
    return X[np.asarray(valid, dtype=bool)]


def caption_baseline(
    spec: Any, embedder: Embedder, training_features: Any = None, *, scale_invariant: bool = True
) -> tuple[str, np.ndarray | None]:
    """(kind, fixed vector) for a caption-level baseline spec; None for per-caption baselines.

    The model-agnostic kinds (an array, the training mean) are ``textig.attribution``'s; this
    adds those that need an embedder.

    spec: "auto" (the embedder's neutral baseline if it has one, else the training mean, else
    zero for a model that is not ``scale_invariant``), "mean", "neutral", "zero",
    "text:CAPTION", or a (dim,) array.
    """
    if isinstance(spec, np.ndarray):
        return "array", feature_baseline(spec.ravel(), embedder.dim)
    check_baseline_spec(spec, embedder)
    if spec == "auto":
        known_mean = training_features is not None or scale_invariant
        spec = "neutral" if has_neutral_baseline(embedder) else "mean" if known_mean else "zero"
    if spec == "zero":
        if scale_invariant:
            raise TextigError(
                "the zero baseline is degenerate for this scale-invariant model (it normalises "
                f"its inputs, so the path from zero is flat); use {KNOWN.replace('zero, ', '')}"
            )
        return "zero", np.zeros(embedder.dim)
    if spec == "mean":
        if training_features is None:
            raise TextigError("the 'mean' baseline needs the training features (pass --data)")
        rows = usable_rows(training_features)
        return "mean", feature_baseline("mean", embedder.dim, training_features=rows)
    if spec == "neutral":
        return "neutral", None
    if isinstance(spec, str) and spec.startswith("text:"):
        return spec, np.asarray(embedder.encode([spec[5:]])[0], dtype=np.float64)
    raise TextigError(f"unknown baseline {spec!r} (known: {KNOWN})")
