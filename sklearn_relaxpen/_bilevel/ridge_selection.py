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

# Rows per block when streaming over the training set: bounds temporaries to
# a few MB whatever m is, while keeping BLAS-3 efficiency.
_CHUNK_ROWS = 8192
# Candidate moves per block in ``evaluate_moves``: bounds its temporaries
# (about twenty arrays of this many floats) to a few tens of MB.
_CHUNK_MOVES = 1 << 17
# Woodbury updates whose small system is this close to singular (relative to
# its entries) are recomputed by a batched direct solve instead.
_WOODBURY_RTOL = 1e-6


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
        """Factorize H(v) and return (cho_factor, B), reusing the last call's.

        The polish evaluates moves and the hypergradient at the same binary
        point: one factorization serves both. Only the last point is kept.
        """
        state = self._lower_state(v)
        return state["factor"], state["B"]

    def _lower_state(self, v):
        """Dict with H(v) ("gram"), its Cholesky factor and B, cached for one v."""
        cached = getattr(self, "_cache", None)
        if cached is not None and np.array_equal(cached["v"], v):
            return cached
        gram, factor, B = self._solve_lower_uncached(v)
        # Built whole before it is published (joblib threads may read it).
        state = {"v": np.array(v, dtype=float), "gram": gram, "factor": factor}
        state["B"] = B
        self._cache = state
        return state

    def _solve_lower_uncached(self, v):
        """Return (H(v), cho_factor of H(v), B)."""
        n_cols = self._penalty_diag.shape[0]
        full = np.zeros((self._xy1.shape[1],) * 2)
        support = np.flatnonzero(v)
        if 2 * support.shape[0] < v.shape[0]:
            # Sparse weights (binary points at small budgets): only the rows
            # with nonzero weight enter H and the right-hand side.
            xy1 = self._xy1[support]
            weights = v[support]
            chunks = (
                slice(s, s + _CHUNK_ROWS) for s in range(0, len(support), _CHUNK_ROWS)
            )
        else:
            xy1, weights, chunks = self._xy1, v, self._chunks()
        nonnegative = bool(np.all(weights >= 0))
        for rows in chunks:
            block = xy1[rows]
            if nonnegative:  # symmetric rank-k update: half the flops of a GEMM
                z = np.sqrt(weights[rows])[:, None] * block
                full += z.T @ z
            else:  # weights outside [0, 1], e.g. zeroth-order perturbations
                full += block.T @ (weights[rows][:, None] * block)
        gram = full[:n_cols, :n_cols]
        rhs = full[:n_cols, n_cols:]
        gram[np.diag_indices_from(gram)] += self._penalty_diag
        try:
            factor = linalg.cho_factor(gram, check_finite=False)
        except linalg.LinAlgError:
            # Singular only when no row has weight and there is an intercept:
            # regularize the intercept direction minimally.
            gram[-1, -1] += 1e-12 * max(1.0, np.trace(gram))
            factor = linalg.cho_factor(gram, check_finite=False)
        B = linalg.cho_solve(factor, rhs, check_finite=False)
        return np.ascontiguousarray(gram), factor, B

    def _validation_residual(self, B):
        return self._x1_val @ B - self._y_val

    def coef_intercept(self, theta):
        """Lower-level solution ``(W, b)`` in the original units.

        ``W`` has shape (e, d) (or (d,) for a 1-D target) and ``b`` shape
        (e,) (or a float), as scikit-learn's ``Ridge`` stores them.
        """
        _, B = self._solve_lower(np.asarray(theta, dtype=float))
        W = B[: self.X.shape[1]].T.copy()
        b = B[-1] if self.fit_intercept else np.zeros(B.shape[1])
        b = b + self._y_shift - W @ self._x_shift
        if self._single_output:
            return W[0], float(b[0])
        return W, b

    def value(self, theta, lam=None):
        """Upper-level objective ``G(v)``."""
        return self._upper_state(np.asarray(theta, dtype=float))["value"]

    def value_and_grad(self, theta, lam=None):
        """``G(v)``, the exact gradient ``dG/dv`` (shape (m,)) and ``None``."""
        state = self._upper_state(np.asarray(theta, dtype=float))
        value, B, adjoint = state["value"], state["B"], state["adjoint"]
        n_cols, n_out = B.shape
        both = np.hstack((B, adjoint))
        grad = np.empty(self._xy1.shape[0])
        for rows in self._chunks():
            xy1 = self._xy1[rows]
            products = xy1[:, :n_cols] @ both
            train_resid = products[:, :n_out] - xy1[:, n_cols:]
            grad[rows] = -np.einsum("ik,ik->i", products[:, n_out:], train_resid)
        return value, grad, None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_cache", None)  # a per-point cache, not part of the problem
        return state

    def _upper_state(self, v):
        """Cached lower-level state at v plus G, ``dG/dB`` and the adjoint."""
        state = self._lower_state(v)
        if "adjoint" not in state:
            resid = self._validation_residual(state["B"])
            n_val = resid.shape[0]
            grad_B = self._x1_val.T @ resid / n_val  # dG/dB
            adjoint = linalg.cho_solve(state["factor"], grad_B, check_finite=False)
            state.update(
                value=0.5 * float(np.sum(resid**2)) / n_val,
                grad_B=grad_B,
                adjoint=adjoint,
            )
        return state

    # -- exact evaluation of binary moves (used by the polish) ---------------
    def _move_state(self, v):
        """``_upper_state`` plus the validation Gram matrix (computed once)."""
        if not hasattr(self, "_val_gram"):
            self._val_gram = self._x1_val.T @ self._x1_val / self._x1_val.shape[0]
        return self._upper_state(v)

    def _row_terms(self, state, rows):
        """Per-row quantities of the Woodbury updates, for the given rows.

        ``x`` (the augmented shifted row), ``h = H^{-1} x``, ``sh = S h`` with
        ``S`` the validation Gram over n, the training residual ``r = B^T x -
        y``, ``u = a^T x`` with the adjoint ``a``, and the scalars ``k = x.h``,
        ``p = h.S h``, ``rr = r.r`` and ``ur = u.r``.
        """
        n_cols = self._penalty_diag.shape[0]
        xy = self._xy1[rows]
        x, y = xy[:, :n_cols], xy[:, n_cols:]
        h = linalg.cho_solve(state["factor"], x.T, check_finite=False).T
        sh = h @ self._val_gram
        r = x @ state["B"] - y
        u = x @ state["adjoint"]
        return {
            "x": x,
            "h": h,
            "sh": sh,
            "r": r,
            "u": u,
            "k": np.einsum("ij,ij->i", x, h),
            "p": np.einsum("ij,ij->i", sh, h),
            "rr": np.einsum("ij,ij->i", r, r),
            "ur": np.einsum("ij,ij->i", u, r),
        }

    def evaluate_moves(self, theta, lam, moves):
        """Exact ``G`` after each of many single moves from a binary ``theta``.

        Each move is applied to ``theta`` separately (not cumulatively). The
        lower-level system ``H B = R`` changes by a rank-1 (flip) or rank-2
        (swap) term, so by the Sherman-Morrison-Woodbury identity the new
        solution is ``B' = B - [h_i, h_j] (D + K)^{-1} [r_i, r_j]^T`` with
        ``h = H^{-1} x1``, the training residuals ``r`` at ``B``, ``D =
        diag(-1, +1)`` and ``K`` the 2x2 matrix of ``x1_a^T H^{-1} x1_b``;
        ``G(B')`` then follows from ``G(B)``, the adjoint and the validation
        Gram matrix. No refit per move: per-row terms cost O(d^2) once, and
        each move O(d + e^2) more, computed by matrix products over every
        (out, in) pair of the distinct rows when the moves fill most of that
        grid (as the polish's screened blocks do), else pair by pair; moves
        are processed in blocks to bound memory. Moves whose 2x2 system is
        nearly singular are recomputed by a batched direct solve.

        Parameters
        ----------
        theta : ndarray of shape (m,)
            A binary point (0/1 weights).
        lam : None
            Unused (the problem has no continuous hyperparameter).
        moves : ndarray of int
            Either shape (k,): rows to flip (0 -> 1 or 1 -> 0), the ``Box``
            neighbourhood; or shape (k, 2): swaps ``(i, j)`` setting row
            ``i`` (a 1) to 0 and row ``j`` (a 0) to 1, the ``Budget``
            neighbourhood.

        Returns
        -------
        values : ndarray of shape (k,)
            ``G`` after each move.
        """
        v = np.asarray(theta, dtype=float)
        m = self._xy1.shape[0]
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
            raise ValueError(f"moves must index rows in [0, {m}).")
        if moves.shape[0] == 0:
            return np.empty(0)
        state = self._move_state(v)
        if moves.ndim == 1:
            if not np.all((v[moves] == 0) | (v[moves] == 1)):
                raise ValueError("flipped entries of theta must be 0 or 1.")
            return self._flip_values(state, v, moves)
        if not (np.all(v[moves[:, 0]] == 1) and np.all(v[moves[:, 1]] == 0)):
            raise ValueError(
                "each swap (i, j) needs theta[i] == 1 (removed) and theta[j] == 0 "
                "(added)."
            )
        return self._swap_values(state, moves[:, 0], moves[:, 1])

    def _flip_values(self, state, v, rows):
        values = np.empty(rows.shape[0])
        n_selected = np.count_nonzero(v)
        for start in range(0, rows.shape[0], _CHUNK_MOVES):
            block = slice(start, start + _CHUNK_MOVES)
            t = self._row_terms(state, rows[block])
            sign = 1.0 - 2.0 * v[rows[block]]  # +1 adds the row, -1 removes it
            denom = sign + t["k"]  # D^{-1} + K of the rank-1 update
            with np.errstate(divide="ignore", invalid="ignore"):  # fixed below
                values[block] = (
                    state["value"] - t["ur"] / denom + 0.5 * t["p"] * t["rr"] / denom**2
                )
            bad = np.abs(denom) <= _WOODBURY_RTOL * np.maximum(1.0, np.abs(t["k"]))
            if n_selected == 0 and self.fit_intercept:
                bad[:] = True  # H is the regularized singular matrix
            empties = (sign < 0) & (n_selected == 1)
            if np.any(empties):  # no row left: the problem's own convention
                values[start + np.flatnonzero(empties)] = self.value(np.zeros_like(v))
                bad &= ~empties
            if np.any(bad):
                idx = np.flatnonzero(bad)
                values[start + idx] = self._direct_values(
                    state, t["x"][idx, None], t["r"][idx, None], sign[idx, None]
                )
        return values

    def _swap_values(self, state, outs, ins):
        m = self._xy1.shape[0]
        out_rows, out_pos = _distinct(outs, m)
        in_rows, in_pos = _distinct(ins, m)
        t_out = self._row_terms(state, out_rows)
        t_in = self._row_terms(state, in_rows)
        if out_rows.size * in_rows.size <= 2 * outs.size + 64:
            # Dense grid: cross terms of every (out, in) pair by matrix products,
            # over blocks of out rows; then read off the requested pairs.
            grid = np.empty((out_rows.size, in_rows.size))
            bad = np.empty(grid.shape, dtype=bool)
            scalars_in = {key: val[None] for key, val in t_in.items() if val.ndim == 1}
            step = max(1, _CHUNK_MOVES // in_rows.size)
            for start in range(0, out_rows.size, step):
                rows = slice(start, start + step)
                a = {key: val[rows] for key, val in t_out.items()}
                cross = {
                    "k": a["x"] @ t_in["h"].T,
                    "p": a["sh"] @ t_in["h"].T,
                    "rr": a["r"] @ t_in["r"].T,
                    "ur_oi": a["u"] @ t_in["r"].T,
                    "ur_io": a["r"] @ t_in["u"].T,
                }
                scalars_out = {
                    key: val[:, None] for key, val in a.items() if val.ndim == 1
                }
                grid[rows], bad[rows] = self._swap_formula(
                    state, scalars_out, scalars_in, cross
                )
            values, singular = grid[out_pos, in_pos], bad[out_pos, in_pos]
        else:
            values = np.empty(outs.shape[0])
            singular = np.empty(outs.shape[0], dtype=bool)
            for start in range(0, outs.shape[0], _CHUNK_MOVES):
                block = slice(start, start + _CHUNK_MOVES)
                a = {key: val[out_pos[block]] for key, val in t_out.items()}
                b = {key: val[in_pos[block]] for key, val in t_in.items()}
                cross = {
                    "k": np.einsum("ij,ij->i", a["x"], b["h"]),
                    "p": np.einsum("ij,ij->i", a["sh"], b["h"]),
                    "rr": np.einsum("ij,ij->i", a["r"], b["r"]),
                    "ur_oi": np.einsum("ij,ij->i", a["u"], b["r"]),
                    "ur_io": np.einsum("ij,ij->i", a["r"], b["u"]),
                }
                values[block], singular[block] = self._swap_formula(state, a, b, cross)
        if np.any(singular):
            idx = np.flatnonzero(singular)
            o, i = out_pos[idx], in_pos[idx]
            x = np.stack((t_out["x"][o], t_in["x"][i]), axis=1)
            r = np.stack((t_out["r"][o], t_in["r"][i]), axis=1)
            sign = np.broadcast_to([-1.0, 1.0], (idx.size, 2))
            values[idx] = self._direct_values(state, x, r, sign)
        return values

    @staticmethod
    def _swap_formula(state, a, b, cross):
        """G after removing row i (terms ``a``) and adding row j (terms ``b``).

        With ``M = D + K = [[k_i - 1, k_ij], [k_ij, k_j + 1]]`` and
        ``c = M^{-1} [r_i, r_j]^T``, ``G' = G - sum_a u_a.c_a + 1/2 sum_ab
        p_ab c_a.c_b`` (``p_ab = h_a.S h_b``), expanded in the pairwise dot
        products so that only five cross terms are needed. Also returns a mask
        of the pairs whose ``M`` is nearly singular.
        """
        with np.errstate(divide="ignore", invalid="ignore"):  # singular: fixed later
            return RidgeSelectionProblem._swap_terms(state, a, b, cross)

    @staticmethod
    def _swap_terms(state, a, b, cross):
        m11, m22, m12 = a["k"] - 1.0, b["k"] + 1.0, cross["k"]
        det = m11 * m22 - m12 * m12
        lin = (
            m22 * a["ur"] - m12 * (cross["ur_oi"] + cross["ur_io"]) + m11 * b["ur"]
        ) / det
        rr_x = cross["rr"]
        c_ii = m22 * m22 * a["rr"] - 2.0 * m22 * m12 * rr_x + m12 * m12 * b["rr"]
        c_jj = m12 * m12 * a["rr"] - 2.0 * m12 * m11 * rr_x + m11 * m11 * b["rr"]
        c_ij = (
            -m22 * m12 * a["rr"] + (m22 * m11 + m12 * m12) * rr_x - m12 * m11 * b["rr"]
        )
        quad = 0.5 * (a["p"] * c_ii + 2.0 * cross["p"] * c_ij + b["p"] * c_jj)
        values = state["value"] - lin + quad / (det * det)
        singular = np.abs(det) <= _WOODBURY_RTOL * (np.abs(m11 * m22) + m12 * m12)
        return values, singular

    def _direct_values(self, state, x, r, sign):
        """G after ``H += sum_q sign_q x_q x_q^T`` by batched direct solves.

        ``x`` has shape (k, q, d+1), ``r`` (training residuals at the current
        B) shape (k, q, e) and ``sign`` shape (k, q). Uses ``H' (B' - B) =
        -sum_q sign_q x_q r_q^T``, which holds since ``H B = R``; O(d^3) per
        move, for the moves whose Woodbury update is ill-conditioned and for
        every addition to an empty set with an intercept (H singular).
        """
        n_cols = x.shape[2]
        values = np.empty(x.shape[0])
        # (d+1)^2 floats per move: blocks of at most about 32 MB
        step = max(1, (1 << 22) // (n_cols * n_cols))
        for start in range(0, x.shape[0], step):
            b = slice(start, start + step)
            gram = state["gram"] + np.einsum("kq,kqa,kqb->kab", sign[b], x[b], x[b])
            rhs = -np.einsum("kq,kqa,kqe->kae", sign[b], x[b], r[b])
            delta = np.linalg.solve(gram, rhs)
            lin = np.einsum("ae,kae->k", state["grad_B"], delta)
            quad = np.einsum("kae,ab,kbe->k", delta, self._val_gram, delta)
            values[b] = state["value"] + lin + 0.5 * quad
        return values


def _distinct(indices, size):
    """Sorted distinct values of ``indices`` (in [0, size)) and each one's rank.

    Same as ``np.unique(indices, return_inverse=True)`` without sorting the
    (possibly long) list of moves: one O(size) membership pass.
    """
    present = np.zeros(size, dtype=bool)
    present[indices] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[indices]
