"""SBERT back-projection: feature-level gradients carried onto word pieces, merged into words.

"ig" (default, signed and complete): Integrated Gradients over the pieces' input embeddings of
the linear head ḡ_l·s(E), along the straight path to E from E', the caption with its content
words' pieces replaced by [MASK] (stopwords, punctuation and specials kept: they score 0).
Piece scores sum to ḡ_l·(s(E) - s(E')) up to quadrature error (checked, and the grid refined
where it misses), so with the neutral baseline x' = s(E') they sum to the feature attribution
total ḡ_l·(x - x'). Under another baseline one more entry, kind "frame", carries the exact
share ḡ_l·(s(E') - x') of the masked caption itself, so words and frame sum to that total.
"jacobian_norm" (the original report's variant): ‖∂(ḡ_l·s)/∂e_t‖₂ at E, unsigned, no sum rule.
"occlusion": ḡ_l·(s(E) - s(E with word w's pieces masked)), what deleting the word does to the
linearised score; signed, one forward pass per word, no sum rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from embeddings.base import FRAME_TEXT, WordScore
from embeddings.quadrature import gauss_legendre

if TYPE_CHECKING:
    from embeddings.sbert import SbertEmbedder, TokenInputs

_MAX_BATCH = 64  # captions per forward pass of "occlusion"
_MAX_HEADS = 32  # labels per batched backward pass (bounds memory to ~heads x points x T x h)
_TOKEN_BUDGET = 1024  # path points x pieces per forward/backward pass: bounds the memory
_BASELINE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Quadrature:
    """Adaptive Gauss-Legendre rule of the "ig" back-projection: ``steps`` points on the whole
    path to start; a stretch of the path where some label's words miss the sum rule by more
    than its share of ``tolerance`` (relative to the label's total) is halved and each half
    integrated again with ``refine_steps`` points, until each label has used ``max_steps``.

    Why 24 then 12: with the model's own label heads the integrand turns several times along
    the path, and 12 points on the whole path missed the rule for almost every label (12 +
    2 x 12 points each); 24 points meet it for most labels at once, and the halves of the few
    that miss need no more than 12 each (bench/sbert_words.py: about 1.5x fewer evaluations
    per caption, median)."""

    steps: int = 24
    refine_steps: int = 12
    max_steps: int = 256
    tolerance: float = 0.005


DEFAULT_QUADRATURE = Quadrature()


def _label_gradients(
    embedder: SbertEmbedder, points: torch.Tensor, mask: torch.Tensor, heads: torch.Tensor
) -> torch.Tensor:
    """∂(heads_l·s(points_b))/∂points_b for every label l and point b: (L, B, T, h).

    One forward pass; the label heads go through batched (vmapped) backward passes.
    """
    points = points.detach().requires_grad_(True)
    sentence = embedder.sentence_embedding_from_inputs_embeds(points, mask.expand(len(points), -1))
    chunks = []
    for first in range(0, len(heads), _MAX_HEADS):
        chunk = heads[first : first + _MAX_HEADS]
        outputs = chunk[:, None, :].expand(-1, len(points), -1)
        (grads,) = torch.autograd.grad(
            sentence, points, grad_outputs=outputs, is_grads_batched=True, retain_graph=True
        )
        chunks.append(grads)
    return torch.cat(chunks)


@dataclass(frozen=True)
class _Path:
    """The straight path start + t·delta of one caption, with the pieces' attention mask."""

    start: torch.Tensor  # (T, h)
    delta: torch.Tensor  # (T, h)
    mask: torch.Tensor  # (1, T)

    def points(self, alphas: np.ndarray) -> torch.Tensor:
        alpha = torch.as_tensor(alphas, dtype=self.start.dtype, device=self.start.device)
        return self.start + alpha[:, None, None] * self.delta

    def chunk(self) -> int:
        """Path points per pass within the token budget (at least one)."""
        return max(1, _TOKEN_BUDGET // self.start.shape[0])

    def sentences(self, embedder: SbertEmbedder, alphas: np.ndarray) -> torch.Tensor:
        """s(start + t·delta) for each t, float64 (n, dim); no gradients."""
        out = []
        with torch.inference_mode():
            for first in range(0, len(alphas), self.chunk()):
                points = self.points(alphas[first : first + self.chunk()])
                mask = self.mask.expand(len(points), -1)
                out.append(embedder.sentence_embedding_from_inputs_embeds(points, mask))
        return torch.cat(out).double()

    def weighted_scores(
        self, embedder: SbertEmbedder, alphas: np.ndarray, weights: np.ndarray, heads: torch.Tensor
    ) -> torch.Tensor:
        """weight_b · delta_t·∂(heads_l·s)/∂e_t per point b, label l and piece t: (B, L, T)."""
        out, step = [], self.chunk()
        for first in range(0, len(alphas), step):
            stop = first + step
            grads = _label_gradients(embedder, self.points(alphas[first:stop]), self.mask, heads)
            weight = torch.as_tensor(weights[first:stop], dtype=torch.float64, device=grads.device)
            piece = torch.einsum("lbth,th->blt", grads.double(), self.delta.double())
            out.append(weight[:, None, None] * piece)
        return torch.cat(out)


@dataclass
class _Panel:
    """A stretch [a, b] of the path, the labels still integrated on it and their scores."""

    a: float
    b: float
    s_a: torch.Tensor  # s at path position a, float64 (dim,)
    s_b: torch.Tensor
    labels: torch.Tensor  # (k,) label rows refined here
    scores: torch.Tensor | None = None  # (k, T)

    def halves(self, s_middle: torch.Tensor) -> tuple[_Panel, _Panel]:
        middle = (self.a + self.b) / 2
        return (
            _Panel(self.a, middle, self.s_a, s_middle, self.labels),
            _Panel(middle, self.b, s_middle, self.s_b, self.labels),
        )


def _settle(
    panels: list[_Panel],
    heads64: torch.Tensor,
    total: torch.Tensor,
    quadrature: Quadrature,
    steps: int,
    used: torch.Tensor,
    scores: torch.Tensor,
    slack: torch.Tensor,
) -> list[_Panel]:
    """Add into ``scores`` the scores of each panel's labels that meet the sum rule, and return
    the panels of the others, to be halved.

    A label meets it on a stretch when its gap is within the stretch's share of the tolerance,
    or within the share plus ``slack``: what the label's stretches accepted so far left unused
    of their shares (spent as it is lent). So the accepted gaps of a label never add up to more
    than its whole tolerance, and one rough stretch does not force refining its neighbours. A
    label with no points left is accepted as it is.
    """
    excesses = []
    for panel in panels:
        assert panel.scores is not None
        used[panel.labels] += steps
        local = heads64[panel.labels] @ (panel.s_b - panel.s_a)
        gap = (panel.scores.sum(dim=1) - local).abs()
        share = (panel.b - panel.a) * quadrature.tolerance * total[panel.labels].abs()
        excesses.append(gap - share)
        slack.index_add_(0, panel.labels, (share - gap).clamp(min=0))
    split = []
    for panel, excess in zip(panels, excesses, strict=True):
        assert panel.scores is not None
        over = excess > 0
        lent = over & (excess <= slack[panel.labels])
        slack[panel.labels[lent]] -= excess[lent]
        room = used[panel.labels] + 2 * quadrature.refine_steps <= quadrature.max_steps
        miss = over & ~lent & room
        scores[panel.labels[~miss]] += panel.scores[~miss]
        if bool(miss.any()):
            split.append(_Panel(panel.a, panel.b, panel.s_a, panel.s_b, panel.labels[miss]))
    return split


def _integrate_panels(
    embedder: SbertEmbedder, path: _Path, panels: list[_Panel], heads: torch.Tensor, steps: int
) -> None:
    """Fill each panel's scores with a ``steps``-point Gauss-Legendre rule. Panels that refine
    the same labels share passes; a pass back-propagates only those labels' heads (a backward
    pass per label and point is the whole cost, so no label is evaluated where it converged)."""
    nodes, weights = gauss_legendre(steps)
    groups: dict[tuple[int, ...], list[_Panel]] = {}
    for panel in panels:
        groups.setdefault(tuple(panel.labels.tolist()), []).append(panel)
    for members in groups.values():
        alphas = np.concatenate([p.a + (p.b - p.a) * nodes for p in members])
        scaled = np.concatenate([(p.b - p.a) * weights for p in members])
        per_point = path.weighted_scores(embedder, alphas, scaled, heads[members[0].labels])
        for i, panel in enumerate(members):
            panel.scores = per_point[i * steps : (i + 1) * steps].sum(dim=0)


def _integrated_piece_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor, quadrature: Quadrature
) -> tuple[np.ndarray, np.ndarray]:
    """Per-piece IG scores (L, T) of each head, and the sentence embedding s(E') they start
    from (the neutral baseline).

    The sum rule holds on every stretch [a, b] of the path: Σ_t score_t = head·(s(b) - s(a)).
    So each stretch is checked against it (two forward passes, no gradients) and a stretch
    whose gap exceeds its share (b - a)·tolerance·|head·(s(E) - s(E'))| is halved and
    integrated again for the labels that missed. The gaps of the stretches kept add up to at
    most the tolerance, unless a label runs out of points (``quadrature.max_steps``); the gap
    comes from sharp turns of the transformer along the path, which the halving finds.
    """
    start = embedder.masked_embeds(inputs)
    path = _Path(start, inputs.inputs_embeds - start, inputs.attention_mask)
    ends = path.sentences(embedder, np.array([0.0, 1.0]))
    heads64 = heads.double()
    total = heads64 @ (ends[1] - ends[0])  # (L,)
    scores = torch.zeros((len(heads), len(start)), dtype=torch.float64, device=start.device)
    used = torch.zeros(len(heads), dtype=torch.long, device=start.device)
    steps = quadrature.steps
    slack = torch.zeros(len(heads), dtype=torch.float64, device=start.device)
    pending = [_Panel(0.0, 1.0, ends[0], ends[1], torch.arange(len(heads), device=start.device))]
    while pending:
        _integrate_panels(embedder, path, pending, heads, steps)
        split = _settle(pending, heads64, total, quadrature, steps, used, scores, slack)
        if not split:
            break
        steps = quadrature.refine_steps
        middles = path.sentences(embedder, np.array([(p.a + p.b) / 2 for p in split]))
        pending = [
            half for panel, s_m in zip(split, middles, strict=True) for half in panel.halves(s_m)
        ]
    return scores.cpu().numpy(), ends[0].cpu().numpy()


def _jacobian_norm_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor
) -> np.ndarray:
    """‖∂(heads_l·s(E))/∂e_t‖₂ per label and piece: (L, T)."""
    grads = _label_gradients(embedder, inputs.inputs_embeds[None], inputs.attention_mask, heads)
    return grads[:, 0].double().norm(dim=-1).cpu().numpy()


