"""Evaluation of explanations: faithfulness, plausibility and the corpus comparison of embedders."""

from textig.evaluation.corpus import compare_corpus
from textig.evaluation.faithfulness import (
    DeletionCurve,
    LabelFaithfulness,
    caption_faithfulness,
)
from textig.evaluation.plausibility import (
    PlausibilityRecord,
    caption_plausibility,
    label_word_rank,
    matches_label,
)

__all__ = [
    "DeletionCurve",
    "LabelFaithfulness",
    "PlausibilityRecord",
    "caption_faithfulness",
    "caption_plausibility",
    "compare_corpus",
    "label_word_rank",
    "matches_label",
]
