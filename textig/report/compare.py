"""What the compare report shows: two explanations of one caption and how far they agree.

Agreement per shared label is Spearman's rank correlation of the two embedders' scores over
the words both score as content words, matched by their character span in the caption.
Corpus-level figures (faithfulness tables) plug in through ``Comparison.corpus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textig.errors import TextigError
from textig.explanation import Explanation, LabelExplanation

MIN_SHARED_WORDS = 3
RELIABLE_WORDS = 8  # below this many shared words a rank correlation says little


@dataclass(frozen=True)
class LabelAgreement:
    """One label explained under both embedders."""

    label: str
    spearman: float | None  # None with fewer than MIN_SHARED_WORDS words or constant scores
    n_shared_words: int


@dataclass(frozen=True)
class Comparison:
    """Two explanations of the same caption (same labels where possible) side by side."""

    left: Explanation
    right: Explanation
    agreement: list[LabelAgreement]
    corpus: dict[str, Any] = field(default_factory=dict)  # hook for corpus-level tables

    def _repr_html_(self) -> str:
        """Jupyter shows the HTML report itself."""
        from textig.report.render import notebook_html, render_comparison

        return notebook_html(render_comparison(self))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: both explanations and the agreement per label."""
        return {
            "caption": self.left.caption,
            "left": self.left.to_dict(),
            "right": self.right.to_dict(),
            "agreement": [vars(a) for a in self.agreement],
            "corpus": self.corpus,
        }


def word_agreement(a: LabelExplanation, b: LabelExplanation) -> LabelAgreement:
    """Spearman correlation of word scores over the content words both sides score."""
    left = {(w.start, w.end): w.score for w in a.words if w.kind == "word"}
    right = {(w.start, w.end): w.score for w in b.words if w.kind == "word"}
    shared = sorted(left.keys() & right.keys())
    rho = None
    if len(shared) >= MIN_SHARED_WORDS:
        x = np.array([left[s] for s in shared])
        y = np.array([right[s] for s in shared])
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            rho = float(_spearman(x, y))
    return LabelAgreement(a.label, rho, len(shared))


def compare(left: Explanation, right: Explanation, corpus: dict | None = None) -> Comparison:
    """Pair the labels both explanations cover, in the left one's order."""
    if left.caption != right.caption:
        raise TextigError("can only compare explanations of the same caption")
    others = {label.label: label for label in right.labels}
    agreement = [
        word_agreement(label, others[label.label]) for label in left.labels if label.label in others
    ]
    return Comparison(left, right, agreement, dict(corpus or {}))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho; scipy.stats is imported here because importing it costs a cold start
    about a second, and only comparisons need it."""
    from scipy.stats import spearmanr

    return spearmanr(x, y).statistic