def _occlusion_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor
) -> np.ndarray:
    """heads·(s(E) - s(E with one word's masked pieces replaced by [MASK])) per word, placed on
    the word's first piece: (L, T). Words the baseline keeps (stopwords) are not occluded."""
    spans = word_spans(inputs.offsets, inputs.word_ids, inputs.special).values()
    occluded = [[p for p in ps if bool(inputs.masked[p])] for ps, _, _ in spans]
    occluded = [ps for ps in occluded if ps]
    target = inputs.inputs_embeds
    batch, mask = target[None].repeat(len(occluded) + 1, 1, 1), embedder.mask_embedding()
    for row, positions in enumerate(occluded, start=1):
        batch[row, positions] = mask
    with torch.no_grad():
        sentences = torch.cat(
            [
                embedder.sentence_embedding_from_inputs_embeds(
                    chunk, inputs.attention_mask.expand(len(chunk), -1)
                )
                for chunk in batch.split(_MAX_BATCH)
            ]
        ).double()
    drops = heads.double() @ (sentences[0] - sentences[1:]).T  # (L, words)
    scores = torch.zeros((len(heads), len(target)), dtype=torch.float64, device=target.device)
    for column, positions in enumerate(occluded):
        scores[:, positions[0]] = drops[:, column]
    return scores.cpu().numpy()


