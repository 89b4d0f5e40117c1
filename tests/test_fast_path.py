"""BruteForceScorer: brute-force votes, and one-feature nudges scored without materialising."""

from __future__ import annotations

import numpy as np
import pytest
from test_fast_path_toys import naive_votes, random_model, toy_model

from textig.annexml.fast_path import BruteForceScorer
from textig.errors import TextigError


def _materialised(model, points: np.ndarray, steps: np.ndarray):
    """Reference for axis_scores: build every nudged copy and score it naively."""
    plus = np.stack([naive_votes(model, p + np.diag(steps)) for p in points])
    minus = np.stack([naive_votes(model, p - np.diag(steps)) for p in points])
    return plus, minus


@pytest.mark.parametrize("seed", range(6))
def test_call_matches_naive_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(rng, duplicates=seed % 3)
    X = rng.normal(size=(25, 6))
    np.testing.assert_array_equal(BruteForceScorer(model)(X), naive_votes(model, X))


@pytest.mark.parametrize("seed", range(6))
def test_axis_scores_equal_materialised_nudges(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    model = random_model(rng, duplicates=seed % 3, n_clusters=3)
    points = rng.normal(size=(4, 6))
    steps = rng.normal(size=6) * (0.2 + seed)  # large steps switch clusters too
    plus, minus = BruteForceScorer(model).axis_scores(points, steps)
    ref_plus, ref_minus = _materialised(model, points, steps)
    np.testing.assert_array_equal(plus, ref_plus)
    np.testing.assert_array_equal(minus, ref_minus)


@pytest.mark.parametrize("seed", range(4))
def test_nudge_scores_with_each_points_own_signed_steps(seed: int) -> None:
    """One-sided nudges, per-point signed steps (m, d), some zero: each scores as the nudged
    copy scored naively, and a zero step as the point itself."""
    rng = np.random.default_rng(200 + seed)
    model = random_model(rng, duplicates=seed % 3, n_clusters=3)
    points = rng.normal(size=(4, 6))
    steps = rng.normal(size=(4, 6)) * rng.uniform(0.1, 5.0, size=(4, 1))  # very unequal rows
    steps[rng.random(steps.shape) < 0.3] = 0.0
    scorer = BruteForceScorer(model)
    got = scorer.nudge_scores(points, steps)
    for p, (point, row) in enumerate(zip(points, steps, strict=True)):
        np.testing.assert_array_equal(got[p], naive_votes(model, point + np.diag(row)))
    changed = got != scorer(points)[:, None, :]
    assert changed.any(axis=(1, 2)).all()  # every point's nudges really move some votes
    np.testing.assert_array_equal(got[steps == 0], np.repeat(scorer(points), 6, axis=0)[
        (steps == 0).ravel()])  # fmt: skip
    plus, minus = scorer.axis_scores(points[:1], np.abs(steps[0]))
    ups = scorer.nudge_scores(points[:1], np.abs(steps[:1]))
    downs = scorer.nudge_scores(points[:1], -np.abs(steps[:1]))
    np.testing.assert_array_equal(ups, plus)  # one side of axis_scores, the same votes
    np.testing.assert_array_equal(downs, minus)


@pytest.mark.parametrize("seed", range(4))
def test_path_scores_equal_the_path_points_scored(seed: int) -> None:
    """Votes along one line (ends, a fine grid, pairs of alphas 1e-10 apart around a change,
    a little beyond the ends) equal each point scored naively: the line's candidate cut loses
    no neighbour, clusters switch along it, and duplicated members keep their ties."""
    rng = np.random.default_rng(300 + seed)
    model = random_model(rng, duplicates=seed % 3, n_clusters=3)
    start, end = rng.normal(size=6), 3.0 * rng.normal(size=6)
    scorer = BruteForceScorer(model)
    grid = np.linspace(0.0, 1.0, 401)
    on_grid = scorer.path_scores(start, end, grid)
    moves = np.flatnonzero(np.any(on_grid[1:] != on_grid[:-1], axis=1))
    assert len(moves) >= 5  # the line really crosses boundaries
    near = np.concatenate([grid[moves] + 0.5 / 400 + e for e in (-1e-10, 0.0, 1e-10)])
    alphas = np.concatenate([grid, near, [-0.1, 1.2]])
    got = scorer.path_scores(start, end, alphas, columns=np.array([2, 0]))
    want = naive_votes(model, start[None] + alphas[:, None] * (end - start)[None])[:, [2, 0]]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(on_grid, scorer(start[None] + grid[:, None] * (end - start)))


def test_axis_scores_cover_cluster_switches() -> None:
    """Guard that the random cases above really exercise nudges changing cluster."""
    rng = np.random.default_rng(105)
    model = random_model(rng, n_clusters=3)
    points = rng.normal(size=(4, 6))
    steps = rng.normal(size=6) * 5.2
    scorer = BruteForceScorer(model)
    home = scorer.learners[0].assign(points)
    nudged = scorer.learners[0].assign((points[:, None, :] + np.diag(steps)).reshape(-1, 6))
    assert np.any(nudged != np.repeat(home, 6))


def test_axis_scores_exact_ties_follow_position_rule() -> None:
    """Small integers make every key exact, so nudges create true ties between members."""
    E = [[1, 0], [0, 1], [0, 1], [1, 1]]
    Y = np.eye(4)
    model = toy_model([([[1, 0], [0, 1]], [(np.eye(2), E, [0, 1, 2, 3])] * 2)], Y, num_nn=2)
    points = np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 2.0], [0.0, 1.0]])
    steps = np.array([1.0, 1.0])
    plus, minus = BruteForceScorer(model).axis_scores(points, steps)
    ref_plus, ref_minus = _materialised(model, points, steps)
    np.testing.assert_array_equal(plus, ref_plus)
    np.testing.assert_array_equal(minus, ref_minus)
    # (1, 1) + e_2 = (1, 2): keys 1, 2, 2, 3 -> members 3 and 1 (1 beats its duplicate 2)
    np.testing.assert_array_equal(plus[0, 1], [0, 1, 0, 1])


