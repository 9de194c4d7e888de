# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Greedy forward selection of training rows for ridge, by rank-1 updates.

The reference method of training-row selection, and a starting point for relax
and penalize: rows are added one at a time, each time the candidate whose
inclusion lowers the validation objective ``G`` (half the mean squared
validation error of ``Ridge(alpha)`` fitted on the chosen rows) the most. As
scikit-learn's ``SequentialFeatureSelector`` does for features, but for rows,
and with each step scoring a random subset of ``n_candidates`` rows (all rows
when None).

With ``x1 = (x, 1)`` and ``P`` the inverse of the regularized Gram
``H = sum_S x1 x1^T + alpha diag(1, ..., 1, 0)``, the ridge coefficients are
``B = P sum_S x1 y^T``. Adding row c, with ``q = P x1_c``, ``s = 1 + x1_c^T q``
and training residual ``r_c = B^T x1_c - y_c``, gives (Sherman-Morrison)
``B+ = B - q r_c^T / s`` and the validation residual ``E+ = E - X1_val q r_c^T
/ s``, so that for all candidates at once::

    ||E+||^2 - ||E||^2 = -2 q^T (X1_val^T E) r_c / s
                         + (q^T X1_val^T X1_val q) ||r_c||^2 / s^2.

``X1_val^T E`` is itself updated by a rank-1 term, so a step costs
``O(k d^2)`` for k candidates and nothing of the size of the validation set.
``P`` and ``B`` are recomputed from the chosen rows every ``_REFRESH`` steps to
stop rounding errors from accumulating.
"""

from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils import check_random_state

_REFRESH = 128  # exact refactorization period (steps)


class _FoldState:
    """Greedy state of one ridge selection problem (one validation fold).

    ``index`` maps the shared candidate indices to this fold's training rows
    (-1: not a training row of this fold); None means the identity.
    ``weight`` multiplies this fold's G in the total objective.
    """

    def __init__(self, problem, index, weight, row_weight=None):
        X = np.asarray(problem.X, dtype=float)
        Y = np.asarray(problem.Y, dtype=float).reshape(X.shape[0], -1)
        X_val = np.asarray(problem.X_val, dtype=float)
        Y_val = np.asarray(problem.Y_val, dtype=float).reshape(X_val.shape[0], -1)
        self.fit_intercept = bool(problem.fit_intercept)
        # Centring by the training means leaves predictions unchanged and
        # conditions H; with no row chosen, B = 0 predicts the training mean,
        # as RidgeSelectionProblem.value does at theta = 0.
        x_shift = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        y_shift = Y.mean(axis=0) if self.fit_intercept else np.zeros(Y.shape[1])
        # one shifted, augmented copy of the training inputs, no temporaries
        self.X1 = np.empty((X.shape[0], X.shape[1] + self.fit_intercept))
        np.subtract(X, x_shift, out=self.X1[:, : X.shape[1]])
        self.X1[:, X.shape[1] :] = 1.0
        self.Y = Y - y_shift
        if row_weight is not None:
            # lower-level weight w_i on row i: the rank-1 terms of sqrt(w_i) x1_i
            root = np.sqrt(np.asarray(row_weight, dtype=float))[:, None]
            self.X1 *= root
            self.Y = self.Y * root
        self.X1_val = self._augment(X_val - x_shift)
        self.Y_val = Y_val - y_shift
        self.gram_val = self.X1_val.T @ self.X1_val
        self.penalty = np.full(self.X1.shape[1], float(problem.alpha))
        if self.fit_intercept:
            self.penalty[-1] = 0.0
        self.index = index
        self.scale = weight * 0.5 / X_val.shape[0]  # SSE -> weighted G
        self.rows = []
        self.B = np.zeros((self.X1.shape[1], self.Y.shape[1]))
        self.P = None if self.fit_intercept else np.diag(1.0 / self.penalty)
        self._refresh_validation()

    def _augment(self, Z):
        if not self.fit_intercept:
            return Z
        return np.hstack((Z, np.ones((Z.shape[0], 1))))

    def _refresh_validation(self):
        resid_val = self.X1_val @ self.B - self.Y_val
        self.cross_val = self.X1_val.T @ resid_val  # X1_val^T E
        self.sse = float(np.sum(resid_val**2))

    def _refactor(self):
        X1, Y = self.X1[self.rows], self.Y[self.rows]
        H = X1.T @ X1
        H[np.diag_indices_from(H)] += self.penalty
        # pinvh: H is symmetric positive semi-definite, and near-singular
        # with a tiny alpha and fewer rows than features
        self.P = linalg.pinvh(H, check_finite=False)
        self.B = self.P @ (X1.T @ Y)
        self._refresh_validation()

    def local(self, candidates):
        if self.index is None:
            return candidates
        return self.index[candidates]

    def objective(self):
        return self.scale * self.sse

    def deltas(self, candidates):
        """Change of this fold's weighted G when adding each candidate alone."""
        local = self.local(candidates)
        inside = local >= 0
        out = np.zeros(candidates.shape[0])
        rows = local[inside]
        if rows.size == 0:
            return out
        X1, Y = self.X1[rows], self.Y[rows]
        if self.P is None:
            # No row yet, with an intercept: ridge on one row predicts its
            # target everywhere (W = 0, b = y_c).
            n_val = self.Y_val.shape[0]
            sse = (
                n_val * np.sum(Y**2, axis=1)
                - 2.0 * Y @ self.Y_val.sum(axis=0)
                + np.sum(self.Y_val**2)
            )
            out[inside] = self.scale * (sse - self.sse)
            return out
        Q = X1 @ self.P
        s = 1.0 + np.einsum("ij,ij->i", Q, X1)
        resid = X1 @ self.B - Y
        cross = np.einsum("ik,ik->i", Q @ self.cross_val, resid)
        quad = np.einsum("ij,ij->i", Q @ self.gram_val, Q) * np.sum(resid**2, axis=1)
        out[inside] = self.scale * (-2.0 * cross / s + quad / s**2)
        return out

    def add(self, candidate):
        row = int(self.local(np.array([candidate]))[0])
        if row < 0:
            return
        self.rows.append(row)
        if self.P is None or len(self.rows) % _REFRESH == 0:
            self._refactor()
            return
        x1 = self.X1[row]
        q = self.P @ x1
        s = 1.0 + x1 @ q
        r = x1 @ self.B - self.Y[row]
        self.P -= np.outer(q, q) / s
        self.B -= np.outer(q, r) / s
        gq = self.gram_val @ q
        cross = q @ self.cross_val @ r
        self.sse += float(-2.0 * cross / s + (q @ gq) * (r @ r) / s**2)
        self.cross_val -= np.outer(gq, r) / s


