"""Aggregate per-(caption, label) evaluation results into the corpus comparison tables.

Everything here is plain arithmetic over recorded results (no model, no embedder), so the
tables can be checked on hand-made records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from textig.evaluation.faithfulness import RANDOM, LabelFaithfulness
from textig.evaluation.plausibility import (
    TOP,
    PlausibilityRecord,
    random_top_share,
    top_share,
)

COMPLETENESS_TOLERANCE = 0.05
DEFAULT, ORIGINAL = "default", "original"
MEASURES = ("comprehensiveness", "sufficiency")
GROUPS = ("words", "percent")
BAR_COMPREHENSIVENESS_RATIO = 2.0
BAR_PLAUSIBILITY_SHARE = 0.70


@dataclass(frozen=True)
class PairResult:
    """One explained (caption, predicted label) of one embedder."""

    caption_id: str
    label: str
    score: float
    true: bool
    completeness_error: float | None
    faithfulness: LabelFaithfulness
    raw_completeness_error: float | None = None  # before the estimator's rescaling


@dataclass
class EmbedderRun:
    """Everything measured for one embedder; ``methods`` names its default/original methods."""

    name: str
    identity: str
    methods: dict[str, str]
    precision: dict[str, float]
    pairs: list[PairResult] = field(default_factory=list)
    plausibility: list[PlausibilityRecord] = field(default_factory=list)
    predicted: dict[str, list[str]] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    seconds_per_caption: float = 0.0


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def completeness_stats(errors: Sequence[float | None]) -> dict[str, float | int | None]:
    """Share of errors within 5% and their median; undefined errors (F(x) = F(x')) counted."""
    defined = [e for e in errors if e is not None and math.isfinite(e)]
    return {
        "n": len(defined),
        "n_undefined": len(errors) - len(defined),
        "share_within_5pct": _mean([e <= COMPLETENESS_TOLERANCE for e in defined]),
        "median": float(np.median(defined)) if defined else None,
    }


def faithfulness_table(pairs: Sequence[PairResult]) -> dict[str, dict[str, float | None]]:
    """Mean AOPC per method (default, original, random), measure and step group."""
    present = pairs[0].faithfulness.curves if pairs else {}
    methods = [m for m in (DEFAULT, ORIGINAL, RANDOM) if m in present]
    return {
        method: {
            f"{measure}_{group}": _mean(
                [p.faithfulness.curves[method].aopc(measure, group) for p in pairs]
            )
            for measure in MEASURES
            for group in GROUPS
        }
        for method in methods
    }


def comprehensiveness_ratio(table: dict[str, dict[str, float | None]], group: str) -> float | None:
    """Default-method comprehensiveness AOPC over the random order's (the bar is ≥ 2)."""
    key = f"comprehensiveness_{group}"
    default, random = table.get(DEFAULT, {}).get(key), table.get(RANDOM, {}).get(key)
    if default is None or not random:
        return None
    return default / random


def plausibility_table(records: Sequence[PlausibilityRecord]) -> dict[str, float | int | None]:
    """Pairs whose label word occurs, and the share ranked in the top 3 per method."""
    medians = {
        f"median_rank_{m}": float(np.median([r.ranks[m] for r in records])) if records else None
        for m in (DEFAULT, ORIGINAL)
    }
    return {
        "n_pairs": len(records),
        f"top{TOP}_{DEFAULT}": top_share(records, DEFAULT),
        f"top{TOP}_{ORIGINAL}": top_share(records, ORIGINAL),
        f"top{TOP}_{RANDOM}": random_top_share(records),
        **medians,
    }


def label_breakdown(runs: Sequence[EmbedderRun], truth: dict[str, set[str]]) -> list[dict]:
    """Per label, where the embedders' top-k predictions differ on the same captions.

    Counts captions where only one embedder predicts the label (and whether that was right),
    with each embedder's mean default comprehensiveness for the label; most disputed first.
    """
    if len(runs) != 2:
        return []
    first, second = runs
    comp = {run.name: _label_comprehensiveness(run) for run in runs}
    rows: dict[str, dict] = {}
    for caption_id, labels_a in first.predicted.items():
        set_a, set_b = set(labels_a), set(second.predicted.get(caption_id, []))
        for label in set_a | set_b:
            row = rows.setdefault(label, _empty_row(label, runs))
            owner = "both" if label in set_a and label in set_b else None
            owner = owner or (first.name if label in set_a else second.name)
            row["counts"][owner] += 1
            if owner != "both":
                row["correct"][owner] += label in truth.get(caption_id, set())
                row["captions"].append(caption_id)
    for label, row in rows.items():
        row["comprehensiveness"] = {run.name: comp[run.name].get(label) for run in runs}
        row["disputed"] = row["counts"][first.name] + row["counts"][second.name]
    disputed = [row for row in rows.values() if row["disputed"]]
    return sorted(disputed, key=lambda r: (-r["disputed"], r["label"]))


def _empty_row(label: str, runs: Sequence[EmbedderRun]) -> dict:
    names = [run.name for run in runs]
    return {
        "label": label,
        "counts": {"both": 0, **dict.fromkeys(names, 0)},
        "correct": dict.fromkeys(names, 0),
        "captions": [],
    }


def _label_comprehensiveness(run: EmbedderRun) -> dict[str, float]:
    """Mean default comprehensiveness AOPC (word steps) per label."""
    per_label: dict[str, list[float]] = {}
    for pair in run.pairs:
        value = pair.faithfulness.curves[DEFAULT].aopc("comprehensiveness", "words")
        per_label.setdefault(pair.label, []).append(value)
    return {label: float(np.mean(values)) for label, values in per_label.items()}


def embedder_summary(run: EmbedderRun) -> dict:
    """The JSON-ready summary of one embedder, with its bar checks."""
    faithfulness = faithfulness_table(run.pairs)
    ratios = {g: comprehensiveness_ratio(faithfulness, g) for g in GROUPS}
    plausibility = plausibility_table(run.plausibility)
    share = plausibility[f"top{TOP}_{DEFAULT}"]
    return {
        "identity": run.identity,
        "methods": run.methods,
        "precision": run.precision,
        "n_pairs": len(run.pairs),
        "completeness": completeness_stats([p.completeness_error for p in run.pairs]),
        # the estimator's error before its rescaling (exact IG: the same figure)
        "raw_completeness": completeness_stats([p.raw_completeness_error for p in run.pairs]),
        "faithfulness": faithfulness,
        "comprehensiveness_ratio": ratios,
        "plausibility": plausibility,
        "seconds_per_caption": run.seconds_per_caption,
        "bars": {
            "comprehensiveness_2x_random": ratios["words"] is not None
            and ratios["words"] >= BAR_COMPREHENSIVENESS_RATIO,
            "plausibility_top3_70pct": share is not None and share >= BAR_PLAUSIBILITY_SHARE,
        },
    }
