# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Hyper-cleaning lower level: weighted L2 logistic regression.

The lower level of data hyper-cleaning (thesis section 4.1) is

.. math::

    w(\\theta) = \\arg\\min_w \\sum_i \\theta_i \\ell(y_i, x_i^\\top W + b)
    + \\frac{1}{2C} \\|W\\|^2,

with the binary logistic loss for two classes and the multinomial
(softmax) loss otherwise; the intercept ``b`` is not penalized. At a binary
``theta`` this is exactly :class:`~sklearn.linear_model.LogisticRegression`
with ``C=C`` fitted with ``sample_weight=theta`` (or on the kept rows).

The upper level is the mean log-loss on a trusted set,
``G(theta) = mean_j l(y_val_j, w(theta))``. Its exact gradient follows from
the implicit function theorem at the lower-level stationarity point:

.. math::

    \\frac{\\partial G}{\\partial \\theta_i}
    = -\\nabla_w \\ell_i(w)^\\top H(w, \\theta)^{-1} \\nabla_w G(w),

computed for all rows at once with one linear solve (the adjoint
``a = H^{-1} \\nabla_w G``) and one matrix product.

Everything here is array-in, array-out; nothing imports the estimators.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, cg
from scipy.special import expit, log_expit
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "LogisticCleaningProblem",
    "WeightedLogisticLoss",
    "fit_weighted_logistic",
]

# Above this many coefficients the Hessian is never formed: Newton-CG with
# Hessian-vector products replaces Newton-Cholesky, and the adjoint system of
# the hypergradient is solved by conjugate gradient.
_AUTO_DIRECT_MAX_PARAMS = 300


def _log_softmax_parts(Z):
    """Row-wise log-sum-exp and softmax of ``Z``, computed stably."""
    zmax = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - zmax)
    s = E.sum(axis=1, keepdims=True)
    E /= s
    return (np.log(s) + zmax)[:, 0], E