def _frame_scores(
    text: str, gbar: np.ndarray, neutral: np.ndarray, baseline: np.ndarray
) -> list[WordScore]:
    """The sentence frame's share when the feature baseline x' is not s(E'): one entry per label,
    ḡ_l·(s(E') - x'), exact (no quadrature).

    The "ig" words integrate from E' (the caption with its content words masked), so they add up
    to ḡ·(x - s(E')); what separates the masked caption itself (its stopwords, punctuation and
    length) from the baseline belongs to no single word. Listed as kind "frame" with an empty
    span at the caption's end, so the words and the frame add up to ḡ·(x - x').
    """
    gap = np.asarray(neutral, dtype=np.float64) - baseline
    if float(np.abs(gap).max()) <= _BASELINE_TOLERANCE:
        return []
    offsets = np.asarray(gbar, dtype=np.float64) @ gap
    return [WordScore(FRAME_TEXT, len(text), len(text), float(o), "frame") for o in offsets]


def word_spans(
    offsets: list[tuple[int, int]], word_ids: list[int | None], special: torch.Tensor
) -> dict[int, tuple[list[int], int, int]]:
    """Each tokenizer word's piece positions and character span (specials belong to none)."""
    positions: dict[int, list[int]] = {}
    for position, word in enumerate(word_ids):
        if word is not None and not bool(special[position]):
            positions.setdefault(word, []).append(position)
    return {
        word: (ps, min(offsets[p][0] for p in ps), max(offsets[p][1] for p in ps))
        for word, ps in positions.items()
    }


