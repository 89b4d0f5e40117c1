"""One report per kind of model, on the demo corpus with GloVe, the way a user makes it:
textig's AnnexML, the reference C++ ``.bin``, a skops-saved OneVsRestClassifier(
LogisticRegression()), a KNeighborsClassifier (both through the CLI), and a torch MLP (API)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _reference_files import encode, from_model

from textig.cli import main
from textig.data import load_dataset

CAPTION = "two children playing football on a green field in front of a white house"


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def demo():
    """(GloVe embedder, demo dataset, training features with their label matrix)."""
    from embeddings import get_embedder
    from textig.features import embed_split

    dataset, embedder = load_dataset(None), get_embedder("glove")
    features = embed_split(embedder, dataset, "train", warn_skipped=False)
    valid = np.asarray(features.valid, dtype=bool)
    Y = dataset.label_matrix("train").toarray().astype(int)
    return embedder, dataset, features.X[valid].astype(np.float64), Y[valid]


def report(capsys, out: Path, *args: str) -> dict:
    """Run `textig explain CAPTION ARGS`; the JSON of the report it wrote."""
    code = main(["explain", CAPTION, *args, "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    html, data = (Path(p) for p in stdout.split())
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    return json.loads(data.read_text(encoding="utf-8"))


def test_annexml_and_its_reference_bin(demo, tmp_path: Path, capsys) -> None:
    from textig.annexml import AnnexML

    embedder, dataset, X, Y = demo
    model = AnnexML(num_learner=2, emb_iter=2, cls_iter=2, seed=0).fit(
        X, Y, labels=dataset.vocabulary, embedder=embedder
    )
    model.save(tmp_path / "demo.npz")
    (tmp_path / "demo.bin").write_bytes(encode(from_model(model)))
    own = report(capsys, tmp_path / "own", "--model", str(tmp_path / "demo.npz"))
    cxx = report(capsys, tmp_path / "cxx", "--model", str(tmp_path / "demo.bin"),
                 "--embedder", "glove", "--data", str(dataset.path))  # fmt: skip
    for data in (own, cxx):
        assert data["settings"]["estimator"] == "exact" and data["labels"]
        assert max(label["completeness_error"] for label in data["labels"]) < 1e-9
    assert own["predicted"] == cxx["predicted"]


def test_a_skops_logistic_regression_report(demo, tmp_path: Path, capsys) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from textig.models.sklearn import save_skops

    embedder, dataset, X, Y = demo
    model = OneVsRestClassifier(LogisticRegression(max_iter=500)).fit(X, Y)
    path = save_skops(model, tmp_path / "lr.skops", labels=dataset.vocabulary,
                      embedder=embedder, feature_mean=X.mean(axis=0))  # fmt: skip
    data = report(capsys, tmp_path / "lr", "--model", str(path))  # no --data, no --embedder
    assert data["model"]["class"] == "OneVsRestClassifier(LogisticRegression)"
    assert data["baseline"]["kind"] == "mean" and data["settings"]["estimator"] == "smooth"
    assert max(label["raw_completeness_error"] for label in data["labels"]) < 0.01
    zero = report(capsys, tmp_path / "zero", "--model", str(path), "--baseline", "zero")
    assert zero["baseline"]["kind"] == "zero"


def test_a_skops_knn_report_is_exact_with_evidence(demo, tmp_path: Path, capsys) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    from textig.models.sklearn import save_skops

    embedder, dataset, X, Y = demo
    path = save_skops(KNeighborsClassifier(10).fit(X, Y), tmp_path / "knn.skops",
                      labels=dataset.vocabulary, embedder=embedder,
                      feature_mean=X.mean(axis=0))  # fmt: skip
    data = report(capsys, tmp_path / "knn", "--model", str(path), "--data", str(dataset.path))
    assert data["model"]["class"] == "KNeighborsClassifier"
    assert data["settings"]["estimator"] == "exact"
    for label in data["labels"]:
        assert label["completeness_error"] < 1e-9
        assert sum(item["weight"] for item in label["evidence"]) == pytest.approx(label["score"])


def test_a_torch_mlp_report(demo, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from textig.explain import Explainer
    from textig.report import write_explanation

    embedder, dataset, X, Y = demo
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 64), torch.nn.Tanh(), torch.nn.Linear(64, Y.shape[1])
    ).double()
    optimiser = torch.optim.Adam(mlp.parameters(), lr=0.01)
    inputs, targets = torch.tensor(X), torch.tensor(Y, dtype=torch.float64)
    for _ in range(100):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(mlp(inputs), targets).backward()
        optimiser.step()
    scorer = torch.nn.Sequential(mlp, torch.nn.Sigmoid())
    explainer = Explainer(embedder, scorer, labels=dataset.vocabulary, training_features=X)
    explanation = explainer.explain(CAPTION)
    html, _ = write_explanation(explanation, tmp_path, "torch")
    assert html.is_file() and explanation.settings["estimator"] == "gradients"
    assert max(label.raw_completeness_error for label in explanation.labels) < 1e-3


def test_the_estimators_raw_completeness_error_is_shown_beside_the_rescaled_one(
    demo, tmp_path: Path, capsys
) -> None:
    from textig.annexml import AnnexML

    embedder, dataset, X, Y = demo
    model = AnnexML(num_learner=2, emb_iter=2, cls_iter=2, seed=0).fit(
        X, Y, labels=dataset.vocabulary, embedder=embedder
    )
    model.save(tmp_path / "demo.npz")
    data = report(capsys, tmp_path / "est", "--model", str(tmp_path / "demo.npz"),
                  "--method", "estimate", "--steps", "10")  # fmt: skip
    assert data["settings"]["estimator"] == "piecewise"
    labels = data["labels"]
    assert len(data["settings"]["steps_used"]) == len(data["settings"]["converged"]) == len(labels)
    raw = [label["raw_completeness_error"] for label in labels]
    assert all(label["completeness_error"] < 1e-9 for label in labels)  # rescaled
    html = next((tmp_path / "est").glob("*.html")).read_text(encoding="utf-8")
    assert max(raw) > 1e-4  # ten nodes on votes: the raw sums miss (seeded, deterministic)
    for value in raw:  # the raw figure is in the report, not only the rescaled 0
        if value > 1e-4:
            assert f"{100 * value:.2f}%" in html
    assert "rescaling" in html
    settings = data["settings"]  # the estimator states its budget and what each label used
    assert settings["quadrature"] == "located" and settings["step_budget"] == 256 * 10
    assert 0 < max(settings["steps_used"]) <= settings["step_budget"]
    assert "budget 2560 per label" in html
