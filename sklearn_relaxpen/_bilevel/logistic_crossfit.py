# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Hyper-cleaning with the trusted set cross-fitted into the lower level.

The trusted rows are split into ``K`` folds. Fold ``k``'s lower level is the
weighted L2 logistic regression of :mod:`.logistic_cleaning` trained on the
candidate rows (weights ``theta``) *plus* the trusted rows outside fold ``k``
(weight 1); its upper loss is the log-loss on the held-out fold ``k``:

.. math::

    G(\\theta) = \\frac{1}{n_{val}} \\sum_k \\sum_{j \\in F_k}
    \\ell(y^{val}_j, w_k(\\theta)),
    \\quad
    w_k(\\theta) = \\arg\\min_w \\sum_i \\theta_i \\ell(y_i, w)
    + \\sum_{j \\notin F_k} \\ell(y^{val}_j, w) + \\frac{1}{2C}\\|W\\|^2.

Every trusted row is scored by a model that did not train on it, so ``G`` is
an honest (cross-validated) estimate of the log-loss of the model the
estimator finally fits on the kept plus trusted rows, and the trusted rows
still train the lower level. At ``theta = 0`` it is the K-fold cross-validated
log-loss of the trusted-only model. The hypergradient is the sum over folds of
the implicit-function gradient of :mod:`.logistic_cleaning` (one adjoint
solve per fold); it is exact up to the lower-level tolerance.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .logistic_loss import WeightedLogisticLoss, check_labels
from .logistic_solver import cg_solve, newton, solve_spd, use_direct

__all__ = ["CrossFittedCleaningProblem", "apply_moves"]


