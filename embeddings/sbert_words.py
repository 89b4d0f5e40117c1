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
from embeddings.quadrature import gauss_kronrod, gauss_legendre

if TYPE_CHECKING:
    from embeddings.sbert import SbertEmbedder, TokenInputs

_MAX_BATCH = 64  # captions per forward pass of "occlusion"
_MAX_HEADS = 32  # labels per batched backward pass (bounds memory to ~heads x points x T x h)
_TOKEN_BUDGET = 1024  # path points x pieces per forward/backward pass: bounds the memory
_BASELINE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Quadrature:
    """Adaptive Gauss-Kronrod rule of the "ig" back-projection: ``steps`` Gauss-Legendre
    points on the whole path to start. Where some label's words miss the sum rule on a stretch
    by more than its share of ``tolerance`` (relative to the label's total), the stretch gets
    the Kronrod extension for that label (steps + 1 more points, the first ones kept); where
    it still misses, the stretch is halved and each half starts again, until the label has
    used ``max_steps`` points.

    Why: with the model's own label heads the integrand turns several times along the path;
    12 Gauss points meet the rule for some labels, and the 25 Gauss-Kronrod points (exact to
    degree 37) for most of the others at the price of 13 more, where halving cost 24.
    The tolerance (0.9 %) keeps the raw word gap under the 1 % bar with room for the float32
    difference between the path's passes and ``encode``.
    """

    steps: int = 12
    max_steps: int = 256
    tolerance: float = 0.009


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

    def integrands(
        self, embedder: SbertEmbedder, alphas: np.ndarray, heads: torch.Tensor
    ) -> torch.Tensor:
        """delta_t·∂(heads_l·s)/∂e_t at each point b, label l and piece t: (B, L, T), float64."""
        out, step = [], self.chunk()
        for first in range(0, len(alphas), step):
            points = self.points(alphas[first : first + step])
            grads = _label_gradients(embedder, points, self.mask, heads)
            out.append(torch.einsum("lbth,th->blt", grads.double(), self.delta.double()))
        return torch.cat(out)


@dataclass
class _Panel:
    """A stretch [a, b] of the path, the labels still integrated on it and their scores.

    ``gauss`` holds the integrands at the stretch's Gauss points (steps, k, T) once computed;
    a ``kronrod`` panel adds the extension's points to them.
    """

    a: float
    b: float
    s_a: torch.Tensor  # s at path position a, float64 (dim,)
    s_b: torch.Tensor
    labels: torch.Tensor  # (k,) label rows refined here
    gauss: torch.Tensor | None = None  # (steps, k, T): integrands at the Gauss points
    kronrod: bool = False
    scores: torch.Tensor | None = None  # (k, T)

    def extended(self, keep: torch.Tensor) -> _Panel:
        """The same stretch for the labels ``keep`` (bool, k), to get the Kronrod points."""
        assert self.gauss is not None
        labels, gauss = self.labels[keep], self.gauss[:, keep]
        return _Panel(self.a, self.b, self.s_a, self.s_b, labels, gauss, kronrod=True)

    def halves(self, s_middle: torch.Tensor, keep: torch.Tensor) -> tuple[_Panel, _Panel]:
        """Both halves of the stretch for the labels ``keep`` (bool, k), from Gauss again."""
        middle = (self.a + self.b) / 2
        return (
            _Panel(self.a, middle, self.s_a, s_middle, self.labels[keep]),
            _Panel(middle, self.b, s_middle, self.s_b, self.labels[keep]),
        )

    def cost(self, steps: int) -> int:
        """Path points per label of this panel's integration."""
        return steps + 1 if self.kronrod else steps


def _settle(
    panels: list[_Panel],
    heads64: torch.Tensor,
    total: torch.Tensor,
    quadrature: Quadrature,
    used: torch.Tensor,
    scores: torch.Tensor,
    slack: torch.Tensor,
) -> list[tuple[_Panel, torch.Tensor]]:
    """Add into ``scores`` the scores of each panel's labels that meet the sum rule, and return
    each panel with the labels (bool, k) that missed it and have points left to refine.

    A label meets it on a stretch when its gap is within the stretch's share of the tolerance,
    or within the share plus ``slack``: what the label's stretches accepted so far left unused
    of their shares (spent as it is lent). So the accepted gaps of a label never add up to more
    than its whole tolerance, and one rough stretch does not force refining its neighbours. A
    label with no points left is accepted as it is.
    """
    steps, excesses = quadrature.steps, []
    for panel in panels:
        assert panel.scores is not None
        used[panel.labels] += panel.cost(steps)
        local = heads64[panel.labels] @ (panel.s_b - panel.s_a)
        gap = (panel.scores.sum(dim=1) - local).abs()
        share = (panel.b - panel.a) * quadrature.tolerance * total[panel.labels].abs()
        excesses.append(gap - share)
        slack.index_add_(0, panel.labels, (share - gap).clamp(min=0))
    refine = []
    for panel, excess in zip(panels, excesses, strict=True):
        assert panel.scores is not None
        over = excess > 0
        lent = over & (excess <= slack[panel.labels])
        slack[panel.labels[lent]] -= excess[lent]
        following = 2 * steps if panel.kronrod else steps + 1  # halves, or the extension
        miss = over & ~lent & (used[panel.labels] + following <= quadrature.max_steps)
        scores[panel.labels[~miss]] += panel.scores[~miss]
        if bool(miss.any()):
            refine.append((panel, miss))
    return refine


