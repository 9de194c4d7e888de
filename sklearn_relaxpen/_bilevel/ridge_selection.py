# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Training-row selection for ridge regression (paper section 5.2, appendix D).

Lower level (weighted ridge, exactly scikit-learn's ``Ridge(alpha)`` fitted
with ``sample_weight=v``)::

    (W(v), b(v)) = argmin_{W, b} sum_i v_i ||W x_i + b - y_i||^2 + alpha ||W||^2

Upper level (paper eq. (12)): ``G(v) = 1/(2 n) sum_j ||W(v) x_j + b(v) - y_j||^2``
over the n validation rows.

The paper's lower level divides the data term by m; its ``s`` corresponds to
``alpha = m * s`` here. We use scikit-learn's scaling so that the lower level at
a binary v is exactly the final ``Ridge(alpha)`` fitted on the selected rows.
"""

import numpy as np
from scipy import linalg

from .ridge_folds import factorize_spd

# Rows per block when streaming over the training set: bounds temporaries to
# a few MB whatever m is, while keeping BLAS-3 efficiency.
_CHUNK_ROWS = 8192


class RidgeSelectionProblem:
    """Exact value and full-batch hypergradient of ridge training-row selection.

    With ``B = [W^T; b^T]`` and ``x1_i = (x_i, 1)``, the lower level solves
    ``H(v) B = sum_i v_i x1_i y_i^T`` where
    ``H(v) = sum_i v_i x1_i x1_i^T + alpha diag(1, ..., 1, 0)``. Differentiating
    it gives ``dB/dv_i = -H^{-1} x1_i r_i^T`` with the training residual
    ``r_i = B^T x1_i - y_i``. One adjoint solve ``H a = dG/dB`` therefore gives
    every partial derivative at once::

        dG/dv_i = -(a^T x1_i) . r_i

    The cost is one weighted Gram product (computed as ``Z^T Z`` with
    ``Z = sqrt(v) x1``, a symmetric rank-k update), a (d+1)-sized Cholesky
    factorization and two O(m d e) products; nothing of size m x m or m x n.

    Parameters
    ----------
    X : ndarray of shape (m, d)
        Training inputs (candidate rows).
    Y : ndarray of shape (m,) or (m, e)
        Training targets.
    X_val : ndarray of shape (n, d)
        Validation inputs.
    Y_val : ndarray of shape (n,) or (n, e)
        Validation targets.
    alpha : float
        Ridge penalty on W (> 0).
    fit_intercept : bool, default=True
        Whether the lower level has an unpenalized intercept b.

    Notes
    -----
    A shifted copy of the training data (by the training means when
    ``fit_intercept``, which leaves predictions unchanged and keeps the Gram
    matrix well conditioned) is made once at construction, about the size of
    X; the user's arrays are not modified.
    """

    def __init__(self, X, Y, X_val, Y_val, *, alpha, fit_intercept=True):
        self.X = np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float)
        Y_val = np.asarray(Y_val, dtype=float)
        self._single_output = Y.ndim == 1
        self.Y = Y.reshape(Y.shape[0], -1)
        self.X_val = np.asarray(X_val, dtype=float)
        self.Y_val = Y_val.reshape(Y_val.shape[0], -1)
        self.alpha = float(alpha)
        self.fit_intercept = fit_intercept
        n_features = self.X.shape[1]
        if fit_intercept:
            self._x_shift = self.X.mean(axis=0)
            self._y_shift = self.Y.mean(axis=0)
        else:
            self._x_shift = np.zeros(n_features)
            self._y_shift = np.zeros(self.Y.shape[1])
        self._x1_val = self._augment(self.X_val - self._x_shift)
        self._y_val = self.Y_val - self._y_shift
        # One shifted copy [x - x_shift, 1, y - y_shift] of the training data:
        # the Gram of sqrt(v) times it holds H(v) - penalty, the right-hand
        # side and y'Vy in one symmetric rank-k update.
        m, n_out = self.Y.shape
        self._xy1 = np.empty((m, n_features + fit_intercept + n_out))
        np.subtract(self.X, self._x_shift, out=self._xy1[:, :n_features])
        self._xy1[:, n_features : n_features + fit_intercept] = 1.0
        np.subtract(
            self.Y, self._y_shift, out=self._xy1[:, n_features + fit_intercept :]
        )
        self._penalty_diag = np.full(n_features + fit_intercept, self.alpha)
        if fit_intercept:
            self._penalty_diag[-1] = 0.0

    def _augment(self, Z):
        if not self.fit_intercept:
            return Z
        return np.hstack((Z, np.ones((Z.shape[0], 1))))

    def _chunks(self):
        m = self._xy1.shape[0]
        for start in range(0, m, _CHUNK_ROWS):
            yield slice(start, min(start + _CHUNK_ROWS, m))

    def _solve_lower(self, v):
        """Factorize H(v) and return (cho_factor, B)."""
        n_cols = self._penalty_diag.shape[0]
        full = np.zeros((self._xy1.shape[1],) * 2)
        nonnegative = bool(np.all(v >= 0))
        for rows in self._chunks():
            xy1 = self._xy1[rows]
            if nonnegative:  # symmetric rank-k update: half the flops of a GEMM
                z = np.sqrt(v[rows])[:, None] * xy1
                full += z.T @ z
            else:  # weights outside [0, 1], e.g. zeroth-order perturbations
                full += xy1.T @ (v[rows][:, None] * xy1)
        gram = full[:n_cols, :n_cols]
        rhs = full[:n_cols, n_cols:]
        gram[np.diag_indices_from(gram)] += self._penalty_diag
        factor = factorize_spd(gram, self._penalty_diag)
        return factor, linalg.cho_solve(factor, rhs, check_finite=False)

    def _validation_residual(self, B):
        return self._x1_val @ B - self._y_val

    def coef_intercept(self, theta):
        """Lower-level solution ``(W, b)`` in the original units.

        ``W`` has shape (e, d) (or (d,) for a 1-D target) and ``b`` shape
        (e,) (or a float), as scikit-learn's ``Ridge`` stores them.
        """
        _, B = self._solve_lower(np.asarray(theta, dtype=float))
        W = B[: self.X.shape[1]].T
        b = B[-1] if self.fit_intercept else np.zeros(B.shape[1])
        b = b + self._y_shift - W @ self._x_shift
        if self._single_output:
            return W[0], float(b[0])
        return W, b

    def value(self, theta, lam=None):
        """Upper-level objective ``G(v)``."""
        _, B = self._solve_lower(np.asarray(theta, dtype=float))
        resid = self._validation_residual(B)
        return 0.5 * float(np.sum(resid**2)) / resid.shape[0]

    def value_and_grad(self, theta, lam=None):
        """``G(v)``, the exact gradient ``dG/dv`` (shape (m,)) and ``None``."""
        v = np.asarray(theta, dtype=float)
        factor, B = self._solve_lower(v)
        resid_val = self._validation_residual(B)
        n_val = resid_val.shape[0]
        value = 0.5 * float(np.sum(resid_val**2)) / n_val
        adjoint = linalg.cho_solve(
            factor, self._x1_val.T @ resid_val / n_val, check_finite=False
        )
        n_cols, n_out = B.shape
        both = np.hstack((B, adjoint))
        grad = np.empty(self._xy1.shape[0])
        for rows in self._chunks():
            xy1 = self._xy1[rows]
            products = xy1[:, :n_cols] @ both
            train_resid = products[:, :n_out] - xy1[:, n_cols:]
            grad[rows] = -np.einsum("ik,ik->i", products[:, n_out:], train_resid)
        return value, grad, None
