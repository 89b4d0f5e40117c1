"""Fakes for the explain/report tests: a tiny word-vector embedder and a linear model.

With a linear model f(x) = A x, Integrated Gradients is known exactly, A[l] * (x - x'), and the
additive word scores are (1/n)(v_t - x')·A[l], so every figure of an explanation is checkable.
"""

from __future__ import annotations

import re

import numpy as np

from embeddings.base import Embedder, Token, WordScore
from textig.errors import TextigError

VECTORS = {
    "dog": [1.0, 0.0, 0.2],
    "cat": [0.0, 1.0, 0.1],
    "park": [0.3, 0.3, 1.0],
    "runs": [0.5, -0.2, 0.4],
    "sleeps": [-0.4, 0.6, 0.3],
}
STOPWORDS = {"a", "the", "in", "on", "of"}
LABELS = ["dog", "cat", "grass", "sky"]
A = np.array(
    [[2.0, -1.0, 0.5], [-1.0, 2.0, 0.0], [0.2, 0.1, 1.5], [0.0, 0.0, -1.0]], dtype=np.float64
)
TRAIN = np.array([list(v) for v in VECTORS.values()] + [[0.0, 0.0, 0.0]], dtype=np.float32)


class FakeEmbedder(Embedder):
    """Mean of fixed 3-d word vectors; stopwords and unknown words are left out."""

    name = "fake"
    back_projection_methods = ("additive",)

    def __init__(self, identity: str = "fake@1") -> None:
        self._identity = identity

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def dim(self) -> int:
        return 3

    def _kinds(self, text: str) -> list[tuple[Token, str]]:
        out = []
        for match in re.finditer(r"[A-Za-z]+", text):
            lower = match.group().lower()
            kind = "stopword" if lower in STOPWORDS else "word" if lower in VECTORS else "oov"
            out.append((Token(match.group(), match.start(), match.end()), kind))
        return out

    def tokens(self, text: str) -> list[Token]:
        return [token for token, _ in self._kinds(text)]

    def unusable_reason(self, text: str) -> str | None:
        if not text.strip():
            return "is empty"
        if not any(kind == "word" for _, kind in self._kinds(text)):
            return "has no known content word"
        return None

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        rows = []
        for text in texts:
            words = [t.text.lower() for t, kind in self._kinds(text) if kind == "word"]
            rows.append(np.mean([VECTORS[w] for w in words], axis=0))
        return np.array(rows, dtype=np.float32)

    def _word_attributions(self, text, gbar, baseline, method, steps) -> list[list[WordScore]]:
        pairs = self._kinds(text)
        n = sum(kind == "word" for _, kind in pairs)
        result = []
        for row in gbar:
            words = []
            for token, kind in pairs:
                score = 0.0
                if kind == "word":
                    vector = np.asarray(VECTORS[token.text.lower()], dtype=np.float64)
                    score = float((vector - baseline) @ row / n)
                words.append(WordScore(token.text, token.start, token.end, score, kind))
            result.append(words)
        return result


class LinearModel:
    """f(X) = X Aᵀ as a ``textig.models.Scorer``: the protocol, implemented directly."""

    labels = LABELS

    def __init__(self, identity: str = "fake@1", dim: int = 3) -> None:
        self.identity, self.dim = identity, dim

    def check_features(self, embedder_identity: str | None, dim: int) -> None:
        if embedder_identity != self.identity or dim != self.dim:
            raise TextigError(
                f"model was trained with {self.identity} ({self.dim}-d), not "
                f"{embedder_identity} ({dim}-d)"
            )

    def __call__(self, X) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ A.T

    def describe(self) -> dict:
        return {"class": "LinearModel"}