def _weights(weights: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(weights, dtype=torch.float64, device=like.device)


def _integrate_panels(
    embedder: SbertEmbedder, path: _Path, panels: list[_Panel], heads: torch.Tensor, steps: int
) -> None:
    """Fill each panel's scores: the ``steps``-point Gauss-Legendre rule (its integrands are
    kept), or for a ``kronrod`` panel the Kronrod extension on top of them. Panels at the same
    stage that refine the same labels share passes; a pass back-propagates only those labels'
    heads (a backward pass per label and point is the whole cost)."""
    nodes, weights = gauss_legendre(steps)
    added, gauss_weights, added_weights = gauss_kronrod(steps)
    groups: dict[tuple[bool, tuple[int, ...]], list[_Panel]] = {}
    for panel in panels:
        groups.setdefault((panel.kronrod, tuple(panel.labels.tolist())), []).append(panel)
    for (kronrod, _), members in groups.items():
        local = added if kronrod else nodes
        alphas = np.concatenate([p.a + (p.b - p.a) * local for p in members])
        values = path.integrands(embedder, alphas, heads[members[0].labels]).split(len(local))
        for panel, value in zip(members, values, strict=True):
            if kronrod:
                assert panel.gauss is not None
                rule = torch.einsum("b,blt->lt", _weights(gauss_weights, value), panel.gauss)
                rule += torch.einsum("b,blt->lt", _weights(added_weights, value), value)
            else:
                panel.gauss = value
                rule = torch.einsum("b,blt->lt", _weights(weights, value), value)
            panel.scores = (panel.b - panel.a) * rule


def _integrated_piece_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor, quadrature: Quadrature
) -> tuple[np.ndarray, np.ndarray]:
    """Per-piece IG scores (L, T) of each head, and the sentence embedding s(E') they start
    from (the neutral baseline).

    The sum rule holds on every stretch [a, b] of the path: Σ_t score_t = head·(s(b) - s(a)).
    So each stretch is checked against it (two forward passes, no gradients) and where a
    label's gap exceeds the stretch's share (b - a)·tolerance·|head·(s(E) - s(E'))| the
    stretch is integrated again for that label, by the Kronrod extension and then in halves.
    The gaps of the stretches kept add up to at most the tolerance, unless a label runs out
    of points (``quadrature.max_steps``); the gap comes from sharp turns of the transformer
    along the path, which the refinement finds.
    """
    start = embedder.masked_embeds(inputs)
    path = _Path(start, inputs.inputs_embeds - start, inputs.attention_mask)
    ends = path.sentences(embedder, np.array([0.0, 1.0]))
    heads64 = heads.double()
    total = heads64 @ (ends[1] - ends[0])  # (L,)
    scores = torch.zeros((len(heads), len(start)), dtype=torch.float64, device=start.device)
    used = torch.zeros(len(heads), dtype=torch.long, device=start.device)
    slack = torch.zeros(len(heads), dtype=torch.float64, device=start.device)
    pending = [_Panel(0.0, 1.0, ends[0], ends[1], torch.arange(len(heads), device=start.device))]
    while pending:
        _integrate_panels(embedder, path, pending, heads, quadrature.steps)
        refine = _settle(pending, heads64, total, quadrature, used, scores, slack)
        split = [(panel, miss) for panel, miss in refine if panel.kronrod]
        centres = np.array([(panel.a + panel.b) / 2 for panel, _ in split])
        middles = path.sentences(embedder, centres) if split else []
        pending = [panel.extended(miss) for panel, miss in refine if not panel.kronrod]
        for (panel, miss), s_middle in zip(split, middles, strict=True):
            pending += panel.halves(s_middle, miss)
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
