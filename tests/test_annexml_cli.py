"""`textig train` / `textig evaluate` with precomputed features, and a real-data check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_annexml import blobs

from textig.annexml import AnnexML
from textig.annexml.formats import write_svmlight
from textig.annexml.metrics import evaluate
from textig.annexml.model import as_label_matrix
from textig.cli import main


def test_train_and_evaluate_from_svmlight(tmp_path: Path, capsys) -> None:
    X, Y, _ = blobs(20)
    X[0] = 0.0  # a featureless line: left out and reported, never silently dropped
    Xt, Yt, _ = blobs(5, seed=3)
    write_svmlight(tmp_path / "train.svm", X, Y)
    write_svmlight(tmp_path / "test.svm", Xt, Yt)
    model = tmp_path / "m.npz"
    args = ["train", "--features", str(tmp_path / "train.svm"), "--out", str(model)]
    params = ["--param", "num_learner=2", "--param", "emb_size=4", "--param", "lambda=2"]
    assert main([*args, *params]) == 0
    assert "1 row(s) without features left out: line 1" in capsys.readouterr().err
    assert AnnexML.load(model).lam == 2.0
    assert main(["evaluate", "--model", str(model), "--features", str(tmp_path / "test.svm")]) == 0
    out = capsys.readouterr().out
    assert "P@1=1.0000" in out and "nDCG@5=" in out and "PSP@3=" in out


def test_evaluate_a_test_file_that_uses_fewer_labels(tmp_path: Path, capsys) -> None:
    """svmlight lists only the label ids it uses: the model's label count decides the width."""
    X, Y, _ = blobs(20)
    Xt, Yt, cls = blobs(5, seed=3)
    first = cls == 0  # labels {0, 4} only: the file's largest id is 4 of the model's 0..5
    write_svmlight(tmp_path / "train.svm", X, Y)
    write_svmlight(tmp_path / "test.svm", Xt[first], [Yt[i] for i in np.flatnonzero(first)])
    model = tmp_path / "m.npz"
    train = ["train", "--features", str(tmp_path / "train.svm"), "--out", str(model)]
    assert main([*train, "--param", "num_learner=2", "--param", "emb_size=4"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--features", str(tmp_path / "test.svm")]) == 0
    assert "P@1=1.0000" in capsys.readouterr().out


def test_evaluate_refuses_a_dataset_of_other_labels(tmp_path: Path, capsys) -> None:
    X, Y, _ = blobs(20)
    write_svmlight(tmp_path / "train.svm", X, Y)
    model = tmp_path / "m.npz"
    train = ["train", "--features", str(tmp_path / "train.svm"), "--out", str(model)]
    assert main([*train, "--param", "num_learner=2", "--param", "emb_size=4"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model)]) == 1  # the demo corpus: 66 named labels
    err = capsys.readouterr().err
    assert "labels differ" in err and err.count("\n") == 1


def test_unknown_parameter_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path / "m.npz"), "--param", "depth=3"])
    assert exit_info.value.code == 2


@pytest.mark.shared
def test_real_data_subset_beats_label_frequency(iapr_dir: Path) -> None:
    from embeddings import get_embedder
    from textig.data import load_dataset

    data = load_dataset(iapr_dir)
    embedder = get_embedder("glove")
    train = [c for c in data.train[:2500] if embedder.unusable_reason(c.text) is None]
    test = [c for c in data.test[:300] if embedder.unusable_reason(c.text) is None]
    X, Xt = embedder.encode([c.text for c in train]), embedder.encode([c.text for c in test])
    model = AnnexML(num_learner=3, emb_iter=5).fit(
        X, [c.label_ids for c in train], labels=data.vocabulary, embedder=embedder
    )
    truth = [c.label_ids for c in test]
    T = as_label_matrix(truth, len(test), len(data.vocabulary))
    frequency = np.tile(np.asarray(model.Y_.sum(axis=0)).ravel(), (len(test), 1))
    ours = evaluate(model.decision_function(Xt, search="brute"), T)
    prior = evaluate(frequency, T)
    assert ours["P@1"] > prior["P@1"] + 0.2
    assert ours["nDCG@5"] > prior["nDCG@5"]
