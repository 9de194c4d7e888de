# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from scipy import linalg
from sklearn.linear_model import LogisticRegression

from sklearn_relaxpen._bilevel.logistic_loss import WeightedLogisticLoss
from sklearn_relaxpen._bilevel.logistic_solver import newton, solve_spd, use_direct

from ._logistic_data import _data


def _fit_weighted_logistic(X, y, sample_weight, *, C=1.0, solver="newton-cholesky"):
    """Weighted L2 logistic regression by the lower level's Newton solver."""
    y = np.asarray(y, dtype=np.intp)
    loss = WeightedLogisticLoss(X, y, int(y.max()) + 1, C=C)
    direct = use_direct(solver, loss.n_params)
    return newton(
        loss,
        np.asarray(sample_weight, dtype=np.float64),
        np.zeros(loss.coef_shape),
        tol=1e-12,
        max_iter=100,
        direct=direct,
    )


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("solver", ["newton-cholesky", "newton-cg"])
def test_lower_level_matches_sklearn_at_binary_theta(n_classes, solver):
    """At binary theta the lower level is LogisticRegression on the kept rows."""
    X, y, _, _ = _data(n_classes, n_samples=150, seed=3)
    mask = np.random.RandomState(0).rand(y.shape[0]) < 0.7
    C = 0.3
    coef, _, converged = _fit_weighted_logistic(
        X, y, mask.astype(float), C=C, solver=solver
    )
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


def test_use_direct_bad_solver():
    with pytest.raises(ValueError, match="solver"):
        use_direct("lbfgs", 10)


def test_solve_spd_equals_cho_solve_and_falls_back_to_least_squares():
    rng = np.random.RandomState(0)
    A = rng.randn(12, 7)
    H = A.T @ A + 0.1 * np.eye(7)
    rhs = rng.randn(7)
    H_before, rhs_before = H.copy(), rhs.copy()
    x = solve_spd(H, rhs)
    expected = linalg.cho_solve(linalg.cho_factor(H), rhs)
    np.testing.assert_array_equal(x, expected)  # the same LAPACK calls
    np.testing.assert_array_equal(H, H_before)  # inputs untouched
    np.testing.assert_array_equal(rhs, rhs_before)
    # not positive definite: the least-squares solution
    S = np.diag([1.0, 2.0, -1.0, 0.0, 3.0, 1.0, 1.0])
    np.testing.assert_allclose(
        solve_spd(S, rhs), linalg.lstsq(S, rhs)[0], rtol=1e-12, atol=1e-12
    )