class WeightedLogisticLoss:
    """Weighted L2 logistic loss with an unpenalized intercept.

    The objective is ``sum_i theta_i * loss_i(coef) + ||W||^2 / (2 C)`` where
    ``coef`` has shape ``(n_features + 1, n_outputs)``: rows ``0..d-1`` hold
    ``W`` and the last row the intercept. ``n_outputs`` is 1 for the binary
    (sigmoid) loss and ``n_classes`` for the multinomial (softmax) loss.

    For the multinomial loss the intercept is defined up to a common shift.
    The gauge term ``gauge / 2 * (sum_k b_k)^2`` fixes it (solutions with
    centred intercepts); it changes neither the predictions nor the
    upper-level objective, and makes the Hessian positive definite.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training features (not modified; a copy with a column of ones is
        kept).
    y : ndarray of shape (n_samples,)
        Integer-encoded labels in ``{0, ..., n_classes - 1}``.
    n_classes : int
        Number of classes (at least 2).
    C : float, default=1.0
        Inverse regularization strength, as in ``LogisticRegression``.
    """

    def __init__(self, X, y, n_classes, C=1.0):
        y = np.asarray(y, dtype=np.intp)
        ones = np.ones((X.shape[0], 1))
        if sp.issparse(X):  # only products with X are needed: keep it sparse
            self.Xt = sp.hstack([X, ones], format="csr", dtype=np.float64)
        else:
            X = np.asarray(X, dtype=np.float64)
            self.Xt = np.hstack([X, ones])
        self.n_samples, self.n_features = X.shape
        self.n_classes = int(n_classes)
        self.binary = self.n_classes == 2
        self.n_outputs = 1 if self.binary else self.n_classes
        self.C = float(C)
        self.y = y
        if self.binary:
            self.target = y.astype(np.float64)
        else:
            self.target = np.zeros((self.n_samples, self.n_classes))
            self.target[np.arange(self.n_samples), y] = 1.0
        self.gauge = 1.0

    @property
    def coef_shape(self):
        """Shape ``(n_features + 1, n_outputs)`` of the coefficients."""
        return (self.n_features + 1, self.n_outputs)

    @property
    def n_params(self):
        """Number of coefficients."""
        return (self.n_features + 1) * self.n_outputs

    # -- building blocks --------------------------------------------------
    def _penalty(self, coef):
        W = coef[:-1]
        val = 0.5 / self.C * np.sum(W * W)
        grad = np.zeros_like(coef)
        grad[:-1] = W / self.C
        if not self.binary:
            s = coef[-1].sum()
            val += 0.5 * self.gauge * s * s
            grad[-1] += self.gauge * s
        return val, grad

    def raw(self, coef, X=None):
        """Decision values ``[X, 1] @ coef``, shape (n, n_outputs)."""
        Xt = self.Xt if X is None else X
        return Xt @ coef

    def losses_and_residuals(self, Z, target):
        """Per-row losses and residuals ``dloss/dZ`` for raw scores ``Z``.

        Parameters
        ----------
        Z : ndarray of shape (n, n_outputs)
            Raw scores.
        target : ndarray
            ``(n,)`` 0/1 targets (binary) or ``(n, n_classes)`` one-hot.

        Returns
        -------
        loss : ndarray of shape (n,)
        resid : ndarray of shape (n, n_outputs)
        proba : ndarray of shape (n, n_outputs)
            Probability of the positive class (binary) or of each class.
        """
        if self.binary:
            z = Z[:, 0]
            # log(1 + exp(z)) - t z, computed stably
            loss = -log_expit(-z) - target * z
            p = expit(z)
            return loss, (p - target)[:, None], p[:, None]
        lse, P = _log_softmax_parts(Z)
        loss = lse - np.sum(Z * target, axis=1)
        return loss, P - target, P

    def value_grad(self, theta, coef):
        """Objective and gradient with respect to ``coef``."""
        Z = self.raw(coef)
        loss, resid, _ = self.losses_and_residuals(Z, self.target)
        pval, pgrad = self._penalty(coef)
        val = float(theta @ loss) + pval
        grad = self.Xt.T @ (theta[:, None] * resid) + pgrad
        return val, grad

    def _curvature(self, Z):
        if self.binary:
            p = expit(Z[:, 0])
            return p * (1.0 - p)
        return _log_softmax_parts(Z)[1]

    def hessp(self, theta, coef, V, curv=None):
        """Hessian-vector product ``H(coef, theta) @ V`` (V shaped as coef)."""
        if curv is None:
            curv = self._curvature(self.raw(coef))
        XV = self.Xt @ V
        if self.binary:
            Q = (theta * curv)[:, None] * XV
        else:
            P = curv
            Q = theta[:, None] * (P * XV - P * np.sum(P * XV, axis=1)[:, None])
        out = self.Xt.T @ Q
        out[:-1] += V[:-1] / self.C
        if not self.binary:
            out[-1] += self.gauge * V[-1].sum()
        return out

    def hessian_diag(self, theta, coef, curv=None):
        """Diagonal of the Hessian, shaped as coef (Jacobi preconditioner)."""
        if curv is None:
            curv = self._curvature(self.raw(coef))
        X2 = self.Xt.multiply(self.Xt) if sp.issparse(self.Xt) else self.Xt**2
        if self.binary:
            d = (X2.T @ (theta * curv))[:, None]
        else:
            d = X2.T @ (theta[:, None] * curv * (1.0 - curv))
        d[:-1] += 1.0 / self.C
        if not self.binary:
            d[-1] += self.gauge
        return d

    def hessian(self, theta, coef, curv=None):
        """Dense Hessian of shape (n_params, n_params), C-order flattening."""
        if curv is None:
            curv = self._curvature(self.raw(coef))
        Xt = self.Xt
        p1 = self.n_features + 1
        if self.binary:
            H = _weighted_gram(Xt, theta * curv)
            H[np.arange(p1 - 1), np.arange(p1 - 1)] += 1.0 / self.C
            return H
        K = self.n_classes
        P = curv
        if sp.issparse(Xt):
            return self._sparse_multinomial_hessian(theta, P)
        # -sum_i theta_i (x_i kron p_i)(x_i kron p_i)^T, one BLAS product
        V = (Xt[:, :, None] * P[:, None, :]).reshape(self.n_samples, p1 * K)
        H = -(V.T @ (theta[:, None] * V))
        H4 = H.reshape(p1, K, p1, K)
        # + block diagonal X^T diag(theta p_k) X (loop over classes only)
        for k in range(K):
            H4[:, k, :, k] += Xt.T @ ((theta * P[:, k])[:, None] * Xt)
        idx = np.arange(p1 - 1)
        for k in range(K):
            H4[idx, k, idx, k] += 1.0 / self.C
        H4[-1, :, -1, :] += self.gauge
        return H

    def _sparse_multinomial_hessian(self, theta, P):
        """The multinomial Hessian block by block, for sparse X."""
        p1, K = self.n_features + 1, self.n_classes
        H4 = np.zeros((p1, K, p1, K))
        for k in range(K):
            for j in range(k, K):
                w = -theta * P[:, k] * P[:, j]
                if j == k:
                    w = w + theta * P[:, k]
                block = _weighted_gram(self.Xt, w)
                H4[:, k, :, j] = block
                H4[:, j, :, k] = block.T
        idx = np.arange(p1 - 1)
        for k in range(K):
            H4[idx, k, idx, k] += 1.0 / self.C
        H4[-1, :, -1, :] += self.gauge
        return H4.reshape(p1 * K, p1 * K)

    def lipschitz(self, theta_max=1.0):
        """Upper bound of the gradient's Lipschitz constant for 0<=theta<=1."""
        if sp.issparse(self.Xt):  # ||Xt||_2^2, the top eigenvalue of Xt'Xt
            gram = (self.Xt.T @ self.Xt).toarray()
            top = gram.shape[0] - 1
            sigma = float(linalg.eigvalsh(gram, subset_by_index=[top, top])[0])
        else:
            sigma = linalg.norm(self.Xt, 2) ** 2
        c = 0.25 if self.binary else 0.5
        L = c * theta_max * sigma + 1.0 / self.C
        if not self.binary:
            L += self.gauge * self.n_classes
        return L


