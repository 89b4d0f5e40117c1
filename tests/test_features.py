"""Dataset features: caching by (identity, checksum, split), flagged unencodable captions, CLI."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from embeddings.base import Embedder, Token
from textig import features


@dataclass(frozen=True)
class _Caption:
    id: str
    text: str
    label_ids: tuple[int, ...] = ()


@dataclass
class _Dataset:
    """The slice of the ``textig.data.Dataset`` contract that features need."""

    name: str
    splits: dict[str, list[_Caption]]
    digest: str = "sum0"
    vocabulary: tuple[str, ...] = ()

    def checksum(self) -> str:
        return self.digest

    def split(self, name: str) -> list[_Caption]:
        return self.splits[name]


class _Counting(Embedder):
    """Word count and length; counts how many captions it encoded."""

    name = "counting"
    identity = "counting@1"
    dim = 2

    def __init__(self) -> None:
        self.encoded = 0

    def tokens(self, text: str) -> list[Token]:
        return []

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        self.encoded += len(texts)
        return np.array([[len(t.split()), len(t)] for t in texts], dtype=np.float32)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _dataset() -> _Dataset:
    train = [_Caption("00/1", "a palm tree"), _Caption("04/4092", ""), _Caption("00/3", "sea")]
    return _Dataset("toy", {"train": train, "test": [_Caption("01/1", "two dogs")]})


def test_unencodable_caption_is_a_flagged_zero_row_named_in_a_warning() -> None:
    with pytest.warns(UserWarning, match="cannot encode 1 caption.*04/4092 is empty"):
        result = features.embed_split(_Counting(), _dataset(), "train")
    np.testing.assert_array_equal(result.X, [[3, 11], [0, 0], [1, 3]])
    np.testing.assert_array_equal(result.valid, [True, False, True])
    assert result.ids == ["00/1", "04/4092", "00/3"]
    assert result.skipped == {"04/4092": "is empty"}


def test_features_are_cached_per_identity_checksum_and_split() -> None:
    embedder, dataset = _Counting(), _dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = features.dataset_features(embedder, dataset, "train")
        assert embedder.encoded == 2
        with pytest.warns(UserWarning, match="04/4092"):  # named again when read from cache
            again = features.embed_split(embedder, dataset, "train")
        assert embedder.encoded == 2, "second call must read the cache"
        np.testing.assert_array_equal(again.X, first)
        assert again.skipped == {"04/4092": "is empty"} and not again.valid[1]
        features.dataset_features(embedder, dataset, "test")
        assert embedder.encoded == 3
        dataset.digest = "sum1"
        features.dataset_features(embedder, dataset, "train")
        assert embedder.encoded == 5, "changed data must be re-embedded"
        features.dataset_features(embedder, dataset, "train", cache=False)
        assert embedder.encoded == 7


def test_cache_key_depends_on_every_part() -> None:
    base = features.features_cache_path("glove@1", "abc", "train")
    assert base != features.features_cache_path("glove@2", "abc", "train")
    assert base != features.features_cache_path("glove@1", "abd", "train")
    assert base != features.features_cache_path("glove@1", "abc", "test")


def test_corrupt_cache_file_is_recomputed() -> None:
    embedder, dataset = _Counting(), _dataset()
    keys = embedder.cache_key, features.data_key(dataset, "test")
    path = features.features_cache_path(*keys, "test")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz")
    X = features.dataset_features(embedder, dataset, "test")
    np.testing.assert_array_equal(X, [[2, 8]])
    assert embedder.encoded == 1


def _crafted_cache(edit) -> None:
    """A cache file for the toy test split, with the right keys and ``edit`` applied."""
    embedder, dataset = _Counting(), _dataset()
    keys = embedder.cache_key, features.data_key(dataset, "test")
    arrays = {
        "X": np.array([[2, 8]], dtype=np.float32),
        "ids": np.array(["01/1"]),
        "valid": np.array([True]),
        "reasons": np.array([""]),
        "embedder_key": np.array(keys[0]),
        "data_key": np.array(keys[1]),
    }
    edit(arrays)
    path = features.features_cache_path(*keys, "test")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.update(X=np.full((1, 2), 99.0, np.float32)),  # genuine: read, not recomputed
        lambda a: a.update(X=np.ones((2, 2), np.float32)),
        lambda a: a.update(X=np.ones((1, 3), np.float32)),
        lambda a: a.update(X=np.array([[np.nan, 1.0]], np.float32)),
        lambda a: a.update(X=np.ones((1, 2), complex)),
        lambda a: a.update(ids=np.array(["01/2"])),
        lambda a: a.update(valid=np.array([False])),  # a valid row's reason missing
        lambda a: a.update(reasons=np.array([{"a": 1}], dtype=object)),  # would need a pickle
        lambda a: a.pop("valid"),
    ],
    ids=["genuine", "rows", "dim", "nan", "complex", "ids", "mask", "object", "missing"],
)
def test_a_crafted_cache_file_is_recomputed_never_used(edit, request) -> None:
    _crafted_cache(edit)
    embedder = _Counting()
    X = features.dataset_features(embedder, _dataset(), "test")
    genuine = request.node.callspec.id == "genuine"
    np.testing.assert_array_equal(X, [[99, 99]] if genuine else [[2, 8]])
    assert embedder.encoded == (0 if genuine else 1)


@pytest.mark.shared
def test_cli_embed_names_the_empty_iapr_caption(
    tmp_path: Path, iapr_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_module = pytest.importorskip("textig.data")
    if not hasattr(data_module, "load_dataset"):
        pytest.skip("textig.data.load_dataset not available yet")
    from textig.cli import main

    out = tmp_path / "glove.npz"
    assert main(["embed", "--embedder", "glove", "--data", str(iapr_dir), "--out", str(out)]) == 0
    assert "train caption 04/4092 is empty: not encoded" in capsys.readouterr().err
    with np.load(out, allow_pickle=False) as data:
        ids, valid, X = data["ids_train"].tolist(), data["valid_train"], data["X_train"]
        assert X.shape == (17665, 50) and data["X_test"].shape == (1962, 50)
        row = ids.index("04/4092")
        assert not valid[row] and not X[row].any()
        assert valid.sum() == 17664 and (np.abs(X[valid]).sum(axis=1) > 0).all()
    svm = tmp_path / "glove.svm"
    argv = ["embed", "--data", str(iapr_dir), "--out", str(svm), "--format", "svmlight"]
    assert main(argv) == 1
    assert "--drop-unusable" in capsys.readouterr().err
    assert main([*argv, "--split", "train", "--drop-unusable"]) == 0
    lines = svm.read_text().splitlines()
    assert len(lines) == 17664 and all(" 1:" in line for line in lines[:50])
