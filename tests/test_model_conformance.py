"""Every adapter passes the model-protocol conformance suite (``textig.models.conformance``),
and the suite fails a scorer that breaks a promise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _reference_files import encode, from_model

from textig.attribution.exact import PathJump
from textig.errors import TextigError
from textig.models import as_scorer, capabilities
from textig.models.conformance import ConformanceError, check_scorer

D, L = 6, 4
LABELS = ["sky", "tree", "water", "road"]


def _data(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = (X[:, :L] + 0.5 * rng.normal(size=(n, L)) > 0.3).astype(int)
    return X, Y


def annexml():
    from textig.annexml import AnnexML

    X, Y = _data()
    return AnnexML(num_learner=2, emb_size=4, num_nn=5, emb_iter=2, cls_iter=2, seed=0).fit(
        X, Y, labels=LABELS
    )


def reference_bin(tmp_path: Path):
    from textig.annexml import read_reference_model

    path = tmp_path / "model.bin"
    path.write_bytes(encode(from_model(annexml())))
    return read_reference_model(path, LABELS)


def ovr_logistic():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression()).fit(*_data())


def multioutput_logistic():
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier

    return MultiOutputClassifier(LogisticRegression()).fit(*_data())


def knn(metric: str = "euclidean", multilabel: bool = True):
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = _data()
    y = Y if multilabel else Y.argmax(axis=1)
    return KNeighborsClassifier(n_neighbors=5, metric=metric).fit(X, y)


def torch_mlp():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(D, 16), torch.nn.Tanh(), torch.nn.Linear(16, L)
    ).double()


ADAPTERS = {
    "annexml": (
        annexml,
        {"path_jumps", "path_scores", "axis_scores", "nudge_scores", "neighbours"},
    ),
    "reference-bin": (
        reference_bin,
        {"path_jumps", "path_scores", "axis_scores", "nudge_scores", "neighbours"},
    ),
    "ovr-logistic": (ovr_logistic, set()),
    "multioutput-logistic": (multioutput_logistic, set()),
    "knn-euclidean": (knn, {"path_jumps", "axis_scores", "nudge_scores", "neighbours"}),
    "knn-cosine-multiclass": (
        lambda: knn("cosine", multilabel=False),
        {"path_jumps", "axis_scores", "nudge_scores", "neighbours"},
    ),
    "torch-mlp": (torch_mlp, {"gradients"}),
}


def build(name: str, tmp_path: Path):
    make, _ = ADAPTERS[name]
    model = make(tmp_path) if make is reference_bin else make()
    return as_scorer(model, labels=None if name in ("annexml", "reference-bin") else _names(name))


def _names(name: str) -> list[str] | None:
    return None if name == "knn-cosine-multiclass" else LABELS


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_adapter_conforms(name: str, tmp_path: Path) -> None:
    scorer = build(name, tmp_path)
    assert set(capabilities(scorer)) - {"feature_mean"} == ADAPTERS[name][1]
    X, _ = _data(n=8, seed=1)
    check_scorer(scorer, X)


class _Broken:
    """A kNN scorer with one promise broken, chosen by ``flaw``."""

    def __init__(self, flaw: str) -> None:
        self.inner, self.flaw = as_scorer(knn(), labels=LABELS), flaw
        self.labels, self.dim, self.max_score = self.inner.labels, self.inner.dim, 1.0

    def check_features(self, identity, dim) -> None:
        if self.flaw != "accepts any dim":
            self.inner.check_features(identity, dim)

    def __call__(self, X):
        scores = self.inner(X)
        return scores + len(X) * 1e-3 if self.flaw == "batch dependent" else scores

    def describe(self):
        return (
            {"class": "Broken", "array": np.zeros(2)}
            if self.flaw == "not json"
            else {"class": "Broken"}
        )

    def path_jumps(self, x, baseline) -> list[PathJump]:
        jumps = self.inner.path_jumps(x, baseline)
        return jumps[1:] if self.flaw == "misses a jump" else jumps

    def neighbours(self, x):
        found = self.inner.neighbours(x)
        return found[1:] if self.flaw == "drops a neighbour" else found


@pytest.mark.parametrize(
    ("flaw", "message"),
    [
        ("accepts any dim", "check_features accepted"),
        ("batch dependent", "depend on the batch"),
        ("not json", "not plain JSON"),
        ("misses a jump", "path jumps sum"),
        ("drops a neighbour", "neighbours' weights"),
    ],
)
def test_the_suite_fails_a_broken_scorer(flaw: str, message: str) -> None:
    X, _ = _data(n=8, seed=1)
    check_scorer(_Broken("none"), X)  # the unbroken one passes
    with pytest.raises(ConformanceError, match=message):
        check_scorer(_Broken(flaw), X)


def test_wrong_gradients_fail() -> None:
    scorer = as_scorer(torch_mlp(), labels=LABELS)
    scorer.gradients = lambda X, targets: np.zeros((len(X), len(targets), D))
    with pytest.raises(ConformanceError, match="central differences"):
        check_scorer(scorer)


def test_an_unknown_object_is_refused() -> None:
    with pytest.raises(TextigError, match="cannot explain a dict"):
        as_scorer({})
