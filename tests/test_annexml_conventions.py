"""AnnexML follows scikit-learn's estimator conventions where they apply: scikit-learn's own
check suite runs on it (``parametrize_with_checks``), the checks that cannot apply marked with
the reason (a multi-label target; textig's one error type; the reference's ``score`` name);
then parameters, cloning and fitting are tested directly."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from textig.annexml import AnnexML
from textig.errors import TextigError

SMALL = {"num_learner": 2, "emb_iter": 1, "cls_iter": 1, "num_nn": 3}
# expected_failed_checks and estimator tags came with scikit-learn 1.6
NEW_ENOUGH = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 6)

_OWN_ERROR = "bad input raises textig's one-line TextigError (the CLI's contract), not ValueError"
_SCORE_PARAM = "the reference's `score` parameter (a string) shadows scikit-learn's score(X, y)"
NOT_APPLICABLE = {
    "check_fit_score_takes_y": _SCORE_PARAM,
    "check_pipeline_consistency": _SCORE_PARAM,
    "check_complex_data": "targets are label lists or a label matrix, never 1-d",
    "check_requires_y_none": _OWN_ERROR,
    "check_estimators_unfitted": f"{_OWN_ERROR} (not NotFittedError)",
    "check_n_features_in_after_fitting": _OWN_ERROR,
    "check_estimators_empty_data_messages": _OWN_ERROR,
    "check_estimators_nan_inf": _OWN_ERROR,
    "check_estimator_sparse_tag": _OWN_ERROR,
    "check_estimator_sparse_array": _OWN_ERROR,
    "check_estimator_sparse_matrix": _OWN_ERROR,
    "check_fit1d": _OWN_ERROR,
    "check_fit2d_predict1d": _OWN_ERROR,
}


if NEW_ENOUGH:

    @parametrize_with_checks([AnnexML(**SMALL)], expected_failed_checks=lambda _: NOT_APPLICABLE)
    def test_scikit_learn_estimator_checks(estimator, check) -> None:
        """Every check of scikit-learn's own suite, the inapplicable ones marked with why."""
        check(estimator)


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
