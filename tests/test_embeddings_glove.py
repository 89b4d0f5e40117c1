"""GloVe embedder: parity with a direct lookup-and-mean, spans, errors, back-projection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import GloveEmbedder, get_embedder, stopwords
from embeddings.glove import _packaged_vectors, _read_parquet_words
from textig.errors import TextigError

CAPTION = "A large building on the left, a palm-tree (mostly) in centre of picture; Xqzzyv!"


@pytest.fixture(scope="module")
def glove() -> GloveEmbedder:
    return get_embedder("glove")


@pytest.fixture(scope="module")
def lookup() -> dict[str, np.ndarray]:
    """An independent word -> vector table read straight from the package files."""
    matrix_path, words_path = _packaged_vectors()
    matrix = np.load(matrix_path)
    return {w: matrix[i] for i, w in enumerate(_read_parquet_words(words_path))}


def test_encode_equals_direct_lookup_and_mean(glove: GloveEmbedder, lookup) -> None:
    # content words after lowercasing, alphabetic filtering, shipped stopwords; xqzzyv unknown
    expected_words = ["large", "building", "left", "palm", "tree", "mostly", "centre", "picture"]
    expected = np.mean([lookup[w] for w in expected_words], axis=0)
    np.testing.assert_allclose(glove.encode([CAPTION])[0], expected, rtol=1e-6, atol=1e-6)
    assert glove.dim == 50
    assert glove.identity == (
        "glove-6B-50d@2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15"
        f"+spacy-blank-en+stopwords@{stopwords.stopwords_digest()}"
    )


def test_oov_words_are_reported_not_averaged_as_zeros(caplog) -> None:
    glove = GloveEmbedder()  # its own instance: each word is reported once per embedder
    with_oov = glove.encode(["palm tree Xqzzyv"], progress=False)
    without = glove.encode(["palm tree"])
    np.testing.assert_array_equal(with_oov, without)
    assert glove.oov_words("palm tree Xqzzyv") == ["Xqzzyv"]
    assert "xqzzyv" in caplog.text


def test_each_oov_word_is_reported_once(caplog) -> None:
    # a corpus run encodes a caption and its perturbations many times: one notice per word
    glove = GloveEmbedder()
    for _ in range(3):
        glove.encode(["palm tree Xqzzyv", "a Xqzzyv tree"], progress=False)
    glove.encode(["palm Wvvqk tree Xqzzyv"], progress=False)
    notices = [r.getMessage() for r in caplog.records if "out-of-vocabulary" in r.getMessage()]
    assert notices == [
        "glove: 1 out-of-vocabulary words left out (e.g. xqzzyv)",
        "glove: 1 out-of-vocabulary words left out (e.g. wvvqk)",
    ]


def test_tokens_keep_the_original_spans(glove: GloveEmbedder) -> None:
    tokens = glove.tokens(CAPTION)
    assert [t.text for t in tokens][:3] == ["A", "large", "building"]
    assert all(CAPTION[t.start : t.end] == t.text for t in tokens)
    assert "palm" in [t.text for t in tokens] and "tree" in [t.text for t in tokens]
    assert not any(t.text in {",", "(", ";"} for t in tokens)


@pytest.mark.parametrize(
    ("caption", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("12 -- !!", "has no alphabetic word"),
        ("The and of it, to them.", "has only stopwords"),
        ("Xqzzyv blorfnik", r"no word in the GloVe vocabulary \(unknown: blorfnik, xqzzyv\)"),
    ],
)
def test_unusable_captions_raise_named_errors(glove: GloveEmbedder, caption, reason) -> None:
    with pytest.raises(TextigError, match=f"glove cannot encode caption 1 .*{reason}"):
        glove.encode(["a palm tree", caption])


def test_additive_scores_sum_to_the_feature_attribution(glove: GloveEmbedder) -> None:
    rng = np.random.default_rng(0)
    gbar = rng.normal(size=(3, 50))
    baseline = rng.normal(size=50).astype(np.float32)
    x = glove.encode([CAPTION])[0].astype(np.float64)
    rows = glove.word_attributions(CAPTION, gbar, baseline)
    for row, g in zip(rows, gbar, strict=True):
        total = sum(w.score for w in row)
        assert total == pytest.approx(float((x - baseline) @ g), rel=1e-5)
        kinds = {w.text: w.kind for w in row}
        assert kinds["the"] == "stopword" and kinds["Xqzzyv"] == "oov"
        assert kinds["palm"] == "word"
        assert all(w.score == 0 for w in row if w.kind != "word")
        assert all(CAPTION[w.start : w.end] == w.text for w in row)


def test_cosine_variant_is_the_cosine(glove: GloveEmbedder, lookup) -> None:
    gbar = lookup["tree"][None].astype(np.float64)
    row = glove.word_attributions("palm tree", gbar, np.zeros(50), method="cosine")[0]
    assert [w.text for w in row] == ["palm", "tree"]
    assert row[1].score == pytest.approx(1.0, abs=1e-6)
    v = lookup["palm"]
    cosine = v @ gbar[0] / np.linalg.norm(v) / np.linalg.norm(gbar[0])
    assert row[0].score == pytest.approx(cosine, rel=1e-5)


def test_occlusion_is_what_deleting_the_word_does(glove: GloveEmbedder) -> None:
    text = "a palm tree on the sandy beach"
    rng = np.random.default_rng(4)
    gbar, baseline = rng.normal(size=(2, 50)), rng.normal(size=50)
    x = glove.encode([text])[0].astype(np.float64)
    rows = glove.word_attributions(text, gbar, baseline, method="occlusion")
    for row, g in zip(rows, gbar, strict=True):
        for word in row:
            if word.kind == "stopword":
                assert word.score == 0
                continue
            without = glove.encode([text[: word.start] + text[word.end :]])[0]
            assert word.score == pytest.approx(float(g @ (x - without)), rel=1e-5, abs=1e-6)
    alone = glove.word_attributions("palm", gbar, baseline, method="occlusion")
    lone = glove.encode(["palm"])[0].astype(np.float64)  # deleting it leaves the baseline
    assert [row[0].score for row in alone] == pytest.approx(list(gbar @ (lone - baseline)))


def test_glove_has_no_neutral_baseline(glove: GloveEmbedder) -> None:
    with pytest.raises(TextigError, match="no neutral baseline"):
        glove.neutral_baseline("a palm tree")


def test_glove_never_imports_torch() -> None:
    code = (
        "import sys, embeddings\n"
        "e = embeddings.get_embedder('glove')\n"
        "e.encode(['a palm tree in the garden'])\n"
        "e.word_attributions('a palm tree', [[1.0] * 50], [0.0] * 50)\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_user_glove_text_file_is_converted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "tiny.txt"
    source.write_text("palm 1 0 0\ntree 0 2 0\nmarket 0 0 4\npalm 9 9 9\n")
    tiny = get_embedder(f"glove:{source}")
    assert tiny.dim == 3 and tiny.identity.startswith("glove-tiny@")
    np.testing.assert_allclose(tiny.encode(["Palm TREE, the market"])[0], [1 / 3, 2 / 3, 4 / 3])
    converted = list((tmp_path / "cache" / "glove").glob("*/vectors.npy"))
    assert len(converted) == 1
    source.write_text("garbage line\n")
    with pytest.raises(TextigError, match="not a GloVe line"):
        GloveEmbedder(source)
    source.write_text("palm 1 0 nan\n")
    with pytest.raises(TextigError, match=r"tiny\.txt:1: not a GloVe line of 3 finite numbers"):
        GloveEmbedder(source)


@pytest.mark.parametrize(
    "damage",
    [
        lambda matrix, vocab: np.save(matrix, np.ones((2, 3), np.float32)),  # a row short
        lambda matrix, vocab: np.save(matrix, np.ones((3, 3), np.float64)),
        lambda matrix, vocab: np.save(matrix, np.ones(9, np.float32)),
        lambda matrix, vocab: matrix.write_bytes(b"\x93NUMPY garbage"),
        lambda matrix, vocab: vocab.write_text("palm\ntree"),
    ],
)
def test_a_damaged_converted_cache_is_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage
) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "tiny.txt"
    source.write_text("palm 1 0 0\ntree 0 2 0\nmarket 0 0 4\n")
    GloveEmbedder(source)
    (matrix,) = (tmp_path / "cache" / "glove").glob("*/vectors.npy")
    damage(matrix, matrix.with_name("vocab.txt"))
    again = GloveEmbedder(source)
    np.testing.assert_allclose(again.encode(["market"])[0], [0, 0, 4])


@pytest.mark.shared
def test_iapr_empty_caption_is_named(glove: GloveEmbedder, iapr_dir: Path) -> None:
    with open(iapr_dir / "train.jsonl", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    empty = next(r for r in records if r["id"] == "04/4092")
    assert glove.unusable_reason(empty["caption"]) == "is empty"
    texts = [r["caption"] for r in records[:200]]
    X = glove.encode(texts)
    assert X.shape == (200, 50) and np.isfinite(X).all() and (np.abs(X).sum(axis=1) > 0).all()