def _weighted_gram(Xt, w):
    """Dense ``Xt' diag(w) Xt`` for dense or sparse ``Xt``."""
    if sp.issparse(Xt):
        return np.asarray((Xt.T @ Xt.multiply(w[:, None])).todense())
    return Xt.T @ (w[:, None] * Xt)


def _solve_spd(H, rhs):
    """Solve ``H x = rhs`` for a symmetric (nearly) positive definite H."""
    try:
        factor = linalg.cho_factor(H, lower=False, check_finite=False)
        return linalg.cho_solve(factor, rhs, check_finite=False), factor
    except linalg.LinAlgError:
        return linalg.lstsq(H, rhs, check_finite=False)[0], None


def _cg_solve(loss, theta, coef, curv, rhs, rtol):
    """Jacobi-preconditioned CG on ``H x = rhs`` with Hessian-vector products."""
    n = loss.n_params
    shape = coef.shape
    op = LinearOperator(
        (n, n),
        matvec=lambda v: loss.hessp(theta, coef, v.reshape(shape), curv=curv).ravel(),
        dtype=np.float64,
    )
    diag = np.abs(loss.hessian_diag(theta, coef, curv=curv).ravel())
    diag[diag <= 0] = 1.0
    precond = LinearOperator((n, n), matvec=lambda v: v / diag, dtype=np.float64)
    x, _ = cg(op, rhs.ravel(), rtol=rtol, atol=0.0, maxiter=20 * n, M=precond)
    return x.reshape(shape)


