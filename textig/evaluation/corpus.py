"""Corpus comparison of embedders: train-or-load, P@k, explain n test captions, evaluate, write.

For each embedder: the model is trained (or loaded from the cache) on the train split, P@1/3/5
are measured on the whole test split, and the same n test captions (a seeded sample of the
captions every embedder can encode) are explained for their top-5 predicted labels. Each
explanation is scored for faithfulness (default vs original back-projection vs random order)
and plausibility, and written as a per-caption report; ``summary.json`` and ``summary.html``
gather the tables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from embeddings.base import Embedder, get_embedder
from textig.data import Caption, Dataset
from textig.errors import TextigError
from textig.evaluation.explained import ExplainedCaption, explain_caption
from textig.evaluation.faithfulness import RANDOM, caption_faithfulness
from textig.evaluation.plausibility import caption_plausibility
from textig.evaluation.render import (
    COMPARE_DIR,
    render_summary,
    write_caption_comparison,
    write_caption_report,
)
from textig.evaluation.summary import (
    DEFAULT,
    ORIGINAL,
    EmbedderRun,
    PairResult,
    embedder_summary,
    label_breakdown,
)
from textig.explain import Explainer
from textig.explanation import Explanation
from textig.features import embed_split
from textig.report import write_unit

TOP_K = 5
PRECISION_KS = (1, 3, 5)
ORIGINAL_METHODS = {"glove": "cosine", "sbert": "jacobian_norm"}


def choose_captions(
    captions: Sequence[Caption], n: int, embedders: Sequence[Embedder], seed: int
) -> list[Caption]:
    """A seeded sample of n captions that every embedder can encode, in sample order."""
    if n < 1:
        raise TextigError(f"--n must be at least 1, got {n}")
    order = np.random.default_rng(seed).permutation(len(captions))
    usable = (
        captions[i]
        for i in order
        if all(e.unusable_reason(captions[i].text) is None for e in embedders)
    )
    chosen = [c for _, c in zip(range(n), usable, strict=False)]
    if len(chosen) < n:
        raise TextigError(f"only {len(chosen)} test captions can be explained, {n} requested")
    return chosen


def original_method(embedder: Embedder) -> str:
    """The original reports' back-projection for this embedder (cosine / Jacobian norm)."""
    method = ORIGINAL_METHODS.get(embedder.name)
    if method is None or method not in embedder.back_projection_methods:
        known = ", ".join(embedder.back_projection_methods)
        raise TextigError(f"no original back-projection known for {embedder.name} ({known})")
    return method


def precision_at_k(scores: np.ndarray, truth, ks: Sequence[int] = PRECISION_KS) -> dict:
    """P@k of score rows against a 0/1 label matrix (ties broken by lower label id)."""
    from textig.annexml.metrics import precision_at_k as metric
    from textig.ranking import rank_labels

    ranked = rank_labels(scores, max(ks))  # the metric takes ranked label ids, not scores
    return {f"P@{k}": float(metric(ranked, truth, k)) for k in ks}


@dataclass
class _Evaluated:
    """One embedder's run and its explanations (kept for the side-by-side reports)."""

    run: EmbedderRun
    explanations: dict[str, Explanation]
    figures: dict[str, dict[str, str]]


def _explainers(embedder: Embedder, model, dataset: Dataset, original: str):
    """The default explainer and its twin using the original back-projection."""
    train = embed_split(embedder, dataset, "train", warn_skipped=False)
    make = partial(Explainer, embedder, model, training_features=train, labels=dataset.vocabulary)
    return make(), make(word_method=original)


def evaluate_embedder(
    embedder: Embedder,
    model,
    dataset: Dataset,
    captions: Sequence[Caption],
    out_dir: Path,
    *,
    seed: int,
    progress: bool = True,
    name: str | None = None,
) -> _Evaluated:
    """Explain and evaluate the chosen captions with one embedder and its model.

    ``name``: the run's name in the summary and its reports' folder (default: the embedder's).
    """
    name = name or embedder.name
    test = embed_split(embedder, dataset, "test")
    test_scores = np.zeros((len(test.ids), len(dataset.vocabulary)))
    test_scores[test.valid] = model.decision_function(test.X[test.valid])  # others: no label
    methods = {DEFAULT: embedder.back_projection_methods[0], ORIGINAL: original_method(embedder)}
    run = EmbedderRun(
        name,
        embedder.identity,
        methods,
        precision_at_k(test_scores, dataset.label_matrix("test")),
    )
    explainer, twin = _explainers(embedder, model, dataset, methods[ORIGINAL])
    scorer = explainer.scorer
    done = _Evaluated(run, {}, {})
    started = time.perf_counter()
    bar = tqdm(captions, desc=f"evaluate {name}", unit="caption", disable=not progress)
    for caption in bar:
        explained = explain_caption(explainer, twin, caption, TOP_K)
        done.figures[caption.id] = _record(run, embedder, scorer, caption, explained, seed)
        done.explanations[caption.id] = explained.explanation
        report = write_caption_report(explained.explanation, out_dir / name, caption.id)
        run.reports[caption.id] = f"{name}/{report}"
    run.seconds_per_caption = (time.perf_counter() - started) / max(len(captions), 1)
    return done


