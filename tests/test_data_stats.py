"""`textig data stats`: known answers on a toy corpus, exact counts on the real IAPR TC-12."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textig.cli import main
from textig.data import Caption, dataset_stats, load_dataset, write_dataset

VOCAB = ["a", "b", "c", "d"]
TRAIN = [
    Caption("1", "one two three", ("a",), (0,)),
    Caption("2", "  ", ("a", "b", "c"), (0, 1, 2)),
    Caption("3", "same words here too", ("b", "c"), (1, 2)),
]
TEST = [
    Caption("4", "same words here too", ("a",), (0,)),
    Caption("5", "one", ("b",), (1,)),
    Caption("6", "same words here too", ("c",), (2,)),
]


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "toy", VOCAB, TRAIN, TEST)


def test_toy_stats(toy: Path) -> None:
    stats = dataset_stats(load_dataset(toy))
    train, test = stats.splits["train"], stats.splits["test"]
    assert stats.labels == 4
    assert (train.captions, test.captions) == (3, 3)
    assert (train.labels_per_caption.min, train.labels_per_caption.max) == (1, 3)
    assert train.labels_per_caption.mean == pytest.approx(2.0)
    assert (train.words_per_caption.min, train.words_per_caption.max) == (0, 4)
    assert test.words_per_caption.mean == pytest.approx(3.0)
    assert train.empty == ["2"] and test.empty == []
    assert (train.labels_unused, test.labels_unused) == (1, 1)
    assert stats.duplicates == ["4", "6"] and stats.duplicate_texts == 1


def test_cli_stats_text_and_json(toy: Path, capsys) -> None:
    assert main(["data", "stats", "--data", str(toy)]) == 0
    text = capsys.readouterr().out
    assert "train: 3 captions" in text and "empty captions: 1: 2" in text
    assert main(["data", "stats", "--data", str(toy), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["splits"]["test"]["labels_per_caption"]["max"] == 1
    assert parsed["duplicates"] == ["4", "6"]


def test_cli_stats_defaults_to_demo(capsys) -> None:
    assert main(["data", "stats"]) == 0
    assert capsys.readouterr().out.startswith("dataset demo:")


def test_cli_stats_bad_path_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["data", "stats", "--data", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("textig: error:") and err.count("\n") == 1


@pytest.mark.shared
def test_real_stats(iapr_dir: Path, capsys) -> None:
    assert main(["data", "stats", "--data", str(iapr_dir), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["labels"] == 291
    assert stats["splits"]["train"]["captions"] == 17665
    assert stats["splits"]["test"]["captions"] == 1962
    assert stats["splits"]["train"]["empty"] == ["04/4092"]
    assert stats["splits"]["test"]["empty"] == []
    assert stats["duplicate_texts"] == 203