def _newton(loss, theta, coef0, *, tol, max_iter, direct):
    """Damped Newton method; returns (coef, n_iter, converged, factor)."""
    coef = np.array(coef0, dtype=np.float64, copy=True)
    scale = max(1.0, float(np.sum(np.abs(theta))))
    f, g = loss.value_grad(theta, coef)
    factor = None
    for it in range(1, max_iter + 1):
        gmax = np.max(np.abs(g))
        if gmax <= tol * scale:
            return coef, it - 1, True, factor
        curv = loss._curvature(loss.raw(coef))
        if direct:
            H = loss.hessian(theta, coef, curv=curv)
            step, factor = _solve_spd(H, -g.ravel())
            step = step.reshape(coef.shape)
        else:
            rtol = min(0.5, np.sqrt(np.linalg.norm(g) / scale))
            step = _cg_solve(loss, theta, coef, curv, -g, rtol)
        slope = float(np.sum(g * step))
        if slope >= 0:  # not a descent direction (numerical trouble)
            step = -g
            slope = -float(np.sum(g * g))
        t = 1.0
        for _ in range(40):
            new = coef + t * step
            f_new, g_new = loss.value_grad(theta, new)
            if f_new <= f + 1e-4 * t * slope or abs(f_new - f) <= 1e-14 * abs(f):
                break
            t *= 0.5
        stalled = np.max(np.abs(new - coef)) <= 1e-15 * (1.0 + np.max(np.abs(coef)))
        coef, f, g = new, f_new, g_new
        if stalled:  # machine precision reached
            return coef, it, True, factor
    gmax = np.max(np.abs(g))
    return coef, max_iter, bool(gmax <= tol * scale), None


def fit_weighted_logistic(
    X,
    y,
    sample_weight,
    *,
    n_classes=None,
    C=1.0,
    coef_init=None,
    solver="auto",
    tol=1e-12,
    max_iter=100,
):
    """Fit weighted L2 logistic regression (binary or multinomial).

    Minimizes ``sum_i w_i loss_i + ||W||^2 / (2 C)`` with an unpenalized
    intercept, the objective of
    :class:`~sklearn.linear_model.LogisticRegression` with ``sample_weight``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.
    y : ndarray of shape (n_samples,)
        Integer-encoded labels in ``{0, ..., n_classes - 1}``.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative row weights.
    n_classes : int, default=None
        Number of classes; ``y.max() + 1`` when None.
    C : float, default=1.0
        Inverse regularization strength.
    coef_init : ndarray of shape (n_features + 1, n_outputs), default=None
        Warm start (last row is the intercept).
    solver : {"auto", "newton-cholesky", "newton-cg"}, default="auto"
        Newton with a dense Hessian factorization, or Hessian-free
        Newton-CG; "auto" picks by the number of coefficients.
    tol : float, default=1e-12
        Stop when ``max|grad| <= tol * max(1, sum(sample_weight))``.
    max_iter : int, default=100
        Maximum number of Newton iterations.

    Returns
    -------
    coef : ndarray of shape (n_features + 1, n_outputs)
        ``W`` stacked over the intercept; ``n_outputs`` is 1 for two classes.
    n_iter : int
        Number of Newton iterations.
    converged : bool
        Whether the gradient tolerance was reached.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_relaxpen._bilevel.logistic_cleaning import (
    ...     fit_weighted_logistic)
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> coef, n_iter, converged = fit_weighted_logistic(X, y, np.ones(4))
    >>> coef.shape, converged
    ((2, 1), True)
    """
    y = np.asarray(y, dtype=np.intp)
    if n_classes is None:
        n_classes = int(y.max()) + 1
    loss = WeightedLogisticLoss(X, y, n_classes, C=C)
    theta = np.asarray(sample_weight, dtype=np.float64)
    if coef_init is None:
        coef_init = np.zeros(loss.coef_shape)
    direct = _use_direct(solver, loss.n_params)
    coef, n_iter, converged, _ = _newton(
        loss, theta, coef_init, tol=tol, max_iter=max_iter, direct=direct
    )
    return coef, n_iter, converged


def _use_direct(solver, n_params):
    if solver == "auto":
        return n_params <= _AUTO_DIRECT_MAX_PARAMS
    if solver == "newton-cholesky":
        return True
    if solver == "newton-cg":
        return False
    raise ValueError(
        f"solver must be 'auto', 'newton-cholesky' or 'newton-cg'; got {solver!r}."
    )


