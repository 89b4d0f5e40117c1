"""Cache keys cover everything that changes what is cached: each change below is a miss.

A miss is observed, not inferred from a path: the embedder is asked to encode again, or the
model is trained again. The first checks show the unchanged setup is a hit, so the misses are
caused by the change alone.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embeddings import GloveEmbedder, glove, stopwords
from textig import features, training
from textig.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
SMALL = {"num_learner": 1, "emb_iter": 1, "cls_iter": 1, "num_nn": 5, "seed": 0}
VECTORS = "palm 1 0 0\ntree 0 2 0\nsnow 0 0 4\nlake 1 1 0\nhouse 0 1 1\nbeach 1 0 1\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The demo corpus cut to 60 training and 5 test captions, in a folder we may edit."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(REPO / "data" / "dictionary.txt", folder)
    for name, keep in (("train.jsonl", 60), ("test.jsonl", 5)):
        lines = (REPO / "data" / name).read_text(encoding="utf-8").splitlines()[:keep]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def vectors(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(VECTORS, encoding="utf-8")
    return path


class Counter:
    """Counts calls of a wrapped function."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.calls = 0
        original = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def _embed(embedder: GloveEmbedder, data: Path) -> np.ndarray:
    with pytest.warns(UserWarning, match="cannot encode"):  # most captions miss the tiny vocab
        return features.embed_split(embedder, load_dataset(data), "test").X


def test_features_miss_on_each_change(
    data_dir: Path, vectors: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encodes = Counter(monkeypatch, GloveEmbedder, "_encode")
    _embed(GloveEmbedder(vectors), data_dir)
    _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 1, "the unchanged setup must hit the cache"

    # vectors (weights hash): one number changed
    vectors.write_text(VECTORS.replace("palm 1 0 0", "palm 1 0 0.5"), encoding="utf-8")
    _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 2

    # tokenizer: another spaCy release
    with monkeypatch.context() as patch:
        patch.setattr(glove, "tokenizer_version", lambda: "spacy-99.0.0")
        _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 3

    # stopword list: one word more
    listed = tmp_path / "stopwords.txt"
    listed.write_text(stopwords.STOPWORDS_FILE.read_text(encoding="utf-8") + "palm\n")
    with monkeypatch.context() as patch:
        patch.setattr(stopwords, "STOPWORDS_FILE", listed)
        stopwords.english_stopwords.cache_clear()
        try:
            _embed(GloveEmbedder(vectors), data_dir)
        finally:
            stopwords.english_stopwords.cache_clear()
    assert encodes.calls == 4

    # data: a caption's text edited in the file
    test_file = data_dir / "test.jsonl"
    edited = test_file.read_text(encoding="utf-8").replace('"caption": "', '"caption": "palm ', 1)
    test_file.write_text(edited, encoding="utf-8")
    _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 5

    # the same files read differently (a reader change): caption texts differ as read
    read_differently = load_dataset(data_dir)
    read_differently.test[0] = replace(read_differently.test[0], text="SNOW")
    features.embed_split(GloveEmbedder(vectors), read_differently, "test", warn_skipped=False)
    assert encodes.calls == 6

    # format version of the feature cache
    monkeypatch.setattr(features, "_FORMAT", features._FORMAT + 1)
    _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 7

    _embed(GloveEmbedder(vectors), data_dir)
    assert encodes.calls == 7, "and the last setup hits again"


def test_models_miss_on_each_change(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fits = Counter(monkeypatch, training, "_train_model")
    embedder = GloveEmbedder()

    def train(params: dict[str, Any] = SMALL, data: Path = data_dir) -> None:
        training.train_or_load(embedder, load_dataset(data), params=params, progress=False)

    train()
    train()
    assert fits.calls == 1, "the unchanged setup must hit the cache"

    train({**SMALL, "seed": 1})  # a training parameter
    assert fits.calls == 2

    with monkeypatch.context() as patch:  # the AnnexML code or model file format version
        patch.setattr(training, "code_version", lambda: [99])
        train()
    assert fits.calls == 3

    with monkeypatch.context() as patch:  # the tokenizer release
        patch.setattr(glove, "tokenizer_version", lambda: "spacy-99.0.0")
        train()
    assert fits.calls == 4

    labels = data_dir / "train.jsonl"  # training labels (texts unchanged)
    lines = labels.read_text(encoding="utf-8").splitlines()
    lines[0] = (
        lines[0]
        .replace('"label_ids": [', '"label_ids": [0, ', 1)
        .replace('"labels": [', '"labels": ["beach", ', 1)
    )
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    train()
    assert fits.calls == 5

    train()
    assert fits.calls == 5, "and the last setup hits again"
