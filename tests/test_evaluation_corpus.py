"""Corpus summary: caption choice, JSON-ready summary and its escaped HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from textig.data import Caption
from textig.errors import TextigError
from textig.evaluation.corpus import build_summary, choose_captions
from textig.evaluation.faithfulness import DeletionCurve, LabelFaithfulness
from textig.evaluation.plausibility import PlausibilityRecord
from textig.evaluation.render import render_summary
from textig.evaluation.summary import EmbedderRun, PairResult


class WordsOnly:
    """Encodes any caption with a letter in it."""

    def unusable_reason(self, text: str) -> str | None:
        return None if any(ch.isalpha() for ch in text) else "has no word"


def captions(n: int) -> list[Caption]:
    return [
        Caption(f"00/{i}", "" if i % 3 == 0 else f"a dog {i}", ("dog",), (0,)) for i in range(n)
    ]


def test_choose_captions_is_seeded_and_skips_unusable_ones() -> None:
    pool = captions(30)
    first = choose_captions(pool, 5, [WordsOnly()], seed=1)
    assert first == choose_captions(pool, 5, [WordsOnly()], seed=1)
    assert first != choose_captions(pool, 5, [WordsOnly()], seed=2)
    assert all(c.text for c in first) and len({c.id for c in first}) == 5
    with pytest.raises(TextigError, match="only 20"):
        choose_captions(pool, 25, [WordsOnly()], seed=1)


def run(name: str, label: str) -> EmbedderRun:
    curve = DeletionCurve((1, 2, 3, 1, 1, 2), (4.0,) * 6, (1.0,) * 6)
    faith = LabelFaithfulness(0, 9, 0, 4, {"default": curve, "original": curve, "random": curve})
    out = EmbedderRun(name, f"{name}@x", {"default": "a", "original": "b"}, {"P@1": 0.5})
    out.pairs = [PairResult("00/1", label, 9.0, True, 0.02, faith)]
    out.plausibility = [PlausibilityRecord("00/1", label, {"default": 1, "original": 2}, 4)]
    out.predicted = {"00/1": [label]}
    out.reports = {"00/1": f"{name}/00-1.html"}
    return out


def test_summary_is_json_ready_and_its_page_escapes_text(tmp_path: Path) -> None:
    dataset = SimpleNamespace(name="toy <i>", path=tmp_path, checksum=lambda: "ab" * 32)
    chosen = [Caption("00/1", "a dog", ("dog",), (0,))]
    runs = [run("glove", "<script>x</script>"), run("sbert", "dog")]
    summary = build_summary(dataset, chosen, runs, 0, {"00/1": "compare/00-1.html"})
    json.dumps(summary, allow_nan=False)
    assert summary["reports"]["00/1"] == {
        "glove": "glove/00-1.html",
        "sbert": "sbert/00-1.html",
        "compare": "compare/00-1.html",
    }
    assert [row["label"] for row in summary["disagreements"]] == ["<script>x</script>", "dog"]
    html = render_summary(summary)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "toy &lt;i&gt;" in html
    assert 'href="compare/00-1.html"' in html
    assert html.count("<tr>") >= 8


def test_corpus_precision_ranks_scores_before_scoring() -> None:
    import numpy as np
    import scipy.sparse as sp

    from textig.evaluation.corpus import precision_at_k

    scores = np.array([[0.1, 9.0, 0.0, 3.0], [5.0, 0.0, 1.0, 0.0]])
    truth = sp.csr_matrix(np.array([[0, 1, 0, 1], [0, 0, 1, 0]]))
    result = precision_at_k(scores, truth, ks=(1, 2))
    assert result == {"P@1": 0.5, "P@2": 0.75}
