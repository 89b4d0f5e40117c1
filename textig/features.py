"""Dataset features: embed a split once, cache it on disk, and flag captions that cannot be encoded.

The cache key is (format, embedder cache key, data key, split): ``train``/``evaluate``/
``explain`` reuse the features until the vectors/model, the tokeniser, the stopword list, the
data files or the captions as read from them change. A caption the embedder cannot encode
(e.g. the empty IAPR caption 04/4092) gets an all-zero row flagged ``False`` in ``valid``, and
is always named in a warning: never a silent zero row.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.assets import cache_dir
from embeddings.text import controls_as_spaces
from textig._utils import atomic_open
from textig.errors import TextigError
from textig.npz import NpzReader, expansion_budget

if TYPE_CHECKING:
    from embeddings.base import Embedder
    from textig.data import Dataset

_FORMAT = 2


@dataclass(frozen=True)
class SplitFeatures:
    """Features of one split, row i = caption i of the split."""

    X: np.ndarray  # (n, dim) float32; all-zero rows where valid is False
    ids: list[str]
    valid: np.ndarray  # (n,) bool
    skipped: dict[str, str] = field(default_factory=dict)  # caption id -> why it was not encoded


def data_key(dataset: Dataset, split: str) -> str:
    """sha256 of the dataset's files and of the split's captions as read (ids, texts, labels,
    vocabulary): a changed file, or a reader that now reads it differently, is a cache miss."""
    digest = hashlib.sha256(f"{dataset.checksum()}\n{split}\n".encode())
    digest.update(json.dumps(list(dataset.vocabulary)).encode("utf-8"))
    for caption in dataset.split(split):
        row = [caption.id, caption.text, list(caption.label_ids)]
        digest.update(b"\n" + json.dumps(row).encode("utf-8"))
    return digest.hexdigest()


def features_cache_path(embedder_key: str, data: str, split: str) -> Path:
    """Where the features of (embedder cache key, data key, split) are cached."""
    key = hashlib.sha256(f"{_FORMAT}\n{embedder_key}\n{data}\n{split}".encode()).hexdigest()
    return cache_dir() / "features" / f"{key[:32]}.npz"


def _compute(embedder: Embedder, texts: list[str], ids: list[str], progress: bool) -> SplitFeatures:
    texts = [controls_as_spaces(text) for text in texts]  # as Explainer.explain sees them
    reasons = [embedder.unusable_reason(text) for text in texts]
    valid = np.array([reason is None for reason in reasons], dtype=bool)
    X = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    usable = [text for text, ok in zip(texts, valid, strict=True) if ok]
    if usable:
        X[valid] = embedder.encode(usable, progress=progress)
    skipped = {i: r for i, r in zip(ids, reasons, strict=True) if r is not None}
    return SplitFeatures(X, ids, valid, skipped)


def _save(path: Path, features: SplitFeatures, embedder_key: str, data: str) -> None:
    reasons = [features.skipped.get(i, "") for i in features.ids]
    with atomic_open(path, "wb") as handle:
        np.savez(
            handle,
            X=features.X,
            ids=np.array(features.ids, dtype=str),
            valid=features.valid,
            reasons=np.array(reasons, dtype=str),
            embedder_key=np.array(embedder_key),
            data_key=np.array(data),
        )


def _load(
    path: Path, embedder_key: str, data: str, ids: list[str], dim: int
) -> SplitFeatures | None:
    """Cached features if the file matches the key exactly and holds exactly the split's rows;
    else None. The cache is read like any file textig reads (sizes, shapes and dtypes checked
    before anything is inflated): a damaged or foreign cache file is recomputed, never used."""
    if not path.is_file():
        return None
    n, what = len(ids), f"{path} is a damaged feature cache"
    try:
        with NpzReader(path, what, expansion_budget(path)) as stored:
            key = str(stored.read("embedder_key", "U", ())), str(stored.read("data_key", "U", ()))
            if key != (embedder_key, data):
                return None
            with np.errstate(over="ignore"):  # beyond float32's range -> inf, refused below
                X = stored.read("X", "f", (n, dim)).astype(np.float32, copy=False)
            valid = stored.read("valid", "b", (n,))
            stored_ids = stored.read("ids", "U", (n,)).tolist()
            reasons = stored.read("reasons", "U", (n,)).tolist()
    except (TextigError, OSError):
        return None
    consistent = [not r for r in reasons] == valid.tolist() and not X[~valid].any()
    if stored_ids != ids or not consistent or not np.isfinite(X).all():
        return None
    skipped = {i: r for i, r in zip(ids, reasons, strict=True) if r}
    return SplitFeatures(X, ids, valid, skipped)


def _warn_skipped(features: SplitFeatures, embedder: Embedder, where: str) -> None:
    if not features.skipped:
        return
    listed = "; ".join(f"{i} {r}" for i, r in list(features.skipped.items())[:10])
    more = f" and {len(features.skipped) - 10} more" if len(features.skipped) > 10 else ""
    warnings.warn(
        f"{embedder.name} cannot encode {len(features.skipped)} caption(s) of {where}; they get "
        f"all-zero rows flagged invalid: {listed}{more}",
        UserWarning,
        stacklevel=3,
    )


def embed_split(
    embedder: Embedder,
    dataset: Dataset,
    split: str,
    *,
    cache: bool = True,
    progress: bool = False,
    warn_skipped: bool = True,
) -> SplitFeatures:
    """Features of ``dataset.split(split)`` with the validity mask, from the cache when possible.

    ``warn_skipped=False`` is for callers that name every skipped caption themselves.
    """
    keys = embedder.cache_key, data_key(dataset, split)
    path = features_cache_path(*keys, split)
    captions = dataset.split(split)
    ids = [c.id for c in captions]
    features = _load(path, *keys, ids, embedder.dim) if cache else None
    if features is None:
        features = _compute(embedder, [c.text for c in captions], ids, progress)
        if cache:
            _save(path, features, *keys)
    if warn_skipped:
        _warn_skipped(features, embedder, f"{dataset.name} {split}")
    return features


def dataset_features(
    embedder: Embedder, dataset: Dataset, split: str, *, cache: bool = True, progress: bool = False
) -> np.ndarray:
    """(n, dim) float32 features of a split; unencodable captions are zero rows, named in a warning.

    Use ``embed_split`` to get the validity mask and the reasons as well.
    """
    return embed_split(embedder, dataset, split, cache=cache, progress=progress).X


def cached_split(embedder: Embedder, dataset: Dataset, split: str) -> SplitFeatures | None:
    """The split's features if they are in the cache; never computes them (for callers that
    only want them when they are free, such as naming a model's training rows)."""
    keys = embedder.cache_key, data_key(dataset, split)
    ids = [c.id for c in dataset.split(split)]
    return _load(features_cache_path(*keys, split), *keys, ids, embedder.dim)
