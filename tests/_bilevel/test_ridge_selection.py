# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import itertools
import pickle

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sklearn_relaxpen._bilevel import ridge_selection
from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem


def _data(seed, n_outputs, m=25, d=4):
    rng = np.random.RandomState(seed)
    shape = (m,) if n_outputs == 1 else (m, n_outputs)
    X = rng.randn(m, d) + 5.0  # far from centred: exercises the intercept
    Y = rng.randn(*shape) + 3.0
    X_val = rng.randn(9, d) + 5.0
    Y_val = rng.randn(9, *shape[1:])
    return X, Y, X_val, Y_val, rng.uniform(0.05, 1, m)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hypergradient_matches_central_differences(seed, n_outputs, fit_intercept):
    X, Y, X_val, Y_val, v = _data(seed, n_outputs)
    problem = RidgeSelectionProblem(
        X, Y, X_val, Y_val, alpha=0.3, fit_intercept=fit_intercept
    )
    value, grad, grad_lam = problem.value_and_grad(v)
    assert grad_lam is None
    assert value == pytest.approx(problem.value(v))
    h = 1e-6
    fd = np.array(
        [
            (problem.value(v + h * e) - problem.value(v - h * e)) / (2 * h)
            for e in np.eye(v.size)
        ]
    )
    assert np.linalg.norm(grad - fd) / np.linalg.norm(fd) < 1e-5


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lower_level_is_sklearn_ridge(n_outputs, fit_intercept):
    X, Y, X_val, Y_val, v = _data(0, n_outputs)
    problem = RidgeSelectionProblem(
        X, Y, X_val, Y_val, alpha=0.7, fit_intercept=fit_intercept
    )
    ridge = Ridge(alpha=0.7, fit_intercept=fit_intercept).fit(X, Y, sample_weight=v)
    W, b = problem.coef_intercept(v)
    np.testing.assert_allclose(W, ridge.coef_, atol=1e-10)
    np.testing.assert_allclose(b, ridge.intercept_, atol=1e-9)
    # the upper level is half the validation MSE of that model
    pred = ridge.predict(X_val)
    assert problem.value(v) == pytest.approx(
        0.5 * np.mean(np.sum((pred - Y_val).reshape(len(Y_val), -1) ** 2, axis=1))
    )


def test_binary_weights_equal_fitting_on_the_subset():
    X, Y, X_val, Y_val, _ = _data(1, 1)
    mask = np.zeros(len(X), dtype=bool)
    mask[[0, 3, 5, 8, 13, 21]] = True
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0)
    ridge = Ridge(alpha=1.0).fit(X[mask], Y[mask])
    W, b = problem.coef_intercept(mask.astype(float))
    np.testing.assert_allclose(W, ridge.coef_, atol=1e-10)
    assert b == pytest.approx(ridge.intercept_)


def test_streaming_in_chunks_gives_the_same_result(monkeypatch):
    X, Y, X_val, Y_val, v = _data(2, 2, m=50)
    full = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.5).value_and_grad(v)
    monkeypatch.setattr(ridge_selection, "_CHUNK_ROWS", 7)
    chunked = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.5).value_and_grad(v)
    assert chunked[0] == pytest.approx(full[0])
    np.testing.assert_allclose(chunked[1], full[1], rtol=1e-10)


def test_inputs_not_modified():
    X, Y, X_val, Y_val, v = _data(3, 1)
    copies = [a.copy() for a in (X, Y, X_val, Y_val, v)]
    RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=1.0).value_and_grad(v)
    for original, copy in zip((X, Y, X_val, Y_val, v), copies):
        np.testing.assert_array_equal(original, copy)


def _refit_values(X, Y, X_val, Y_val, alpha, fit_intercept, weights):
    """G of scikit-learn's Ridge refitted with each row of ``weights``."""
    values = []
    for w in weights:
        ridge = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky")
        ridge.fit(X, Y, sample_weight=w)
        resid = (ridge.predict(X_val) - Y_val).reshape(len(Y_val), -1)
        values.append(0.5 * np.mean(np.sum(resid**2, axis=1)))
    return np.array(values)