def _record(
    run: EmbedderRun, embedder: Embedder, scorer, caption: Caption, e: ExplainedCaption, seed: int
) -> dict[str, str]:
    """Add one caption's faithfulness and plausibility to the run; returns its figures."""
    words = {DEFAULT: e.default_words, ORIGINAL: e.original_words}
    curves = caption_faithfulness(
        embedder, scorer, caption.text, e.label_ids, words, empty_features=e.baseline, seed=seed
    )
    truth = set(caption.labels)
    explained = e.explanation.labels
    for label, curve in zip(explained, curves, strict=True):
        run.pairs.append(
            PairResult(
                caption.id,
                label.label,
                label.score,
                label.label in truth,
                label.completeness_error,
                curve,
                label.raw_completeness_error,
            )
        )
    run.plausibility.extend(caption_plausibility(caption.id, e.labels, words))
    run.predicted[caption.id] = list(e.labels)
    return {
        label: " / ".join(
            f"{curve.curves[m].aopc('comprehensiveness', 'words'):.3g}"
            for m in (DEFAULT, ORIGINAL, RANDOM)
        )
        for label, curve in zip(e.labels, curves, strict=True)
    }


def compare_corpus(
    dataset: Dataset,
    *,
    n: int | None = None,
    embedders: Sequence[str] = ("glove", "sbert"),
    out_dir: str | Path,
    seed: int = 0,
    progress: bool = True,
    models: Mapping[str, Any] | None = None,
    captions: Sequence[Caption] | None = None,
) -> dict:
    """Compare embedders on n test captions; writes summary.json/.html and per-caption reports.

    The one implementation behind `textig compare --data DIR --n N` and
    `bench/evaluate_corpus.py`. ``models``: a model per embedder spec (others are trained or
    loaded from the cache); ``captions``: explain these instead of a seeded sample of n.
    Returns the summary dict (also ``out_dir/summary.json``).
    """
    from textig.training import train_or_load

    out = Path(out_dir)
    loaded = [get_embedder(spec) for spec in embedders]
    if captions is None:
        if n is None:
            raise TextigError("give n (a seeded sample of test captions) or the captions")
        captions = choose_captions(dataset.test, n, loaded, seed)
    given = dict(models or {})
    names = [e.name for e in loaded]
    if len(set(names)) < len(names):  # e.g. glove vs glove:/my/vectors.txt
        names = [f"{name}-{i + 1}" for i, name in enumerate(names)]
    done = [
        evaluate_embedder(
            embedder,
            given[spec] if spec in given else train_or_load(embedder, dataset),
            dataset,
            captions,
            out,
            seed=seed,
            progress=progress,
            name=name,
        )
        for spec, embedder, name in zip(embedders, loaded, names, strict=True)
    ]
    comparisons = _write_comparisons(done, captions, out) if len(done) == 2 else {}
    summary = build_summary(dataset, captions, [d.run for d in done], seed, comparisons)
    files = {"summary.json": json.dumps(summary, indent=2) + "\n"}
    write_unit(out, files | {"summary.html": render_summary(summary)})
    return summary


def _write_comparisons(
    done: Sequence[_Evaluated], captions: Sequence[Caption], out: Path
) -> dict[str, str]:
    """Side-by-side report per caption with each embedder's per-label comprehensiveness."""
    left, right = done
    header = "comprehensiveness AOPC (default / original / random)"
    return {
        caption.id: write_caption_comparison(
            left.explanations[caption.id],
            right.explanations[caption.id],
            out,
            caption.id,
            {f"{d.run.name}: {header}": d.figures[caption.id] for d in done},
        )
        for caption in captions
    }


def build_summary(
    dataset: Dataset,
    captions: Sequence[Caption],
    runs: Sequence[EmbedderRun],
    seed: int,
    comparisons: dict[str, str] | None = None,
) -> dict:
    """The JSON-ready comparison: per-embedder tables, disputed labels, report links."""
    truth = {c.id: set(c.labels) for c in captions}
    return {
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path),
            "checksum": dataset.checksum(),
        },
        "n_captions": len(captions),
        "seed": seed,
        "top_k": TOP_K,
        "captions": [c.id for c in captions],
        "embedders": {run.name: embedder_summary(run) for run in runs},
        "disagreements": label_breakdown(runs, truth),
        "reports": {
            c.id: {
                **{run.name: run.reports[c.id] for run in runs},
                **({COMPARE_DIR: comparisons[c.id]} if comparisons else {}),
            }
            for c in captions
        },
    }
