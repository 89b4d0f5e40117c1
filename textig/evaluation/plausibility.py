"""Plausibility: when a predicted label's name occurs in the caption, is that word ranked high?

spaCy's lemmatiser needs lookup tables that are not available offline (spacy-lookups-data),
so a caption word matches a label by a small documented rule
(``textig.evaluation.words.word_forms``): the word itself, lowercased, or one of its singular
candidates (irregular plurals such as men → man, "-ies" → "-y", "-es" after s/x/z/ch/sh
dropped, a final "-s" dropped). Hyphenated labels (e.g. "tee-shirt")
span several tokens and are never matched. The rank is taken among the caption's content words
(see ``textig.evaluation.words``); several occurrences count once, by their best rank. Ties go
against the label word: rank = 1 + the number of other content words scoring at least as high.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from embeddings.base import WordScore
from textig.evaluation.words import content_words, word_forms

TOP = 3


def matches_label(word: str, label: str) -> bool:
    """Whether a caption word names the label (itself or a plural of it)."""
    return label.lower() in word_forms(word)


def label_word_rank(words: Sequence[WordScore], label: str) -> tuple[int, int] | None:
    """(best rank of a content word naming ``label``, number of ranked candidates), or None.

    Candidates are the label word (once) and every other content word; rank 1 = highest score.
    """
    candidates = content_words(words)
    named = [w for w in candidates if matches_label(w.text, label)]
    if not named:
        return None
    best = max(w.score for w in named)
    others = [w for w in candidates if not matches_label(w.text, label)]
    return 1 + sum(w.score >= best for w in others), 1 + len(others)


@dataclass(frozen=True)
class PlausibilityRecord:
    """Ranks of a predicted label's own word in one caption, per back-projection method."""

    caption_id: str
    label: str
    ranks: dict[str, int]
    n_candidates: int


def caption_plausibility(
    caption_id: str, labels: Sequence[str], word_scores: dict[str, Sequence[Sequence[WordScore]]]
) -> list[PlausibilityRecord]:
    """Records for the labels (explained in order) whose name occurs in the caption."""
    records = []
    for i, label in enumerate(labels):
        found = {m: label_word_rank(rows[i], label) for m, rows in word_scores.items()}
        if all(f is not None for f in found.values()) and found:
            n_candidates = next(iter(found.values()))[1]
            ranks = {m: f[0] for m, f in found.items()}
            records.append(PlausibilityRecord(caption_id, label, ranks, n_candidates))
    return records


def top_share(records: Sequence[PlausibilityRecord], method: str, top: int = TOP) -> float | None:
    """Share of records whose label word ranks within ``top`` by ``method``; None if no records."""
    if not records:
        return None
    return sum(r.ranks[method] <= top for r in records) / len(records)


def random_top_share(records: Sequence[PlausibilityRecord], top: int = TOP) -> float | None:
    """Expected share within ``top`` if the words were ranked in a uniformly random order."""
    if not records:
        return None
    return float(sum(min(top, r.n_candidates) / r.n_candidates for r in records) / len(records))
