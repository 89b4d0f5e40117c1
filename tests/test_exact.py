"""Exact IG of AnnexML's brute-force votes, on toy models with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from test_fast_path_toys import exact_ig, naive_votes, random_model, toy_model

from textig.annexml.exact import fine_grid_integrated_gradients
from textig.errors import TextigError

TWO_POINTS = [[1, 0], [0, 1]]


def _one_cluster(E, Y, num_nn: int = 1):
    """1 learner, 1 cluster, W = identity: the keys are x·e_j."""
    return toy_model([([[1, 0]], [(np.eye(2), E, list(range(len(E))))])], Y, num_nn)


def test_single_swap_matches_hand_computation() -> None:
    # keys (1 - a, 2a): e_1 overtakes e_0 at a = 1/3; n = e_1 - e_0, dx = (-1, 2)
    model = _one_cluster(TWO_POINTS, np.eye(2))
    result = exact_ig(model, [0.0, 2.0], [1.0, 0.0])
    np.testing.assert_array_equal(result.targets, [0, 1])
    np.testing.assert_allclose(result.attributions, [[-1 / 3, -2 / 3], [1 / 3, 2 / 3]])
    [jump] = result.jumps
    assert jump.detail["kind"] == "swap" and (jump.detail["entering"], jump.detail["leaving"]) == (
        (1,),
        (0,),
    )
    assert jump.alpha == pytest.approx(1 / 3)
    assert jump.label_delta == {0: -1, 1: 1}


def test_partition_switch_matches_hand_computation() -> None:
    # partition scores (2 - a, 1 + 2a) cross at a = 1/3; n = c_0 - c_1 = (1, -1), dx = (-1, 2)
    clusters = [(np.eye(2), [[1, 0]], [0]), (np.eye(2), [[1, 0]], [1])]
    model = toy_model([(TWO_POINTS, clusters)], np.eye(2), num_nn=1)
    result = exact_ig(model, [1.0, 3.0], [2.0, 1.0])
    [jump] = result.jumps
    assert jump.detail["kind"] == "partition" and jump.detail["clusters"] == (0, 1)
    assert jump.alpha == pytest.approx(1 / 3)
    assert (jump.detail["entering"], jump.detail["leaving"]) == ((1,), (0,))
    np.testing.assert_allclose(result.attributions, [[-1 / 3, -2 / 3], [1 / 3, 2 / 3]])


def test_duplicates_enter_one_at_a_time_in_position_order() -> None:
    # members 1 and 2 share an embedding: same line, the lower position always ranks first
    model = _one_cluster([[1, 0], [0, 1], [0, 1]], np.eye(3), num_nn=1)
    result = exact_ig(model, [0.0, 2.0], [1.0, 0.0])
    np.testing.assert_array_equal(result.f_x, [0, 1, 0])
    assert [(j.detail["entering"], j.detail["leaving"]) for j in result.jumps] == [((1,), (0,))]
    model2 = _one_cluster([[1, 0], [0, 1], [0, 1]], np.eye(3), num_nn=2)
    result2 = exact_ig(model2, [0.0, 2.0], [1.0, 0.0])
    np.testing.assert_array_equal(result2.f_baseline, [1, 1, 0])
    np.testing.assert_array_equal(result2.f_x, [0, 1, 1])
    assert [(j.detail["entering"], j.detail["leaving"]) for j in result2.jumps] == [((2,), (0,))]
    assert result2.jumps[0].alpha == pytest.approx(1 / 3)


def test_tie_at_the_baseline_jumps_at_alpha_zero() -> None:
    # at x' = (1, 1) both keys are 1 and position 0 wins; any step towards x favours e_1
    model = _one_cluster(TWO_POINTS, np.eye(2))
    result = exact_ig(model, [0.0, 1.0], [1.0, 1.0])
    np.testing.assert_array_equal(result.f_baseline, [1, 0])
    [jump] = result.jumps
    assert jump.alpha == 0.0
    np.testing.assert_allclose(result.attributions, [[-1, 0], [1, 0]])


def test_tie_at_the_input_jumps_at_alpha_one() -> None:
    # e_1 leads along the path, but at x = (1, 1) the keys tie and position 0 wins
    model = _one_cluster(TWO_POINTS, np.eye(2))
    result = exact_ig(model, [1.0, 1.0], [0.0, 1.0])
    np.testing.assert_array_equal(result.f_x, [1, 0])
    [jump] = result.jumps
    assert jump.alpha == 1.0
    np.testing.assert_allclose(result.attributions, [[1, 0], [-1, 0]])


def test_feature_the_path_does_not_move_gets_nothing() -> None:
    model = toy_model(
        [([[1, 0, 0]], [(np.eye(3), [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [0, 1, 2])])],
        np.eye(3),
        num_nn=1,
    )
    result = exact_ig(model, [0.0, 2.0, 0.5], [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(result.attributions[:, 2], 0.0)
    np.testing.assert_array_equal(result.gbar[:, 2], 0.0)
    np.testing.assert_allclose(result.gbar[:, :2], result.attributions[:, :2] / [-1.0, 2.0])


@pytest.mark.parametrize("seed", range(8))
def test_random_models_complete_and_match_brute_force_endpoints(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(rng, duplicates=seed % 4, n_clusters=1 + seed % 3)
    x, baseline = rng.normal(size=6), rng.normal(size=6)
    result = exact_ig(model, x, baseline, targets=range(7))
    ends = naive_votes(model, np.stack([baseline, x]))
    np.testing.assert_array_equal(result.f_baseline, ends[0])
    np.testing.assert_array_equal(result.f_x, ends[1])
    gap = result.f_x - result.f_baseline
    assert np.all(np.abs(result.attributions.sum(axis=1) - gap) < 1e-9)
    assert np.all(result.completeness_error < 1e-9)
    assert result.jumps, "the test needs paths that cross boundaries"


def test_random_models_include_partition_switches() -> None:
    rng = np.random.default_rng(11)
    kinds = set()
    for _ in range(5):
        model = random_model(rng, n_clusters=3)
        result = exact_ig(model, rng.normal(size=6), rng.normal(size=6))
        kinds |= {j.detail["kind"] for j in result.jumps}
    assert kinds == {"swap", "partition"}


@pytest.mark.parametrize("seed", range(4))
def test_fine_grid_bisection_agrees_with_exact(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    model = random_model(rng, duplicates=seed % 2, n_clusters=2)
    x, baseline = rng.normal(size=6), rng.normal(size=6)
    exact = exact_ig(model, x, baseline)
    grid, found = fine_grid_integrated_gradients(model, x, baseline, exact.targets, points=3000)
    assert found > 0
    np.testing.assert_allclose(grid, exact.attributions, atol=1e-9)


def test_default_targets_are_labels_whose_score_changes() -> None:
    model = _one_cluster([[1, 0], [0, 1], [1, 0]], [[1, 0, 1], [0, 1, 1], [1, 0, 0]], num_nn=1)
    result = exact_ig(model, [0.0, 2.0], [1.0, 0.0])
    np.testing.assert_array_equal(result.targets, [0, 1])


def test_bad_inputs_raise_textig_error() -> None:
    model = _one_cluster(TWO_POINTS, np.eye(2))
    with pytest.raises(TextigError, match="equals the baseline"):
        exact_ig(model, [1.0, 0.0], [1.0, 0.0])
    with pytest.raises(TextigError, match="zero vector"):
        exact_ig(model, [1.0, 0.0], [0.0, 0.0])
    with pytest.raises(TextigError, match="zero vector"):
        exact_ig(model, [1.0, 2.0], [-2.0, -4.0])
    with pytest.raises(TextigError, match="shape"):
        exact_ig(model, [1.0, 0.0, 0.0], [1.0, 0.0, 1.0])
    with pytest.raises(TextigError, match="NaN"):
        exact_ig(model, [np.nan, 0.0], [1.0, 0.0])
    with pytest.raises(TextigError, match="label ids"):
        exact_ig(model, [0.0, 1.0], [1.0, 0.0], targets=[5])
    with pytest.raises(TextigError, match="integer"):
        exact_ig(model, [0.0, 1.0], [1.0, 0.0], targets=[0.5])
    model.score = "similarity"
    with pytest.raises(TextigError, match="votes"):
        exact_ig(model, [0.0, 1.0], [1.0, 0.0])
