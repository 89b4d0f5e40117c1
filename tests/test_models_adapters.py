"""scikit-learn (skops files, kNN with exact IG) and torch (autograd IG) adapters."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier

from textig.attribution import integrated_gradients
from textig.attribution.autograd import gradient_integrated_gradients
from textig.attribution.exact import exact_integrated_gradients
from textig.errors import TextigError
from textig.models import HasPathJumps, as_scorer
from textig.models.knn import KnnScorer
from textig.models.sklearn import SklearnScorer, is_skops_file, load_skops, save_skops

LABELS = ["sky", "tree", "water"]


def data(n: int = 120, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, :3] + 0.4 * rng.normal(size=(n, 3)) > 0.2).astype(int)


def sklearn_proba(model, X: np.ndarray) -> np.ndarray:
    proba = model.predict_proba(X)
    return np.column_stack([p[:, 1] for p in proba]) if isinstance(proba, list) else proba


# --- skops files -------------------------------------------------------------------------


def test_a_skops_file_carries_what_explaining_needs(tmp_path: Path) -> None:
    X, Y = data()
    model = OneVsRestClassifier(LogisticRegression()).fit(X, Y)
    path = save_skops(model, tmp_path / "m.skops", labels=LABELS, embedder="emb@1",
                      feature_mean=X.mean(axis=0))  # fmt: skip
    assert is_skops_file(path) and not is_skops_file(Path(__file__))
    scorer = load_skops(path)
    assert isinstance(scorer, SklearnScorer) and scorer.labels == LABELS
    np.testing.assert_array_equal(scorer(X[:7]), model.predict_proba(X[:7]))
    np.testing.assert_array_equal(scorer.feature_mean, X.mean(axis=0))
    assert scorer.describe()["class"] == "OneVsRestClassifier(LogisticRegression)"
    with pytest.raises(TextigError, match="trained with embedder 'emb@1'"):
        scorer.check_features("other@2", 5)
    with pytest.raises(TextigError, match="labels differ"):
        load_skops(path, labels=["a", "b", "c"])


def test_a_plain_skops_estimator_takes_the_dataset_labels(tmp_path: Path) -> None:
    X, Y = data()
    sio.dump(KNeighborsClassifier(3).fit(X, Y), tmp_path / "plain.skops")
    scorer = load_skops(tmp_path / "plain.skops", labels=LABELS)
    assert isinstance(scorer, KnnScorer) and scorer.labels == LABELS
    with pytest.raises(TextigError, match="3 label columns, 2 names"):
        load_skops(tmp_path / "plain.skops", labels=LABELS[:2])


class Gadget:
    """A type skops cannot vouch for: loading must refuse it, not build it."""

    def __init__(self) -> None:
        self.value = 1


def test_untrusted_and_damaged_files_are_refused(tmp_path: Path) -> None:
    sio.dump({"format": "textig-sklearn", "estimator": Gadget()}, tmp_path / "evil.skops")
    with pytest.raises(TextigError, match=r"does not trust: .*Gadget"):
        load_skops(tmp_path / "evil.skops")
    X, Y = data()
    save_skops(KNeighborsClassifier(3).fit(X, Y), tmp_path / "ok.skops", labels=LABELS,
               embedder=None)  # fmt: skip
    damaged = tmp_path / "damaged.skops"
    with zipfile.ZipFile(tmp_path / "ok.skops") as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"{" if name == "schema.json" else src.read(name))
    with pytest.raises(TextigError, match="not a readable skops model"):
        load_skops(damaged)
    sio.dump({"format": "textig-sklearn", "version": 1, "estimator": "x", "labels": LABELS},
             tmp_path / "odd.skops")  # fmt: skip
    with pytest.raises(TextigError, match="not fitted"):
        load_skops(tmp_path / "odd.skops")


# --- kNN: scores and exact IG ------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "minkowski"])
@pytest.mark.parametrize("multilabel", [True, False])
def test_knn_scores_are_sklearns_vote_shares(metric: str, multilabel: bool) -> None:
    X, Y = data()
    model = KNeighborsClassifier(7, metric=metric).fit(X, Y if multilabel else Y.argmax(axis=1))
    scorer = as_scorer(model)
    assert isinstance(scorer, KnnScorer) and scorer.scale_invariant == (metric == "cosine")
    Q = np.random.default_rng(1).normal(size=(40, 5))
    np.testing.assert_array_equal(scorer(Q), sklearn_proba(model, Q))


def test_distance_weighted_knn_is_a_black_box() -> None:
    X, Y = data()
    scorer = as_scorer(KNeighborsClassifier(5, weights="distance").fit(X, Y))
    assert isinstance(scorer, SklearnScorer) and not isinstance(scorer, HasPathJumps)


def test_knn_exact_ig_known_answer() -> None:
    """k=1, t0=(0,0) 'a', t1=(2,0) 'b': the path (0,.5)->(2,1.5) crosses x1 = 1 at alpha 1/2;
    the boundary's normal is (1, 0), so the whole jump goes to feature 0 although feature 1
    moved too (a path-direction split would give it 20 %)."""
    model = KNeighborsClassifier(1).fit(np.array([[0.0, 0.0], [2.0, 0.0]]), ["a", "b"])
    scorer = as_scorer(model)
    result = exact_integrated_gradients(scorer, [2.0, 1.5], [0.0, 0.5], targets=[0, 1])
    [jump] = result.jumps
    assert jump.alpha == pytest.approx(0.5) and jump.detail["entering"] == (1,)
    np.testing.assert_allclose(result.attributions, [[-1.0, 0.0], [1.0, 0.0]], atol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_exact_ig_is_complete_and_finds_every_swap(metric: str) -> None:
    X, Y = data(n=300)
    scorer = as_scorer(KNeighborsClassifier(9, metric=metric).fit(X, Y))
    rng = np.random.default_rng(2)
    baseline = X.mean(axis=0)
    for x in rng.normal(size=(10, 5)):
        result = exact_integrated_gradients(scorer, x, baseline, targets=[0, 1, 2])
        gap = result.f_x[result.targets] - result.f_baseline[result.targets]
        assert np.max(np.abs(result.attributions.sum(axis=1) - gap)) < 1e-12
        alphas = np.array(sorted(j.alpha for j in result.jumps))
        for seen in _member_changes(scorer, x, baseline):  # every change the scan sees
            assert np.min(np.abs(alphas - seen)) < 1e-9
        _replay(scorer, x, baseline, result.jumps)


def _replay(scorer: KnnScorer, x: np.ndarray, baseline: np.ndarray, jumps) -> None:
    """Applying the swaps in order gives the model's own neighbour set between them."""

    def members(alpha: float) -> set[int]:
        return set(scorer.members(baseline + alpha * (x - baseline))[0].tolist())

    inside = members(0.0)
    ordered = sorted(jumps, key=lambda j: j.alpha)
    for n, jump in enumerate(ordered):
        assert jump.detail["leaving"][0] in inside and jump.detail["entering"][0] not in inside
        inside = (inside - set(jump.detail["leaving"])) | set(jump.detail["entering"])
        after = ordered[n + 1].alpha if n + 1 < len(ordered) else 1.0
        if after > jump.alpha:
            assert inside == members(0.5 * (jump.alpha + after) if after < 1 else 1.0)


