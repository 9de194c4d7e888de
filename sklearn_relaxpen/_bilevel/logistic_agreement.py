# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-fitted label agreement: the hyper-cleaning lower level as a scorer.

Each candidate row is scored by the lower-level model of data hyper-cleaning
(weighted L2 logistic regression) trained on the *other* candidate folds and
on the trusted rows, at a binary keep-mask: the candidate rows of its own
fold get weight 0, so a row never votes for its own label. The score of row
``i`` is the model's agreement with its label,

.. math::

    a_i = p(y_i \\mid x_i) / \\max_k p(k \\mid x_i) \\in (0, 1],

equal to 1 exactly when the model predicts the given label. A second pass
re-trains the fold models on the rows the first pass kept (``a_i = 1``), as
in iterated confident learning. Arrays in, arrays out.
"""

import numpy as np

from .logistic_loss import WeightedLogisticLoss
from .logistic_solver import newton, use_direct

__all__ = ["crossfit_agreement"]


def crossfit_agreement(
    X,
    y,
    X_val,
    y_val,
    *,
    candidate_folds,
    n_classes,
    C=1.0,
    n_passes=2,
    keep=None,
    tol=1e-6,
    max_iter=100,
    solver="auto",
    coef_init=None,
):
    """Out-of-fold agreement of the lower-level model with each noisy label.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Candidate features.
    y : ndarray of shape (n_samples,)
        Integer-encoded noisy labels.
    X_val : ndarray of shape (n_val, n_features)
        Trusted features (always in the training set, weight 1).
    y_val : ndarray of shape (n_val,)
        Integer-encoded trusted labels.
    candidate_folds : list of ndarray
        A partition of ``range(n_samples)``; each fold is scored by a model
        that did not see it.
    n_classes : int
        Number of classes.
    C : float, default=1.0
        Inverse L2 regularization strength of the scoring models.
    n_passes : int, default=2
        Number of passes; pass ``t > 1`` trains on the rows pass ``t - 1``
        kept.
    keep : ndarray of shape (n_samples,), dtype=bool, default=None
        Rows the first pass may train on (all when None).
    tol : float, default=1e-6
        Relative gradient tolerance of the Newton solves.
    max_iter : int, default=100
        Maximum Newton iterations per solve.
    solver : {"auto", "newton-cholesky", "newton-cg"}, default="auto"
        Newton variant.
    coef_init : ndarray of shape (n_features + 1, n_outputs), default=None
        Start of the first solve (e.g. the last solution at another ``C``).

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Out-of-fold class probabilities of the last pass.
    agreement : ndarray of shape (n_samples,)
        ``p(y_i | x_i) / max_k p(k | x_i)``.
    coef : ndarray of shape (n_features + 1, n_outputs)
        The last solution (a warm start for the next call).
    converged : bool
        Whether every Newton solve reached ``tol``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    n = X.shape[0]
    loss = WeightedLogisticLoss(
        np.vstack([X, np.asarray(X_val, dtype=np.float64)]),
        np.concatenate([y, np.asarray(y_val, dtype=np.intp)]),
        n_classes,
        C=C,
    )
    direct = use_direct(solver, loss.n_params)
    weights = np.ones(loss.n_samples)
    base = np.ones(n) if keep is None else np.asarray(keep, dtype=np.float64)
    coef = np.zeros(loss.coef_shape) if coef_init is None else coef_init
    converged = True
    rows = np.arange(n)
    for _ in range(n_passes):
        proba = np.empty((n, n_classes))
        for fold in candidate_folds:
            weights[:n] = base
            weights[fold] = 0.0
            # folds differ in few rows: each solve starts from the previous one
            coef, _, ok = newton(
                loss, weights, coef, tol=tol, max_iter=max_iter, direct=direct
            )
            converged &= ok
            Z = X[fold] @ coef[:-1] + coef[-1]
            if loss.binary:
                p1 = 1.0 / (1.0 + np.exp(-Z[:, 0]))
                proba[fold] = np.column_stack([1.0 - p1, p1])
            else:
                Z -= Z.max(axis=1, keepdims=True)
                E = np.exp(Z)
                proba[fold] = E / E.sum(axis=1, keepdims=True)
        agreement = proba[rows, y] / proba.max(axis=1)
        base = (agreement >= 1.0).astype(np.float64)
    return proba, agreement, coef, converged
