"""Embedder interface, registry (built-ins and entry points) and pinned-asset checks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings import assets
from embeddings.base import Embedder, Token
from textig.errors import TextigError

TOY_MODULE = '''
import numpy as np
from embeddings.base import Embedder, Token


class ToyEmbedder(Embedder):
    """Letter counts of a, b, c: 3 features, scale set by the optional argument."""

    name = "toy"

    def __init__(self, scale="1"):
        self.scale = float(scale)

    identity = property(lambda self: f"toy@{self.scale}")
    dim = property(lambda self: 3)

    def tokens(self, text):
        out, pos = [], 0
        for word in text.split():
            start = text.index(word, pos)
            out.append(Token(word, start, start + len(word)))
            pos = start + len(word)
        return out

    def _encode(self, texts, progress):
        return np.array([[t.count(c) * self.scale for c in "abc"] for t in texts])
'''


@pytest.fixture
def toy_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake installed distribution declaring the toy embedder in ``textig.embedders``."""
    (tmp_path / "toy_embedder_mod.py").write_text(TOY_MODULE)
    info = tmp_path / "toy-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[textig.embedders]\ntoy = toy_embedder_mod:ToyEmbedder\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_embedder_end_to_end(toy_distribution: Path) -> None:
    assert "toy" in embeddings.available_embedders()
    toy = embeddings.get_embedder("toy:2")
    assert toy.identity == "toy@2.0"
    X = toy.encode(["abc cab", "aaa"])
    np.testing.assert_array_equal(X, [[4, 4, 4], [6, 0, 0]])
    assert X.dtype == np.float32
    assert toy.tokens("ab  ca") == [Token("ab", 0, 2), Token("ca", 4, 6)]
    with pytest.raises(TextigError, match="caption 1 '' is empty"):
        toy.encode(["abc", ""])
    with pytest.raises(TextigError, match="no back-projection"):
        toy.word_attributions("abc", np.ones((1, 3)), np.zeros(3))
    with pytest.raises(TextigError, match="no neutral baseline"):
        toy.neutral_baseline("abc")


def test_unknown_embedder_lists_the_available_ones() -> None:
    with pytest.raises(TextigError, match=r"unknown embedder 'nope' \(available: glove, sbert"):
        embeddings.get_embedder("nope")


def test_entry_point_must_produce_an_embedder(toy_distribution: Path) -> None:
    (toy_distribution / "toy-0.dist-info" / "entry_points.txt").write_text(
        "[textig.embedders]\nbad = os:getcwd\n"
    )
    with pytest.raises(TextigError, match="did not produce"):
        embeddings.get_embedder("bad")


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("TEXTIG_CACHE", str(cache))
    return cache


def test_pinned_file_mismatch_is_refused(tmp_path: Path, private_cache: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"not the real weights")
    with pytest.raises(TextigError, match=r"has sha256 .* expected 53aa5117"):
        assets.check_pinned(weights, assets.MINILM_MODEL_SHA256)
    good = hashlib.sha256(b"not the real weights").hexdigest()
    assert assets.check_pinned(weights, good) == good


def test_hash_is_recorded_and_recomputed_only_when_the_file_changes(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = tmp_path / "vectors.npy"
    asset.write_bytes(b"one")
    calls: list[Path] = []
    real = assets.sha256_file
    monkeypatch.setattr(assets, "sha256_file", lambda p: calls.append(p) or real(p))
    first = assets.file_sha256(asset)
    assert assets.file_sha256(asset) == first
    assert len(calls) == 1, "second lookup must come from the on-disk record"
    assert (private_cache / "asset_hashes.json").is_file()
    asset.write_bytes(b"two, longer")
    os.utime(asset, ns=(1, 1))
    assert assets.file_sha256(asset) != first
    assert len(calls) == 2


def test_missing_asset_is_a_textig_error(tmp_path: Path, private_cache: Path) -> None:
    with pytest.raises(TextigError, match="cannot read asset file"):
        assets.file_sha256(tmp_path / "absent.npy")


class _Fixed(Embedder):
    """Minimal embedder with one fake back-projection, to test argument checking."""

    name = "fixed"
    back_projection_methods = ("sum", "other")
    identity = "fixed"
    dim = 2

    def tokens(self, text: str) -> list[Token]:
        return []

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        return np.ones((len(texts), 2))

    def _word_attributions(self, text, gbar, baseline, method, steps):
        return [[embeddings.WordScore(method, 0, 1, float(row.sum()))] for row in gbar]


def test_word_attributions_checks_shapes_and_methods() -> None:
    fixed = _Fixed()
    rows = fixed.word_attributions("x", np.ones(2), np.zeros(2))
    assert rows == [[embeddings.WordScore("sum", 0, 1, 2.0, "word")]]
    assert fixed.word_attributions("x", np.ones((2, 2)), np.zeros(2), method="other")[1][
        0
    ].text == ("other")
    with pytest.raises(TextigError, match=r"gbar must have shape \(labels, 2\)"):
        fixed.word_attributions("x", np.ones((1, 3)), np.zeros(2))
    with pytest.raises(TextigError, match=r"baseline must have shape \(2,\)"):
        fixed.word_attributions("x", np.ones((1, 2)), np.zeros(3))
    with pytest.raises(TextigError, match="unknown fixed back-projection 'cosine'"):
        fixed.word_attributions("x", np.ones((1, 2)), np.zeros(2), method="cosine")
    with pytest.raises(TextigError, match="cannot explain caption '  '"):
        fixed.word_attributions("  ", np.ones((1, 2)), np.zeros(2))
