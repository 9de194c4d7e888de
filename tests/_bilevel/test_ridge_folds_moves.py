# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Exact batched moves of the fold-averaged ridge selection problem."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import KFold

from sklearn_relaxpen._bilevel import ridge_folds
from sklearn_relaxpen._bilevel.ridge_folds import RidgeFoldsProblem
from sklearn_relaxpen.sample_selection import BilevelDataDistiller


def _problem(seed, n_folds, n_outputs, fit_intercept, sparse, n=40, d=3, alpha=0.3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) + 4.0  # far from centred: exercises the global shift
    if sparse:
        X[rng.rand(n, d) < 0.4] = 0.0
        X = sp.csr_matrix(X)
    shape = (n,) if n_outputs == 1 else (n, n_outputs)
    Y = rng.randn(*shape) + 2.0
    folds = list(KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n)))
    problem = RidgeFoldsProblem(
        X, Y, folds, np.arange(n), alpha=alpha, fit_intercept=fit_intercept
    )
    return problem, rng


def _binary(rng, size, budget):
    theta = np.zeros(size)
    theta[rng.choice(size, budget, replace=False)] = 1.0
    return theta


def _moved(theta, move):
    out = theta.copy()
    if np.ndim(move) == 0:
        out[move] = 1.0 - out[move]
    else:
        out[move[0]], out[move[1]] = 0.0, 1.0
    return out


def _random_swaps(rng, theta, k):
    ones, zeros = np.flatnonzero(theta == 1), np.flatnonzero(theta == 0)
    return np.column_stack((rng.choice(ones, k), rng.choice(zeros, k)))


@pytest.mark.parametrize("n_folds", [3, 5])
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_evaluate_moves_matches_value(n_folds, n_outputs, fit_intercept, sparse):
    problem, rng = _problem(n_folds, n_folds, n_outputs, fit_intercept, sparse)
    theta = _binary(rng, problem.n_candidates, 8)
    swaps = _random_swaps(rng, theta, 50)
    flips = np.arange(problem.n_candidates)
    for moves in (swaps, flips):
        got = problem.evaluate_moves(theta, None, moves)
        want = [problem.value(_moved(theta, mv)) for mv in moves]
        np.testing.assert_allclose(got, want, rtol=1e-8)
    # the full (out, in) grid goes through the helper's matrix-product path
    ones, zeros = np.flatnonzero(theta), np.flatnonzero(theta == 0)
    grid = np.array([(i, j) for i in ones for j in zeros])
    got = problem.evaluate_moves(theta, None, grid)
    want = [problem.value(_moved(theta, mv)) for mv in grid]
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_evaluate_moves_holdout_and_external_validation():
    rng = np.random.RandomState(1)
    n, d = 40, 3
    X, Y = rng.randn(n, d) + 3.0, rng.randn(n, 2)
    # holdout: rows 30.. validate only (not candidates)
    position = np.full(n, -1)
    position[:30] = np.arange(30)
    folds = [(np.arange(30), np.arange(30, n))]
    problems = [RidgeFoldsProblem(X, Y, folds, position, alpha=0.5)]
    # external validation data, one fold of all rows, sparse X
    X_val, Y_val = rng.randn(9, d) + 3.0, rng.randn(9, 2)
    problems.append(
        RidgeFoldsProblem(
            sp.csr_matrix(X),
            Y,
            [(np.arange(n), None)],
            np.arange(n),
            alpha=0.5,
            X_val=X_val,
            Y_val=Y_val,
        )
    )
    for problem in problems:
        theta = _binary(rng, problem.n_candidates, 6)
        for moves in (_random_swaps(rng, theta, 30), np.arange(problem.n_candidates)):
            got = problem.evaluate_moves(theta, None, moves)
            want = [problem.value(_moved(theta, mv)) for mv in moves]
            np.testing.assert_allclose(got, want, rtol=1e-8)