class CrossFittedCleaningProblem:
    """Hyper-cleaning problem with a K-fold cross-fitted trusted set.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Candidate (noisy) training features.
    y : ndarray of shape (n_samples,)
        Integer-encoded noisy labels in ``{0, ..., n_classes - 1}``.
    X_val : ndarray of shape (n_val, n_features)
        Trusted features.
    y_val : ndarray of shape (n_val,)
        Integer-encoded trusted labels.
    folds : list of ndarray
        Held-out trusted indices of each fold: a partition of
        ``range(n_val)`` into at least 2 non-empty parts.
    n_classes : int, default=None
        Number of classes; ``max(y.max(), y_val.max()) + 1`` when None.
    C : float, default=1.0
        Inverse L2 regularization strength of the lower level.
    solver : {"auto", "newton-cholesky", "newton-cg"}, default="auto"
        Lower-level solver and matching adjoint solve.
    tol : float, default=1e-8
        Relative gradient tolerance of the lower-level Newton solver.
    max_iter : int, default=100
        Maximum number of Newton iterations per lower-level solve.

    Attributes
    ----------
    converged : bool
        Whether every lower-level solve so far reached ``tol`` (each one that
        did not also warns with ``ConvergenceWarning``).
    """

    def __init__(
        self,
        X,
        y,
        X_val,
        y_val,
        *,
        folds,
        n_classes=None,
        C=1.0,
        solver="auto",
        tol=1e-8,
        max_iter=100,
    ):
        X = np.asarray(X, dtype=np.float64)
        X_val = np.asarray(X_val, dtype=np.float64)
        y, y_val, n_classes = check_labels(y, y_val, n_classes)
        n_val = y_val.shape[0]
        folds = [np.asarray(f, dtype=np.intp) for f in folds]
        covered = np.sort(np.concatenate(folds)) if folds else np.array([])
        if (
            len(folds) < 2
            or any(f.size == 0 for f in folds)
            or not np.array_equal(covered, np.arange(n_val))
        ):
            raise ValueError(
                "folds must partition range(n_val) into at least 2 non-empty "
                f"folds; got {len(folds)} folds over {n_val} trusted rows."
            )
        self.n_samples = X.shape[0]
        self.n_val = n_val
        self.n_classes = int(n_classes)
        self.C = float(C)
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.folds = folds
        self.losses, self.held, self.n_fixed = [], [], []
        for held in folds:
            train = np.setdiff1d(np.arange(n_val), held)
            self.losses.append(
                WeightedLogisticLoss(
                    np.vstack([X, X_val[train]]),
                    np.concatenate([y, y_val[train]]),
                    n_classes,
                    C=C,
                )
            )
            self.held.append(
                WeightedLogisticLoss(X_val[held], y_val[held], n_classes, C=C)
            )
            self.n_fixed.append(train.shape[0])
        self.direct = use_direct(solver, self.losses[0].n_params)
        self._coefs = [np.zeros(self.losses[0].coef_shape) for _ in folds]
        self._adjoints = [None for _ in folds]
        self._cache = None
        self.converged = True

    @property
    def n_folds(self):
        """Number of trusted folds."""
        return len(self.folds)

    def _weights(self, theta, k):
        return np.concatenate([theta, np.ones(self.n_fixed[k])])

    def solve(self, theta, k, coef0=None):
        """Lower-level solution of fold ``k`` (warm started).

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Candidate row weights.
        k : int
            Fold index.
        coef0 : ndarray, default=None
            Start; the fold's last solution when None (which is then
            replaced by the new one).

        Returns
        -------
        coef : ndarray of shape (n_features + 1, n_outputs)
        """
        store = coef0 is None
        coef, _, converged = newton(
            self.losses[k],
            self._weights(theta, k),
            self._coefs[k] if store else coef0,
            tol=self.tol,
            max_iter=self.max_iter,
            direct=self.direct,
        )
        self.converged &= converged
        if not converged:
            warnings.warn(
                "The lower-level logistic regression did not converge in "
                f"max_iter={self.max_iter} Newton iterations.",
                ConvergenceWarning,
                stacklevel=2,
            )
        if store and np.all(np.isfinite(coef)):
            self._coefs[k] = coef
        return coef

    @property
    def coefs(self):
        """The last lower-level solution of each fold."""
        return [c.copy() for c in self._coefs]

    def warm_start(self, coefs):
        """Set the fold solutions the next solves start from (e.g. another C)."""
        self._coefs = [np.array(c, dtype=np.float64) for c in coefs]
        self._cache = None

    def _held_loss(self, k, coef):
        held = self.held[k]
        loss, resid, _ = held.losses_and_residuals(held.raw(coef), held.target)
        return loss, held.Xt.T @ resid

    def held_out_losses(self, theta):
        """Log-loss of each trusted row under the fold model that did not see it.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,) or (n_folds, n_samples)
            Candidate row weights, shared by the folds or one row per fold
            (to evaluate a selection *procedure* honestly: fold ``k``'s
            weights may then depend on the trusted rows outside fold ``k``
            only).

        Returns
        -------
        losses : ndarray of shape (n_val,)
        """
        theta = np.asarray(theta, dtype=np.float64)
        out = np.empty(self.n_val)
        for k, held in enumerate(self.folds):
            theta_k = theta[k] if theta.ndim == 2 else theta
            out[held] = self._held_loss(k, self.solve(theta_k, k))[0]
        return out

    def _held_out_raw(self, theta):
        """Per fold: ``k``, its held-out trusted rows and their raw scores
        under the fold model (``theta`` as in :meth:`held_out_losses`)."""
        theta = np.asarray(theta, dtype=np.float64)
        for k, held in enumerate(self.folds):
            theta_k = theta[k] if theta.ndim == 2 else theta
            yield k, held, self.held[k].raw(self.solve(theta_k, k))

    def _errors_of(self, k, Z):
        pred = (Z[:, 0] > 0).astype(np.intp) if Z.shape[1] == 1 else Z.argmax(1)
        return pred != self.held[k].y

    def _brier_of(self, k, Z):
        y = self.held[k].y
        if Z.shape[1] == 1:  # binary: p1 = sigmoid(z), both classes count
            p1 = 0.5 * (1.0 + np.tanh(0.5 * Z[:, 0]))
            return 2.0 * (p1 - y) ** 2
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(Z.shape[0]), y] -= 1.0
        return np.einsum("ij,ij->i", P, P)

    def held_out_errors(self, theta):
        """Whether the fold model that did not see each trusted row misclassifies it.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,) or (n_folds, n_samples)
            As in :meth:`held_out_losses`.

        Returns
        -------
        errors : ndarray of shape (n_val,), dtype=bool
        """
        return self.held_out_scores(theta)[1]

    def held_out_brier(self, theta):
        """Brier score of each trusted row under the fold model that did not see it.

        The squared distance ``sum_k (p_k - [y = k])^2`` between the class
        probabilities and the one-hot label (in ``[0, 2]``): a proper score,
        bounded unlike the log-loss and smoother than the error rate.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,) or (n_folds, n_samples)
            As in :meth:`held_out_losses`.

        Returns
        -------
        brier : ndarray of shape (n_val,)
        """
        return self.held_out_scores(theta)[2]

    def held_out_scores(self, theta):
        """Held-out log-loss, error and Brier score of each trusted row at once.

        The same values as :meth:`held_out_losses`, :meth:`held_out_errors`
        and :meth:`held_out_brier`, from one lower-level solve per fold
        instead of three.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,) or (n_folds, n_samples)
            As in :meth:`held_out_losses`.

        Returns
        -------
        losses : ndarray of shape (n_val,)
        errors : ndarray of shape (n_val,), dtype=bool
        brier : ndarray of shape (n_val,)
        """
        losses = np.empty(self.n_val)
        errors = np.empty(self.n_val, dtype=bool)
        brier = np.empty(self.n_val)
        for k, held, Z in self._held_out_raw(theta):
            losses[held] = self.held[k].losses_and_residuals(Z, self.held[k].target)[0]
            errors[held] = self._errors_of(k, Z)
            brier[held] = self._brier_of(k, Z)
        return losses, errors, brier

    def value(self, theta, lam=None):
        """Cross-fitted trusted log-loss ``G(theta)`` (mean over trusted rows).

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Candidate row weights.
        lam : None
            Unused.

        Returns
        -------
        value : float
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1]
        return float(self.held_out_losses(theta).mean())

    def _adjoint(self, k, w, coef, rhs):
        loss = self.losses[k]
        if self.direct:
            return solve_spd(loss.hessian(w, coef), rhs.ravel()).reshape(coef.shape)
        curv = loss.curvature(loss.raw(coef))
        a = cg_solve(loss, w, coef, curv, rhs, self.tol, x0=self._adjoints[k])
        self._adjoints[k] = a
        return a

    def value_and_grad(self, theta, lam=None):
        """Cross-fitted loss and its exact hypergradient.

        Parameters
        ----------
        theta : ndarray of shape (n_samples,)
            Relaxed keep-weights.
        lam : None
            Unused.

        Returns
        -------
        value : float
            ``G(theta)``.
        grad : ndarray of shape (n_samples,)
            ``dG/dtheta``, the sum over folds of
            ``-grad_w l_i(w_k)^T H_k^{-1} grad_w G_k(w_k)``.
        grad_lam : None
        """
        theta = np.asarray(theta, dtype=np.float64)
        if self._cache is not None and np.array_equal(self._cache[0], theta):
            return self._cache[1], self._cache[2].copy(), None
        n = self.n_samples
        total, grad = 0.0, np.zeros(n)
        for k in range(self.n_folds):
            coef = self.solve(theta, k)
            losses, gG = self._held_loss(k, coef)
            total += losses.sum()
            loss = self.losses[k]
            a = self._adjoint(k, self._weights(theta, k), coef, gG)
            Xc = loss.Xt[:n]
            _, resid, _ = loss.losses_and_residuals(Xc @ coef, loss.target[:n])
            grad -= np.sum(resid * (Xc @ a), axis=1)
        G = total / self.n_val
        grad /= self.n_val
        self._cache = (theta.copy(), G, grad.copy())
        return G, grad, None

    def evaluate_moves(self, theta, lam, moves):
        """Exact ``G`` after applying each move to ``theta`` separately.

        Each value comes from lower-level solves to the solver tolerance,
        warm started from the fold solutions at ``theta`` (not an influence
        or one-Newton-step approximation).

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
        base = [self.solve(theta, k) for k in range(self.n_folds)]
        out = np.empty(len(moves))
        for m, moved in enumerate(apply_moves(theta, moves)):
            out[m] = sum(
                self._held_loss(k, self.solve(moved, k, coef0=base[k]))[0].sum()
                for k in range(self.n_folds)
            )
        return out / self.n_val


def apply_moves(theta, moves):
    """Yield ``theta`` after each move (flip index, or (to 0, to 1) pair)."""
    moves = np.asarray(moves, dtype=np.intp)
    for move in moves:
        moved = theta.copy()
        if moves.ndim == 1:
            moved[move] = 1.0 - moved[move]
        else:
            moved[move[0]], moved[move[1]] = 0.0, 1.0
        yield moved
