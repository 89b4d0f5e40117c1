"""The explanation of one caption as plain data: what a report shows and the JSON schema.

``Explainer`` (``textig.explain``) produces these; ``textig.report`` renders them. Keeping the
schema apart from the computation lets readers of saved reports depend on it alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from embeddings.base import WordScore


@dataclass(frozen=True)
class LabelExplanation:
    """One explained label: its scores, feature attributions and word scores."""

    label: str
    label_id: int
    score: float
    baseline_score: float
    true: bool | None  # None when the caption's true labels are unknown
    predicted_rank: int  # 1 = highest-scoring label for this caption (ties: lower id first)
    completeness_error: float
    raw_completeness_error: float | None  # before the estimator's completeness rescaling
    attribution_sum: float
    word_sum: float
    word_gap: float | None  # |sum words - sum features| / |sum features|; None if that sum ~ 0
    features: list[tuple[int, float]]  # top features by |IG|, [index, value]
    gradient_x_input: list[tuple[int, float]]  # top features by |g(x) * (x - x')|
    ig_gxi_cosine: float | None
    words: list[WordScore]
    # the training items behind the score (models with neighbours): [{index, weight,
    # caption_id, text, labels}], heaviest first; their weights add up to the score
    evidence: list[dict[str, Any]] | None = None
    # exact IG: the path jumps that changed this label, [{alpha, delta, entering, leaving}]
    events: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Explanation:
    """Everything a report shows about one caption; ``to_json`` is the documented schema."""

    caption: str
    caption_id: str | None
    embedder: dict[str, Any]
    model: dict[str, Any]
    baseline: dict[str, Any]
    settings: dict[str, Any]
    labels: list[LabelExplanation]
    predicted: list[dict[str, Any]]  # top predicted labels [{label, label_id, score}]
    true_labels: list[str] | None
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Jupyter shows the HTML report itself."""
        from textig.report.render import notebook_html, render_explanation

        return notebook_html(render_explanation(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists, floats stay floats)."""
        data = asdict(self)
        for label in data["labels"]:
            label["features"] = [[int(i), float(v)] for i, v in label["features"]]
            label["gradient_x_input"] = [[int(i), float(v)] for i, v in label["gradient_x_input"]]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """The explanation as JSON text (UTF-8 safe, no NaN)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
