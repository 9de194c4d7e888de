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

The loss lives in :mod:`.logistic_loss` and the Newton solvers in
:mod:`.logistic_solver`. Everything here is array-in, array-out; nothing
imports the estimators.
"""

import warnings

import numpy as np
from scipy.special import expit, log_expit
from sklearn.exceptions import ConvergenceWarning

from .logistic_crossfit import apply_moves
from .logistic_loss import WeightedLogisticLoss, check_labels
from .logistic_solver import cg_solve, newton, solve_spd, use_direct

__all__ = ["LogisticCleaningProblem"]


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
        y, y_val, n_classes = check_labels(y, y_val, n_classes)
        if inner_init not in ("full", "zeros"):
            raise ValueError(
                f"inner_init must be 'full' or 'zeros'; got {inner_init!r}."
            )
        self.loss = WeightedLogisticLoss(X, y, n_classes, C=C)
        self.val = WeightedLogisticLoss(X_val, y_val, n_classes, C=C)
        self.n_samples = self.loss.n_samples
        self.n_classes = int(n_classes)
        self.C = float(C)
        self.direct = use_direct(solver, self.loss.n_params)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.n_inner_iter = None if n_inner_iter is None else int(n_inner_iter)
        self.inner_init = inner_init
        self._coef = np.zeros(self.loss.coef_shape)
        self._cache = None
        self._start = None
        self._step = None

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
        coef, _, converged = self._newton(theta, self._coef)
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
            a = solve_spd(H, rhs.ravel())
            return a.reshape(coef.shape)
        curv = self.loss.curvature(self.loss.raw(coef))
        return cg_solve(self.loss, theta, coef, curv, rhs, self.tol)

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

    def _newton(self, theta, start):
        """The exact lower level at ``theta`` by Newton from ``start``."""
        return newton(
            self.loss,
            theta,
            start,
            tol=self.tol,
            max_iter=self.max_iter,
            direct=self.direct,
        )

    def _exact_values(self, thetas, start):
        """``G`` at each of ``thetas``, every lower level solved from ``start``."""
        return np.array([self.upper_value(self._newton(t, start)[0]) for t in thetas])

    def _truncated_setup(self):
        if self._start is None:
            if self.inner_init == "full":
                coef, _, _ = self._newton(
                    np.ones(self.n_samples), np.zeros(self.loss.coef_shape)
                )
            else:
                coef = np.zeros(self.loss.coef_shape)
            # _start is set last: a thread that sees it also sees _step (two
            # threads may both compute them, with the same result)
            self._step = 1.0 / self.loss.lipschitz(theta_max=1.0)
            self._start = coef
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

    def value_batch(self, thetas):
        """:meth:`value` at each row of ``thetas``, vectorized over the rows.

        The truncated solver (``n_inner_iter``) runs on all weightings at once:
        each gradient-descent iteration is two matrix products with one
        column block per weighting. Changes no state a call reads (the fixed
        start, set up on first use, is the same whichever thread sets it),
        so threads may evaluate separate batches concurrently; the value of
        a row does not depend on the other rows of its batch beyond
        floating-point summation order. Without
        ``n_inner_iter``, one exact solve per row from the last stored
        solution (not updated).

        Parameters
        ----------
        thetas : ndarray of shape (n_points, n_samples)
            Keep-weights, possibly outside ``[0, 1]``.

        Returns
        -------
        values : ndarray of shape (n_points,)
        """
        thetas = np.asarray(thetas, dtype=np.float64)
        if self.n_inner_iter is None:
            return self._exact_values(thetas, self._coef)
        start, step = self._truncated_setup()
        loss, B = self.loss, thetas.shape[0]
        p, K = start.shape
        # coefficients of all weightings side by side: column block b is
        # weighting b's (p, K) coefficient matrix
        coef = np.tile(start, (1, B))
        scale = np.full((p, 1), 1.0 / self.C)
        scale[-1] = 0.0  # unpenalized intercept
        for _ in range(self.n_inner_iter):
            Z = (loss.Xt @ coef).reshape(-1, B, K)
            if loss.binary:
                resid = expit(Z) - loss.target[:, None, None]
            else:
                Z -= Z.max(axis=2, keepdims=True)
                resid = np.exp(Z)
                resid /= resid.sum(axis=2, keepdims=True)
                resid -= loss.target[:, None, :]
            resid *= thetas.T[:, :, None]
            grad = loss.Xt.T @ resid.reshape(-1, B * K) + scale * coef
            if not loss.binary:  # gauge term of the intercepts
                sums = coef[-1].reshape(B, K).sum(axis=1)
                grad[-1] += loss.gauge * np.repeat(sums, K)
            coef -= step * grad
        Zv = (self.val.Xt @ coef).reshape(-1, B, K)
        if self.val.binary:
            t = self.val.target[:, None]
            losses = -log_expit(-Zv[:, :, 0]) - t * Zv[:, :, 0]
        else:
            zmax = Zv.max(axis=2, keepdims=True)
            lse = np.log(np.exp(Zv - zmax).sum(axis=2)) + zmax[:, :, 0]
            losses = lse - np.einsum("ibk,ik->ib", Zv, self.val.target)
        return losses.mean(axis=0)

    def evaluate_moves(self, theta, lam, moves):
        """Exact trusted loss after applying each move to ``theta`` separately.

        Lower-level Newton solves to ``tol``, warm started from the solution
        at ``theta`` (exact, not an influence approximation); with
        ``n_inner_iter`` set, the truncated values of :meth:`value`.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Binary keep-weights.
        lam : None
            Unused.
        moves : ndarray of int of shape (n_moves,) or (n_moves, 2)
            Indices to flip (``Box``), or pairs (index set to 0, index set
            to 1) (``Budget`` swaps).

        Returns
        -------
        values : ndarray of shape (n_moves,)
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self.n_inner_iter is not None:
            return np.array([self.value(t) for t in apply_moves(theta, moves)])
        return self._exact_values(apply_moves(theta, moves), self.solve(theta))

    def __getstate__(self):
        # workers receive the fixed start (computed once, here); drop the cache
        if self.n_inner_iter is not None:
            self._truncated_setup()
        state = self.__dict__.copy()
        state["_cache"] = None
        return state
