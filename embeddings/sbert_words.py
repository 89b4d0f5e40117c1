"""SBERT back-projection: feature-level gradients carried onto word pieces, merged into words.

"ig" (default, signed and complete): Integrated Gradients over the pieces' input embeddings of
the linear head ḡ_l·s(E), along the straight path to E from E', the caption with its content
words' pieces replaced by [MASK] (stopwords, punctuation and specials kept: they score 0).
Piece scores sum to ḡ_l·(s(E) - s(E')) up to quadrature error (checked, and the grid refined
where it misses), so with the neutral baseline x' = s(E') they sum to the feature attribution
total ḡ_l·(x - x').
"jacobian_norm" (the original report's variant): ‖∂(ḡ_l·s)/∂e_t‖₂ at E, unsigned, no sum rule.
"occlusion": ḡ_l·(s(E) - s(E with word w's pieces masked)), what deleting the word does to the
linearised score; signed, one forward pass per word, no sum rule.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from embeddings.base import WordScore

if TYPE_CHECKING:
    from embeddings.sbert import SbertEmbedder, TokenInputs

_MAX_BATCH = 64  # path points per forward pass
_MAX_HEADS = 32  # labels per batched backward pass (bounds memory to ~heads x points x T x h)
_BASELINE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Quadrature:
    """Gauss-Legendre points of the "ig" back-projection: start with ``steps``, double for the
    labels whose words miss the sum rule by more than ``tolerance`` (relative), up to
    ``max_steps``."""

    steps: int = 32
    max_steps: int = 256
    tolerance: float = 0.002


DEFAULT_QUADRATURE = Quadrature()


def gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes in (0, 1) and weights summing to 1 for the integral of f over [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


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


def _piece_ig(
    embedder: SbertEmbedder,
    inputs: TokenInputs,
    start: torch.Tensor,
    heads: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """Per-piece IG scores (L, T) of each head with ``steps`` Gauss-Legendre points."""
    target = inputs.inputs_embeds
    delta = target - start
    alphas, weights = gauss_legendre(steps)
    avg_grad = torch.zeros((len(heads), *target.shape), dtype=torch.float64)
    for first in range(0, steps, _MAX_BATCH):
        alpha = torch.tensor(alphas[first : first + _MAX_BATCH], dtype=target.dtype)
        weight = torch.tensor(weights[first : first + _MAX_BATCH], dtype=torch.float64)
        points = start + alpha[:, None, None] * delta
        grads = _label_gradients(embedder, points, inputs.attention_mask, heads)
        avg_grad += torch.einsum("b,lbth->lth", weight, grads.double())
    return torch.einsum("th,lth->lt", delta.double(), avg_grad)


def _integrated_piece_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor, quadrature: Quadrature
) -> tuple[np.ndarray, np.ndarray]:
    """Per-piece IG scores (L, T) of each head, and the sentence embedding s(E') they start
    from (the neutral baseline).

    The sum rule is known, Σ_t score_t = head·(s(E) - s(E')), so the quadrature is checked
    against it: heads whose gap exceeds the tolerance are recomputed with twice the points,
    up to ``quadrature.max_steps`` (the gap comes from sharp turns of the transformer along
    the path, which a fixed grid resolves on most captions but not all).
    """
    start = embedder.masked_embeds(inputs)
    with torch.no_grad():
        ends = embedder.sentence_embedding_from_inputs_embeds(
            torch.stack([inputs.inputs_embeds, start]), inputs.attention_mask.expand(2, -1)
        )
    total = heads.double() @ (ends[0] - ends[1]).double()  # (L,)
    steps = quadrature.steps
    scores = _piece_ig(embedder, inputs, start, heads, steps)
    while steps < quadrature.max_steps:
        gap = (scores.sum(dim=1) - total).abs()
        refine = torch.nonzero(gap > quadrature.tolerance * total.abs()).ravel()
        if refine.numel() == 0:
            break
        steps = min(2 * steps, quadrature.max_steps)
        scores[refine] = _piece_ig(embedder, inputs, start, heads[refine], steps)
    return scores.numpy(), ends[1].double().numpy()


def _jacobian_norm_scores(
    embedder: SbertEmbedder, inputs: TokenInputs, heads: torch.Tensor
) -> np.ndarray:
    """‖∂(heads_l·s(E))/∂e_t‖₂ per label and piece: (L, T)."""
    grads = _label_gradients(embedder, inputs.inputs_embeds[None], inputs.attention_mask, heads)
    return grads[:, 0].double().norm(dim=-1).numpy()


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
    scores = torch.zeros((len(heads), len(target)), dtype=torch.float64)
    for column, positions in enumerate(occluded):
        scores[:, positions[0]] = drops[:, column]
    return scores.numpy()


def _check_baseline(neutral: np.ndarray, baseline: np.ndarray) -> None:
    """Warn when the feature baseline is not s(E'): word scores then miss ḡ·(s(E') - x')."""
    gap = float(np.abs(neutral - baseline).max())
    if gap > _BASELINE_TOLERANCE:
        warnings.warn(
            "sbert 'ig' word scores integrate from the masked caption (neutral baseline); the "
            f"given baseline differs from it (max abs {gap:.3g}), so they sum to "
            "gbar·(x - neutral) rather than gbar·(x - baseline)",
            UserWarning,
            stacklevel=4,
        )


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
    anyway, and the Jacobian norm leaves them out as GloVe does.
    """
    words = []
    spans = word_spans(inputs.offsets, inputs.word_ids, inputs.special)
    for positions, start, end in spans.values():
        masked = bool(inputs.masked[positions].any())
        kind = "stopword" if not masked and any(ch.isalpha() for ch in text[start:end]) else "word"
        words.append((text[start:end], start, end, positions, kind))
    return [
        [
            WordScore(w, s, e, 0.0 if kind == "stopword" else float(row[pos].sum()), kind)
            for w, s, e, pos, kind in words
        ]
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
    heads = torch.as_tensor(gbar, dtype=inputs.inputs_embeds.dtype)
    if method == "ig":
        scores, neutral = _integrated_piece_scores(embedder, inputs, heads, quadrature)
        _check_baseline(neutral, baseline)
    elif method == "occlusion":
        scores = _occlusion_scores(embedder, inputs, heads)
    else:
        scores = _jacobian_norm_scores(embedder, inputs, heads)
    return merge_pieces(text, inputs, scores)