def merge_pieces(text: str, inputs: TokenInputs, scores: np.ndarray) -> list[list[WordScore]]:
    """Sum piece scores (L, T) into the tokenizer's words, spans on the original text.

    Words the baseline leaves unmasked (stopwords) are not explained: "ig" gives them exactly 0
    anyway, and the Jacobian norm leaves them out as GloVe does. Words past the model's window
    follow, kind "truncated", score 0: the model never saw them.
    """
    words = []
    spans = word_spans(inputs.offsets, inputs.word_ids, inputs.special)
    for positions, start, end in spans.values():
        masked = bool(inputs.masked[positions].any())
        kind = "stopword" if not masked and any(ch.isalpha() for ch in text[start:end]) else "word"
        words.append((text[start:end], start, end, positions, kind))
    unseen = [WordScore(text[s:e], s, e, 0.0, "truncated") for s, e in inputs.unseen]
    return [
        [
            WordScore(w, s, e, 0.0 if kind == "stopword" else float(row[pos].sum()), kind)
            for w, s, e, pos, kind in words
        ]
        + unseen
        for row in scores
    ]


def word_attributions(
    embedder: SbertEmbedder,
    text: str,
    gbar: np.ndarray,
    baseline: np.ndarray,
    method: str,
    *,
    quadrature: Quadrature,
) -> list[list[WordScore]]:
    """Word scores of each row of ``gbar`` (L, dim) by ``method`` ("ig", "jacobian_norm" or
    "occlusion")."""
    inputs = embedder.token_inputs(text)
    embeds = inputs.inputs_embeds  # on the embedder's device: every tensor here follows it
    heads = torch.as_tensor(gbar, dtype=embeds.dtype, device=embeds.device)
    frame: list[WordScore] = []
    if method == "ig":
        scores, neutral = _integrated_piece_scores(embedder, inputs, heads, quadrature)
        frame = _frame_scores(text, gbar, neutral, baseline)
    elif method == "occlusion":
        scores = _occlusion_scores(embedder, inputs, heads)
    else:
        scores = _jacobian_norm_scores(embedder, inputs, heads)
    words = merge_pieces(text, inputs, scores)
    return [[*row, f] for row, f in zip(words, frame, strict=True)] if frame else words
