"""A sentence-transformers model folder, run without importing sentence-transformers.

Importing sentence-transformers (and the transformers library under it) took most of an SBERT
command's start-up. The folder itself says what its pipeline computes (config beside weights):
``modules.json`` lists Transformer -> Pooling (-> Normalize), ``sentence_bert_config.json``
the window (``max_seq_length``), the pooling folder's ``config.json`` the pooling (mean over
the attended pieces), ``tokenizer.json`` the fast tokenizer (run by the ``tokenizers``
library). This module reads them, refuses a pipeline it does not compute, and runs it: our BERT
encoder (``embeddings.bert``), mean pooling, L2 normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import torch.nn.functional as F
from tokenizers import Encoding, Tokenizer

from embeddings.bert import BertEncoder, load_bert, read_json
from embeddings.errors import TextigError

WEIGHTS_FILE = "model.safetensors"  # never pickled weights (pytorch_model.bin)
TOKENIZER_FILE = "tokenizer.json"
_TOKENIZER_LIMIT = 64 << 20  # bytes
_MODULES = ("Transformer", "Pooling", "Normalize")  # the pipeline computed here, in order


def _module_types(model_dir: Path) -> list[dict[str, Any]]:
    """modules.json's entries, checked to be Transformer, Pooling and optionally Normalize."""
    modules = read_json(model_dir / "modules.json")
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise TextigError(f"{model_dir / 'modules.json'} must hold a list of modules")
    kinds = [str(m.get("type", "")).rpartition(".")[2] for m in modules]
    if kinds not in (list(_MODULES[:2]), list(_MODULES)):
        raise TextigError(
            f"{model_dir}: pipeline {' -> '.join(kinds)} is not supported "
            f"(textig runs {' -> '.join(_MODULES)}; Normalize optional)"
        )
    if modules[0].get("path", "") != "":
        raise TextigError(f"{model_dir}: the Transformer's weights must be in the folder itself")
    return modules


def _subfolder(model_dir: Path, relative: object) -> Path:
    """A module's folder, which must be a plain relative path inside ``model_dir``."""
    path = PurePosixPath(str(relative))
    if not isinstance(relative, str) or path.is_absolute() or ".." in path.parts:
        raise TextigError(f"{model_dir / 'modules.json'}: bad module path {relative!r}")
    return model_dir / path


