"""The per-batch work of a corpus run and the Parquet schema of its rows.

``CaptionExplainer`` is the one piece of code both engines run: the local engine calls it on
batches in this process, the Ray engine hands the class to ``Dataset.map_batches`` so each
actor builds it once (loading the embedder and the model) and calls it on many batches.

One row per (caption, explained label); a caption that cannot be explained (the embedder
cannot encode it, the model gives no label a positive score) is one row with ``label`` null
and ``error`` set, so that a resumed run does not try it again. Columns:

- caption_id, caption, split: the caption; label_rank: 1 = first explained label (the
  model's best), label, label_id, true (is it one of the caption's labels), predicted_rank.
- score, baseline_score: the model's score at the caption and at the IG baseline;
  attribution_sum, completeness_error, raw_completeness_error (before any rescaling),
  word_sum, word_gap (|word_sum - attribution_sum| / |attribution_sum|).
- feature_index, feature_value: the top features by |IG| (``top_features`` of them).
- word_text, word_start, word_end, word_kind, word_score: the caption's words (character
  spans) and their scores under the default back-projection; word_score_original: under the
  original reports' back-projection (GloVe cosine, SBERT Jacobian norm; null without
  evaluation).
- faithfulness_sizes, faithfulness_n_content, faithfulness_full_score,
  faithfulness_empty_score, and comprehensiveness_M / sufficiency_M for M in default,
  original, random: the deletion curves of ``textig.evaluation.faithfulness`` (null without
  evaluation).
- embedder (name), embedder_identity, model (sha256 of the model file), method (the IG
  estimator that ran), word_method, baseline (its kind), settings_hash, error,
  textig_version.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from textig import __version__
from textig.corpus.job import CorpusJob, build_explainers, resolved_settings, settings_hash
from textig.errors import TextigError

CURVE_METHODS = ("default", "original", "random")

_FLOATS = pa.list_(pa.float64())
SCHEMA = pa.schema(
    [
        ("caption_id", pa.string()),
        ("caption", pa.string()),
        ("split", pa.string()),
        ("label_rank", pa.int32()),
        ("label", pa.string()),
        ("label_id", pa.int32()),
        ("true", pa.bool_()),
        ("predicted_rank", pa.int32()),
        ("score", pa.float64()),
        ("baseline_score", pa.float64()),
        ("attribution_sum", pa.float64()),
        ("completeness_error", pa.float64()),
        ("raw_completeness_error", pa.float64()),
        ("word_sum", pa.float64()),
        ("word_gap", pa.float64()),
        ("feature_index", pa.list_(pa.int32())),
        ("feature_value", _FLOATS),
        ("word_text", pa.list_(pa.string())),
        ("word_start", pa.list_(pa.int32())),
        ("word_end", pa.list_(pa.int32())),
        ("word_kind", pa.list_(pa.string())),
        ("word_score", _FLOATS),
        ("word_score_original", _FLOATS),
        ("faithfulness_sizes", pa.list_(pa.int32())),
        ("faithfulness_n_content", pa.int32()),
        ("faithfulness_full_score", pa.float64()),
        ("faithfulness_empty_score", pa.float64()),
        *((f"{measure}_{m}", _FLOATS) for m in CURVE_METHODS
          for measure in ("comprehensiveness", "sufficiency")),
        ("embedder", pa.string()),
        ("embedder_identity", pa.string()),
        ("model", pa.string()),
        ("method", pa.string()),
        ("word_method", pa.string()),
        ("baseline", pa.string()),
        ("settings_hash", pa.string()),
        ("error", pa.string()),
        ("textig_version", pa.string()),
    ]
)  # fmt: skip
INPUT_SCHEMA = pa.schema(
    [("caption_id", pa.string()), ("caption", pa.string()), ("split", pa.string()),
     ("labels", pa.list_(pa.string()))]
)  # fmt: skip


@contextlib.contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """BLAS (threadpoolctl), torch and AnnexML's learner threads (``TEXTIG_THREADS``) use
    ``threads`` threads inside the block: a worker uses the CPU it was given, and sums come
    out bit for bit the same in every process that uses the same count."""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    env_before = os.environ.get("TEXTIG_THREADS")
    os.environ["TEXTIG_THREADS"] = str(threads)
    if torch:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        if torch:
            torch.set_num_threads(before)
        if env_before is None:
            os.environ.pop("TEXTIG_THREADS", None)
        else:
            os.environ["TEXTIG_THREADS"] = env_before


class CaptionExplainer:
    """Explains batches of captions into result rows; built once per worker.

    ``job``: ``CorpusJob.to_dict()``; ``expected_hash``: the driver's settings hash — a worker
    that sees other data or another model file (a cluster node with different files) refuses
    to run rather than write rows under the wrong hash. ``resolved`` holds what the hash
    covers.
    """

    def __init__(self, job: dict[str, Any], expected_hash: str | None = None) -> None:
        self.job = CorpusJob(**job)
        with limited_threads(self.job.threads):
            self.explainer, self.twin, dataset = build_explainers(self.job)
        self.resolved = resolved = resolved_settings(self.job, dataset, self.explainer, self.twin)
        self.hash = settings_hash(resolved)
        if expected_hash is not None and self.hash != expected_hash:
            raise TextigError(
                "this worker's data, model or embedder differ from the driver's (settings hash "
                f"{self.hash[:12]} vs {expected_hash[:12]}): give every worker the same files"
            )
        embedder = self.explainer.embedder
        self._fixed = {
            "embedder": embedder.name,
            "embedder_identity": embedder.identity,
            "model": resolved["model"],
            "word_method": self.explainer.settings.word_method,
            "settings_hash": self.hash,
            "textig_version": __version__,
        }

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Rows (``SCHEMA``) for a batch of captions (``INPUT_SCHEMA`` columns)."""
        rows: list[dict[str, Any]] = []
        with limited_threads(self.job.threads):
            for record in batch.select(INPUT_SCHEMA.names).to_pylist():
                rows.extend(self._caption_rows(record))
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    def _caption_rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        from textig.data import Caption

        caption = Caption(record["caption_id"], record["caption"], tuple(record["labels"]), ())
        head = {"caption_id": caption.id, "caption": caption.text, "split": record["split"]}
        reason = self.explainer.embedder.unusable_reason(caption.text)
        try:
            if reason is not None:
                raise TextigError(reason)
            labels = self._explain(caption)
        except TextigError as error:
            return [{**head, **self._fixed, "error": str(error)}]
        return [{**head, **self._fixed, **label} for label in labels]

    def _explain(self, caption: Any) -> list[dict[str, Any]]:
        """Per explained label: its columns (without the caption's and the run's)."""
        from textig.evaluation.explained import explain_caption
        from textig.evaluation.faithfulness import caption_faithfulness

        top = f"top{self.job.top_k}"
        if self.twin is None:
            explanation = self.explainer.explain(
                caption.text, labels=top, true_labels=caption.labels, caption_id=caption.id
            )
            return [_label_columns(explanation, i) for i in range(len(explanation.labels))]
        explained = explain_caption(self.explainer, self.twin, caption, self.job.top_k)
        words = {"default": explained.default_words, "original": explained.original_words}
        curves = caption_faithfulness(
            self.explainer.embedder, self.explainer.scorer, caption.text, explained.label_ids,
            words, empty_features=explained.baseline, seed=self.explainer.settings.seed,
        )  # fmt: skip
        explanation = explained.explanation
        return [
            {
                **_label_columns(explanation, i),
                "word_score_original": [w.score for w in explained.original_words[i]],
                **_curve_columns(curves[i]),
            }
            for i in range(len(explanation.labels))
        ]


