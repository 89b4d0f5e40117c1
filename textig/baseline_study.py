"""Baseline study: one caption explained from several baselines, side by side.

IG answers "why F(x) rather than F(x')", so the baseline is part of the question. A study
explains the same labels of the same caption with one explainer per baseline (same embedder,
model and settings) so a reader can see which word scores survive a change of reference point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textig.errors import TextigError
from textig.explain import Explainer, shared_labels
from textig.explanation import Explanation


@dataclass(frozen=True)
class BaselineStudy:
    """Explanations of one caption, one per baseline, all for the same labels."""

    caption: str
    explanations: list[Explanation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the caption and each baseline's explanation."""
        return {
            "caption": self.caption,
            "baselines": [e.baseline["kind"] for e in self.explanations],
            "explanations": [e.to_dict() for e in self.explanations],
        }


def baseline_study(
    explainer: Explainer,
    text: str,
    baselines: Sequence[str | Any],
    *,
    labels: str | Sequence[str | int] = "top5",
    true_labels: Sequence[str] | None = None,
    caption_id: str | None = None,
) -> BaselineStudy:
    """Explain ``text`` from each of ``baselines`` (specs as ``Explainer`` takes them).

    topN labels are chosen once from the caption's own scores, so every baseline explains the
    same labels; at least two distinct baselines are needed for a study.
    """
    specs = list(dict.fromkeys(b for b in baselines if isinstance(b, str)))
    specs += [b for b in baselines if not isinstance(b, str)]
    if len(specs) < 2:
        raise TextigError("a baseline study needs at least two different baselines")
    explainers = [explainer.with_baseline(spec) for spec in specs]
    chosen = shared_labels(explainers[:1], text, labels)
    return BaselineStudy(
        caption=text,
        explanations=[
            e.explain(text, labels=chosen, true_labels=true_labels, caption_id=caption_id)
            for e in explainers
        ],
    )
