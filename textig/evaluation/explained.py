"""One caption explained under both back-projections an evaluation compares.

``Explanation`` keeps only the word scores of its own back-projection, so the original
reports' variant (GloVe cosine, SBERT Jacobian norm) comes from a second ``Explainer`` built
with the same settings but that ``word_method``, asked for exactly the same labels. The
feature-level IG is deterministic, so both share their features; this is checked, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.base import WordScore
from textig.data import Caption
from textig.errors import TextigError
from textig.explain import Explainer
from textig.explanation import Explanation


@dataclass(frozen=True)
class ExplainedCaption:
    """The default explanation plus the original back-projection's word scores."""

    explanation: Explanation
    original_words: list[list[WordScore]]
    baseline: np.ndarray

    @property
    def label_ids(self) -> list[int]:
        return [label.label_id for label in self.explanation.labels]

    @property
    def labels(self) -> list[str]:
        return [label.label for label in self.explanation.labels]

    @property
    def default_words(self) -> list[list[WordScore]]:
        return [label.words for label in self.explanation.labels]


def explain_caption(
    explainer: Explainer, original: Explainer, caption: Caption, top_k: int
) -> ExplainedCaption:
    """Explain the top-k predicted labels of a caption with both back-projections."""
    main = explainer.explain(
        caption.text, labels=f"top{top_k}", true_labels=caption.labels, caption_id=caption.id
    )
    ids = [label.label_id for label in main.labels]
    twin = original.explain(caption.text, labels=ids, caption_id=caption.id)
    if [label.features for label in twin.labels] != [label.features for label in main.labels]:
        raise TextigError(f"caption {caption.id}: feature attributions differ between runs")
    return ExplainedCaption(
        main, [label.words for label in twin.labels], explainer.baseline_for(caption.text)
    )
