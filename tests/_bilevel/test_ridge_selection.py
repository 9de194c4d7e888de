# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
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