def test_evaluate_moves_small_blocks_and_fold_edge_cases(monkeypatch):
    # blocks of one move; a fold with no selected training row (the
    # intercept's singular H) and one with a single row (removal empties it)
    monkeypatch.setattr(ridge_folds, "_MOVE_ENTRIES", 1)
    problem, _ = _problem(0, 3, 1, True, False, n=30)
    for n_selected in (1, 2):
        theta = np.zeros(problem.n_candidates)
        theta[problem.val[0][:n_selected]] = 1.0  # fold 0 trains on none of them
        assert np.count_nonzero(theta[problem.train[0]]) == 0
        assert np.count_nonzero(theta[problem.train[1]]) == n_selected
        moves = np.arange(problem.n_candidates)
        got = problem.evaluate_moves(theta, None, moves)
        want = [problem.value(_moved(theta, mv)) for mv in moves]
        np.testing.assert_allclose(got, want, rtol=1e-8)
        swaps = np.array([(i, j) for i in np.flatnonzero(theta) for j in range(6)])
        swaps = swaps[theta[swaps[:, 1]] == 0]
        got = problem.evaluate_moves(theta, None, swaps)
        want = [problem.value(_moved(theta, mv)) for mv in swaps]
        np.testing.assert_allclose(got, want, rtol=1e-8)


def test_evaluate_moves_cache_pickle_and_bad_input():
    problem, rng = _problem(2, 3, 1, True, False)
    theta = _binary(rng, problem.n_candidates, 8)
    value, grad, _ = problem.value_and_grad(theta)  # fills the one-point cache
    assert value == pytest.approx(problem.value(theta), rel=1e-12)
    clone = pickle.loads(pickle.dumps(problem))
    assert not hasattr(clone, "_cache")
    moves = _random_swaps(rng, theta, 10)
    np.testing.assert_array_equal(
        problem.evaluate_moves(theta, None, moves),
        clone.evaluate_moves(theta, None, moves),
    )
    assert problem.evaluate_moves(theta, None, np.empty(0, int)).shape == (0,)
    with pytest.raises(TypeError, match="integer"):
        problem.evaluate_moves(theta, None, np.array([0.5]))
    with pytest.raises(ValueError, match="shape"):
        problem.evaluate_moves(theta, None, np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="index"):
        problem.evaluate_moves(theta, None, np.array([problem.n_candidates]))
    with pytest.raises(ValueError, match="theta"):
        problem.evaluate_moves(theta[:-1], None, np.array([0]))
    bad = np.array([[np.flatnonzero(theta == 0)[0], np.flatnonzero(theta)[0]]])
    with pytest.raises(ValueError, match="swap"):
        problem.evaluate_moves(theta, None, bad)


def test_distiller_cv_polish_is_certified(monkeypatch):
    # spy on the batched evaluator to get the distiller's own fold problem
    seen = []
    original = RidgeFoldsProblem.evaluate_moves

    def spy(self, theta, lam, moves):
        seen.append(self)
        return original(self, theta, lam, moves)

    monkeypatch.setattr(RidgeFoldsProblem, "evaluate_moves", spy)
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.randn(60)
    distiller = BilevelDataDistiller(budget=8, random_state=0).fit(X, y)
    polish = distiller.polish_
    assert seen, "the polish did not use the batched evaluator"
    assert polish.certified, polish.message
    assert polish.objective_after <= polish.objective_before
    # the certificate is real: no swap of the answer improves the cv objective
    problem = seen[-1]
    theta = distiller.sample_mask_[problem._rows].astype(float)
    value = problem.value(theta)
    assert value == pytest.approx(distiller.val_loss_, rel=1e-10)
    swaps = [(i, j) for i in np.flatnonzero(theta) for j in np.flatnonzero(theta == 0)]
    best = min(problem.value(_moved(theta, mv)) for mv in swaps)
    assert best >= value * (1 - 1e-9)
