"""Corpus statistics: what a user checks before training (sizes, label density, oddities).

Empty captions and captions shared between train and test are listed by id because both
distort results silently: the first cannot be embedded, the second inflates test scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textig.data.model import SPLITS, Caption, Dataset


@dataclass(frozen=True)
class Summary:
    """min / mean / max of a per-caption count."""

    min: int
    mean: float
    max: int

    @classmethod
    def of(cls, values: list[int]) -> Summary:
        if not values:
            return cls(0, 0.0, 0)
        return cls(min(values), float(np.mean(values)), max(values))

    def __str__(self) -> str:
        return f"{self.min} / {self.mean:.2f} / {self.max}"


@dataclass(frozen=True)
class SplitStats:
    """Statistics of one split."""

    captions: int
    labels_per_caption: Summary
    words_per_caption: Summary
    empty: list[str]
    labels_unused: int  # labels of the vocabulary with no caption in this split


@dataclass(frozen=True)
class DatasetStats:
    """Statistics of a dataset; ``duplicates`` are test ids whose caption equals a train caption.

    ``duplicate_texts`` counts the distinct texts among them (a series of similar photos often
    repeats one description).
    """

    name: str
    labels: int
    splits: dict[str, SplitStats]
    duplicates: list[str]
    duplicate_texts: int


def _split_stats(captions: list[Caption], n_labels: int) -> SplitStats:
    used = {i for c in captions for i in c.label_ids}
    return SplitStats(
        captions=len(captions),
        labels_per_caption=Summary.of([len(c.label_ids) for c in captions]),
        words_per_caption=Summary.of([len(c.text.split()) for c in captions]),
        empty=[c.id for c in captions if not c.text.strip()],
        labels_unused=n_labels - len(used),
    )


def dataset_stats(dataset: Dataset) -> DatasetStats:
    """Compute the statistics of every split, and the train/test caption duplicates."""
    train_texts = {c.text for c in dataset.train if c.text.strip()}
    duplicates = [c for c in dataset.test if c.text in train_texts]
    return DatasetStats(
        name=dataset.name,
        labels=len(dataset.vocabulary),
        splits={s: _split_stats(dataset.split(s), len(dataset.vocabulary)) for s in SPLITS},
        duplicates=[c.id for c in duplicates],
        duplicate_texts=len({c.text for c in duplicates}),
    )


def _listed(ids: list[str], limit: int = 10) -> str:
    if not ids:
        return "none"
    more = f", ... ({len(ids) - limit} more)" if len(ids) > limit else ""
    return f"{len(ids)}: {', '.join(ids[:limit])}{more}"


def format_stats(stats: DatasetStats) -> str:
    """Human-readable report, one fact a line."""
    lines = [f"dataset {stats.name}: {stats.labels} labels"]
    for split, s in stats.splits.items():
        lines += [
            f"{split}: {s.captions} captions",
            f"  labels per caption (min / mean / max): {s.labels_per_caption}",
            f"  words per caption (min / mean / max):  {s.words_per_caption}",
            f"  empty captions: {_listed(s.empty)}",
            f"  labels with no caption in {split}: {s.labels_unused}",
        ]
    lines.append(
        f"test captions equal to a train caption ({stats.duplicate_texts} distinct texts): "
        f"{_listed(stats.duplicates)}"
    )
    return "\n".join(lines)
