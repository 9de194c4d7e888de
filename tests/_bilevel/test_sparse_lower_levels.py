# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sparse X in the logistic lower level: the same numbers as dense X."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_relaxpen._bilevel.logistic_cleaning import (
    LogisticCleaningProblem,
    WeightedLogisticLoss,
)


def _data(n_classes, n=40, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    X[np.abs(X) < 0.7] = 0.0
    y = np.arange(n) % n_classes
    X += np.eye(n_classes, d)[y]
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_logistic_loss_matches_dense(n_classes):
    X, y = _data(n_classes)
    theta = np.random.RandomState(1).uniform(0.1, 1.0, size=X.shape[0])
    dense = WeightedLogisticLoss(X, y, n_classes)
    sparse = WeightedLogisticLoss(sp.csr_matrix(X), y, n_classes)
    coef = np.random.RandomState(2).randn(*dense.coef_shape)
    for a, b in zip(dense.value_grad(theta, coef), sparse.value_grad(theta, coef)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    V = np.random.RandomState(3).randn(*dense.coef_shape)
    np.testing.assert_allclose(
        sparse.hessp(theta, coef, V), dense.hessp(theta, coef, V), rtol=1e-12
    )
    np.testing.assert_allclose(
        sparse.hessian(theta, coef), dense.hessian(theta, coef), atol=1e-12
    )
    np.testing.assert_allclose(
        sparse.hessian_diag(theta, coef), dense.hessian_diag(theta, coef), rtol=1e-12
    )
    assert sparse.lipschitz() == pytest.approx(dense.lipschitz(), rel=1e-10)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("n_inner_iter", [None, 5])
def test_sparse_cleaning_problem_matches_dense(n_classes, n_inner_iter):
    X, y = _data(n_classes)
    X_val, y_val = _data(n_classes, n=15, seed=4)
    theta = np.random.RandomState(1).uniform(0.1, 1.0, size=X.shape[0])
    kw = dict(n_classes=n_classes, n_inner_iter=n_inner_iter)
    dense = LogisticCleaningProblem(X, y, X_val, y_val, **kw)
    sparse = LogisticCleaningProblem(
        sp.csr_matrix(X), y, sp.csr_matrix(X_val), y_val, **kw
    )
    assert sparse.value(theta) == pytest.approx(dense.value(theta), rel=1e-9)
    if n_inner_iter is None:
        v_d, g_d, _ = dense.value_and_grad(theta)
        v_s, g_s, _ = sparse.value_and_grad(theta)
        assert v_s == pytest.approx(v_d, rel=1e-9)
        np.testing.assert_allclose(g_s, g_d, rtol=1e-7, atol=1e-12)
