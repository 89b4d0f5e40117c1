"""A BERT encoder in plain torch, built from a Hugging Face ``config.json`` and safetensors.

Why our own: importing transformers (and sentence-transformers on top) costs several seconds
per command, while all-MiniLM-L6-v2 is a small post-LayerNorm BERT (6 layers, 384 hidden, 12
heads, exact GELU) that takes about a hundred lines of torch. The module reads what the
weights file beside ``config.json`` holds under Hugging Face's ``BertModel`` names, checks
every tensor's name and shape against the config, and never unpickles anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from torch import nn

from embeddings.errors import TextigError

_CONFIG_LIMIT = 1 << 20  # bytes of config.json read at most
_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")  # safetensors' names
_IGNORED = re.compile(r"pooler\..*|embeddings\.position_ids|embeddings\.token_type_ids")
_LAYER_PARTS = {  # Hugging Face's names inside encoder.layer.N -> ours inside layers.N
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attention_out",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "intermediate",
    "output.dense": "output",
    "output.LayerNorm": "output_norm",
}
# what this encoder computes (exact GELU, learned absolute positions); config.json's defaults
_REQUIRED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
_DEFAULTS = {"position_embedding_type": "absolute", "layer_norm_eps": 1e-12, "pad_token_id": 0}
_EMBEDDING_PARTS = {
    "word_embeddings": "word",
    "position_embeddings": "position",
    "token_type_embeddings": "token_type",
    "LayerNorm": "norm",
}


def _bounded_int(config: dict[str, Any], key: str, low: int, high: int) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise TextigError(
            f"config.json: {key} must be an integer in [{low}, {high}], got {value!r}"
        )
    return value


def read_json(path: Path) -> Any:
    """A small JSON file (a model's configuration), read with a size bound."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_CONFIG_LIMIT + 1)
    except OSError as error:
        raise TextigError(f"cannot read {path}: {error.strerror}") from error
    if len(raw) > _CONFIG_LIMIT:
        raise TextigError(f"{path} is larger than {_CONFIG_LIMIT} bytes: not a model config")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise TextigError(f"{path} is not valid JSON: {error}") from error


@dataclass(frozen=True)
class BertConfig:
    """The architecture numbers of a BERT encoder (Hugging Face ``config.json`` names)."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> BertConfig:
        """Validated config; refuses what this encoder does not compute (say so, not guess)."""
        given = _DEFAULTS | config
        for key, value in _REQUIRED.items():
            if given.get(key) != value:
                raise TextigError(f"config.json: {key} must be {value!r}, got {given.get(key)!r}")
        hidden = _bounded_int(given, "hidden_size", 1, 8192)
        heads = _bounded_int(given, "num_attention_heads", 1, 256)
        if hidden % heads:
            raise TextigError(f"config.json: hidden_size {hidden} is not a multiple of {heads}")
        eps = given["layer_norm_eps"]
        if not isinstance(eps, float) or not 0 < eps < 1:
            raise TextigError(f"config.json: layer_norm_eps must be in (0, 1), got {eps!r}")
        vocab = _bounded_int(given, "vocab_size", 1, 1_000_000)
        return cls(
            vocab_size=vocab,
            hidden_size=hidden,
            num_hidden_layers=_bounded_int(given, "num_hidden_layers", 1, 128),
            num_attention_heads=heads,
            intermediate_size=_bounded_int(given, "intermediate_size", 1, 65536),
            max_position_embeddings=_bounded_int(given, "max_position_embeddings", 1, 65536),
            type_vocab_size=_bounded_int(given, "type_vocab_size", 1, 64),
            layer_norm_eps=eps,
            pad_token_id=_bounded_int(given, "pad_token_id", 0, vocab - 1),
        )

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        config = read_json(path)
        if not isinstance(config, dict):
            raise TextigError(f"{path} must hold a JSON object")
        return cls.from_dict(config)


def _table(rows: int, width: int) -> nn.Embedding:
    """An embedding table left uninitialised (the weights file fills it): a random normal
    initialisation on the meta device would import torch's symbolic-shape machinery (~0.5 s)."""
    return nn.Embedding(rows, width, _weight=torch.empty(rows, width))


class _Embeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word = _table(config.vocab_size, config.hidden_size)
        self.position = _table(config.max_position_embeddings, config.hidden_size)
        self.token_type = _table(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        """Word-piece embeddings (B, T, h) plus positions and segment 0, normalised."""
        positions = self.position.weight[: inputs_embeds.shape[1]]
        return self.norm(inputs_embeds + self.token_type.weight[0] + positions)


class _Layer(nn.Module):
    """One post-LayerNorm transformer layer: self-attention, then the GELU feed-forward."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        hidden, eps = config.hidden_size, config.layer_norm_eps
        self.heads = config.num_attention_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        return x.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x (B, T, h); keep (B, 1, 1, T) bool: the keys each query may attend to."""
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        context = context.transpose(1, 2).reshape(x.shape)
        x = self.attention_norm(x + self.attention_out(context))
        return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    """BERT without its pooler: input embeddings and attention mask -> last hidden states."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.layers = nn.ModuleList(_Layer(config) for _ in range(config.num_hidden_layers))

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The word-piece embedding table (vocab, h)."""
        return self.embeddings.word

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states (B, T, h) of word-piece embeddings (B, T, h); padding is 0 in
        ``attention_mask`` (B, T) and is attended to by no position."""
        if inputs_embeds.shape[1] > self.config.max_position_embeddings:
            raise TextigError(
                f"{inputs_embeds.shape[1]} word pieces exceed the encoder's "
                f"{self.config.max_position_embeddings} positions"
            )
        keep = attention_mask.bool()[:, None, None, :]
        x = self.embeddings(inputs_embeds)
        for layer in self.layers:
            x = layer(x, keep)
        return x


def _our_name(name: str) -> str | None:
    """Our parameter name for a Hugging Face ``BertModel`` tensor name (None: not ours)."""
    if name.startswith("embeddings."):
        part, _, leaf = name.removeprefix("embeddings.").rpartition(".")
        return f"embeddings.{_EMBEDDING_PARTS[part]}.{leaf}" if part in _EMBEDDING_PARTS else None
    match = re.fullmatch(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)", name)
    if match and match[2] in _LAYER_PARTS:
        return f"layers.{match[1]}.{_LAYER_PARTS[match[2]]}.{match[3]}"
    return None


def load_bert(model_dir: Path, weights: Path) -> BertEncoder:
    """The encoder of ``model_dir/config.json`` with the tensors of the safetensors ``weights``
    (float32, eval mode, no parameter gradients): every parameter must be in the file with
    its config shape and finite values, and the file may hold nothing else but BERT's unused
    pooler. The module is built on the meta device and takes the file's tensors as they are
    (no random initialisation, no copy)."""
    with torch.device("meta"):
        encoder = BertEncoder(BertConfig.from_file(model_dir / "config.json"))
    expected = {name: tuple(p.shape) for name, p in encoder.state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(weights), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 (safe_open has no __iter__)
                ours = _our_name(name)
                if ours is None and _IGNORED.fullmatch(name):
                    continue
                if ours not in expected:
                    raise TextigError(f"{weights}: unexpected tensor {name!r} for a BERT encoder")
                part = handle.get_slice(name)  # shape and dtype before any data is read
                shape, dtype = tuple(part.get_shape()), part.get_dtype()
                if shape != expected[ours] or dtype not in _FLOAT_DTYPES:
                    raise TextigError(
                        f"{weights}: {name} has shape {shape} {dtype}, "
                        f"config.json implies {expected[ours]} float"
                    )
                state[ours] = handle.get_tensor(name).float()
    except (SafetensorError, OSError) as error:
        raise TextigError(f"cannot read safetensors weights {weights}: {error}") from error
    missing = sorted(set(expected) - set(state))
    if missing:
        raise TextigError(f"{weights}: missing {len(missing)} tensor(s), e.g. {missing[0]!r}")
    for name, tensor in state.items():  # numpy: torch's threaded kernels cost more here
        if not np.isfinite(tensor.numpy()).all():
            raise TextigError(f"{weights}: {name} holds NaN or infinite values")
    encoder.load_state_dict(state, assign=True)
    for parameter in encoder.parameters():  # gradients are only ever taken w.r.t. inputs
        parameter.requires_grad_(False)
    return encoder.eval()