def _member_changes(scorer: KnnScorer, x: np.ndarray, baseline: np.ndarray) -> list[float]:
    """Where the neighbour set changes, by a fine scan and bisection of the members alone:
    one alpha per member that enters (an independent route to the jumps)."""

    def members(alpha: float) -> set[int]:
        return set(scorer.members(baseline + alpha * (x - baseline))[0].tolist())

    grid = np.linspace(0.0, 1.0, 40001)
    sets = np.sort(scorer.members(baseline + grid[:, None] * (x - baseline)), axis=1)
    found = []
    for step in np.flatnonzero(np.any(sets[1:] != sets[:-1], axis=1)):
        lo, hi = grid[step], grid[step + 1]
        a, b = lo, hi
        while b - a > 1e-13:
            mid = 0.5 * (a + b)
            a, b = (mid, b) if members(mid) == members(lo) else (a, mid)
        found += [b] * len(members(hi) - members(lo))
    return sorted(found)


def test_the_estimator_agrees_with_exact_knn_ig() -> None:
    X, Y = data(n=300)
    scorer = as_scorer(KNeighborsClassifier(9).fit(X, Y))
    x, baseline = np.random.default_rng(3).normal(size=5), X.mean(axis=0)
    exact = exact_integrated_gradients(scorer, x, baseline, targets=[0, 1, 2])
    estimate = integrated_gradients(scorer, x, baseline, targets=[0, 1, 2], steps=200)
    for a, b in zip(exact.attributions, estimate.attributions, strict=True):
        if np.any(a):
            assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.8


def test_cosine_knn_refuses_a_path_through_zero() -> None:
    X, Y = data()
    scorer = as_scorer(KNeighborsClassifier(3, metric="cosine").fit(X, Y))
    with pytest.raises(TextigError, match="zero vector"):
        scorer.path_jumps(X[0], -X[0])


# --- torch ---------------------------------------------------------------------------------


def test_autograd_ig_equals_captums() -> None:
    torch = pytest.importorskip("torch")
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3), torch.nn.Sigmoid()
    ).double()
    scorer = as_scorer(net, labels=LABELS)
    rng = np.random.default_rng(4)
    ig = captum.IntegratedGradients(net)
    for x, baseline in zip(rng.normal(size=(3, 5)), [np.zeros(5), *rng.normal(size=(2, 5))],
                           strict=True):  # fmt: skip
        ours = gradient_integrated_gradients(scorer, x, baseline, targets=[0, 1, 2], steps=50)
        for t in range(3):
            theirs = ig.attribute(
                torch.tensor(x[None]), torch.tensor(baseline[None]), target=t, n_steps=50,
                method="gausslegendre",
            ).numpy()[0]  # fmt: skip
            np.testing.assert_allclose(ours.attributions[t], theirs, rtol=0, atol=1e-6)
        assert np.max(ours.raw_completeness_error) < 1e-6  # measured, never rescaled
        assert ours.estimator == "gradients" and np.all(ours.steps_used == 50)


def test_a_torch_module_without_an_input_layer_needs_its_dim() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TextigError, match="dim=D"):
        as_scorer(torch.nn.Tanh())
    from textig.models.torch import TorchScorer

    assert TorchScorer(torch.nn.Tanh(), dim=4).labels == ["0", "1", "2", "3"]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_nudges_equal_the_nudged_scores(metric: str) -> None:
    X, Y = data(n=400)
    scorer = as_scorer(KNeighborsClassifier(6, metric=metric).fit(X, Y))
    rng = np.random.default_rng(5)
    points, steps = rng.normal(size=(4, 5)), np.array([0.0, 0.05, 0.3, 1.0, 2.5])
    plus, minus = scorer.axis_scores(points, steps, np.array([2, 0]))
    for sign, got in ((1.0, plus), (-1.0, minus)):
        nudged = points[:, None, :] + sign * np.eye(5)[None] * steps[None, :, None]
        want = scorer(nudged.reshape(-1, 5))[:, [2, 0]].reshape(4, 5, 2)
        np.testing.assert_array_equal(got, want)
