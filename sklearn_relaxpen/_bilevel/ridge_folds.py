# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Ridge training-row selection averaged over folds, on one copy of the data.

The same problem as :class:`~sklearn_relaxpen._bilevel.ridge_selection.
RidgeSelectionProblem` (weighted ridge lower level, half mean squared
validation error upper level), for K folds of one data set at once: fold k's
lower level uses its training rows and its validation rows give its loss; the
objective is the mean over folds. Every fold reads the rows it needs from
one shared, shifted copy of the data (about the size of ``X``; for sparse
``X`` none: rows are densified block by block), so memory does not grow with
the number of folds (one problem per fold would copy its rows: about 2 X per
fold).

Shifting ``x`` and ``y`` by constants leaves the predictions of a ridge with
an unpenalized intercept unchanged, so one shift (the means of all rows) for
every fold keeps the Gram matrices well conditioned without per-fold copies.
"""

import numpy as np
import scipy.sparse as sp
from scipy import linalg

# Entries per block of rows materialized at once (dense, shifted, with the
# intercept and target columns): a few MB, BLAS-3 efficient.
_BLOCK_ENTRIES = 8192 * 32
# Entries of the densified rows touched by one block of moves in
# ``evaluate_moves`` (each fold then builds a few arrays of that size).
_MOVE_ENTRIES = 1 << 21


def factorize_spd(gram, penalty_diag):
    """Cholesky factor of the lower-level matrix, robust to a singular one.

    ``gram`` already holds the penalty. When it is numerically singular
    (``alpha`` below about 1e-10 times its scale with fewer weighted rows
    than features, or no weight at all), a tiny ridge ``delta`` is added to
    the penalized diagonal entries first, then to every diagonal entry:
    the result approximates the ``alpha -> 0`` limit (minimum-norm
    coefficients, the intercept left free) to about 1e-8 relative, the best
    the normal equations allow; ``gram`` is then updated in place to the
    matrix that was factored. Non-finite input raises.
    """
    try:
        factor = linalg.cho_factor(gram, check_finite=False)
        # A pivot that lost all but 1e-10 of its column's diagonal means a
        # (numerically) dependent column: the factor "succeeded" on rounding
        # errors and its solution would be garbage.
        if np.all(np.diag(factor[0]) ** 2 > 1e-10 * np.diag(gram)):
            return factor
    except linalg.LinAlgError:
        pass
    if not np.all(np.isfinite(gram)):
        raise ValueError(
            "The weighted Gram matrix of the ridge lower level is not finite "
            "(non-finite X, y or row weights)."
        )
    # sqrt(machine eps) of the scale balances the bias of the extra ridge
    # against the rounding errors it lets through (both ~1e-8 relative).
    delta = 1e-8 * max(np.trace(gram) / gram.shape[0], np.finfo(float).tiny)
    # An unpenalized intercept is singular only without any weight; its
    # right-hand side is then 0 too, and any tiny value fixes it at 0.
    intercept_delta = 1e-12 * max(1.0, np.trace(gram))
    penalized = penalty_diag > 0
    for rows, amount in (
        (np.flatnonzero(penalized), delta),
        (np.flatnonzero(~penalized), intercept_delta),
        (np.arange(gram.shape[0]), delta),
    ):
        if rows.size == 0:
            continue
        trial = gram.copy()
        trial[rows, rows] += amount
        try:
            factor = linalg.cho_factor(trial, check_finite=False)
        except linalg.LinAlgError:
            continue
        gram[...] = trial  # the caller's matrix is the one factored
        return factor
    raise ValueError("The ridge lower level is singular even with a tiny ridge.")


class RidgeFoldsProblem:
    """Exact value and hypergradient of fold-averaged ridge row selection.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n, d)
        All rows (not copied; sparse rows are densified block by block).
    Y : ndarray of shape (n,) or (n, e)
        Targets.
    folds : list of (train_rows, val_rows)
        Row indices of X per fold. ``val_rows`` is ignored with ``X_val``.
    position : ndarray of shape (n,), dtype=int
        Index of each row in theta: 0, 1, ... over the candidate rows in row
        order, -1 elsewhere (every training row of every fold must be a
        candidate).
    alpha : float
        Ridge penalty (> 0).
    fit_intercept : bool, default=True
        Whether the lower level has an unpenalized intercept.
    X_val, Y_val : arrays, default=None
        External validation data shared by the folds (then usually one fold
        whose training rows are all rows).
    """

    def __init__(
        self,
        X,
        Y,
        folds,
        position,
        *,
        alpha,
        fit_intercept=True,
        X_val=None,
        Y_val=None,
    ):
        self.X = X if sp.issparse(X) else np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float)
        self.Y = Y.reshape(Y.shape[0], -1)
        self.alpha = float(alpha)
        self.fit_intercept = bool(fit_intercept)
        self.position = np.asarray(position)
        self.n_candidates = int(np.sum(self.position >= 0))
        self.train = [np.asarray(tr) for tr, _ in folds]
        self.val = [np.asarray(va) for _, va in folds]
        self.X_val, self.Y_val = None, None
        if X_val is not None:
            self.X_val = X_val if sp.issparse(X_val) else np.asarray(X_val, float)
            Y_val = np.asarray(Y_val, dtype=float)
            self.Y_val = Y_val.reshape(Y_val.shape[0], -1)
        for tr in self.train:
            if np.any(self.position[tr] < 0):
                raise ValueError("Every training row of a fold must be a candidate.")
        # candidate rows in order, the ones each fold leaves out of training,
        # and which folds train on each candidate
        self._rows = np.flatnonzero(self.position >= 0)
        if not np.array_equal(self.position[self._rows], np.arange(self._rows.size)):
            raise ValueError("position must number the candidate rows in row order.")
        self._in_train = np.zeros((self._rows.shape[0], len(self.train)), np.uint8)
        self._left_out = []
        for k, tr in enumerate(self.train):
            self._in_train[self.position[tr], k] = 1
            self._left_out.append(self._rows[self._in_train[:, k] == 0])
        n_features = X.shape[1]
        self._n_cols = n_features + self.fit_intercept
        self._penalty_diag = np.full(self._n_cols, self.alpha)
        if self.fit_intercept:
            self._penalty_diag[-1] = 0.0
        self._block_rows = max(1, _BLOCK_ENTRIES // (self._n_cols + self.Y.shape[1]))
        self._x_shift = np.zeros(n_features)
        self._y_shift = np.zeros(self.Y.shape[1])
        self._A = self._A_val = None
        n = X.shape[0]
        if self.fit_intercept:
            # Means summed over the same row blocks whatever the container
            # (C / F order, sparse), so equal data gives bitwise equal fits.
            total = np.zeros(n_features + 1 + self.Y.shape[1])
            for _, block in self._built_blocks(np.arange(n)):
                total += block.sum(axis=0)
            self._x_shift = total[:n_features] / n
            self._y_shift = total[self._n_cols :] / n
        if not sp.issparse(X):
            # One shifted copy [x - x_shift, 1, y - y_shift] of all rows
            # (about the size of X) that every fold reads; sparse X is
            # densified block by block instead, to keep its memory small.
            self._A = self._augmented(np.arange(n))
            if self.X_val is not None and not sp.issparse(self.X_val):
                self._A_val = self._augmented(np.arange(self.X_val.shape[0]), True)

    def _augmented(self, rows, external=False):
        """The blocks of ``rows`` written into one array (no list of copies)."""
        width = self._n_cols + self.Y.shape[1]
        out = np.empty((rows.shape[0], width))
        for part, block in self._built_blocks(rows, external):
            out[part] = block
        return out

    # -- blocks of rows ------------------------------------------------------
    def _blocks(self, rows, external=False):
        """Yield (slice into rows, [x - x_shift, 1, y - y_shift]) blocks.

        Read-only: from the shared augmented copy when there is one (a view
        for consecutive rows), else built from X.
        """
        shared = self._A_val if external else self._A
        if shared is not None:
            step = self._block_rows
            contiguous = rows.shape[0] > 0 and rows[-1] - rows[0] + 1 == rows.shape[0]
            for start in range(0, rows.shape[0], step):
                part = slice(start, min(start + step, rows.shape[0]))
                if contiguous:
                    yield part, shared[rows[0] + part.start : rows[0] + part.stop]
                else:
                    yield part, shared[rows[part]]
            return
        yield from self._built_blocks(rows, external)

    def _built_blocks(self, rows, external=False):
        X, Y = (self.X_val, self.Y_val) if external else (self.X, self.Y)
        n_features, step = X.shape[1], self._block_rows
        width = self._n_cols + Y.shape[1]
        contiguous = rows.shape[0] > 0 and rows[-1] - rows[0] + 1 == rows.shape[0]
        for start in range(0, rows.shape[0], step):
            part = slice(start, min(start + step, rows.shape[0]))
            if contiguous:  # views for dense X, no index arrays
                idx = slice(rows[0] + part.start, rows[0] + part.stop)
                n_rows = part.stop - part.start
            else:
                idx = rows[part]
                n_rows = idx.shape[0]
            block = np.empty((n_rows, width))
            x = X[idx]
            block[:, :n_features] = x.toarray() if sp.issparse(x) else x
            block[:, :n_features] -= self._x_shift
            if self.fit_intercept:
                block[:, n_features] = 1.0
            np.subtract(Y[idx], self._y_shift, out=block[:, self._n_cols :])
            yield part, block

    def _weighted_gram(self, rows, weights):
        """``sum_i w_i a_i a_i^T`` over ``rows`` with ``a_i = [x_i, 1, y_i]``."""
        full = np.zeros((self._n_cols + self.Y.shape[1],) * 2)
        nonnegative = bool(np.all(weights >= 0))
        for part, block in self._blocks(rows):
            u = weights[part]
            if nonnegative:  # symmetric rank-k update
                z = np.sqrt(u)[:, None] * block
                full += z.T @ z
            else:
                full += block.T @ (u[:, None] * block)
        return full

    # -- the problem protocol --------------------------------------------------
    def _solve_folds(self, theta, need_adjoint):
        """Per fold: (validation value, B, adjoint or None)."""
        states = self._fold_states(theta, need_adjoint)
        return [(st["value"], st["B"], st.get("adjoint")) for st in states]

    def _fold_states(self, theta, need_adjoint):
        """Per fold a dict: value, B, the factored H ("gram", "factor"), and
        with ``need_adjoint`` also ``dG_k/dB`` ("grad_B") and the adjoint."""
        n_cols = self._n_cols
        weights = theta[self.position[self._rows]]
        # Every fold's Gram is the Gram of all candidate rows minus that of
        # the candidates it leaves out (its validation rows for K-fold): two
        # passes over the data for all folds instead of K - 1.
        total = self._weighted_gram(self._rows, weights)
        out = []
        for k in range(len(self.train)):
            out_rows = self._left_out[k]
            full = total - self._weighted_gram(out_rows, theta[self.position[out_rows]])
            gram = full[:n_cols, :n_cols]
            gram[np.diag_indices_from(gram)] += self._penalty_diag
            factor = factorize_spd(gram, self._penalty_diag)  # may update gram
            B = linalg.cho_solve(factor, full[:n_cols, n_cols:], check_finite=False)
            value, rhs = self._fold_value(k, B, need_adjoint)
            state = {"value": value, "B": B, "gram": gram, "factor": factor}
            if need_adjoint:
                state["grad_B"] = rhs
                state["adjoint"] = linalg.cho_solve(factor, rhs, check_finite=False)
            out.append(state)
        return out

    def _fold_value(self, k, B, need_adjoint):
        if self.X_val is not None:
            rows, external = np.arange(self.X_val.shape[0]), True
        else:
            rows, external = self.val[k], False
        n_cols, total = self._n_cols, 0.0
        rhs = np.zeros_like(B) if need_adjoint else None
        for _, block in self._blocks(rows, external):
            resid = block[:, :n_cols] @ B - block[:, n_cols:]
            total += float(np.sum(resid**2))
            if need_adjoint:
                rhs += block[:, :n_cols].T @ resid
        n_val = rows.shape[0]
        return 0.5 * total / n_val, (None if rhs is None else rhs / n_val)

    def value(self, theta, lam=None):
        """Mean over folds of the upper-level objective ``G(v)``."""
        folds = self._solve_folds(np.asarray(theta, dtype=float), False)
        return float(np.mean([value for value, _, _ in folds]))

    def value_and_grad(self, theta, lam=None):
        """Mean objective, its exact gradient over theta, and ``None``.

        Fold k contributes ``-(a_k^T x1_i) (B_k^T x1_i - y_i)`` for each of
        its training rows i (one adjoint solve ``H_k a_k = dG_k/dB_k``); all
        folds' products come from one pass over the candidate rows.
        """
        theta = np.asarray(theta, dtype=float)
        folds = self._solve_folds_cached(theta)
        n_cols, n_folds = self._n_cols, len(folds)
        n_out = self.Y.shape[1]
        both = np.hstack([B for _, B, _ in folds] + [a for _, _, a in folds])
        grad = np.zeros(self.n_candidates)
        for part, block in self._blocks(self._rows):
            products = block[:, :n_cols] @ both
            fitted = products[:, : n_folds * n_out].reshape(-1, n_folds, n_out)
            adjoint = products[:, n_folds * n_out :].reshape(-1, n_folds, n_out)
            resid = fitted - block[:, None, n_cols:]
            terms = np.einsum("ike,ike->ik", adjoint, resid)
            grad[self.position[self._rows[part]]] = -np.einsum(
                "ik,ik->i", terms, self._in_train[part].astype(float)
            )
        value = float(np.mean([value for value, _, _ in folds]))
        return value, grad / n_folds, None

    # -- exact evaluation of binary moves (used by the polish) ---------------
    def _move_states(self, theta):
        """Per-fold states with adjoints at ``theta``, cached for one point.

        The polish evaluates moves and the hypergradient at the same binary
        point: one factorization per fold serves both.
        """
        cached = getattr(self, "_cache", None)
        if cached is not None and np.array_equal(cached["theta"], theta):
            return cached["folds"]
        states = self._fold_states(theta, True)
        # Built whole before it is published (joblib threads may read it).
        self._cache = {"theta": np.array(theta, dtype=float), "folds": states}
        return states

    def _solve_folds_cached(self, theta):
        states = self._move_states(theta)
        return [(st["value"], st["B"], st["adjoint"]) for st in states]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_cache", None)  # a per-point cache, not part of the problem
        return state

    def _val_grams(self):
        """Per fold the validation Gram ``X1_val^T X1_val / n_val``."""
        grams = getattr(self, "_val_gram_list", None)
        if grams is None:
            n_cols, grams = self._n_cols, []
            for k in range(len(self.train)):
                if self.X_val is not None:
                    rows, external = np.arange(self.X_val.shape[0]), True
                else:
                    rows, external = self.val[k], False
                gram = np.zeros((n_cols, n_cols))
                for _, block in self._blocks(rows, external):
                    gram += block[:, :n_cols].T @ block[:, :n_cols]
                grams.append(gram / rows.shape[0])
            self._val_gram_list = grams
        return grams

    def _fold_views(self, xy):
        """One ``RidgeSelectionProblem`` per fold whose training rows are
        ``xy`` (augmented shifted rows), for its exact move helpers.

        Only the attributes those helpers read are set: the rows, the
        penalty, the fold's validation Gram and, for a move that empties the
        fold, its value without any row.
        """
        # imported here: ridge_selection imports this module
        from .ridge_selection import RidgeSelectionProblem

        views = []
        for k, val_gram in enumerate(self._val_grams()):
            view = object.__new__(RidgeSelectionProblem)
            view._xy1 = xy
            view._penalty_diag = self._penalty_diag
            view._val_gram = val_gram
            view.fit_intercept = self.fit_intercept
            view.value = lambda v, k=k: self._empty_fold_value(k)
            views.append(view)
        return views

    def _empty_fold_value(self, k):
        values = getattr(self, "_empty_values", None)
        if values is None:
            zeros = np.zeros(self.n_candidates)
            values = [st["value"] for st in self._fold_states(zeros, False)]
            self._empty_values = values
        return values[k]

    def evaluate_moves(self, theta, lam, moves):
        """Exact mean ``G`` after each of many single moves from a binary theta.

        Each move is applied to ``theta`` separately (not cumulatively). In
        fold k, a moved row is either one of its training rows (the move
        changes its lower level by a rank-1 or rank-2 term) or held out (no
        change to that fold): a swap is a swap, a single flip or nothing per
        fold. The per-fold updates are the exact Sherman-Morrison-Woodbury
        formulas of :meth:`RidgeSelectionProblem.evaluate_moves
        <sklearn_relaxpen._bilevel.ridge_selection.RidgeSelectionProblem.
        evaluate_moves>`, from one factorization per fold at ``theta``; only
        the rows the moves touch are densified, block of moves by block.

        Parameters
        ----------
        theta : ndarray of shape (n_candidates,)
            A binary point (0/1 weights).
        lam : None
            Unused (the problem has no continuous hyperparameter).
        moves : ndarray of int
            Either shape (k,): entries to flip (0 -> 1 or 1 -> 0), the ``Box``
            neighbourhood; or shape (k, 2): swaps ``(i, j)`` setting entry
            ``i`` (a 1) to 0 and entry ``j`` (a 0) to 1, the ``Budget``
            neighbourhood.

        Returns
        -------
        values : ndarray of shape (k,)
            The fold-averaged ``G`` after each move.
        """
        v = np.asarray(theta, dtype=float)
        m = self.n_candidates
        if v.shape != (m,):
            raise ValueError(f"theta must have shape ({m},), got {v.shape}.")
        moves = np.asarray(moves)
        if moves.size and not np.issubdtype(moves.dtype, np.integer):
            raise TypeError(f"moves must be an integer array, got {moves.dtype}.")
        moves = moves.astype(np.intp, copy=False)
        if not (moves.ndim == 1 or (moves.ndim == 2 and moves.shape[1] == 2)):
            raise ValueError(
                f"moves must have shape (k,) (flips) or (k, 2) (swaps), got "
                f"{moves.shape}."
            )
        if moves.size and (moves.min() < 0 or moves.max() >= m):
            raise ValueError(f"moves must index entries of theta in [0, {m}).")
        if moves.shape[0] == 0:
            return np.empty(0)
        if moves.ndim == 1:
            if not np.all((v[moves] == 0) | (v[moves] == 1)):
                raise ValueError("flipped entries of theta must be 0 or 1.")
        elif not (np.all(v[moves[:, 0]] == 1) and np.all(v[moves[:, 1]] == 0)):
            raise ValueError(
                "each swap (i, j) needs theta[i] == 1 (removed) and theta[j] == 0 "
                "(added)."
            )
        states = self._move_states(v)
        width = self._n_cols + self.Y.shape[1]
        step = max(1, _MOVE_ENTRIES // (moves[0].size * width))
        values = np.empty(moves.shape[0])
        for start in range(0, moves.shape[0], step):
            block = slice(start, start + step)
            values[block] = self._block_move_values(v, states, moves[block])
        return values

    def _block_move_values(self, v, states, moves):
        """``evaluate_moves`` for one block of validated moves."""
        # the distinct entries the block touches, densified once for all folds
        present = np.zeros(self.n_candidates, dtype=bool)
        present[moves] = True
        touched = np.flatnonzero(present)
        local = (np.cumsum(present) - 1)[moves]
        rows = self._rows[touched]
        xy = self._A[rows] if self._A is not None else self._augmented(rows)
        total = np.zeros(moves.shape[0])
        for k, (state, view) in enumerate(zip(states, self._fold_views(xy))):
            fold = np.full(moves.shape[0], state["value"])
            trains = self._in_train[:, k].astype(bool)
            # fold k's weights of the touched rows, padded with ones so that
            # the count of selected rows is the fold's (as the helper reads it)
            v_local = np.where(trains[touched], v[touched], 0.0)
            n_fold = np.count_nonzero(v[trains])
            v_local = np.concatenate(
                (v_local, np.ones(n_fold - np.count_nonzero(v_local)))
            )
            if moves.ndim == 1:
                flips = np.flatnonzero(trains[moves])
                flip_rows = local[flips]
            else:
                out_in, in_in = trains[moves[:, 0]], trains[moves[:, 1]]
                both = np.flatnonzero(out_in & in_in)
                if both.size:
                    fold[both] = view._swap_values(
                        state, local[both, 0], local[both, 1]
                    )
                only_out = np.flatnonzero(out_in & ~in_in)
                only_in = np.flatnonzero(~out_in & in_in)
                flips = np.concatenate((only_out, only_in))
                flip_rows = np.concatenate((local[only_out, 0], local[only_in, 1]))
            if flips.size:
                fold[flips] = view._flip_values(state, v_local, flip_rows)
            total += fold
        return total / len(states)
