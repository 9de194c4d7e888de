# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_relaxpen._bilevel.logistic_cleaning import LogisticCleaningProblem

from ._logistic_data import _data, _fd_grad


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
def test_implicit_hypergradient_matches_finite_differences(n_classes, solver):
    X, y, X_val, y_val = _data(n_classes)
    problem = LogisticCleaningProblem(X, y, X_val, y_val, C=0.5, solver=solver)
    theta = np.random.RandomState(0).uniform(0.1, 1.0, size=y.shape[0])
    G, grad, grad_lam = problem.value_and_grad(theta)
    assert grad_lam is None
    assert grad.shape == theta.shape
    fd = _fd_grad(problem, theta, h=1e-4)
    rel_err = np.linalg.norm(grad - fd) / np.linalg.norm(fd)
    assert rel_err < 1e-5
    assert G == pytest.approx(problem.value(theta), rel=1e-12)


def test_solvers_agree_and_warm_start_is_consistent():
    X, y, X_val, y_val = _data(3, n_samples=80)
    theta = np.random.RandomState(2).uniform(0, 1, 80)
    a = LogisticCleaningProblem(X, y, X_val, y_val, solver="newton-cholesky")
    b = LogisticCleaningProblem(X, y, X_val, y_val, solver="newton-cg")
    Ga, ga, _ = a.value_and_grad(theta)
    Gb, gb, _ = b.value_and_grad(theta)
    assert Ga == pytest.approx(Gb, rel=1e-10)
    np.testing.assert_allclose(ga, gb, rtol=1e-6, atol=1e-10)
    # a warm-started solve at a new theta equals a cold solve there
    theta2 = np.clip(theta + 0.2, 0, 1)
    cold = LogisticCleaningProblem(X, y, X_val, y_val, solver="newton-cholesky")
    np.testing.assert_allclose(a.solve(theta2), cold.solve(theta2), atol=1e-9)


def test_truncated_value_is_deterministic_and_approaches_exact():
    X, y, X_val, y_val = _data(3, n_samples=60)
    theta = np.random.RandomState(0).uniform(0, 1, 60)
    exact = LogisticCleaningProblem(X, y, X_val, y_val).value(theta)
    gaps = []
    for T in [1, 10, 1000]:
        p = LogisticCleaningProblem(X, y, X_val, y_val, n_inner_iter=T)
        v = p.value(theta)
        p.value(np.ones(60))  # call order must not matter
        assert p.value(theta) == v
        gaps.append(abs(v - exact))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3


def test_problem_does_not_modify_inputs():
    X, y, X_val, y_val = _data(2)
    copies = [a.copy() for a in (X, y, X_val, y_val)]
    theta = np.full(y.shape[0], 0.5)
    theta_copy = theta.copy()
    problem = LogisticCleaningProblem(X, y, X_val, y_val, n_inner_iter=5)
    problem.value_and_grad(theta)
    problem.value(theta)
    for a, b in zip((X, y, X_val, y_val), copies):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(theta, theta_copy)


def test_problem_bad_input():
    X, y, X_val, y_val = _data(2)
    with pytest.raises(ValueError, match="y_val"):
        LogisticCleaningProblem(X, y, X_val, y_val + 2, n_classes=2)
    with pytest.raises(ValueError, match="solver"):
        LogisticCleaningProblem(X, y, X_val, y_val, solver="lbfgs")
    with pytest.raises(ValueError, match="inner_init"):
        LogisticCleaningProblem(X, y, X_val, y_val, inner_init="warm")


def test_evaluate_moves_matches_value():
    X, y, X_val, y_val = _data(3, n_samples=50)
    problem = LogisticCleaningProblem(X, y, X_val, y_val, tol=1e-10)
    theta = (np.random.RandomState(0).rand(50) < 0.7).astype(float)
    fresh = LogisticCleaningProblem(X, y, X_val, y_val, tol=1e-10)
    flips = np.array([1, 7, 30])
    for i, value in zip(flips, problem.evaluate_moves(theta, None, flips)):
        moved = theta.copy()
        moved[i] = 1 - moved[i]
        assert value == pytest.approx(fresh.value(moved), rel=1e-8)
    i, j = np.flatnonzero(theta == 1)[0], np.flatnonzero(theta == 0)[0]
    (value,) = problem.evaluate_moves(theta, None, np.array([[i, j]]))
    moved = theta.copy()
    moved[i], moved[j] = 0.0, 1.0
    assert value == pytest.approx(fresh.value(moved), rel=1e-8)
    # the zeroth-order problem evaluates its own (truncated) values
    thesis = LogisticCleaningProblem(X, y, X_val, y_val, n_inner_iter=5)
    (value,) = thesis.evaluate_moves(theta, None, flips[:1])
    moved = theta.copy()
    moved[1] = 1 - moved[1]
    assert value == thesis.value(moved)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_value_batch_matches_value(n_classes, sparse):
    """The vectorized truncated solver equals one value() per weighting."""
    X, y, X_val, y_val = _data(n_classes, n_samples=60, n_val=20, seed=1)
    X = sp.csr_matrix(X) if sparse else X
    thesis = LogisticCleaningProblem(X, y, X_val, y_val, C=0.5, n_inner_iter=7)
    thetas = np.random.RandomState(0).uniform(-0.2, 1.2, size=(5, 60))
    values = thesis.value_batch(thetas)
    assert values.shape == (5,)
    np.testing.assert_allclose(
        values, [thesis.value(t) for t in thetas], rtol=1e-13, atol=0
    )
    # a row's value does not depend on its batch beyond rounding
    np.testing.assert_allclose(thesis.value_batch(thetas[2:3]), values[2:3], rtol=1e-13)
    # without n_inner_iter: exact values, the stored solution left unchanged
    exact = LogisticCleaningProblem(X, y, X_val, y_val, C=0.5, tol=1e-12)
    before = exact._coef.copy()
    np.testing.assert_allclose(
        exact.value_batch(thetas[:2]),
        [
            LogisticCleaningProblem(X, y, X_val, y_val, C=0.5).value(t)
            for t in thetas[:2]
        ],
        rtol=1e-9,
    )
    np.testing.assert_array_equal(exact._coef, before)


def test_value_batch_threads_on_a_fresh_problem():
    """Concurrent first calls (the lazy fixed start) give the serial values."""
    from concurrent.futures import ThreadPoolExecutor

    X, y, X_val, y_val = _data(3, n_samples=80, n_val=20, seed=2)
    thetas = np.random.RandomState(1).uniform(0, 1, size=(8, 80))
    serial = LogisticCleaningProblem(X, y, X_val, y_val, n_inner_iter=5)
    expected = [serial.value_batch(t[None]) for t in thetas]
    for _ in range(10):
        fresh = LogisticCleaningProblem(X, y, X_val, y_val, n_inner_iter=5)
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(fresh.value_batch, [t[None] for t in thetas]))
        np.testing.assert_array_equal(got, expected)
