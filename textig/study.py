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
from textig.explanation import Explanation, LabelExplanation


@dataclass(frozen=True)
class BaselineStudy:
    """Explanations of one caption, one per baseline, all for the same labels."""

    caption: str
    explanations: list[Explanation]

    def _repr_html_(self) -> str:
        """Jupyter shows the HTML report itself."""
        from textig.report.render import notebook_html, render_baseline_study

        return notebook_html(render_baseline_study(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the caption and each baseline's explanation."""
        return {
            "caption": self.caption,
            "baselines": [e.baseline["kind"] for e in self.explanations],
            "sign_flips": self.sign_flips(),
            "explanations": [e.to_dict() for e in self.explanations],
        }

    def sign_flips(self) -> dict[str, list[str]]:
        """Per label, the words whose score is positive from one baseline and negative from
        another: the words whose role the choice of baseline decides."""
        first = self.explanations[0]
        return {
            label.label: [
                self.caption[a:b]
                for a, b in sorted(sign_flips([e.labels[row] for e in self.explanations]))
            ]
            for row, label in enumerate(first.labels)
        }


def sign_flips(labels: Sequence[LabelExplanation]) -> set[tuple[int, int]]:
    """(start, end) spans of the content words scored above zero for one of ``labels`` (the
    same label from different baselines) and below zero for another."""
    signs: dict[tuple[int, int], set[bool]] = {}
    for label in labels:
        for w in label.words:
            if w.kind == "word" and w.score != 0:
                signs.setdefault((w.start, w.end), set()).add(w.score > 0)
    return {span for span, seen in signs.items() if len(seen) == 2}


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
