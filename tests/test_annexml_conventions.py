"""AnnexML follows scikit-learn's estimator conventions where they apply (it is multi-label,
so the classifier checks that fit 1-d targets do not): parameters, cloning, fitting."""

from __future__ import annotations

import numpy as np
import pytest

from textig.annexml import AnnexML
from textig.errors import TextigError

estimator_checks = pytest.importorskip("sklearn.utils.estimator_checks")
clone = pytest.importorskip("sklearn.base").clone

SMALL = {"num_learner": 2, "emb_iter": 1, "cls_iter": 1, "num_nn": 3}


@pytest.mark.parametrize(
    "check",
    [
        "check_get_params_invariance",
        "check_set_params",
        "check_parameters_default_constructible",
        "check_no_attributes_set_in_init",
        "check_estimator_repr",
    ],
)
def test_scikit_learn_parameter_checks(check: str) -> None:
    getattr(estimator_checks, check)("AnnexML", AnnexML(**SMALL))


def _data(seed: int = 0) -> tuple[np.ndarray, list[list[int]]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 8))
    Y = [[int(i % 4), int(4 + (i % 3))] for i in range(60)]
    return X, Y


def test_clone_gives_an_unfitted_twin_with_the_same_parameters() -> None:
    model = AnnexML(seed=7, **SMALL).fit(*_data())
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "learners_")
    X, Y = _data()
    np.testing.assert_array_equal(
        twin.fit(X, Y).decision_function(X, search="brute"),
        model.decision_function(X, search="brute"),
    )


def test_fit_keeps_the_parameters_and_returns_self() -> None:
    model = AnnexML(**SMALL)
    before = model.get_params()
    assert model.fit(*_data()) is model
    assert model.get_params() == before


def test_set_params_round_trip_and_unknown_names() -> None:
    model = AnnexML().set_params(num_nn=4, seed=2)
    assert model.get_params(deep=True)["num_nn"] == 4 and model.seed == 2
    with pytest.raises(TextigError, match="unknown AnnexML parameter"):
        model.set_params(depth=3)


def test_unfitted_model_refuses_to_score() -> None:
    with pytest.raises(TextigError, match="not fitted"):
        AnnexML().decision_function(np.ones((1, 8)))