def _dense(Z):
    return Z.toarray() if sp.issparse(Z) else np.asarray(Z, dtype=float)


def _fold_states(problem, row_weight=None):
    """One state per fold, and the length of theta.

    ``problem`` is a :class:`RidgeSelectionProblem`, a
    :class:`~sklearn_relaxpen._bilevel.ridge_folds.RidgeFoldsProblem` (folds
    of one data set, or sparse data with external validation rows), an
    object with ``problems``, ``indices`` and ``n_samples`` (a mean of ridge
    problems), or one with ``problem`` and ``sample_weight`` (row weights
    ``theta * sample_weight`` in the lower level). Sparse inputs are
    densified fold by fold.
    """
    if hasattr(problem, "sample_weight") and hasattr(problem, "problem"):
        weight = np.asarray(problem.sample_weight, dtype=float)
        if row_weight is not None:
            weight = weight * row_weight
        return _fold_states(problem.problem, weight)

    def local(weights, rows):
        return None if weights is None else weights[rows]

    if hasattr(problem, "train") and hasattr(problem, "position"):
        n, k = problem.n_candidates, len(problem.train)
        states = []
        for tr, va in zip(problem.train, problem.val):
            external = problem.X_val is not None
            fold = SimpleNamespace(
                X=_dense(problem.X[tr]),
                Y=problem.Y[tr],
                X_val=_dense(problem.X_val if external else problem.X[va]),
                Y_val=problem.Y_val if external else problem.Y[va],
                alpha=problem.alpha,
                fit_intercept=problem.fit_intercept,
            )
            index = np.full(n, -1)
            index[problem.position[tr]] = np.arange(len(tr))
            states.append(
                _FoldState(
                    fold, index, 1.0 / k, local(row_weight, problem.position[tr])
                )
            )
        return states, n
    if hasattr(problem, "problems"):  # a mean of ridge problems
        k = len(problem.problems)
        states = []
        for sub, idx in zip(problem.problems, problem.indices):
            index = np.full(problem.n_samples, -1)
            index[idx] = np.arange(len(idx))
            states.append(_FoldState(sub, index, 1.0 / k, local(row_weight, idx)))
        return states, problem.n_samples
    return [_FoldState(problem, None, 1.0, row_weight)], np.asarray(problem.X).shape[0]


