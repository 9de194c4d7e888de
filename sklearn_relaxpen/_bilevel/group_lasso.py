# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-task soft-group lasso: batched lower level and exact hypergradient.

Lower level (paper eq. (8)), independently for every task ``t``::

    w_t(theta, alpha) = argmin_w  1/2 ||X_t w - y_t||^2
                                  + alpha sum_l ||theta_l * w||_2 + eta/2 ||w||^2

with ``theta`` the ``(P, L)`` relaxed assignment (rows on the simplex,
``theta_l`` its column ``l``) and ``alpha`` the group-lasso strength (the
paper's ``lambda``). Upper level: ``G = sum_t omega_t ||Xv_t w_t - yv_t||^2``
with ``omega_t = 1 / (2 T nv_t)``, i.e. half the mean squared validation
residual over tasks and rows (paper eq. (8)-(9) with the squared loss ``C_t``).

Solver
------
The penalty is smooth wherever every group norm ``n_l = ||theta_l * w||`` is
positive. A group can only be exactly zero with all of its features, and with
a fractional ``theta`` a zero group therefore pins every feature ``j`` with
``theta_jl > 0`` to zero (for an interior ``theta`` a zero group means
``w = 0``). The solution is thus described by the set ``Z`` of zero groups:
the pinned features ``S = union_{l in Z} supp(theta_l)`` are zero and the
remaining *free* features solve a smooth, strongly convex problem. We

1. identify ``Z`` by damped Newton on the smoothed problem
   (``n_l -> sqrt(n_l^2 + mu^2)``) along a decreasing sequence of ``mu``
   (skipped when a warm start from the previous call is available);
2. polish with exact damped Newton on the free features (quadratic
   convergence, to a Newton decrement of ``tol`` relative to ``1/2 ||y_t||^2``);
3. check the optimality of the zero groups with a dual certificate
   (``u_l`` with ``||u_l|| <= alpha`` and ``sum_{l in Z} theta_l * u_l =
   -grad f`` on ``S``; exact for one-hot rows, sufficient in general) and
   re-solve from the smoothed path where it fails.

All tasks are processed together as ``(T, P)`` blocks, batched ``(T, P, P)``
Hessians and one batched linear solve per Newton step; the line search is
exact arithmetic on per-group quadratics, so it costs no extra data pass.

Hypergradient
-------------
We differentiate the solution map implicitly at the solution (instead of
reverse mode through ``q`` iterations of the dual algorithm as the paper does,
appendix C.1, Algorithm 2, eq. (19)): with ``H`` the Hessian of the lower
objective on the free features and ``a`` the adjoint ``H a = grad_w G``,

    dG/dalpha      = -a . sum_{l not in Z} theta_l^2 * w / n_l
    dG/dtheta_kl   = -alpha (2 a_k theta_kl w_k / n_l
                     - (sum_j a_j theta_jl^2 w_j) theta_kl w_k^2 / n_l^3)

for a nonzero group ``l``. This is exact (no truncation in ``q``), needs no
storage of iterates and costs one extra batched solve. For a zero group ``l``
and a free feature ``k`` (necessarily ``theta_kl = 0``), ``G`` is not
differentiable in ``theta_kl``: it behaves like ``|theta_kl|``. We return the
one-sided derivative in the feasible direction ``theta_kl > 0``, which is
what a projected method needs::

    dG/dtheta_kl = -alpha sign(w_k) sqrt(1 - rho_l^2) a_k + |w_k| beta_l

where ``rho_l = ||u_l|| / alpha`` and ``beta_l`` accounts for the pinned
features of group ``l`` leaving zero at rate ``|w_k| z_l`` (see
``_zero_group_terms``). Features pinned by two zero groups at once are kept at
zero in this first-order expansion (an approximation). All other partial
derivatives vanish.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import ThreadpoolController

from .group_solver import (
    _NORM_FLOOR,
    _neg_grad,
    _Reduced,
    free_mask,
    group_sq_norms,
    solve_lower,
)
from .group_tasks import TaskChunk, _rmatvec


def _matvec(X, W):
    """``X_t w_t`` for every task: (T, N)."""
    if X.ndim == 2:
        return W @ X.T
    return np.einsum("tnp,tp->tn", X, W)


def _zero_group_terms(gram, W, s, theta, alpha, eta, zero, a, grad_C):
    """One-sided derivative terms for ``theta_kl`` (k free, l a zero group).

    When ``theta_kl`` leaves 0, group ``l`` becomes active with norm
    ``theta_kl |w_k| / sqrt(1 - rho_l^2)`` and its pinned features move as
    ``w_j = theta_kl |w_k| z_lj`` with ``z_lj = g_j / (alpha theta_jl^2
    sqrt(1 - rho_l^2))``, where ``g = -grad f`` on the pinned features and
    ``rho_l = ||g / theta_l|| / alpha`` (its dual certificate). Returns
    ``(coef, beta)`` with ``dG/dtheta_kl = -alpha coef_l sign(w_k) a_k +
    |w_k| beta_l``.
    """
    free = free_mask(zero, theta > 0)
    g, _, _ = _neg_grad(gram, W, s, alpha, eta, zero)
    g = np.where(free, 0.0, g)
    support = theta > 0
    # Features pinned by exactly one zero group.
    count = zero.astype(float) @ support.T.astype(float)  # (T, P)
    single = count == 1
    # u_lj = g_j / theta_jl on the group's exclusive pinned features.
    inv_theta = np.where(support, 1.0 / np.where(support, theta, 1.0), 0.0)
    U = (g * single)[:, :, None] * inv_theta[None]  # (T, P, L)
    rho2 = np.einsum("tpl,tpl->tl", U, U) / alpha**2
    coef = np.sqrt(np.clip(1.0 - rho2, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        Z = U * inv_theta[None] / (alpha * coef[:, None, :])
    Z = np.where(np.isfinite(Z), Z, 0.0) * zero[:, None, :]
    # beta_l = grad_C . z_l - a . (H z_l). With a on the free features and
    # z_l on the pinned ones, only the block H[free, pinned] = Q[free, pinned]
    # enters (the diagonal and the group terms vanish there: w = 0 on pinned
    # features).
    beta = np.einsum("tp,tpl->tl", grad_C - gram.qmul(a), Z)
    return coef * zero, beta * zero


def chunk_value_and_grad(
    chunk, theta, alpha, eta, state=None, *, need_grad=True, tol=1e-10, max_iter=30
):
    """Upper-level value (and hypergradient) contributed by one chunk of tasks.

    Parameters
    ----------
    chunk : TaskChunk
    theta : ndarray of shape (P, L)
    alpha, eta : float
    state : tuple or None
        ``(W, zero)`` from the previous call on this chunk (warm start).
    need_grad : bool
    tol : float
        Lower-level tolerance (see :func:`solve_lower`).
    max_iter : int
        Lower-level Newton steps per exact phase.

    Returns
    -------
    value : float
    grad_theta : ndarray of shape (P, L) or None
    grad_alpha : float or None
    state : tuple
        ``(W, zero)`` for the next call.
    info : dict
        ``converged`` (bool per task) and ``n_steps`` (batched Newton steps).
    """
    gram = chunk.gram()
    W0, zero0 = (None, None) if state is None else state
    W, zero, conv, n_steps = solve_lower(
        gram, theta, alpha, eta, W0=W0, zero0=zero0, tol=tol, max_iter=max_iter
    )
    info = {"converged": conv, "n_steps": n_steps}
    resid = _matvec(chunk.X_val, W) - chunk.y_val
    omega = chunk.weight_val
    value = float(np.sum(omega * np.einsum("tn,tn->t", resid, resid)))
    if not need_grad:
        return value, None, None, (W, zero), info
    s = theta * theta
    support = theta > 0
    grad_C = 2.0 * omega[:, None] * _rmatvec(chunk.X_val, resid)
    # Adjoint H a = grad_C on the free features (the reduced Hessian).
    red = _Reduced(gram, s, free_mask(zero, support))
    _, system, _, _ = red.hessian(red.gather(W), alpha, eta, ~zero)
    a_r = system.solve(red.gather(grad_C))
    a = red.scatter(a_r, W.shape[1])
    nsq = group_sq_norms(W, s)
    inv_n = np.where(~zero, 1.0 / np.maximum(np.sqrt(nsq), _NORM_FLOOR), 0.0)
    dpen = inv_n @ s.T
    grad_alpha = -float(np.sum(a * W * dpen))
    # Nonzero groups.
    aw = a * W  # (T, P)
    m = (aw @ s) * inv_n**3  # (T, L): (sum_j a_j theta_jl^2 w_j) / n_l^3
    grad_theta = -alpha * (2.0 * theta * (aw.T @ inv_n) - theta * ((W * W).T @ m))
    # Zero groups: one-sided derivatives for free features.
    if zero.any():
        coef, beta = _zero_group_terms(gram, W, s, theta, alpha, eta, zero, a, grad_C)
        sa = np.sign(W) * a
        grad_theta += -alpha * (sa.T @ coef) + np.abs(W).T @ beta
        # Entries with theta_kl > 0 in a zero group have zero derivative.
        # (sa and |W| vanish on pinned features, so nothing else to mask.)
    return value, grad_theta, grad_alpha, (W, zero), info


class GroupStructureProblem:
    """Upper-level objective of the group-structure problem, for the core.

    Implements ``value_and_grad(theta, lam)``, ``value(theta, lam)`` and the
    batched move evaluator ``evaluate_moves(theta, lam, moves)`` as
    :func:`sklearn_relaxpen._core.relax_and_penalize` expects, with
    ``lam = [log alpha]`` (a log parametrization of the group-lasso
    strength). Keeps the lower-level solutions between calls as warm starts.
    Build it from raw task data with :meth:`from_tasks`.

    Parameters
    ----------
    chunks : list of TaskChunk
        The tasks, in fixed chunks (the unit of parallel work).
    eta : float
        Ridge term of the lower level.
    n_jobs : int or None
        Threads over chunks (None or 1: sequential). The chunks are fixed, so
        results do not depend on ``n_jobs``.
    tol : float
        Lower-level Newton tolerance (relative decrement).
    max_iter : int
        Lower-level Newton steps per exact phase.
    refit_chunks : list of (TaskChunk, x_means, y_means), default=None
        Centred training data of every task on all its rows, for
        :meth:`refit`.

    Attributes
    ----------
    alpha_max : float
        ``max_t ||X_t^T y_t||`` over the chunks: above it every task's
        solution is zero.
    n_calls : int
        Number of full passes over the tasks (``value`` or
        ``value_and_grad``).
    last_converged : bool
        Whether every lower-level solve of the last full pass converged.
    n_unconverged : int
        Number of task solves that did not converge, over all passes.
    """

    def __init__(
        self, chunks, eta, *, n_jobs=None, tol=1e-10, max_iter=30, refit_chunks=None
    ):
        self.chunks = chunks
        self.eta = eta
        self.n_jobs = n_jobs
        self._blas = None
        self.tol = tol
        self.max_iter = max_iter
        self.refit_chunks = refit_chunks
        self.states = [None] * len(chunks)
        self.n_calls = 0
        self.n_unconverged = 0
        self.last_converged = True
        self._point = None
        self.alpha_max = max(
            float(np.max(np.linalg.norm(chunk.gram().c, axis=1))) for chunk in chunks
        )

    @classmethod
    def from_tasks(
        cls,
        folds,
        eta,
        *,
        fit_intercept=True,
        refit_tasks=None,
        refit_weight=1.0,
        n_jobs=None,
        tol=1e-10,
        max_iter=30,
    ):
        """Centre, pad and chunk the tasks of every fold.

        Parameters
        ----------
        folds : list of TaskSet
            One :class:`~sklearn_relaxpen._bilevel.group_tasks.TaskSet` (with
            validation rows) per fold. ``G`` is the mean over folds and tasks
            of half the mean squared validation residual.
        eta : float
            Ridge term of the lower level.
        fit_intercept : bool, default=True
            Centre each task (an unpenalized intercept per task).
        refit_tasks : TaskSet, default=None
            All training rows of every task, for :meth:`refit`.
        refit_weight : float or ndarray of shape (T,), default=1.0
            Weight of each task's squared error in :meth:`refit` (see
            :meth:`TaskSet.chunks`).
        n_jobs : int, default=None
            Threads over chunks.
        tol : float, default=1e-10
            Lower-level Newton tolerance.
        max_iter : int, default=30
            Lower-level Newton steps per exact phase.

        Returns
        -------
        problem : GroupStructureProblem
        """
        n_tasks = folds[0].n_tasks
        denominator = 2.0 * len(folds) * n_tasks
        chunks = [
            chunk
            for fold in folds
            for chunk, _, _ in fold.chunks(fit_intercept, denominator)
        ]
        refit_chunks = None
        if refit_tasks is not None:
            refit_chunks = refit_tasks.chunks(fit_intercept, data_weight=refit_weight)
        return cls(
            chunks,
            eta,
            n_jobs=n_jobs,
            tol=tol,
            max_iter=max_iter,
            refit_chunks=refit_chunks,
        )

    def _map(self, function, items):
        """``[function(item) for item in items]``, over threads if n_jobs > 1."""
        if self.n_jobs in (None, 1) or len(items) == 1:
            return [function(item) for item in items]
        n_jobs = self.n_jobs if self.n_jobs > 0 else os.cpu_count() + 1 + self.n_jobs
        n_jobs = max(1, min(n_jobs, len(items)))
        if self._blas is None:  # found once: inspecting the libraries is slow
            self._blas = ThreadpoolController()
        # One BLAS thread per worker thread: no oversubscription.
        with self._blas.limit(limits=1, user_api="blas"):
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                return list(pool.map(function, items))

    def refit(self, theta, alpha):
        """Lower level on all training rows (``refit_tasks``) at ``theta``.

        Returns
        -------
        coef : ndarray of shape (T, P)
        intercept : ndarray of shape (T,)
        n_unconverged : int
            Number of tasks whose solve did not converge.
        """
        theta = np.asarray(theta, dtype=float)

        def solve(item):
            chunk, x_means, y_means = item
            W, _, conv, _ = solve_lower(
                chunk.gram(),
                theta,
                alpha,
                self.eta,
                tol=self.tol,
                max_iter=self.max_iter,
            )
            return W, y_means - np.einsum("tp,tp->t", x_means, W), np.sum(~conv)

        results = self._map(solve, self.refit_chunks)
        coef = np.concatenate([r[0] for r in results])
        intercept = np.concatenate([r[1] for r in results])
        return coef, intercept, int(sum(r[2] for r in results))

    def _run(self, theta, lam, need_grad):
        theta = np.asarray(theta, dtype=float)
        alpha = float(np.exp(np.asarray(lam, dtype=float).ravel()[0]))

        def solve(i):
            return chunk_value_and_grad(
                self.chunks[i],
                theta,
                alpha,
                self.eta,
                self.states[i],
                need_grad=need_grad,
                tol=self.tol,
                max_iter=self.max_iter,
            )

        results = self._map(solve, list(range(len(self.chunks))))
        value = 0.0
        grad_theta = np.zeros_like(theta) if need_grad else None
        grad_alpha = 0.0
        n_bad = 0
        for i, (v, gt, ga, state, info) in enumerate(results):
            value += v
            if need_grad:
                grad_theta += gt
                grad_alpha += ga
            self.states[i] = state
            n_bad += int(np.sum(~info["converged"]))
        self.n_calls += 1
        self.n_unconverged += n_bad
        self.last_converged = n_bad == 0
        self._point = (theta.copy(), alpha, value)
        return value, grad_theta, alpha * grad_alpha

    def value_and_grad(self, theta, lam):
        """``G``, ``dG/dtheta`` (P, L) and ``dG/dlog(alpha)`` (shape (1,))."""
        value, grad_theta, grad_log_alpha = self._run(theta, lam, True)
        return value, grad_theta, np.array([grad_log_alpha])

    def value(self, theta, lam):
        """``G(theta, exp(lam))``."""
        return self._run(theta, lam, False)[0]

    def forget_solutions(self):
        """Drop the lower-level warm starts: the next pass solves from cold."""
        self.states = [None] * len(self.chunks)
        self._point = None

    def fresh_copy(self, n_jobs=None):
        """The same problem on the same chunks (shared, read only), without
        warm starts, counts or refit data: for a computation that runs
        beside this one (e.g. in another process)."""
        return GroupStructureProblem(
            self.chunks, self.eta, n_jobs=n_jobs, tol=self.tol, max_iter=self.max_iter
        )

    @property
    def lower_state(self):
        """What the next pass starts from: the warm starts, the last point
        and whether its pass converged. Settable (e.g. from a
        :meth:`fresh_copy` that ran elsewhere)."""
        return list(self.states), self._point, self.last_converged

    @lower_state.setter
    def lower_state(self, state):
        states, self._point, self.last_converged = state
        self.states = list(states)

    def solutions(self):
        """Coefficients ``(T, P)`` of the last call, chunks concatenated."""
        return np.concatenate([state[0] for state in self.states], axis=0)

    def evaluate_moves(self, theta, lam, moves):
        """Exact ``G`` after each single move of a feature to another group.

        Parameters
        ----------
        theta : ndarray of shape (P, L)
            A one-hot assignment.
        lam : ndarray of shape (1,)
            ``[log alpha]``.
        moves : ndarray of shape (k, 2) of int
            ``(feature, new group)`` pairs, each applied separately to
            ``theta``.

        Returns
        -------
        values : ndarray of shape (k,)

        Notes
        -----
        A move of feature ``j`` from group ``o`` to group ``c`` changes only
        these two groups. A task in which both are zero keeps its solution
        when group ``c`` with feature ``j`` still passes its dual certificate
        (``||u_c||^2 + g_j^2 <= alpha^2``, exact for one-hot rows), so only
        the other tasks are re-solved, warm-started from their current
        solution and zero groups.
        """
        theta = np.asarray(theta, dtype=float)
        moves = np.asarray(moves, dtype=np.intp).reshape(-1, 2)
        alpha = float(np.exp(np.asarray(lam, dtype=float).ravel()[0]))
        point = self._point
        if (
            point is None
            or point[1] != alpha
            or not np.array_equal(point[0], theta)
            or any(state is None for state in self.states)
        ):
            self.value(theta, lam)
        base = self._point[2]
        old = np.argmax(theta, axis=1)[moves[:, 0]]

        def delta(i):
            return _chunk_move_deltas(
                self.chunks[i],
                self.states[i],
                theta,
                alpha,
                self.eta,
                moves,
                old,
                self.tol,
                self.max_iter,
            )

        deltas = self._map(delta, list(range(len(self.chunks))))
        return base + np.sum(deltas, axis=0)


# Largest number of bytes of one batched solve of the move evaluator, counted
# as one Gram matrix per (task, move) pair (a bound on the solver's per-pair
# arrays; pairs are cut into blocks below it).
_MOVE_BLOCK_BYTES = 64 * 2**20


def _chunk_move_deltas(chunk, state, theta, alpha, eta, moves, old, tol, max_iter):
    """Change of one chunk's part of ``G`` under each move (see
    :meth:`GroupStructureProblem.evaluate_moves`).

    Every (task, move) pair that needs a new solution is one row of a batched
    lower-level solve with its own one-hot ``theta`` (no loop over moves).
    """
    gram = chunk.gram()
    W, zero = state
    feature, new = moves[:, 0], moves[:, 1]
    # Dual certificate of group `new` gaining `feature` where both are zero.
    g = -(gram.qmul(W) - gram.c + eta * W)
    u2 = (g * g) @ (theta > 0)  # (T, L): ||g||^2 over each group's features
    both_zero = zero[:, old] & zero[:, new]  # (T, k)
    gain = u2[:, new] + g[:, feature] ** 2
    keeps = both_zero & (np.sqrt(gain) <= alpha * (1 + 1e-6))
    move, task = np.nonzero(~keeps.T)
    out = np.zeros(moves.shape[0])
    if task.size == 0:
        return out
    resid = _matvec(chunk.X_val, W) - chunk.y_val
    current = chunk.weight_val * np.einsum("tn,tn->t", resid, resid)
    per_pair = gram.Q.nbytes // gram.Q.shape[0] if gram.Q.ndim == 3 else 0
    per_pair += theta.nbytes
    block = max(1, _MOVE_BLOCK_BYTES // per_pair)
    for start in range(0, task.size, block):
        t, m = task[start : start + block], move[start : start + block]
        moved = np.repeat(theta[None], t.size, axis=0)
        rows = np.arange(t.size)
        moved[rows, feature[m]] = 0.0
        moved[rows, feature[m], new[m]] = 1.0
        W_new, _, _, _ = solve_lower(
            gram.subset(t, defer_Q=True),
            moved,
            alpha,
            eta,
            W0=W[t],
            zero0=zero[t],
            tol=tol,
            max_iter=max_iter,
        )
        X_val = chunk.X_val if chunk.X_val.ndim == 2 else chunk.X_val[t]
        r = _matvec(X_val, W_new) - chunk.y_val[t]
        change = chunk.weight_val[t] * np.einsum("tn,tn->t", r, r) - current[t]
        out += np.bincount(m, weights=change, minlength=out.size)
    return out


def _split_chunk(chunk, n_parts):
    """``chunk`` cut into ``n_parts`` consecutive chunks of near-equal size.

    The pieces share the chunk's arrays where the design is shared, and their
    Gram quantities are taken from the chunk's (no recomputation).
    """
    gram = chunk.gram()
    pieces = []
    for idx in np.array_split(np.arange(chunk.n_tasks), n_parts):
        X = chunk.X[idx] if chunk.X.ndim == 3 else chunk.X
        X_val = chunk.X_val[idx] if chunk.X_val.ndim == 3 else chunk.X_val
        piece = TaskChunk(X, chunk.y[idx], X_val, chunk.y_val[idx])
        piece.weight_val = chunk.weight_val[idx]
        piece._gram = gram.subset(idx)
        pieces.append(piece)
    return pieces


class MiniBatchProblem:
    """Stochastic view of a :class:`GroupStructureProblem` over task mini-batches.

    The tasks are cut into fixed *pieces* of at most ``piece_size`` tasks
    (each chunk of ``problem`` split into near-equal parts, so the pieces do
    not depend on ``n_jobs``). Each call of :meth:`value_and_grad` solves the
    lower level of the next ``n_pieces_per_batch`` pieces of a fixed random
    order (cyclically) and returns their contribution to ``G`` and to its
    gradient, multiplied by ``n_pieces / n_pieces_per_batch``: an unbiased
    estimate of the full value and gradient, and exact on average over any
    ``n_pieces`` consecutive calls (each piece then enters exactly
    ``n_pieces_per_batch`` times). Each piece keeps its own warm start.
    :meth:`value` is exact: a full pass of ``problem``.

    Parameters
    ----------
    problem : GroupStructureProblem
        The full problem (its chunks and lower-level settings; the pieces of
        a batch are solved in the calling thread whatever its ``n_jobs``).
    batch_size : int
        Tasks per mini-batch (rounded to whole pieces). At least the number
        of tasks means full passes of ``problem``.
    piece_size : int, default=32
        Largest number of tasks of one piece.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the pieces.
    n_full_calls : int, default=0
        The first ``n_full_calls`` calls of :meth:`value_and_grad` are full
        passes of ``problem`` (exact values and gradients); the mini-batches
        start after them, each piece from a cold start.

    Attributes
    ----------
    pieces : list of TaskChunk
    n_pieces_per_batch : int
    n_calls : int
        Number of mini-batch calls (the leading full passes not included:
        ``problem.n_calls`` counts them).
    n_task_solves : int
        Number of task solves of the mini-batch calls (``n_task_solves /
        n_tasks`` full-pass equivalents).
    """

    def __init__(
        self, problem, batch_size, *, piece_size=32, random_state=None, n_full_calls=0
    ):
        for name, value in (("batch_size", batch_size), ("piece_size", piece_size)):
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not (isinstance(n_full_calls, (int, np.integer)) and n_full_calls >= 0):
            raise ValueError(
                f"n_full_calls must be a non-negative integer, got {n_full_calls!r}."
            )
        self.n_full_calls = int(n_full_calls)
        self.problem = problem
        parts_per_chunk, self.n_pieces_per_batch = self.layout(
            problem, batch_size, piece_size
        )
        self.pieces, self.owner = [], []
        for i, (chunk, n_parts) in enumerate(zip(problem.chunks, parts_per_chunk)):
            parts = _split_chunk(chunk, n_parts)
            self.pieces += parts
            self.owner += [i] * len(parts)
        self.n_tasks = sum(chunk.n_tasks for chunk in problem.chunks)
        rng = check_random_state(random_state)
        self.order = rng.permutation(len(self.pieces))
        self.states = [None] * len(self.pieces)
        # pieces solved since the problem's last full pass
        self._newer = np.zeros(len(self.pieces), dtype=bool)
        self._next = 0
        self.n_calls = 0
        self.n_task_solves = 0

    @staticmethod
    def layout(problem, batch_size, piece_size):
        """Pieces of each chunk of ``problem`` and pieces per mini-batch
        (without building the pieces)."""
        parts = [-(-chunk.n_tasks // piece_size) for chunk in problem.chunks]
        mean_size = sum(chunk.n_tasks for chunk in problem.chunks) / sum(parts)
        per_batch = int(np.clip(round(batch_size / mean_size), 1, sum(parts)))
        return parts, per_batch

    @property
    def full_batch(self):
        return self.n_pieces_per_batch >= len(self.pieces)

    def next_batch(self):
        """Indices of the pieces of the next call (advances the rotation)."""
        k, b = len(self.pieces), self.n_pieces_per_batch
        batch = self.order[(self._next + np.arange(b)) % k]
        self._next = (self._next + b) % k
        return batch

    def value_and_grad(self, theta, lam):
        """Unbiased estimate of ``G``, ``dG/dtheta`` and ``dG/dlog(alpha)``."""
        if self.full_batch or self.n_full_calls > 0:
            self.n_full_calls = max(self.n_full_calls - 1, 0)
            self._newer[:] = False
            return self.problem.value_and_grad(theta, lam)
        problem = self.problem
        theta = np.asarray(theta, dtype=float)
        alpha = float(np.exp(np.asarray(lam, dtype=float).ravel()[0]))
        batch = self.next_batch()

        # In the calling thread, whatever n_jobs: a batch has a few pieces of
        # a few tasks, whose many small array operations hold the GIL; on
        # threads they ran slower than one after the other.
        value, grad_theta, grad_alpha = 0.0, np.zeros_like(theta), 0.0
        for i in batch:
            v, gt, ga, self.states[i], info = chunk_value_and_grad(
                self.pieces[i],
                theta,
                alpha,
                problem.eta,
                self.states[i],
                tol=problem.tol,
                max_iter=problem.max_iter,
            )
            value += v
            grad_theta += gt
            grad_alpha += ga
            problem.n_unconverged += int(np.sum(~info["converged"]))
            self.n_task_solves += self.pieces[i].n_tasks
        self._newer[batch] = True
        scale = len(self.pieces) / len(batch)
        self.n_calls += 1
        return (
            scale * value,
            scale * grad_theta,
            np.array([scale * alpha * grad_alpha]),
        )

    def stop_full_calls(self):
        """Drop the leading full passes not used yet (``n_full_calls``)."""
        self.n_full_calls = 0

    def value(self, theta, lam):
        """Exact ``G``: a full pass of the problem."""
        self.hand_over_states()
        self._newer[:] = False
        return self.problem.value(theta, lam)

    def hand_over_states(self):
        """Give the pieces' lower-level solutions to ``problem`` as warm starts.

        A chunk of ``problem`` without a warm start of its own takes its
        pieces' (the latest solution of each piece) once all of them have
        one; a chunk with one takes those of its pieces solved since the
        problem's last full pass. (The end of a stage is a whole stage of
        mini-batches away from the previous full pass: warm-started there, the
        pass took up to 5 times as long with 500 tasks.)
        """
        owner = np.asarray(self.owner)
        for i, state in enumerate(self.problem.states):
            parts = np.flatnonzero(owner == i)
            if state is None:
                if all(self.states[k] is not None for k in parts):
                    self.problem.states[i] = tuple(
                        np.concatenate([self.states[k][j] for k in parts])
                        for j in (0, 1)
                    )
                continue
            if not self._newer[parts].any():
                continue
            W, zero = state[0].copy(), state[1].copy()
            bounds = np.cumsum([0] + [self.pieces[k].n_tasks for k in parts])
            for k, start, stop in zip(parts, bounds[:-1], bounds[1:]):
                if self._newer[k]:
                    W[start:stop], zero[start:stop] = self.states[k]
            self.problem.states[i] = (W, zero)