def _moved(v, moves):
    weights = np.repeat(v[None], len(moves), axis=0)
    rows = np.arange(len(moves))
    if moves.ndim == 1:
        weights[rows, moves] = 1 - weights[rows, moves]
    else:
        weights[rows, moves[:, 0]] = 0.0
        weights[rows, moves[:, 1]] = 1.0
    return weights


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("k", [1, 2, 6, 20])
def test_evaluate_moves_matches_sklearn_refits(seed, n_outputs, fit_intercept, k):
    X, Y, X_val, Y_val, _ = _data(seed, n_outputs, m=30)
    rng = np.random.RandomState(seed)
    v = np.zeros(30)
    v[rng.choice(30, k, replace=False)] = 1.0
    problem = RidgeSelectionProblem(
        X, Y, X_val, Y_val, alpha=0.4, fit_intercept=fit_intercept
    )
    swaps = np.array(list(itertools.product(np.flatnonzero(v), np.flatnonzero(v == 0))))
    some = swaps[rng.choice(len(swaps), min(40, len(swaps)), replace=False)]
    flips = np.arange(30) if k > 1 else np.flatnonzero(v == 0)  # never empty
    for moves in (swaps, some, flips):  # grid products, pair by pair, flips
        got = problem.evaluate_moves(v, None, moves)
        ref = _refit_values(X, Y, X_val, Y_val, 0.4, fit_intercept, _moved(v, moves))
        np.testing.assert_allclose(got, ref, rtol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_evaluate_moves_direct_fallback_and_chunks(monkeypatch, fit_intercept):
    """The batched direct solve (used for ill-conditioned updates) and small
    chunks give the same exact values."""
    X, Y, X_val, Y_val, _ = _data(4, 2, m=20)
    v = np.zeros(20)
    v[[1, 4, 7, 11, 15]] = 1.0
    swaps = np.array(list(itertools.product(np.flatnonzero(v), [0, 2, 3, 19])))
    flips = np.arange(20)
    ref = [
        _refit_values(X, Y, X_val, Y_val, 0.4, fit_intercept, _moved(v, moves))
        for moves in (swaps, flips)
    ]
    monkeypatch.setattr(ridge_selection, "_WOODBURY_RTOL", 1e12)
    monkeypatch.setattr(ridge_selection, "_CHUNK_MOVES", 3)
    problem = RidgeSelectionProblem(
        X, Y, X_val, Y_val, alpha=0.4, fit_intercept=fit_intercept
    )
    for moves, expected in zip((swaps, flips), ref):
        got = problem.evaluate_moves(v, None, moves)
        np.testing.assert_allclose(got, expected, rtol=1e-8)


def test_evaluate_moves_from_empty_and_to_empty():
    X, Y, X_val, Y_val, _ = _data(5, 1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.4)
    empty = np.zeros(len(X))
    got = problem.evaluate_moves(empty, None, np.arange(len(X)))  # every addition
    ref = _refit_values(X, Y, X_val, Y_val, 0.4, True, np.eye(len(X)))
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    single = np.eye(len(X))[3]
    assert problem.evaluate_moves(single, None, np.array([3]))[0] == pytest.approx(
        problem.value(empty), rel=1e-12
    )


def test_evaluate_moves_bad_input():
    X, Y, X_val, Y_val, _ = _data(6, 1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.4)
    v = np.zeros(len(X))
    v[:3] = 1
    with pytest.raises(TypeError, match="integer"):
        problem.evaluate_moves(v, None, np.array([0.5]))
    with pytest.raises(ValueError, match="shape"):
        problem.evaluate_moves(v, None, np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="rows in"):
        problem.evaluate_moves(v, None, np.array([len(X)]))
    with pytest.raises(ValueError, match="theta\\[i\\] == 1"):
        problem.evaluate_moves(v, None, np.array([[5, 6]]))
    with pytest.raises(ValueError, match="0 or 1"):
        problem.evaluate_moves(np.full(len(X), 0.5), None, np.array([0]))
    assert problem.evaluate_moves(v, None, np.empty((0, 2), dtype=int)).shape == (0,)


def test_cached_factorization_follows_in_place_changes():
    X, Y, X_val, Y_val, v = _data(7, 1)
    problem = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.4)
    fresh = RidgeSelectionProblem(X, Y, X_val, Y_val, alpha=0.4)
    first = problem.value(v)
    v[0] += 0.3  # the caller changes its array in place
    assert problem.value(v) == pytest.approx(fresh.value(v), rel=1e-12)
    assert problem.value(v) != first
    W, _ = problem.coef_intercept(v)
    W[:] = 0.0  # the returned coefficients are not the cached ones
    assert problem.value(v) == pytest.approx(fresh.value(v), rel=1e-12)
    assert "_cache" not in pickle.loads(pickle.dumps(problem)).__dict__
