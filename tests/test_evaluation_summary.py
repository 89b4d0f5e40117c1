"""Corpus tables computed from hand-made per-pair results."""

from __future__ import annotations

import math

import pytest

from textig.evaluation.faithfulness import DeletionCurve, LabelFaithfulness
from textig.evaluation.plausibility import PlausibilityRecord
from textig.evaluation.summary import (
    EmbedderRun,
    PairResult,
    completeness_stats,
    comprehensiveness_ratio,
    embedder_summary,
    faithfulness_table,
    label_breakdown,
)


def curve(comp: float, suff: float) -> DeletionCurve:
    return DeletionCurve((1, 2, 3, 1, 1, 2), (comp,) * 3 + (0.0,) * 3, (suff,) * 6)


def pair(caption: str, label: str, default: float, error: float | None = 0.01) -> PairResult:
    curves = {"default": curve(default, 1.0), "original": curve(2.0, 3.0), "random": curve(1.0, 5)}
    return PairResult(caption, label, 10.0, True, error, LabelFaithfulness(0, 10, 0, 4, curves))


def test_completeness_stats_count_undefined_errors_apart() -> None:
    stats = completeness_stats([0.01, 0.2, None, math.nan, 0.05])
    assert stats == {
        "n": 3,
        "n_undefined": 2,
        "share_within_5pct": pytest.approx(2 / 3),
        "median": 0.05,
    }


def test_faithfulness_table_and_ratio() -> None:
    table = faithfulness_table([pair("a", "x", 4.0), pair("b", "y", 6.0)])
    assert table["default"]["comprehensiveness_words"] == 5.0
    assert table["default"]["comprehensiveness_percent"] == 0.0
    assert table["original"]["sufficiency_words"] == 3.0
    assert comprehensiveness_ratio(table, "words") == 5.0
    assert comprehensiveness_ratio(table, "percent") is None  # random removed nothing


def test_label_breakdown_lists_disputed_labels_with_correctness() -> None:
    glove = EmbedderRun("glove", "g", {}, {}, predicted={"a": ["sky", "tree"], "b": ["sky"]})
    sbert = EmbedderRun("sbert", "s", {}, {}, predicted={"a": ["sky", "palm"], "b": ["tree"]})
    glove.pairs = [pair("a", "tree", 4.0), pair("a", "sky", 1.0)]
    rows = label_breakdown([glove, sbert], {"a": {"palm", "sky"}, "b": {"tree"}})
    assert [r["label"] for r in rows] == ["tree", "palm", "sky"]  # "sky": agreed on "a" only
    tree = rows[0]
    assert tree["counts"] == {"both": 0, "glove": 1, "sbert": 1}
    assert tree["correct"] == {"glove": 0, "sbert": 1}
    assert tree["captions"] == ["a", "b"]
    assert tree["comprehensiveness"] == {"glove": 4.0, "sbert": None}


def test_embedder_summary_checks_the_bars() -> None:
    run = EmbedderRun("glove", "g", {"default": "additive"}, {"P@1": 0.5})
    run.pairs = [pair("a", "x", 3.0), pair("b", "y", 1.0, error=None)]
    run.plausibility = [
        PlausibilityRecord("a", "x", {"default": r, "original": 9}, 9) for r in (1, 2, 3, 5)
    ]
    summary = embedder_summary(run)
    assert summary["comprehensiveness_ratio"]["words"] == 2.0
    assert summary["bars"] == {"comprehensiveness_2x_random": True, "plausibility_top3_70pct": True}
    assert summary["plausibility"]["top3_original"] == 0.0
    assert summary["completeness"]["n_undefined"] == 1
