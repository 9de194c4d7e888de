# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from sklearn_relaxpen._bilevel.logistic_cleaning import (
    LogisticCleaningProblem,
    WeightedLogisticLoss,
    fit_weighted_logistic,
)
from sklearn_relaxpen.datasets import make_noisy_labels


def _data(n_classes, n_samples=110, n_val=30, n_features=5, seed=0):
    X, y = make_classification(
        n_samples + n_val,
        n_features,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]


def _fd_grad(problem, theta, h):
    """Central finite differences of the exact upper-level value."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (problem.value(theta + e) - problem.value(theta - e)) / (2 * h)
    return grad


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


def test_hessian_and_hessp_agree_with_gradient_differences():
    X, y, _, _ = _data(3, n_samples=40)
    loss = WeightedLogisticLoss(X, y, 3, C=2.0)
    rng = np.random.RandomState(1)
    theta = rng.uniform(0, 1, 40)
    coef = rng.randn(*loss.coef_shape)
    V = rng.randn(*loss.coef_shape)
    H = loss.hessian(theta, coef)
    hv = loss.hessp(theta, coef, V)
    np.testing.assert_allclose(H @ V.ravel(), hv.ravel(), rtol=1e-10, atol=1e-10)
    h = 1e-6
    fd = (
        loss.value_grad(theta, coef + h * V)[1]
        - loss.value_grad(theta, coef - h * V)[1]
    )
    np.testing.assert_allclose(fd / (2 * h), hv, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.diag(H), loss.hessian_diag(theta, coef).ravel())


@pytest.mark.parametrize("n_classes", [2, 4])
def test_lower_level_matches_sklearn_at_binary_theta(n_classes):
    """At binary theta the lower level is LogisticRegression on the kept rows."""
    X, y, _, _ = _data(n_classes, n_samples=150, seed=3)
    mask = np.random.RandomState(0).rand(y.shape[0]) < 0.7
    C = 0.3
    coef, _, converged = fit_weighted_logistic(X, y, mask.astype(float), C=C)
    assert converged
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X[mask], y[mask])
    np.testing.assert_allclose(coef[:-1].T, ref.coef_, rtol=1e-5, atol=1e-6)
    if n_classes == 2:
        np.testing.assert_allclose(coef[-1], ref.intercept_, rtol=1e-5, atol=1e-6)
    # multinomial intercepts are defined up to a shift: compare probabilities
    loss = WeightedLogisticLoss(X, y, n_classes, C=C)
    _, _, proba = loss.losses_and_residuals(loss.raw(coef), loss.target)
    ref_proba = ref.predict_proba(X)
    if n_classes == 2:
        proba = np.hstack([1 - proba, proba])
    np.testing.assert_allclose(proba, ref_proba, atol=1e-6)
    # sample_weight=theta gives the same model as dropping the rows
    ref_w = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(
        X, y, sample_weight=mask.astype(float)
    )
    np.testing.assert_allclose(ref_w.coef_, ref.coef_, rtol=1e-4, atol=1e-5)


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


@pytest.mark.parametrize("flip_rate", [0.0, 0.3, 1.0])
def test_make_noisy_labels(flip_rate):
    y = np.repeat(np.array(["a", "b", "c", "d"]), 25)
    y_orig = y.copy()
    noisy, flipped = make_noisy_labels(y, flip_rate, random_state=0)
    np.testing.assert_array_equal(y, y_orig)
    assert noisy.dtype == y.dtype
    assert flipped.sum() == round(flip_rate * 100)
    np.testing.assert_array_equal(noisy != y, flipped)
    assert set(noisy) <= set(y)
    again, flipped2 = make_noisy_labels(y, flip_rate, random_state=0)
    np.testing.assert_array_equal(noisy, again)
    np.testing.assert_array_equal(flipped, flipped2)


def test_make_noisy_labels_uniform_over_other_classes():
    y = np.zeros(30_000, dtype=int)
    y[10_000:20_000] = 1
    y[20_000:] = 2
    noisy, flipped = make_noisy_labels(y, 1.0, random_state=0)
    counts = np.bincount(noisy[y == 0], minlength=3)
    assert counts[0] == 0
    assert abs(counts[1] / 10_000 - 0.5) < 0.03


def test_make_noisy_labels_bad_input():
    with pytest.raises(ValueError, match="flip_rate"):
        make_noisy_labels([0, 1, 0], 1.5)
    with pytest.raises(ValueError, match="two classes"):
        make_noisy_labels([1, 1, 1], 0.5)
    with pytest.raises(ValueError, match="Unknown label type"):
        make_noisy_labels([0.5, 1.2, 3.3], 0.5)
