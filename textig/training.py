"""Train an AnnexML model on a dataset's features once, and reuse it from the cache.

The cached file is keyed by (embedder cache key, training data key, parameters, AnnexML code
and file-format version), so ``textig train`` and ``textig explain`` without ``--model`` share
one model until the vectors, the tokeniser or stopwords, the data, a parameter or the code
that trains or stores models change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textig.annexml import DEFAULTS, AnnexML, code_version
from textig.errors import TextigError

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from textig.data import Dataset

_ALIASES = {"lambda": "lam"}


def resolve_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Full parameter set: defaults overridden by ``params`` (values cast to the default's type).

    Unknown names raise TextigError naming the valid ones; ``lambda`` is accepted for ``lam``.
    """
    resolved = dict(DEFAULTS)
    for key, value in (params or {}).items():
        name = _ALIASES.get(key, key)
        if name not in DEFAULTS:
            raise TextigError(f"unknown AnnexML parameter {key!r} (known: {', '.join(DEFAULTS)})")
        kind = type(DEFAULTS[name])
        try:
            resolved[name] = kind(value)
        except (TypeError, ValueError):
            raise TextigError(
                f"AnnexML parameter {key} needs a {kind.__name__}, not {value!r}"
            ) from None
    return resolved


def model_cache_path(embedder: Embedder, dataset: Dataset, params: dict[str, Any]) -> Path:
    """Where the model of (embedder, dataset's training split, resolved params) is cached."""
    from embeddings.assets import cache_dir
    from textig.features import data_key

    keys = [embedder.cache_key, data_key(dataset, "train"), params, code_version()]
    blob = json.dumps(keys, sort_keys=True)
    return cache_dir() / "models" / f"{hashlib.sha256(blob.encode()).hexdigest()[:32]}.npz"


def _train_model(
    embedder: Embedder, dataset: Dataset, params: dict[str, Any], *, cache: bool, progress: bool
) -> AnnexML:
    """Fit on the training split; captions the embedder cannot encode are left out (named in a
    warning by textig.features), as the reference drops featureless lines — but visibly."""
    from textig.features import embed_split

    features = embed_split(embedder, dataset, "train", cache=cache, progress=progress)
    if not features.valid.any():
        raise TextigError(f"{embedder.name} cannot encode any training caption of {dataset.name}")
    labels = dataset.label_matrix("train")[features.valid]
    model = AnnexML(**params)
    return model.fit(
        features.X[features.valid],
        labels,
        labels=list(dataset.vocabulary),
        embedder=embedder.identity,
        progress=progress,
    )


def train_or_load(
    embedder: Embedder,
    dataset: Dataset,
    *,
    params: dict[str, Any] | None = None,
    cache: bool = True,
    progress: bool = True,
) -> AnnexML:
    """The AnnexML model for (embedder, dataset, params): from the cache, else trained (and
    cached). An unreadable cache file is retrained over, never trusted."""
    resolved = resolve_params(params)
    path = model_cache_path(embedder, dataset, resolved)
    if cache and path.is_file():
        try:
            model = AnnexML.load(path)
            model.check_compatible(embedder.identity, embedder.dim)
        except TextigError:
            pass
        else:
            return _with_feature_mean(model, embedder, dataset, path)
    model = _train_model(embedder, dataset, resolved, cache=cache, progress=progress)
    if cache:
        model.save(path)
    return model


def _with_feature_mean(model: AnnexML, embedder: Embedder, dataset: Dataset, path: Path) -> AnnexML:
    """A cached model from before models kept their training-feature mean gets it (from the
    cached features, the rows it was fitted on) and is re-saved, instead of being retrained."""
    if model.feature_mean_ is not None:
        return model
    from textig.baselines import usable_rows
    from textig.features import embed_split

    features = embed_split(embedder, dataset, "train", warn_skipped=False)
    model.feature_mean_ = usable_rows(features).mean(axis=0)
    model.save(path)
    return model
