# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np

from sklearn_relaxpen._bilevel.logistic_loss import WeightedLogisticLoss

from ._logistic_data import _data


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
    # the repeated-product operator skips zero-weight rows and agrees
    theta[::3] = 0.0
    curv = loss.curvature(loss.raw(coef))
    np.testing.assert_allclose(
        loss.hessian(theta, coef) @ V.ravel(),
        loss.hessp_operator(theta, curv)(V).ravel(),
        rtol=1e-10,
        atol=1e-10,
    )


def test_value_grad_curv_is_value_grad_and_curvature():
    """The curvature returned with the gradient is curvature(raw(coef)) exactly."""
    rng = np.random.RandomState(2)
    for n_classes in (2, 3):
        X, y, _, _ = _data(n_classes, n_samples=30)
        loss = WeightedLogisticLoss(X, y, n_classes, C=0.3)
        theta = rng.uniform(0, 1, 30)
        coef = rng.randn(*loss.coef_shape)
        val, grad, curv = loss.value_grad_curv(theta, coef)
        val2, grad2 = loss.value_grad(theta, coef)
        assert val == val2
        np.testing.assert_array_equal(grad, grad2)
        np.testing.assert_array_equal(curv, loss.curvature(loss.raw(coef)))
        # the penalty's gradient: W / C, zero for the intercept row
        _, pgrad = loss._penalty(coef)
        np.testing.assert_array_equal(pgrad[:-1], coef[:-1] / 0.3)
        if n_classes == 2:
            assert pgrad[-1, 0] == 0.0
