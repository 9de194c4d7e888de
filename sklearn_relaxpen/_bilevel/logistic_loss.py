# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Weighted L2 logistic loss (binary or multinomial) with an unpenalized intercept.

The objective ``sum_i theta_i loss_i(coef) + ||W||^2 / (2 C)``, its gradient,
Hessian-vector products, dense Hessian and curvature bounds: the building
blocks of the lower level of data hyper-cleaning. Arrays in, arrays out.
"""

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.special import expit, log_expit

__all__ = ["WeightedLogisticLoss", "check_labels"]


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
        self._X2 = None

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
        val = 0.5 / self.C * (W * W).sum()
        grad = np.empty_like(coef)
        np.divide(W, self.C, out=grad[:-1])
        grad[-1] = 0.0
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
        return self.value_grad_curv(theta, coef)[:2]

    def value_grad_curv(self, theta, coef):
        """Objective, gradient and the per-row curvature at ``coef``.

        The curvature equals ``curvature(raw(coef))``, from the probabilities
        the gradient already needs (Newton's method uses all three at each
        accepted point).
        """
        Z = self.raw(coef)
        loss, resid, proba = self.losses_and_residuals(Z, self.target)
        pval, pgrad = self._penalty(coef)
        val = float(theta @ loss) + pval
        grad = self.Xt.T @ (theta[:, None] * resid) + pgrad
        if self.binary:
            p = proba[:, 0]
            return val, grad, p * (1.0 - p)
        return val, grad, proba

    def curvature(self, Z):
        """Per-row curvature: p (1 - p) (binary) or the softmax probabilities."""
        if self.binary:
            p = expit(Z[:, 0])
            return p * (1.0 - p)
        return _log_softmax_parts(Z)[1]

    def hessp(self, theta, coef, V, curv=None):
        """Hessian-vector product ``H(coef, theta) @ V`` (V shaped as coef)."""
        if curv is None:
            curv = self.curvature(self.raw(coef))
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

    def hessp_operator(self, theta, curv):
        """``V -> H @ V`` at fixed weights and curvature, for repeated products.

        Rows with zero weight are skipped and the weighted curvature is formed
        once, so each product costs two ``(n_active, n_features + 1)`` matrix
        products. Equal to :meth:`hessp` (same arguments).
        """
        active = theta > 0
        Xa = self.Xt[active]
        w = theta[active]
        inv_C, gauge, binary = 1.0 / self.C, self.gauge, self.binary
        if binary:
            W = (w * curv[active])[:, None]
        else:
            P = curv[active]
            W = w[:, None] * P

        def product(V):
            XV = Xa @ V
            if binary:
                Q = W * XV
            else:
                Q = W * (XV - np.einsum("ij,ij->i", P, XV)[:, None])
            out = Xa.T @ Q
            out[:-1] += V[:-1] * inv_C
            if not binary:
                out[-1] += gauge * V[-1].sum()
            return out

        return product

    def hessian_diag(self, theta, coef, curv=None):
        """Diagonal of the Hessian, shaped as coef (Jacobi preconditioner)."""
        if curv is None:
            curv = self.curvature(self.raw(coef))
        if self._X2 is None:
            Xt = self.Xt
            self._X2 = Xt.multiply(Xt).tocsr() if sp.issparse(Xt) else Xt * Xt
        X2 = self._X2
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
            curv = self.curvature(self.raw(coef))
        Xt = self.Xt
        p1 = self.n_features + 1
        if self.binary:
            H = _weighted_gram(Xt, theta * curv)
            idx = np.arange(p1 - 1)
            H[idx, idx] += 1.0 / self.C
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


def check_labels(y, y_val, n_classes):
    """Integer-encoded labels and their number of classes, checked.

    Returns ``(y, y_val, n_classes)``; ``n_classes=None`` means one more than
    the largest label. ValueError for fewer than 2 classes or trusted labels
    outside them.
    """
    y = np.asarray(y, dtype=np.intp)
    y_val = np.asarray(y_val, dtype=np.intp)
    if n_classes is None:
        n_classes = int(max(y.max(), y_val.max())) + 1
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
    if y_val.size and (y_val.min() < 0 or y_val.max() >= n_classes):
        raise ValueError("y_val holds labels outside the training classes.")
    return y, y_val, n_classes
