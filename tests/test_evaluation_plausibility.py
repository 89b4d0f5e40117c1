"""Plausibility: rank of a predicted label's own word among the caption's content words."""

from __future__ import annotations

from embeddings.base import WordScore
from textig.evaluation.plausibility import (
    PlausibilityRecord,
    caption_plausibility,
    label_word_rank,
    matches_label,
    random_top_share,
    top_share,
)


def words(*pairs: tuple[str, float], stop: tuple[str, ...] = ("the", "of")) -> list[WordScore]:
    out, cursor = [], 0
    for text, score in pairs:
        kind = "stopword" if text in stop else "word"
        out.append(WordScore(text, cursor, cursor + len(text), score, kind))
        cursor += len(text) + 1
    return out


def test_plurals_and_irregular_forms_match_their_label() -> None:
    assert matches_label("Palms", "palm")
    assert matches_label("cities", "city")
    assert matches_label("buses", "bus")
    assert matches_label("glasses", "glass")
    assert matches_label("men", "man")
    assert matches_label("children", "child")
    assert matches_label("grass", "grass")
    assert not matches_label("grass", "gras")
    assert not matches_label("trees", "street")


def test_rank_counts_content_words_above_the_label_word() -> None:
    caption = words(("the", 5.0), ("palms", 0.9), ("tree", 0.5), ("of", 3.0), ("building", 0.1))
    assert label_word_rank(caption, "palm") == (1, 3)  # the stopwords are not ranked
    assert label_word_rank(caption, "tree") == (2, 3)
    assert label_word_rank(caption, "building") == (3, 3)
    assert label_word_rank(caption, "sky") is None


def test_ties_count_against_and_repeats_count_once_at_their_best() -> None:
    caption = words(("sky", 0.2), ("cloud", 0.5), ("sky", 0.7), ("sea", 0.7), ("skies", 0.1))
    assert label_word_rank(caption, "sky") == (2, 3)  # "sea" ties with the best "sky"
    assert label_word_rank(caption, "cloud") == (3, 5)  # other words count per occurrence


def test_records_per_method_and_shares() -> None:
    good = words(("palm", 0.9), ("tree", 0.5), ("car", 0.1), ("road", 0.0), ("sky", -1.0))
    bad = words(("palm", -0.9), ("tree", 0.5), ("car", 0.1), ("road", 0.0), ("sky", -1.0))
    records = caption_plausibility(
        "00/1", ["palm", "sea", "sky"], {"default": [good, good, good], "original": [bad] * 3}
    )
    assert [(r.label, r.ranks, r.n_candidates) for r in records] == [
        ("palm", {"default": 1, "original": 4}, 5),
        ("sky", {"default": 5, "original": 5}, 5),
    ]
    assert top_share(records, "default") == 0.5
    assert top_share(records, "original") == 0.0
    assert random_top_share(records) == 0.6  # 3 of 5 places are in the top 3
    short = [PlausibilityRecord("x", "a", {"default": 1}, 2)]
    assert random_top_share(short) == 1.0
    assert top_share([], "default") is None
