"""Which words an evaluation edits or ranks, in which order, and the edited caption texts.

Faithfulness and plausibility work on a caption's *content words*: scored words (kind "word")
that contain a letter and are not English stopwords. The same definition holds for every
embedder, so GloVe and SBERT are compared on the same candidate words (SBERT also scores
stopwords and punctuation; GloVe gives them 0 by construction).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from embeddings.base import WordScore
from embeddings.stopwords import english_stopwords


def is_content_word(word: WordScore) -> bool:
    """A scored word with a letter in it that is not a stopword."""
    return (
        word.kind == "word"
        and any(ch.isalpha() for ch in word.text)
        and word.text.lower() not in english_stopwords()
    )


def content_words(words: Sequence[WordScore]) -> list[WordScore]:
    """The content words of one label's word scores, in caption order."""
    return [w for w in words if is_content_word(w)]


def by_score(words: Sequence[WordScore]) -> list[WordScore]:
    """Highest score first; equal scores keep caption order, so the order is deterministic."""
    return sorted(words, key=lambda w: -w.score)


def random_order(words: Sequence[WordScore], text: str, seed: int, draw: int) -> list[WordScore]:
    """Permutation number ``draw`` seeded by (seed, caption): reproducible, blind to scores."""
    rng = np.random.default_rng([seed, draw, zlib.crc32(text.encode("utf-8"))])
    return [words[i] for i in rng.permutation(len(words))]


def deletion_sizes(n_content: int, counts: Sequence[int], fractions: Sequence[float]) -> list[int]:
    """Words to remove per step: fixed counts, then ceil(fraction · n) (at least 1), capped at n."""
    sizes = [*counts, *(max(1, int(np.ceil(f * n_content - 1e-9))) for f in fractions)]
    return [min(size, n_content) for size in sizes]


def without_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The caption with the given character spans cut out (a space keeps neighbours apart)."""
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        pieces.append(text[cursor:start])
        cursor = end
    pieces.append(text[cursor:])
    return " ".join(p.strip() for p in pieces if p.strip())


def only_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Only the given spans of the caption, in caption order, separated by spaces."""
    return " ".join(text[start:end] for start, end in sorted(spans))
