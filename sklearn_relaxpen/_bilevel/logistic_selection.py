# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-fitted hyper-cleaning selection (the default of HyperCleaner).

For each lower-level regularization ``C`` of a grid:

1. score every candidate row by the cross-fitted agreement of the
   hyper-cleaning lower level with its label
   (:func:`.logistic_agreement.crossfit_agreement`, two passes) and keep the
   rows it agrees with;
2. evaluate that keep-mask with the cross-fitted hyper-cleaning objective
   (:class:`.logistic_crossfit.CrossFittedCleaningProblem`): the K-fold
   held-out trusted log-loss of the lower level trained on the kept rows
   plus the other trusted folds;
3. evaluate the trusted-only model the same way (the problem at
   ``theta = 0``: plain K-fold cross-validation on the trusted rows).

The ``C`` with the smallest cross-fitted loss of the kept rows wins; the
trusted rows alone (at their best ``C``) replace it only when their
cross-fitted loss is smaller by more than one standard error of the paired
per-row difference (the estimate from a few dozen trusted rows is noisy, and
a wrong switch discards every noisy row). The choice set is small, so
choosing on the trusted rows overfits them little, unlike optimizing one
weight per row (measured in ``benchmarks/bench_hyper_cleaner.py``).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import check_random_state

from .logistic_agreement import crossfit_agreement
from .logistic_crossfit import CrossFittedCleaningProblem

__all__ = ["CrossFitSelection", "crossfit_select", "trusted_folds"]


@dataclass
class CrossFitSelection:
    """Output of :func:`crossfit_select`.

    Parameters
    ----------
    mask : ndarray of shape (n_samples,), dtype=bool
        Candidate rows kept (all False when the trusted-only model won).
    agreement : ndarray of shape (n_samples,)
        Cross-fitted agreement of the lower level with each label at the
        chosen ``C``: ``p(y_i | x_i) / max_k p(k | x_i)``.
    proba : ndarray of shape (n_samples, n_classes)
        Out-of-fold class probabilities at the chosen ``C``.
    C : float
        The chosen lower-level ``C``.
    trusted_only : bool
        Whether the trusted-only model had the smaller cross-fitted loss.
    Cs : ndarray of shape (n_Cs,)
        The grid, ascending.
    cv_loss : ndarray of shape (n_Cs, 2)
        Cross-fitted trusted log-loss per ``C``: column 0 with the kept rows,
        column 1 trusted rows only.
    folds : list of ndarray
        Held-out trusted indices of each fold.
    loss : float
        The smallest cross-fitted loss (of the returned choice).
    converged : bool
        Whether every lower-level Newton solve reached its tolerance.
    """

    mask: np.ndarray
    agreement: np.ndarray
    proba: np.ndarray
    C: float
    trusted_only: bool
    Cs: np.ndarray
    cv_loss: np.ndarray
    folds: list
    loss: float
    converged: bool


def trusted_folds(y_val, n_folds, rng):
    """Held-out index sets of a (stratified when possible) K-fold split.

    Parameters
    ----------
    y_val : ndarray of shape (n_val,)
        Integer-encoded trusted labels.
    n_folds : int
        Requested number of folds; at most ``n_val``.
    rng : RandomState
        Seeds the shuffling.

    Returns
    -------
    folds : list of ndarray
    """
    n_val = y_val.shape[0]
    k = min(n_folds, n_val)
    counts = np.bincount(y_val)
    seed = rng.randint(np.iinfo(np.int32).max)
    if counts[counts > 0].min() >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(k, shuffle=True, random_state=seed)
    return [np.sort(held) for _, held in splitter.split(np.zeros(n_val), y_val)]


