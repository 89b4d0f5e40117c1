"""Importer of the official IAPR TC-12 layout (.eng + TagProp lists + .mat / csv labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from textig.cli import main
from textig.data import Caption, import_official, load_dataset
from textig.data.official import read_split_labels
from textig.errors import TextigError

DICTIONARY = ["church", "sky", "tree"]
TRAIN_IDS = ["00/1", "00/2", "01/7"]  # 01/7 has no .eng
TEST_IDS = ["00/3"]
TRAIN_Y = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=np.uint8)
TEST_Y = np.array([[0, 1, 1]], dtype=np.uint8)


def _eng(description: str) -> bytes:
    text = (
        "<DOC>\r\n<DOCNO>annotations/00/1.eng</DOCNO>\r\n<TITLE>T</TITLE>\r\n"
        f"<DESCRIPTION>{description}</DESCRIPTION>\r\n<NOTES>n</NOTES>\r\n</DOC>\r\n"
    )
    return text.encode("iso-8859-1")


def _cell(matrix: np.ndarray) -> np.ndarray:
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = matrix, matrix
    return cell


@pytest.fixture
def official(tmp_path: Path) -> Path:
    """parent/{lists, dictionary}, parent/original/{annotations_complete_eng, .mat, .csv}."""
    src = tmp_path / "original"
    for image_id, description in {
        "00/1": "a white church;\r\n  a   tree in the Plaza de Se\xf1ora;",
        "00/2": "trees;",
        "00/3": "a tree under a blue sky;",
    }.items():
        path = src / "annotations_complete_eng" / f"{image_id}.eng"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_eng(description))
    (tmp_path / "iaprtc12_dictionary.txt").write_text("\n".join(DICTIONARY) + "\n")
    (tmp_path / "iaprtc12_train_list.txt").write_text("\n".join(TRAIN_IDS) + "\n")
    (tmp_path / "iaprtc12_test_list.txt").write_text("\n".join(TEST_IDS) + "\n")
    savemat(src / "IAPRTC-12_TrainLabels.mat", {"I_z_tr": _cell(TRAIN_Y)})
    savemat(src / "IAPRTC-12_TestLabels.mat", {"I_z_te": _cell(TEST_Y)})
    for split, matrix in (("train", TRAIN_Y), ("test", TEST_Y)):
        lines = [",".join(map(str, row)) for row in matrix]
        (src / f"iaprtc12_{split}_annot.csv").write_text("\n".join(lines) + "\n")
    return src


EXPECTED_TRAIN = [
    Caption("00/1", "a white church; a tree in the Plaza de Se\xf1ora;", ("church", "sky"), (0, 1)),
    Caption("00/2", "trees;", ("tree",), (2,)),
]
EXPECTED_TEST = [Caption("00/3", "a tree under a blue sky;", ("sky", "tree"), (1, 2))]


@pytest.mark.parametrize("labels", ["auto", "mat", "csv"])
def test_import_toy(official: Path, labels: str) -> None:
    result = import_official(official, labels=labels)
    assert result.vocabulary == DICTIONARY
    assert result.train == EXPECTED_TRAIN
    assert result.test == EXPECTED_TEST
    assert result.missing == {"train": ["01/7"], "test": []}
    suffix = ".csv" if labels == "csv" else ".mat"
    assert all(path.suffix == suffix for path in result.label_files.values())


def test_lists_from_an_explicit_folder(official: Path, tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    for name in ("iaprtc12_dictionary.txt", "iaprtc12_train_list.txt", "iaprtc12_test_list.txt"):
        (tmp_path / name).rename(lists / name)
    with pytest.raises(TextigError, match="label dictionary not found"):
        import_official(official)
    assert import_official(official, lists=lists).test == EXPECTED_TEST


def test_eng_without_description(official: Path) -> None:
    (official / "annotations_complete_eng" / "00" / "2.eng").write_bytes(b"<DOC><TITLE>x</TITLE>")
    with pytest.raises(TextigError, match=r"00/2\.eng: no <DESCRIPTION>"):
        import_official(official)


def test_matrix_length_mismatch(official: Path) -> None:
    savemat(official / "IAPRTC-12_TestLabels.mat", {"I_z_te": _cell(np.vstack([TEST_Y, TEST_Y]))})
    with pytest.raises(TextigError, match=r"TestLabels\.mat: label matrix is 2x3, expected 1x3"):
        import_official(official, labels="mat")


def test_matrix_values_not_binary(official: Path) -> None:
    (official / "iaprtc12_train_annot.csv").write_text("1,0,0\n0,2,0\n1,1,1\n")
    with pytest.raises(TextigError, match="values other than 0 and 1"):
        import_official(official, labels="csv")


def test_csv_bad_line(official: Path) -> None:
    (official / "iaprtc12_test_annot.csv").write_text("0,1\n")
    with pytest.raises(TextigError, match=r"test_annot\.csv:1: 2 columns, expected 3"):
        import_official(official, labels="csv")


def test_mat_without_variable(official: Path) -> None:
    savemat(official / "IAPRTC-12_TrainLabels.mat", {"labels": TRAIN_Y})
    with pytest.raises(TextigError, match="no variable 'I_z_tr'"):
        import_official(official)


def test_bad_image_id(official: Path) -> None:
    (official.parent / "iaprtc12_test_list.txt").write_text("00/3.jpg\n")
    with pytest.raises(TextigError, match=r"test_list\.txt:1: expected an image id"):
        import_official(official)


def test_missing_annotations(tmp_path: Path) -> None:
    with pytest.raises(TextigError, match="no annotation folder"):
        import_official(tmp_path)


def test_cli_import_writes_loadable_jsonl(official: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["data", "import", str(official), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 train image(s) without an .eng file: 01/7" in printed
    assert "2 train / 1 test captions, 3 labels" in printed
    data = load_dataset(out)
    assert data.train == EXPECTED_TRAIN and data.test == EXPECTED_TEST
    assert sorted(p.name for p in out.iterdir()) == ["dictionary.txt", "test.jsonl", "train.jsonl"]


def test_cli_require_all_writes_nothing(official: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["data", "import", str(official), "--out", str(out), "--require-all"]) == 1
    assert "1 listed image(s) have no .eng file" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.shared
def test_real_import_reproduces_jsonl(iapr_dir: Path, tmp_path: Path) -> None:
    """Every listed image with an .eng gets exactly the caption and labels of the JSONL."""
    out = tmp_path / "imported"
    assert main(["data", "import", str(iapr_dir / "original"), "--out", str(out)]) == 0
    imported, reference = load_dataset(out), load_dataset(iapr_dir)
    assert imported.vocabulary == reference.vocabulary
    for split in ("train", "test"):
        by_id = {c.id: c for c in reference.split(split)}
        captions = imported.split(split)
        assert len(captions) > 100
        assert captions == [by_id[c.id] for c in captions]
        eng = iapr_dir / "original" / "annotations_complete_eng"
        expected = [i for i in by_id if (eng / f"{i}.eng").is_file()]
        assert [c.id for c in captions] == expected


@pytest.mark.shared
def test_real_csv_test_labels_equal_mat(iapr_dir: Path) -> None:
    """The TagProp csv and the course .mat hold the same test matrix (only test has a csv)."""
    src, shape = iapr_dir / "original", (1962, 291)
    from_mat = read_split_labels(src / "IAPRTC-12_TestLabels.mat", "test", shape)
    from_csv = read_split_labels(src / "iaprtc12_test_annot.csv", "test", shape)
    assert from_mat.sum() > 1962
    np.testing.assert_array_equal(from_csv, from_mat)
