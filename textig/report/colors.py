"""The colour scale of word scores and the caption cut into coloured segments.

Blue means the word pushes the label's score up, red pulls it down; the opacity is |score|
divided by one scale for the whole report (the largest |word score| of any label shown), so
the same colour means the same number of score units in every label and every panel: a label
that moved by 6 votes cannot look as strong as one that moved by 150. Each word's score is also
printed beside it, so faint labels stay readable.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from embeddings.base import WordScore

POSITIVE = (33, 102, 172)
NEGATIVE = (178, 24, 43)
_MAX_ALPHA = 0.85


@dataclass(frozen=True)
class Segment:
    """A run of the original caption: a scored word, or the text between words."""

    text: str
    word: WordScore | None = None
    style: str = ""
    flip: bool = False  # the word's sign changes with the baseline (baseline study)

    @property
    def shown(self) -> str:
        """The score printed beside the word (empty for unscored and zero-score words)."""
        if self.word is None or self.word.score == 0:
            return ""
        return f"{self.word.score:+.3g}"

    @property
    def title(self) -> str:
        """Hover text: the exact score and the word's kind."""
        if self.word is None:
            return ""
        suffix = "" if self.word.kind == "word" else f" ({self.word.kind})"
        return f"{self.word.score:+.6g}{suffix}"


def scale_of(words: Sequence[WordScore]) -> float:
    """A colour scale: the largest |word score| (0 when every score is 0); the sentence frame
    is no word and is never coloured, so it does not set the scale."""
    return max((abs(w.score) for w in words if w.kind != "frame"), default=0.0)


def score_color(score: float, scale: float) -> str:
    """CSS rgba() for a score: blue positive, red negative, alpha by |score| / scale."""
    if scale <= 0 or score == 0:
        return "transparent"
    red, green, blue = POSITIVE if score > 0 else NEGATIVE
    alpha = _MAX_ALPHA * min(abs(score) / scale, 1.0)
    return f"rgba({red}, {green}, {blue}, {alpha:.3f})"


def _word_style(word: WordScore, scale: float) -> str:
    background = score_color(word.score, scale)
    strong = scale > 0 and abs(word.score) / scale > 0.55
    return f"background-color: {background};" + (" color: #fff;" if strong else "")


def caption_segments(
    text: str, words: Sequence[WordScore], scale: float | None = None
) -> list[Segment]:
    """The whole caption as segments; word spans index ``text`` (overlapping spans are skipped).

    ``scale``: the report's colour scale (default: these words' own).
    """
    scale = scale_of(words) if scale is None else scale
    segments: list[Segment] = []
    cursor = 0
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        if word.start < cursor or word.end > len(text) or word.end <= word.start:
            continue
        if word.start > cursor:
            segments.append(Segment(text[cursor : word.start]))
        segments.append(Segment(text[word.start : word.end], word, _word_style(word, scale)))
        cursor = word.end
    if cursor < len(text):
        segments.append(Segment(text[cursor:]))
    return segments


def mark_flips(segments: Sequence[Segment], spans: Collection[tuple[int, int]]) -> list[Segment]:
    """The segments with the words at ``spans`` (start, end) marked as sign flips."""
    return [
        replace(s, flip=True) if s.word and (s.word.start, s.word.end) in spans else s
        for s in segments
    ]