def n_theta(problem):
    """Length of theta (the number of candidate rows) of a supported problem."""
    if hasattr(problem, "sample_weight") and hasattr(problem, "problem"):
        return n_theta(problem.problem)
    if hasattr(problem, "n_candidates"):
        return int(problem.n_candidates)
    if hasattr(problem, "n_samples"):
        return int(problem.n_samples)
    return problem.X.shape[0]


def greedy_ridge_selection(problem, budget, *, n_candidates=256, random_state=None):
    """Greedy forward selection of ``budget`` rows on the validation objective.

    Parameters
    ----------
    problem : RidgeSelectionProblem, RidgeFoldsProblem or a mean of problems
        A :class:`RidgeSelectionProblem`, a ``RidgeFoldsProblem`` (its folds'
        objectives averaged) or an object with ``problems`` (a list of ridge
        problems), ``indices`` (the candidate index of each one's training
        rows) and ``n_samples`` whose objective is the mean of theirs.
    budget : int
        Number of rows to select, between 1 and the number of candidates.
    n_candidates : int or None, default=256
        Rows scored at each step, drawn at random without replacement among
        those not yet chosen; None scores all of them (exact greedy).
    random_state : int, RandomState instance or None, default=None
        Seeds the candidate draws.

    Returns
    -------
    rows : ndarray of shape (budget,)
        Chosen candidate indices, in the order they were added.
    objective_path : ndarray of shape (budget,)
        The objective G after each addition (from the rank-1 updates).
    """
    states, n = _fold_states(problem)
    budget = int(budget)
    if not 1 <= budget <= n:
        raise ValueError(f"budget must be in [1, {n}], got {budget}.")
    if n_candidates is not None and n_candidates < 1:
        raise ValueError(f"n_candidates must be >= 1 or None, got {n_candidates}.")
    rng = np.random.default_rng(
        check_random_state(random_state).randint(np.iinfo(np.int32).max)
    )
    # Available rows are pool[:n_free]; chosen ones are swapped to the end.
    pool = np.arange(n)
    position = np.arange(n)
    rows, path = np.empty(budget, dtype=int), np.empty(budget)
    for step in range(budget):
        n_free = n - step
        if n_candidates is None or n_candidates >= n_free:
            candidates = pool[:n_free]
        else:
            candidates = pool[rng.choice(n_free, n_candidates, replace=False)]
        delta = sum(state.deltas(candidates) for state in states)
        best = int(np.argmin(delta))
        c = int(candidates[best])
        for state in states:
            state.add(c)
        rows[step] = c
        path[step] = sum(state.objective() for state in states)
        # swap c out of the available part of the pool
        last = pool[n_free - 1]
        pool[position[c]], pool[n_free - 1] = last, c
        position[last], position[c] = position[c], n_free - 1
    return rows, path
