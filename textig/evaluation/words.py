"""Which words an evaluation edits or ranks, in which order, and the edited caption texts.

Faithfulness and plausibility work on a caption's *content words*: scored words (kind "word")
that contain a letter and are not English stopwords. The same definition holds for every
embedder, so GloVe and SBERT are compared on the same candidate words (SBERT also scores
stopwords and punctuation; GloVe gives them 0 by construction).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

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


# Irregular plurals common in captions, and words whose final "-s" is not a plural ending.
_IRREGULAR = {
    "men": "man", "women": "woman", "children": "child", "feet": "foot", "teeth": "tooth",
    "mice": "mouse", "geese": "goose", "leaves": "leaf", "shelves": "shelf", "wolves": "wolf",
    "knives": "knife", "cacti": "cactus",
}  # fmt: skip
_NOT_PLURAL = frozenset({"news", "shorts", "goods"})


def word_forms(word: str) -> set[str]:
    """The lowercased word and its candidate singulars, by a small rule (spaCy's lemmatiser
    needs lookup tables we do not ship): irregular plurals (men → man), "-ies" → "-y", "-es"
    after s/x/z/ch/sh dropped, a final "-s" dropped (not after "ss", nor in news/shorts/goods).
    Candidates may not be words ("horses" → "hors"): callers match them against real words."""
    lower = word.lower()
    forms = {lower}
    if lower in _NOT_PLURAL:
        return forms
    if lower in _IRREGULAR:
        forms.add(_IRREGULAR[lower])
    if lower.endswith("ies") and len(lower) > 4:
        forms.add(lower[:-3] + "y")
    if lower.endswith(("ses", "xes", "zes", "ches", "shes")):
        forms.add(lower[:-2])
    if lower.endswith("s") and not lower.endswith("ss") and len(lower) > 3:
        forms.add(lower[:-1])
    return forms


def form_groups(words: Iterable[str]) -> dict[str, str]:
    """Lowercased word -> the form it is grouped under: its singular when that singular is
    itself among ``words`` (palms -> palm when both occur), else the word itself.

    Only forms that really occur are joined, so a candidate that is not a word never becomes a
    group; of several candidates that occur, the longest (least stripped) wins.
    """
    seen = {w.lower() for w in words}
    groups = {}
    for word in sorted(seen):
        singulars = [f for f in word_forms(word) if f != word and f in seen]
        groups[word] = max(singulars, key=lambda f: (len(f), f)) if singulars else word
    return groups


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