class LogisticCleaningProblem:
    """Bilevel hyper-cleaning problem with a logistic-regression lower level.

    Upper level: mean log-loss on a trusted set. Lower level: weighted L2
    logistic regression on the noisy training rows, weighted by ``theta``
    (thesis section 4.1; paper section 5).

    ``value_and_grad`` solves the lower level accurately (Newton, warm
    started from the previous solution) and returns the exact implicit
    hypergradient. ``value`` is the oracle of the zeroth-order method: with
    ``n_inner_iter=T`` it runs ``T`` full-batch gradient-descent iterations
    (step ``1 / L``) from a fixed start, so that it is a deterministic, pure
    function of ``theta`` that can be evaluated in parallel workers; with
    ``n_inner_iter=None`` it returns the exact upper-level value.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Noisy training features.
    y : ndarray of shape (n_samples,)
        Integer-encoded noisy labels in ``{0, ..., n_classes - 1}``.
    X_val : ndarray of shape (n_val, n_features)
        Trusted features.
    y_val : ndarray of shape (n_val,)
        Integer-encoded trusted labels.
    n_classes : int, default=None
        Number of classes; ``max(y.max(), y_val.max()) + 1`` when None.
    C : float, default=1.0
        Inverse L2 regularization strength of the lower level.
    solver : {"auto", "newton-cholesky", "newton-cg"}, default="auto"
        Lower-level solver and matching adjoint solve (Cholesky or CG).
    tol : float, default=1e-12
        Relative gradient tolerance of the lower-level solver.
    max_iter : int, default=100
        Maximum number of Newton iterations per lower-level solve.
    n_inner_iter : int or None, default=None
        Number ``T`` of gradient-descent iterations in :meth:`value`.
    inner_init : {"full", "zeros"}, default="full"
        Fixed start of the truncated solver in :meth:`value`: the exact
        solution with every row kept (``theta = 1``), or zero.

    Attributes
    ----------
    n_solves_ : int
        Number of accurate lower-level solves performed so far.
    last_converged_ : bool
        Whether the last accurate solve reached ``tol``.
    """

    def __init__(
        self,
        X,
        y,
        X_val,
        y_val,
        *,
        n_classes=None,
        C=1.0,
        solver="auto",
        tol=1e-12,
        max_iter=100,
        n_inner_iter=None,
        inner_init="full",
    ):
        y = np.asarray(y, dtype=np.intp)
        y_val = np.asarray(y_val, dtype=np.intp)
        if n_classes is None:
            n_classes = int(max(y.max(), y_val.max())) + 1
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
        if y_val.size and (y_val.min() < 0 or y_val.max() >= n_classes):
            raise ValueError("y_val holds labels outside the training classes.")
        if inner_init not in ("full", "zeros"):
            raise ValueError(
                f"inner_init must be 'full' or 'zeros'; got {inner_init!r}."
            )
        self.loss = WeightedLogisticLoss(X, y, n_classes, C=C)
        self.val = WeightedLogisticLoss(X_val, y_val, n_classes, C=C)
        self.n_samples = self.loss.n_samples
        self.n_classes = int(n_classes)
        self.C = float(C)
        self.direct = _use_direct(solver, self.loss.n_params)
        self.solver = solver
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.n_inner_iter = None if n_inner_iter is None else int(n_inner_iter)
        self.inner_init = inner_init
        self._coef = np.zeros(self.loss.coef_shape)
        self._cache = None
        self._start = None
        self._step = None
        self.n_solves_ = 0
        self.last_converged_ = True

    # -- lower level ----------------------------------------------------------
    def solve(self, theta):
        """Accurate lower-level solution ``coef(theta)`` (warm started).

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Row weights.

        Returns
        -------
        coef : ndarray of shape (n_features + 1, n_outputs)
            Lower-level coefficients, intercept in the last row.
        """
        theta = np.asarray(theta, dtype=np.float64)
        coef, _, converged, factor = _newton(
            self.loss,
            theta,
            self._coef,
            tol=self.tol,
            max_iter=self.max_iter,
            direct=self.direct,
        )
        self.n_solves_ += 1
        self.last_converged_ = converged
        if not converged:
            warnings.warn(
                "The lower-level logistic regression did not converge in "
                f"max_iter={self.max_iter} Newton iterations.",
                ConvergenceWarning,
                stacklevel=2,
            )
        if np.all(np.isfinite(coef)):
            self._coef = coef
        return coef

    def upper_value_grad(self, coef):
        """Trusted-set mean log-loss and its gradient with respect to coef."""
        Z = self.val.raw(coef)
        loss, resid, _ = self.val.losses_and_residuals(Z, self.val.target)
        n_val = self.val.n_samples
        return float(loss.mean()), self.val.Xt.T @ resid / n_val

    def upper_value(self, coef):
        """Trusted-set mean log-loss at ``coef``."""
        Z = self.val.raw(coef)
        loss, _, _ = self.val.losses_and_residuals(Z, self.val.target)
        return float(loss.mean())

    def _adjoint(self, theta, coef, rhs):
        if self.direct:
            H = self.loss.hessian(theta, coef)
            a, _ = _solve_spd(H, rhs.ravel())
            return a.reshape(coef.shape)
        curv = self.loss._curvature(self.loss.raw(coef))
        return _cg_solve(self.loss, theta, coef, curv, rhs, self.tol)

    # -- oracles for the penalty method --------------------------------------
    def value_and_grad(self, theta, lam=None):
        """Upper-level value and exact implicit hypergradient.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Relaxed keep-weights.
        lam : None
            Unused (no continuous hyperparameter).

        Returns
        -------
        value : float
            Mean trusted-set log-loss of ``w(theta)``.
        grad : ndarray of shape (n_samples,)
            ``dG/dtheta``.
        grad_lam : None
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1], self._cache[2].copy(), None
        coef = self.solve(theta)
        G, gG = self.upper_value_grad(coef)
        a = self._adjoint(theta, coef, gG)
        Z = self.loss.raw(coef)
        _, resid, _ = self.loss.losses_and_residuals(Z, self.loss.target)
        grad = -np.sum(resid * (self.loss.Xt @ a), axis=1)
        self._cache = (theta.copy(), G, grad.copy())
        return G, grad, None

    def _truncated_setup(self):
        if self._start is None:
            if self.inner_init == "full":
                coef, _, _, _ = _newton(
                    self.loss,
                    np.ones(self.n_samples),
                    np.zeros(self.loss.coef_shape),
                    tol=self.tol,
                    max_iter=self.max_iter,
                    direct=self.direct,
                )
            else:
                coef = np.zeros(self.loss.coef_shape)
            self._start = coef
            self._step = 1.0 / self.loss.lipschitz(theta_max=1.0)
        return self._start, self._step

    def truncated_solve(self, theta):
        """``n_inner_iter`` gradient-descent steps from the fixed start.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Row weights.

        Returns
        -------
        coef : ndarray of shape (n_features + 1, n_outputs)
            Coefficients after ``n_inner_iter`` iterations.
        """
        theta = np.asarray(theta, dtype=np.float64)
        start, step = self._truncated_setup()
        coef = start.copy()
        for _ in range(self.n_inner_iter):
            _, g = self.loss.value_grad(theta, coef)
            coef -= step * g
        return coef

    def value(self, theta, lam=None):
        """Upper-level value, the oracle of the zeroth-order method.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Keep-weights, possibly perturbed outside ``[0, 1]`` by the
            smoothing step.
        lam : None
            Unused.

        Returns
        -------
        value : float
            Trusted-set mean log-loss of the truncated lower-level solution
            (``n_inner_iter`` iterations), or of the exact one when
            ``n_inner_iter`` is None.
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self.n_inner_iter is None:
            if self._cache is not None and np.array_equal(self._cache[0], theta):
                return self._cache[1]
            return self.upper_value(self.solve(theta))
        return self.upper_value(self.truncated_solve(theta))

    def __getstate__(self):
        # workers receive the fixed start (computed once, here); drop the cache
        if self.n_inner_iter is not None:
            self._truncated_setup()
        state = self.__dict__.copy()
        state["_cache"] = None
        return state