def _check_mean_pooling(pooling_dir: Path, hidden: int) -> None:
    """The pooling config must ask for the mean over pieces of the encoder's width (old
    ``pooling_mode_*_tokens`` flags or the newer ``pooling_mode`` name)."""
    config = read_json(pooling_dir / "config.json")
    if not isinstance(config, dict):
        raise TextigError(f"{pooling_dir / 'config.json'} must hold a JSON object")
    mode = config.get("pooling_mode")
    if mode is None:
        flags = [k for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
        mode = [flag.removeprefix("pooling_mode_") for flag in flags]
    if mode not in ("mean", ["mean"], ["mean_tokens"]):
        raise TextigError(f"{pooling_dir}: pooling {mode!r} is not supported (only mean)")
    width = config.get("word_embedding_dimension", config.get("embedding_dimension"))
    if width != hidden:
        raise TextigError(f"{pooling_dir}: pooling width {width!r} != encoder width {hidden}")


def _window_length(model_dir: Path, positions: int) -> int:
    """``max_seq_length`` (word pieces the model reads, specials included), checked."""
    config = read_json(model_dir / "sentence_bert_config.json")
    if not isinstance(config, dict):
        raise TextigError(f"{model_dir / 'sentence_bert_config.json'} must hold a JSON object")
    if config.get("do_lower_case", False) is not False:
        raise TextigError(f"{model_dir}: do_lower_case is not supported (offsets would move)")
    length = config.get("max_seq_length")
    if not isinstance(length, int) or isinstance(length, bool) or not 3 <= length <= positions:
        raise TextigError(f"{model_dir}: max_seq_length must be in [3, {positions}]: {length!r}")
    return length


def _load_tokenizer(path: Path) -> Tokenizer:
    """The fast tokenizer, with the padding and truncation saved in the file switched off."""
    try:
        if path.stat().st_size > _TOKENIZER_LIMIT:
            raise TextigError(f"{path} is larger than {_TOKENIZER_LIMIT >> 20} MB")
        tokenizer = Tokenizer.from_file(str(path))
    except OSError as error:
        raise TextigError(f"cannot read {path}: {error.strerror}") from error
    except Exception as error:  # tokenizers raises plain Exception on a malformed file
        raise TextigError(f"{path} is not a tokenizers file: {error}") from error
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _mask_token(model_dir: Path) -> object:
    """The mask token special_tokens_map.json names (BERT's ``[MASK]`` when absent)."""
    path = model_dir / "special_tokens_map.json"
    tokens = read_json(path) if path.is_file() else {}
    token = tokens.get("mask_token", "[MASK]") if isinstance(tokens, dict) else None
    return token.get("content") if isinstance(token, dict) else token


class SentenceModel:
    """Tokenizer, BERT encoder, mean pooling and normalisation of one model folder."""

    def __init__(
        self, encoder: BertEncoder, tokenizer: Tokenizer, max_length: int, mask_token: object
    ) -> None:
        self.encoder = encoder
        self.max_length = max_length
        self.dim = encoder.config.hidden_size
        self.mask_id = tokenizer.token_to_id(mask_token) if isinstance(mask_token, str) else None
        self._tokenizer = tokenizer
        self._window = Tokenizer.from_str(tokenizer.to_str())  # same, truncating to the window
        self._window.enable_truncation(max_length)
        self._specials = tokenizer.num_special_tokens_to_add(False)

    def pieces(self, texts: Sequence[str]) -> list[Encoding]:
        """Each caption's word pieces, whole (untruncated) and without special tokens."""
        return self._tokenizer.encode_batch(list(texts), add_special_tokens=False)

    def length(self, pieces: Encoding) -> int:
        """Word pieces the model would need for the whole caption, special tokens included."""
        return len(pieces.ids) + self._specials

    def window(self, pieces: Encoding) -> Encoding:
        """What the model reads: the pieces truncated to the window, with special tokens."""
        return self._window.post_process(pieces)

    def batch(self, windows: Sequence[Encoding]) -> tuple[torch.Tensor, torch.Tensor]:
        """Input ids and attention mask (B, T) of windows, right-padded to the longest."""
        width = max(len(w.ids) for w in windows)
        ids = torch.full((len(windows), width), self.encoder.config.pad_token_id)
        mask = torch.zeros((len(windows), width), dtype=torch.long)
        for row, window in enumerate(windows):
            ids[row, : len(window.ids)] = torch.tensor(window.ids)
            mask[row, : len(window.ids)] = 1
        return ids, mask

    def embed(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Unit sentence embeddings (B, dim) of word-piece input embeddings (B, T, h):
        encoder, mean over the attended pieces, L2 normalisation. Differentiable."""
        hidden = self.encoder(inputs_embeds, attention_mask)
        weights = attention_mask.to(hidden.dtype)[..., None]
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return F.normalize(mean, p=2, dim=-1)


def load_sentence_model(model_dir: Path) -> SentenceModel:
    """The folder's pipeline, checked against what ``SentenceModel`` computes."""
    modules = _module_types(model_dir)
    encoder = load_bert(model_dir, model_dir / WEIGHTS_FILE)
    config = encoder.config
    _check_mean_pooling(_subfolder(model_dir, modules[1].get("path")), config.hidden_size)
    max_length = _window_length(model_dir, config.max_position_embeddings)
    tokenizer = _load_tokenizer(model_dir / TOKENIZER_FILE)
    largest_id = max(tokenizer.get_vocab(with_added_tokens=True).values(), default=-1)
    if largest_id >= config.vocab_size:  # a count can be small while an id is out of range
        raise TextigError(
            f"{model_dir}: the tokenizer's piece id {largest_id} is outside the encoder's "
            f"vocabulary of {config.vocab_size}"
        )
    return SentenceModel(encoder, tokenizer, max_length, _mask_token(model_dir))
