"""Reports a reader can trust without hovering: numbers in print, one stated colour scale,
scores against their maximum, the baseline beside the words, only panels that say something,
the settings that ran, and the baseline study's sign flips."""

from __future__ import annotations

import re

import pytest
from test_explain_support import TRAIN, VECTORS, A, FakeEmbedder, LinearModel

from textig.explain import Explainer
from textig.report import render_baseline_study, render_explanation
from textig.study import baseline_study


@pytest.fixture(scope="module")
def demo():
    from embeddings import get_embedder
    from textig.cli.explain import training_captions
    from textig.data import load_dataset
    from textig.features import embed_split
    from textig.training import train_or_load

    dataset = load_dataset(None)
    glove = get_embedder("glove")
    model = train_or_load(glove, dataset, progress=False)
    features = embed_split(glove, dataset, "train", warn_skipped=False)
    captions = training_captions(glove, dataset, Explainer(glove, model).scorer, features)
    return Explainer(glove, model, training_captions=captions)


def _sections(page: str) -> list[str]:
    return re.findall(r'<section class="label">(.*?)</section>', page, flags=re.S)


def test_a_vote_model_report_reads_without_hovering(demo) -> None:
    explanation = demo.explain("a palm tree on a sandy beach", labels="top3")
    top = explanation.model["max_score"]
    assert top == explanation.model["num_learner"] * explanation.model["num_nn"]
    assert all(
        not label.gradient_x_input and label.ig_gxi_cosine is None for label in explanation.labels
    )
    page = render_explanation(explanation)
    for label, section in zip(explanation.labels, _sections(page), strict=True):
        head, _, rest = section.partition('<div class="caption">')
        # the baseline and its score stand before the words, the score as a share of the maximum
        assert "Baseline x\u2032 = <code>mean</code>" in head
        assert f"{100 * label.baseline_score / top:.0f}% of {top:g}" in head
        assert f"{100 * label.score / top:.0f}% of {top:g}" in head
        printed = re.findall(r'<sup class="ws">([^<]+)</sup>', rest.split("</div>")[0])
        assert printed == [f"{w.score:+.3g}" for w in label.words if w.score != 0]
        # gradient x input of a step function says nothing: no panel, no cosine
        assert "gradient \u00d7 (input" not in section and "Cosine" not in section
        assert rest.index("Evidence") < rest.index("Integrated Gradients per dimension")
    settings = page.split("Settings that ran")[1]
    assert "additive" in settings and "default" not in settings
    assert "word_sum_rule" not in settings and "path_jumps" not in settings
    assert re.search(r"<details class=\"timings\">.*encode", settings, flags=re.S)


def test_one_colour_scale_for_the_whole_report() -> None:
    explainer = Explainer(FakeEmbedder(), LinearModel(), training_features=TRAIN)
    explanation = explainer.explain("a dog runs in the park", labels=["dog", "sky"])
    scale = max(abs(w.score) for label in explanation.labels for w in label.words)
    page = render_explanation(explanation)
    assert f"±{scale:.3g}" in page
    found = re.findall(
        r'rgba\(\d+, \d+, \d+, ([\d.]+)\);[^"]*" title="[^"]*" data-score="([^"]+)"', page
    )
    alphas = [(float(score), float(alpha)) for alpha, score in found]
    assert len(alphas) >= 4
    for score, alpha in alphas:
        assert alpha == pytest.approx(0.85 * abs(score) / scale, abs=1e-3)
    # the weaker label stays weaker: its strongest word is not drawn at full colour
    sky = max(abs(w.score) for w in explanation.labels[1].words)
    assert sky < scale and not any(
        a > 0.85 * sky / scale + 1e-3 for s, a in alphas if abs(s) <= sky
    )


def test_the_baseline_study_marks_words_whose_sign_flips() -> None:
    explainer = Explainer(FakeEmbedder(), LinearModel(), training_features=TRAIN)
    text = "a dog runs in the park"
    study = baseline_study(explainer, text, ["text:dog", "text:cat"], labels=["dog"])
    # additive words on a linear model: (v_t - x')·A[dog] / n; park's sign follows x'
    park = (VECTORS["park"] @ A[0], VECTORS["dog"] @ A[0], VECTORS["cat"] @ A[0])
    assert (park[0] - park[1]) * (park[0] - park[2]) < 0
    flips = study.sign_flips()["dog"]
    expected = [
        w.text
        for w, v in zip(
            study.explanations[0].labels[0].words,
            study.explanations[1].labels[0].words,
            strict=True,
        )
        if w.kind == "word" and w.score * v.score < 0
    ]
    assert flips == expected and "park" in flips
    page = render_baseline_study(study)
    assert re.search(r'<span class="w word flip"[^>]*>park</span>', page)
    assert "sign flips: park" in page or "sign flips: " + ", ".join(flips) in page
    assert study.to_dict()["sign_flips"] == {"dog": flips}


@pytest.mark.shared
def test_caption_00_26_lists_the_neighbours_that_carry_palm(iapr_glove) -> None:
    embedder, dataset, model, X = iapr_glove
    usable = [c for c in dataset.train[:12000] if embedder.unusable_reason(c.text) is None]
    captions = [(c.id, c.text, tuple(c.label_ids)) for c in usable]
    explainer = Explainer(embedder, model, training_features=X, training_captions=captions)
    caption = next(c for c in dataset.test if c.id == "00/26")
    labels = ["palm", "tree", "people"]
    explanation = explainer.explain(caption.text, labels=labels, true_labels=caption.labels)
    texts = {c.id: c.text for c in usable}
    for label in explanation.labels:  # every one with votes: the sums are not vacuous
        assert label.score > 0 and label.evidence, label.label
        # the votes the listed neighbours cast, against the model's own (brute-force) score
        assert sum(n["weight"] for n in label.evidence) == pytest.approx(label.score)
        for n in label.evidence:
            assert label.label in n["labels"] and n["text"] == texts[n["caption_id"]]
    palm, tree, _ = explanation.labels
    assert palm.label == "palm" and len(tree.evidence) > 1  # several neighbours' votes add up
    palm_section, tree_section, _ = _sections(render_explanation(explanation))
    one = len(palm.evidence) == 1
    said = "carries <strong>palm</strong>; its contribution is" if one else (
        "carry <strong>palm</strong>; their contributions add up to"
    )  # fmt: skip
    assert f"{said} {palm.score:.4g}" in palm_section
    assert f"carry <strong>tree</strong>; their contributions add up to {tree.score:.4g}" in (
        tree_section
    )  # fmt: skip


def test_a_label_nothing_moved_says_so_instead_of_empty_panels(demo) -> None:
    text = "a palm tree on a sandy beach"
    at_x = demo.scores([text])[0]
    at_baseline = demo.scorer(demo.baseline_for(text)[None])[0]
    zero = [
        name for name, a, b in zip(demo.vocabulary, at_x, at_baseline, strict=True) if a == b == 0
    ][:40]
    # a path can cross votes for a label and give them back (features that sum to 0): skip those
    labels = demo.explain(text, labels=zero).labels
    flat = next(label.label for label in labels if not label.features)
    explanation = demo.explain(text, labels=["palm", flat])
    palm, nothing = _sections(render_explanation(explanation))
    assert '<div class="caption">' in palm and "Nothing moved" not in palm
    assert "Nothing moved" in nothing and f"why-not:{flat}" in nothing
    assert "None of the caption's neighbours carries" in nothing
    assert '<div class="caption">' not in nothing and "<svg" not in nothing