def _label_columns(explanation: Any, i: int) -> dict[str, Any]:
    label = explanation.labels[i]
    return {
        "label_rank": i + 1,
        "label": label.label,
        "label_id": label.label_id,
        "true": label.true,
        "predicted_rank": label.predicted_rank,
        "score": label.score,
        "baseline_score": label.baseline_score,
        "attribution_sum": label.attribution_sum,
        "completeness_error": _finite(label.completeness_error),
        "raw_completeness_error": _finite(label.raw_completeness_error),
        "word_sum": label.word_sum,
        "word_gap": label.word_gap,
        "feature_index": [int(f) for f, _ in label.features],
        "feature_value": [float(v) for _, v in label.features],
        "word_text": [w.text for w in label.words],
        "word_start": [w.start for w in label.words],
        "word_end": [w.end for w in label.words],
        "word_kind": [w.kind for w in label.words],
        "word_score": [float(w.score) for w in label.words],
        "method": explanation.settings["estimator"],
        "baseline": explanation.baseline["kind"],
    }


def _curve_columns(result: Any) -> dict[str, Any]:
    """A ``LabelFaithfulness`` as columns."""
    columns: dict[str, Any] = {
        "faithfulness_n_content": result.n_content,
        "faithfulness_full_score": result.full_score,
        "faithfulness_empty_score": result.empty_score,
    }
    for method, curve in result.curves.items():
        columns["faithfulness_sizes"] = list(curve.sizes)
        columns[f"comprehensiveness_{method}"] = list(curve.comprehensiveness)
        columns[f"sufficiency_{method}"] = list(curve.sufficiency)
    return columns


def _finite(value: float | None) -> float | None:
    """NaN/inf (an undefined completeness error) is stored as null."""
    return value if value is not None and value == value and abs(value) != float("inf") else None