def test_zero_steps_give_the_points_own_scores() -> None:
    rng = np.random.default_rng(7)
    model = random_model(rng)
    points = rng.normal(size=(3, 6))
    scorer = BruteForceScorer(model)
    plus, minus = scorer.axis_scores(points, np.zeros(6))
    own = scorer(points)[:, None, :]
    np.testing.assert_array_equal(plus, np.broadcast_to(own, plus.shape))
    np.testing.assert_array_equal(minus, np.broadcast_to(own, minus.shape))


def test_neighbours_report_cluster_and_sorted_members() -> None:
    E = [[1, 0], [0, 1], [-1, 0]]
    model = toy_model([([[1, 0]], [(np.eye(2), E, [0, 1, 2])])], np.eye(3), num_nn=2)
    [(cluster, members)] = BruteForceScorer(model).neighbours(np.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(cluster, [0])
    np.testing.assert_array_equal(members, [[1, 2]])


def test_small_cluster_uses_all_its_members() -> None:
    E = [[1, 0], [0, 1]]
    model = toy_model([([[1, 0]], [(np.eye(2), E, [0, 1])])], np.eye(2), num_nn=5)
    np.testing.assert_array_equal(BruteForceScorer(model)(np.array([[1.0, 0.0]])), [[1, 1]])


def test_bad_inputs_raise_textig_error() -> None:
    rng = np.random.default_rng(3)
    scorer = BruteForceScorer(random_model(rng))
    with pytest.raises(TextigError, match="shape"):
        scorer(np.zeros((2, 5)))
    with pytest.raises(TextigError, match="NaN"):
        scorer(np.full((1, 6), np.nan))
    with pytest.raises(TextigError, match="steps"):
        scorer.axis_scores(np.ones((1, 6)), np.ones(5))
    with pytest.raises(TextigError, match="steps"):
        scorer.axis_scores(np.ones((1, 6)), np.full(6, np.inf))
    with pytest.raises(TextigError):
        scorer.nudge_scores(np.ones((2, 6)), np.ones(6))  # one row of steps per point
    with pytest.raises(TextigError):
        scorer.nudge_scores(np.ones((1, 6)), np.full((1, 6), np.nan))
    with pytest.raises(TextigError, match="alphas"):
        scorer.path_scores(np.zeros(6), np.ones(6), np.array([0.5, np.nan]))
    with pytest.raises(TextigError, match="path ends"):
        scorer.path_scores(np.zeros(5), np.ones(5), np.array([0.5]))
    with pytest.raises(TextigError, match="columns"):
        scorer.path_scores(np.zeros(6), np.ones(6), np.array([0.5]), columns=np.array([99]))


def test_unsupported_or_unfitted_models_are_refused() -> None:
    rng = np.random.default_rng(4)
    model = random_model(rng)
    model.score = "similarity"
    with pytest.raises(TextigError, match="votes"):
        BruteForceScorer(model)
    model.score, model.learners_ = "votes", None
    with pytest.raises(TextigError, match="not fitted"):
        BruteForceScorer(model)


def test_axis_scores_when_every_nudge_leaves_the_home_cluster() -> None:
    """At the origin the five partition scores tie (home: cluster 0); every nudge makes one of
    the other four win. The point still gets its own votes from cluster 0."""
    centers = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]
    E = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    clusters = [(np.eye(2), E, [4 * c + j for j in range(4)]) for c in range(5)]
    Y = np.eye(20)
    model = toy_model([(centers, clusters)], Y, num_nn=2)
    points, steps = np.zeros((1, 2)), np.array([0.5, 0.25])
    plus, minus = BruteForceScorer(model).axis_scores(points, steps)
    ref_plus, ref_minus = _materialised(model, points, steps)
    np.testing.assert_array_equal(plus, ref_plus)
    np.testing.assert_array_equal(minus, ref_minus)
    assert not np.any(plus[0, :, :4]) and not np.any(minus[0, :, :4])  # no nudge stays home