def crossfit_select(
    X,
    y,
    X_val,
    y_val,
    *,
    n_classes,
    Cs=(0.01, 0.03, 0.1, 0.3, 1.0),
    n_passes=2,
    n_folds=5,
    random_state=None,
    tol=1e-6,
    solver="auto",
    allow_trusted_only=True,
):
    """Choose ``C`` and the kept rows by the cross-fitted trusted loss.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Candidate features.
    y : ndarray of shape (n_samples,)
        Integer-encoded noisy labels.
    X_val : ndarray of shape (n_val, n_features)
        Trusted features (at least 2 rows).
    y_val : ndarray of shape (n_val,)
        Integer-encoded trusted labels.
    n_classes : int
        Number of classes.
    Cs : sequence of float, default=(0.01, 0.03, 0.1, 0.3, 1.0)
        Grid of lower-level ``C``.
    n_passes : int, default=2
        Passes of the cross-fitted agreement.
    n_folds : int, default=5
        Folds over the candidates (scoring) and over the trusted rows (loss).
    random_state : int, RandomState instance or None, default=None
        Seeds both fold splits.
    tol : float, default=1e-6
        Relative gradient tolerance of the lower-level Newton solves.
    solver : {"auto", "newton-cholesky", "newton-cg"}, default="auto"
        Newton variant.
    allow_trusted_only : bool, default=True
        Whether "trusted rows only" (drop every candidate) may win; when
        False its loss is still computed and reported.

    Returns
    -------
    selection : CrossFitSelection
    """
    X = np.asarray(X, dtype=np.float64)
    X_val = np.asarray(X_val, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    y_val = np.asarray(y_val, dtype=np.intp)
    rng = check_random_state(random_state)
    n = X.shape[0]
    candidate_seed = rng.randint(np.iinfo(np.int32).max)
    candidate_folds = [
        held
        for _, held in KFold(
            min(n_folds, n), shuffle=True, random_state=candidate_seed
        ).split(X)
    ]
    folds = trusted_folds(y_val, n_folds, rng)
    Cs = np.sort(np.asarray(Cs, dtype=np.float64))
    cv_loss = np.empty((Cs.shape[0], 2))
    row_losses = np.empty((Cs.shape[0], 2, y_val.shape[0]))
    runs, coef, fold_coefs, converged = [], None, None, True
    for j, C in enumerate(Cs):
        proba, agreement, coef, ok = crossfit_agreement(
            X,
            y,
            X_val,
            y_val,
            candidate_folds=candidate_folds,
            n_classes=n_classes,
            C=C,
            n_passes=n_passes,
            tol=tol,
            solver=solver,
            coef_init=coef,
        )
        keep = agreement >= 1.0
        problem = CrossFittedCleaningProblem(
            X, y, X_val, y_val, folds=folds, n_classes=n_classes, C=C, tol=tol
        )
        if fold_coefs is not None:
            problem.warm_start(fold_coefs)
        row_losses[j, 0] = problem.held_out_losses(keep.astype(np.float64))
        fold_coefs = problem.coefs
        trusted = CrossFittedCleaningProblem(
            X[:0], y[:0], X_val, y_val, folds=folds, n_classes=n_classes, C=C, tol=tol
        )
        row_losses[j, 1] = trusted.held_out_losses(np.zeros(0))
        converged &= ok and problem.converged and trusted.converged
        runs.append((proba, agreement, keep))
    cv_loss = row_losses.mean(axis=2)
    j = int(np.argmin(cv_loss[:, 0]))
    col = 0
    if allow_trusted_only:
        j_trusted = int(np.argmin(cv_loss[:, 1]))
        diff = row_losses[j, 0] - row_losses[j_trusted, 1]
        se = diff.std(ddof=1) / np.sqrt(diff.shape[0]) if diff.shape[0] > 1 else 0.0
        if diff.mean() > se:
            j, col = j_trusted, 1
    proba, agreement, keep = runs[j]
    trusted_only = bool(col == 1)
    return CrossFitSelection(
        mask=np.zeros(n, dtype=bool) if trusted_only else keep,
        agreement=agreement,
        proba=proba,
        C=float(Cs[j]),
        trusted_only=trusted_only,
        Cs=Cs,
        cv_loss=cv_loss,
        folds=folds,
        loss=float(cv_loss[j, col]),
        converged=bool(converged),
    )
