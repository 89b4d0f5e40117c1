"""Data model, JSONL loader (round trip and bad input) and the bundled demo corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from textig.data import Caption, demo_data_dir, load_dataset, write_dataset
from textig.errors import TextigError

VOCAB = ["beach", "dog", "sky", "tree"]
TRAIN = [
    Caption("t/1", "a dog on the beach;", ("beach", "dog"), (0, 1)),
    Caption("t/2", "trees under a grey sky; café", ("sky", "tree"), (2, 3)),
]
TEST = [Caption("t/3", "", ("sky",), (2,))]


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "toy", VOCAB, TRAIN, TEST)


def test_round_trip(toy: Path) -> None:
    data = load_dataset(toy)
    assert data.vocabulary == VOCAB
    assert data.train == TRAIN and data.test == TEST
    assert data.split("test") == TEST
    assert data.name == "toy" and data.path == toy.resolve()


def test_label_matrix(toy: Path) -> None:
    matrix = load_dataset(toy).label_matrix("train")
    assert matrix.shape == (2, 4)
    np.testing.assert_array_equal(matrix.toarray(), [[1, 1, 0, 0], [0, 0, 1, 1]])


def test_unknown_split(toy: Path) -> None:
    with pytest.raises(TextigError, match="unknown split 'dev'"):
        load_dataset(toy).split("dev")


def test_checksum_follows_content_not_file_name(toy: Path) -> None:
    before = load_dataset(toy).checksum()
    (toy / "dictionary.txt").rename(toy / "iaprtc12_dictionary.txt")
    assert load_dataset(toy).checksum() == before
    with (toy / "test.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "t/4", "caption": "dog", "labels": [], "label_ids": []}))
    assert load_dataset(toy).checksum() != before


def test_blank_lines_are_ignored(toy: Path) -> None:
    path = toy / "train.jsonl"
    path.write_text("\n" + path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    assert load_dataset(toy).train == TRAIN


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TextigError, match="data directory not found"):
        load_dataset(tmp_path / "nowhere")


def test_missing_file(toy: Path) -> None:
    (toy / "test.jsonl").unlink()
    with pytest.raises(TextigError, match=r"test\.jsonl: file not found"):
        load_dataset(toy)


def test_missing_dictionary(toy: Path) -> None:
    (toy / "dictionary.txt").unlink()
    with pytest.raises(TextigError, match="no label dictionary"):
        load_dataset(toy)


def _append(toy: Path, line: str) -> None:
    with (toy / "train.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "caption": "a dog"', r"train\.jsonl:3: invalid JSON"),
        ("[1, 2]", r":3: expected a JSON object"),
        ('{"id": "x", "caption": "a dog", "labels": ["dog"]}', r":3: missing field\(s\) label_ids"),
        (
            '{"id": "x", "caption": "a dog", "labels": ["dog"], "label_ids": [7]}',
            r":3: x: label id 7 is outside the dictionary",
        ),
        (
            '{"id": "x", "caption": "a cat", "labels": ["cat"], "label_ids": [1]}',
            r":3: x: label 'cat' does not match dictionary entry 1 'dog'",
        ),
        (
            '{"id": "x", "caption": "a dog", "labels": ["dog"], "label_ids": [1, 2]}',
            r":3: x: 1 labels but 2 label_ids",
        ),
        (
            '{"id": "x", "caption": "a dog", "labels": ["dog"], "label_ids": ["1"]}',
            r"'label_ids' must be a list of integers",
        ),
        ('{"id": "t/1", "caption": "a", "labels": [], "label_ids": []}', r":3: id 't/1' repeats"),
    ],
)
def test_bad_record(toy: Path, line: str, message: str) -> None:
    _append(toy, line)
    with pytest.raises(TextigError, match=message):
        load_dataset(toy)


def test_not_utf8(toy: Path) -> None:
    (toy / "train.jsonl").write_bytes(b'{"id": "\xe9"}\n')
    with pytest.raises(TextigError, match="not UTF-8"):
        load_dataset(toy)


def test_id_in_both_splits(tmp_path: Path) -> None:
    out = write_dataset(tmp_path, VOCAB, TRAIN, [TRAIN[0]])
    with pytest.raises(TextigError, match=r"1 id\(s\) are in both train and test, e.g. t/1"):
        load_dataset(out)


@pytest.mark.parametrize(
    ("text", "message"), [("a\n\nb\n", ":2: empty label name"), ("a\nb\na\n", ":3: label 'a'")]
)
def test_bad_dictionary(toy: Path, text: str, message: str) -> None:
    (toy / "dictionary.txt").write_text(text, encoding="utf-8")
    with pytest.raises(TextigError, match=message):
        load_dataset(toy)


def test_write_refuses_a_file_as_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(TextigError, match="not a directory"):
        write_dataset(tmp_path / "f", VOCAB, TRAIN, TEST)


# --- the bundled demo corpus ---------------------------------------------------------------

IRREGULAR = {"man": "men", "woman": "women", "child": "children", "sky": "skies"}


def _forms(noun: str) -> set[str]:
    return {noun, noun + "s", noun + "es", IRREGULAR.get(noun, noun)}


@pytest.fixture(scope="module")
def demo():
    return load_dataset()


def test_demo_is_the_default(demo) -> None:
    assert demo.path == demo_data_dir().resolve()
    assert demo.name == "demo"


def test_demo_size_and_vocabulary(demo) -> None:
    assert len(demo.train) + len(demo.test) >= 400
    assert len(demo.test) >= 50
    assert 40 <= len(demo.vocabulary) <= 80
    assert not {c.id for c in demo.train} & {c.id for c in demo.test}
    assert all(re.fullmatch(r"demo/\d{4}", c.id) for c in demo.train + demo.test)


def test_demo_captions_carry_their_labels(demo) -> None:
    for caption in demo.train + demo.test:
        words = set(re.findall(r"[a-z]+", caption.text))
        assert 2 <= len(caption.labels) <= 8, caption.id
        for label in caption.labels:
            assert words & _forms(label), f"{caption.id}: {label!r} not in {caption.text!r}"


def test_demo_has_distractor_nouns(demo) -> None:
    """Labels are not every word: some captions hold nouns outside the vocabulary."""
    vocabulary = {f for label in demo.vocabulary for f in _forms(label)}
    distractors = {"pier", "stalls", "bushes", "pigeons", "fishermen", "path", "balcony"}
    seen = {w for c in demo.train for w in re.findall(r"[a-z]+", c.text)}
    assert distractors & seen and not distractors & vocabulary


def test_demo_every_label_is_used_in_train(demo) -> None:
    counts = np.asarray(demo.label_matrix("train").sum(axis=0)).ravel()
    assert counts.min() >= 3


def test_demo_is_regenerated_exactly(demo, tmp_path: Path) -> None:
    """make_demo.py reproduces the committed files (the corpus is what the script writes)."""
    import runpy

    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "data" / "make_demo.py"))
    vocabulary, train, test = script["build"](len(demo.train), len(demo.test), script["SEED"])
    assert vocabulary == demo.vocabulary and train == demo.train and test == demo.test