def test_few_rows_scored_again_give_the_same_votes_and_neighbours() -> None:
    """Rows seen recently reuse their keys: the votes and neighbours stay the naive ones,
    one row at a time or together, in any order, after other rows pushed them out."""
    rng = np.random.default_rng(21)
    model = random_model(rng, duplicates=2, n_clusters=3)
    scorer = BruteForceScorer(model)
    rows = rng.normal(size=(60, 6))
    for r in [0, 1, 0, 2, 1, *range(60), 0, 1]:
        np.testing.assert_array_equal(scorer(rows[[r]]), naive_votes(model, rows[[r]]))
    np.testing.assert_array_equal(scorer(rows[[1, 0]]), naive_votes(model, rows[[1, 0]]))
    fresh = BruteForceScorer(model).neighbours(rows[:2])
    for (c0, m0), (c1, m1) in zip(scorer.neighbours(rows[:2]), fresh, strict=True):
        np.testing.assert_array_equal(c0, c1)
        np.testing.assert_array_equal(m0, m1)


def test_one_blas_thread_restores_the_thread_count() -> None:
    from threadpoolctl import threadpool_info

    from textig.annexml.parallel import one_blas_thread

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    with one_blas_thread():
        with one_blas_thread():
            assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before


def test_top_members_cut_to_candidates_is_the_full_top_k() -> None:
    """Wide rows are ranked among the members at least as high as a sample's k-th: the same
    top k as ranking every member, with ties (to the lower position) and rows whose order
    makes the sample a poor guide (ascending keys)."""
    from textig.annexml.fast_path import top_members
    from textig.annexml.search import top_k

    rng = np.random.default_rng(11)
    keys = rng.normal(size=(40, 3000))
    keys[:10] = np.round(keys[:10] * 2) / 2  # many exact ties at the k-th key
    keys[10:20] = np.sort(keys[10:20], axis=1)  # the highest keys all at the end
    keys[20:25] = 1.0  # every key tied
    for k in (1, 5, 10):
        np.testing.assert_array_equal(top_members(keys, k), np.sort(top_k(keys, k)[0], axis=1))


def test_wide_clusters_score_as_naive_brute_force() -> None:
    """Clusters wide enough for the candidate cut: votes, and nudges asked twice about the same
    probes (the second time from remembered keys), equal naive brute force."""
    rng = np.random.default_rng(12)
    model = random_model(rng, n=900, n_clusters=2, duplicates=5)
    X = rng.normal(size=(30, 6))
    scorer = BruteForceScorer(model)
    np.testing.assert_array_equal(scorer(X), naive_votes(model, X))
    points = X[:3]
    for scale in (0.5, 0.05):
        steps = rng.normal(size=(3, 6)) * scale
        got = scorer.nudge_scores(points, steps)
        for p in range(3):
            np.testing.assert_array_equal(got[p], naive_votes(model, points[p] + np.diag(steps[p])))
