"""Reference file formats: svmlight (no line ever dropped) and prediction files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textig.annexml.formats import (
    read_predictions,
    read_svmlight,
    write_predictions,
    write_svmlight,
)
from textig.errors import TextigError


def test_svmlight_round_trip_keeps_featureless_lines(tmp_path: Path) -> None:
    X = np.array([[0.5, 0.0, -1.25], [0.0, 0.0, 0.0], [1e-3, 2.0, 0.0]], dtype=np.float32)
    Y = [(0, 3), (2,), ()]
    path = tmp_path / "d.svm"
    write_svmlight(path, X, Y)
    assert path.read_text().splitlines()[1] == "2"
    data = read_svmlight(path, n_features=3)
    assert np.array_equal(data.X, X)
    assert data.labels == Y
    assert data.featureless_lines == [2]


def test_svmlight_header_and_zero_based(tmp_path: Path) -> None:
    path = tmp_path / "xc.txt"
    path.write_text("2 4 5\n1,4 0:1.5 3:2\n0\n")
    data = read_svmlight(path, zero_based=True)
    assert data.X.tolist() == [[1.5, 0, 0, 2], [0, 0, 0, 0]]
    assert data.labels == [(1, 4), (0,)]
    assert data.featureless_lines == [3]


@pytest.mark.parametrize("line", ["1 x:2", "a,b 1:2", "1 0:2", "1 3:nan", "1 2"])
def test_svmlight_bad_lines(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.svm"
    path.write_text(f"0 1:1\n{line}\n")
    with pytest.raises(TextigError, match=":2"):
        read_svmlight(path)


def test_prediction_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pred.txt"
    labels = np.array([[3, 1, -1], [0, 2, 5]])
    scores = np.array([[150.0, 12.0, 0.0], [7.25, 3.0, 1.0]])
    write_predictions(path, [(1, 3), (4,)], labels, scores)
    assert path.read_text().splitlines()[0] == "1,3\t3:150.0,1:12.0"
    truths, preds = read_predictions(path)
    assert truths == [(1, 3), (4,)]
    assert preds == [[(3, 150.0), (1, 12.0)], [(0, 7.25), (2, 3.0), (5, 1.0)]]


def test_prediction_file_without_tab_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("1,2 3:1.0\n")
    with pytest.raises(TextigError, match="TAB"):
        read_predictions(path)
