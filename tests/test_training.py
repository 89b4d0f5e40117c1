"""The model cache: trained once, reused, and older cached files upgraded instead of retrained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import get_embedder
from textig.data import load_dataset
from textig.features import embed_split
from textig.training import model_cache_path, resolve_params, train_or_load

SMALL = {"num_learner": 2, "emb_iter": 2, "cls_iter": 2, "seed": 0}


def test_a_cached_model_without_its_feature_mean_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path))
    dataset, embedder = load_dataset(None), get_embedder("glove")
    trained = train_or_load(embedder, dataset, params=SMALL, progress=False)
    features = embed_split(embedder, dataset, "train", warn_skipped=False)
    expected = features.X[features.valid].mean(axis=0, dtype=np.float64)
    assert np.array_equal(trained.feature_mean_, expected)

    path = model_cache_path(embedder, dataset, resolve_params(SMALL))
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "feature_mean"}
    np.savez(path, **arrays)  # as a cached model from before the mean was kept
    stamp = path.stat().st_mtime_ns

    upgraded = train_or_load(embedder, dataset, params=SMALL, progress=False)
    assert np.array_equal(upgraded.feature_mean_, expected)
    X = features.X[:20]
    assert np.array_equal(upgraded.decision_function(X), trained.decision_function(X))
    assert path.stat().st_mtime_ns != stamp  # re-saved with the mean
    with np.load(path, allow_pickle=False) as data:
        assert np.array_equal(data["feature_mean"], expected)
