"""Faithfulness of word explanations: does removing the top words remove the label's score?

For one caption and label, the content words are ordered (by an explanation's word scores, or
at random) and, for each step size k, the first k words are

- deleted from the caption (their character spans cut out): *comprehensiveness* is the drop
  f_l(x) - f_l(x without them), high when the explanation found what drives the score;
- kept alone: *sufficiency* is the drop f_l(x) - f_l(only them), low when they suffice.

Every edited caption is re-embedded and re-scored; AOPC is the mean drop over the steps of a
group (k ∈ {1, 2, 3} words, or {10, 20, 50}% of the content words, ceil, at least 1, capped at
the number of content words). An edited caption the embedder cannot encode (nothing usable
left) scores as the model at ``empty_features`` — the explanation's baseline, i.e. the input
"with all information removed" that Integrated Gradients starts from. All edited captions of a
caption go through the embedder in one call and through the model in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.base import Embedder, WordScore
from textig.errors import TextigError
from textig.evaluation.words import (
    by_score,
    content_words,
    deletion_sizes,
    only_spans,
    random_order,
    without_spans,
)

WORD_COUNTS = (1, 2, 3)
WORD_FRACTIONS = (0.1, 0.2, 0.5)
N_RANDOM = 5
RANDOM = "random"

Scorer = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DeletionCurve:
    """Score drops of one label per step (the fixed counts first, then the fractions)."""

    sizes: tuple[int, ...]
    comprehensiveness: tuple[float, ...]
    sufficiency: tuple[float, ...]
    n_counts: int = len(WORD_COUNTS)

    def aopc(self, measure: str, group: str) -> float:
        """Mean drop of ``measure`` ("comprehensiveness"/"sufficiency") over "words"/"percent"."""
        drops = getattr(self, measure)
        chosen = drops[: self.n_counts] if group == "words" else drops[self.n_counts :]
        return float(np.mean(chosen))


@dataclass(frozen=True)
class LabelFaithfulness:
    """Deletion curves of one (caption, label) for every word order compared."""

    label_id: int
    full_score: float
    empty_score: float
    n_content: int
    curves: dict[str, DeletionCurve]


@dataclass
class _Batch:
    """Distinct caption texts to score, each encoded once."""

    texts: dict[str, int]

    def row(self, text: str) -> int:
        return self.texts.setdefault(text, len(self.texts))


def _orders(
    word_scores: Mapping[str, Sequence[Sequence[WordScore]]],
    label: int,
    random: list[list[WordScore]],
) -> dict[str, list[list[WordScore]]]:
    """Word orders per method for one label: one order per method, N_RANDOM for "random"."""
    orders = {m: [by_score(content_words(rows[label]))] for m, rows in word_scores.items()}
    orders[RANDOM] = random
    return orders


def _edit_rows(batch: _Batch, text: str, order: list[WordScore], sizes: list[int]) -> list:
    """Batch rows of (deleted, kept-only) texts for each step size."""
    rows = []
    for k in sizes:
        spans = [(w.start, w.end) for w in order[:k]]
        rows.append((batch.row(without_spans(text, spans)), batch.row(only_spans(text, spans))))
    return rows


def _score_texts(
    embedder: Embedder, scorer: Scorer, texts: list[str], empty_features: np.ndarray
) -> np.ndarray:
    """Model scores (n + 1, L): every text, then the empty-caption row, in one call each."""
    features = np.tile(np.asarray(empty_features, dtype=np.float32), (len(texts) + 1, 1))
    usable = [i for i, t in enumerate(texts) if embedder.unusable_reason(t) is None]
    if usable:
        features[usable] = embedder.encode([texts[i] for i in usable])
    return np.asarray(scorer(features), dtype=np.float64)


def caption_faithfulness(
    embedder: Embedder,
    scorer: Scorer,
    text: str,
    label_ids: Sequence[int],
    word_scores: Mapping[str, Sequence[Sequence[WordScore]]],
    *,
    empty_features: np.ndarray,
    seed: int = 0,
) -> list[LabelFaithfulness]:
    """Deletion curves for each label of one caption, for each method and a random order.

    ``word_scores[method][i]`` holds the word scores explaining ``label_ids[i]``; the random
    order (mean over ``N_RANDOM`` permutations) uses the content words of the first method.
    """
    if not word_scores or RANDOM in word_scores:
        raise TextigError("faithfulness needs at least one named method other than 'random'")
    if embedder.unusable_reason(text) is not None:
        raise TextigError(f"cannot evaluate caption {text!r}: {embedder.unusable_reason(text)}")
    first = content_words(next(iter(word_scores.values()))[0]) if label_ids else []
    random = [random_order(first, text, seed, draw) for draw in range(N_RANDOM)]
    batch = _Batch({text: 0})
    plans = []
    for i, label in enumerate(label_ids):
        orders = _orders(word_scores, i, random)
        n_content = len(orders[next(iter(word_scores))][0])
        sizes = deletion_sizes(n_content, WORD_COUNTS, WORD_FRACTIONS)
        rows = {m: [_edit_rows(batch, text, o, sizes) for o in os] for m, os in orders.items()}
        plans.append((label, n_content, sizes, rows))
    scores = _score_texts(embedder, scorer, list(batch.texts), empty_features)
    return [_label_result(scores, label, n, sizes, rows) for label, n, sizes, rows in plans]


def _label_result(
    scores: np.ndarray, label: int, n_content: int, sizes: list[int], rows: dict[str, list]
) -> LabelFaithfulness:
    """Turn scored rows into per-method curves (random: mean drop over its permutations)."""
    column = scores[:, label]
    full = column[0]
    curves = {}
    for method, per_order in rows.items():
        index = np.asarray(per_order)  # (orders, steps, 2): deleted row, kept-only row
        drops = (full - column[index]).mean(axis=0)
        curves[method] = DeletionCurve(
            tuple(sizes), tuple(map(float, drops[:, 0])), tuple(map(float, drops[:, 1]))
        )
    return LabelFaithfulness(int(label), float(full), float(column[-1]), n_content, curves)
