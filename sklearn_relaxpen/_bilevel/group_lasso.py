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

import numpy as np
from joblib import Parallel, delayed

from .group_tasks import _rmatvec

_TINY = 1e-300
_STEPS = 0.5 ** np.arange(40)
_MU_POWERS = (2, 4, 6, 8, 10, 12)
_ZERO_REL = 1e-6
# Smallest group norm used in 1 / n_l**3 (keeps the Hessian finite).
_NORM_FLOOR = 1e-60


def _qmul(Q, W):
    """``Q_t w_t`` for every task (``Q`` shared (P, P) or per task (T, P, P))."""
    if Q.ndim == 2:
        return W @ Q
    return np.einsum("tpq,tq->tp", Q, W)


def _matvec(X, W):
    """``X_t w_t`` for every task: (T, N)."""
    if X.ndim == 2:
        return W @ X.T
    return np.einsum("tnp,tp->tn", X, W)


def _free_mask(zero, support):
    """Free features: not in the support of any zero group. (T, P) bool."""
    return ~((zero.astype(float) @ support.T.astype(float)) > 0)


def _grad_hess(data, W, s, alpha, eta, free, active, mu, *, hessian=True):
    """Gradient (masked to the free features) and Hessian of the objective."""
    nsq = (W * W) @ s
    n = np.sqrt(nsq + mu * mu)  # mu: scalar or (T, 1)
    inv_n = np.where(active, 1.0 / np.maximum(n, _NORM_FLOOR), 0.0)
    dpen = inv_n @ s.T
    grad_f = _qmul(data.Q, W) - data.c + eta * W
    grad = grad_f + alpha * W * dpen
    out = {"n": np.sqrt(nsq), "inv_n": inv_n, "dpen": dpen, "grad_f": grad_f}
    grad = np.where(free, grad, 0.0)
    if not hessian:
        return grad, None, out
    n_tasks, n_features = W.shape
    V = W[:, :, None] * s[None]
    H = np.array(np.broadcast_to(data.Q, (n_tasks, n_features, n_features)))
    H -= alpha * np.matmul(V * (inv_n**3)[:, None, :], V.transpose(0, 2, 1))
    diag = np.einsum("tii->ti", H)
    diag += eta + alpha * dpen
    return grad, H, out


def _mask_hessian(H, free):
    H = H * (free[:, :, None] & free[:, None, :])
    diag = np.einsum("tii->ti", H)
    diag += ~free
    return H


def _newton(data, W, s, alpha, eta, zero, support, mu, tol, max_iter):
    """Damped Newton on the (smoothed if mu > 0) problem with zero groups fixed.

    Returns the new ``W`` (a copy), per-task convergence flags and the number
    of Newton steps taken.
    """
    W = W.copy()
    mu = np.broadcast_to(np.asarray(mu, dtype=float).reshape(-1, 1), (W.shape[0], 1))
    free = _free_mask(zero, support)
    W[~free] = 0.0
    active = ~zero
    n_tasks = W.shape[0]
    converged = np.zeros(n_tasks, dtype=bool)
    todo = np.arange(n_tasks)
    n_steps = 0
    for _ in range(max_iter):
        if todo.size == 0:
            break
        sub = data.subset(todo)
        Wt, fr, act = W[todo], free[todo], active[todo]
        mut = mu[todo]
        grad, H, out = _grad_hess(sub, Wt, s, alpha, eta, fr, act, mut)
        H = _mask_hessian(H, fr)
        try:
            d = -np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            d = -grad / np.maximum(np.einsum("tii->ti", H), _TINY)
        gd = np.einsum("tp,tp->t", grad, d)
        done = -gd <= 2.0 * tol * sub.scale
        # Exact line search model: f is quadratic and each group norm is the
        # square root of a quadratic in the step t.
        dQd = np.einsum("tp,tp->t", _qmul(sub.Q, d), d) + eta * np.einsum(
            "tp,tp->t", d, d
        )
        gfd = np.einsum("tp,tp->t", out["grad_f"], d)
        A = (Wt * Wt) @ s + mut * mut
        B = (Wt * d) @ s
        C = (d * d) @ s
        t = _STEPS[None, :, None]
        new_sq = np.maximum(A[:, None] + 2 * t * B[:, None] + t * t * C[:, None], 0)
        dpen = (2 * t * B[:, None] + t * t * C[:, None]) / (
            np.sqrt(new_sq) + np.sqrt(A)[:, None] + _TINY
        )
        dpen = np.where(act[:, None], dpen, 0.0).sum(axis=2)
        steps = _STEPS[None, :]
        delta = steps * gfd[:, None] + 0.5 * steps**2 * dQd[:, None] + alpha * dpen
        ok = delta <= 1e-4 * steps * gd[:, None]
        first = np.argmax(ok, axis=1)
        step = np.where(ok.any(axis=1), _STEPS[first], 0.0)
        step[done] = 1.0
        W[todo] = Wt + step[:, None] * d
        n_steps += 1
        stalled = (step == 0.0) & ~done
        converged[todo[done]] = True
        todo = todo[~(done | stalled)]
    return W, converged, n_steps


def _kkt_violation(data, W, s, theta, alpha, eta, zero, support):
    """Zero groups whose dual certificate exceeds alpha: (T, L) bool."""
    free = _free_mask(zero, support)
    _, _, out = _grad_hess(data, W, s, alpha, eta, free, ~zero, 0.0, hessian=False)
    g = -(out["grad_f"] + alpha * W * out["dpen"])
    g = np.where(free, 0.0, g)
    s_zero = zero.astype(float) @ s.T  # (T, P): sum over zero groups of theta^2
    ratio = np.where(s_zero > 0, g / np.maximum(s_zero, _TINY), 0.0)
    u_norm = np.sqrt((ratio * ratio) @ s)
    return zero & (u_norm > alpha * (1 + 1e-6) + 1e-12 * np.sqrt(data.scale)[:, None])


def _continuation(data, s, alpha, eta, support, tol, W=None, powers=None):
    """Smoothed Newton along decreasing mu; returns W and identified zeros."""
    n_tasks, n_features = data.c.shape
    n_groups = s.shape[1]
    zero = np.zeros((n_tasks, n_groups), dtype=bool)
    if W is None:
        W = np.zeros((n_tasks, n_features))
    n_steps = 0
    norms = None
    for power in _MU_POWERS if powers is None else powers:
        mu = data.wscale * 10.0**-power
        W, _, k = _newton(data, W, s, alpha, eta, zero, support, mu, tol, 50)
        n_steps += k
        norms, previous = np.sqrt((W * W) @ s), norms
    # As mu -> 0, a nonzero group keeps its norm while a zero group's norm
    # shrinks like mu rho_l / sqrt(1 - rho_l^2) (rho_l < 1 its dual ratio):
    # between the last two stages the former barely moves, the latter drops
    # by the factor between the two mu's.
    # Groups below 1e-6 of the coefficient scale are also declared zero; the
    # dual certificate of the exact phase reactivates them if they are not.
    zero = (norms <= 0.1 * previous) | (norms <= _ZERO_REL * data.wscale[:, None])
    return W, zero, n_steps


def _certified(data, W, s, theta, alpha, eta, zero, support):
    """Tasks whose zero groups pass the dual check and whose other groups are
    clearly nonzero."""
    norms = np.sqrt((W * W) @ s)
    collapsed = (
        ~zero
        & (norms <= _ZERO_REL * data.wscale[:, None])
        & ((theta > 0).any(axis=0)[None])
    )
    viol = _kkt_violation(data, W, s, theta, alpha, eta, zero, support)
    return ~(collapsed | viol).any(axis=1)


def _identify_and_polish(
    data, s, theta, alpha, eta, support, tol, max_iter, W_start, powers
):
    """Continuation to identify the zero groups, then exact Newton."""
    W_smooth, z, n_steps = _continuation(
        data, s, alpha, eta, support, tol, W=W_start, powers=powers
    )
    forced = np.zeros_like(z)
    for _ in range(4):
        Wb, cb, k = _newton(
            data, W_smooth, s, alpha, eta, z, support, 0.0, tol, max_iter
        )
        n_steps += k
        # Groups whose norm collapsed during the exact phase are zero, unless
        # the dual certificate already rejected that.
        norms = np.sqrt((Wb * Wb) @ s)
        collapsed = ~z & ~forced & (norms <= _ZERO_REL * data.wscale[:, None])
        viol = _kkt_violation(data, Wb, s, theta, alpha, eta, z, support)
        if not (collapsed.any() or viol.any()):
            break
        forced |= viol
        z = (z | collapsed) & ~viol
    else:
        cb = cb & ~(collapsed | viol).any(axis=1)
    return Wb, z, cb, n_steps


def solve_lower(
    data, theta, alpha, eta, *, W0=None, zero0=None, tol=1e-10, max_iter=30
):
    """Solve the lower level for a batch of tasks.

    Parameters
    ----------
    data : Gram
        Gram matrices of the tasks (:meth:`TaskChunk.gram`).
    theta : ndarray of shape (P, L)
        Relaxed assignment (nonnegative).
    alpha, eta : float
        Group-lasso strength and ridge term.
    W0, zero0 : ndarray, default=None
        Warm start (coefficients and zero groups from a previous call).
    tol : float
        Newton-decrement tolerance relative to ``1/2 ||y_t||^2``.
    max_iter : int
        Newton steps per exact phase.

    Returns
    -------
    W : ndarray of shape (T, P)
    zero : ndarray of shape (T, L) of bool
    converged : ndarray of shape (T,) of bool
    n_steps : int
    """
    s = theta * theta
    support = theta > 0
    n_tasks = data.c.shape[0]
    n_groups = theta.shape[1]
    n_steps = 0
    W = np.zeros((n_tasks, theta.shape[0]))
    zero = np.zeros((n_tasks, n_groups), dtype=bool)
    conv = np.zeros(n_tasks, dtype=bool)
    if W0 is not None:
        W, conv, k = _newton(data, W0, s, alpha, eta, zero0, support, 0.0, tol, 8)
        zero = zero0.copy()
        n_steps += k
        conv &= _certified(data, W, s, theta, alpha, eta, zero, support)
        # Support changed: re-identify it from the warm start, with a short
        # smoothing continuation that starts at a small mu.
        bad = np.flatnonzero(~conv)
        if bad.size:
            sub = data.subset(bad)
            Wb, zb, cb, k = _identify_and_polish(
                sub,
                s,
                theta,
                alpha,
                eta,
                support,
                tol,
                max_iter,
                W[bad],
                _MU_POWERS[2:],
            )
            n_steps += k
            W[bad], zero[bad], conv[bad] = Wb, zb, cb
    bad = np.flatnonzero(~conv)
    if bad.size:
        sub = data.subset(bad)
        Wb, zb, cb, k = _identify_and_polish(
            sub, s, theta, alpha, eta, support, tol, max_iter, None, None
        )
        n_steps += k
        W[bad], zero[bad], conv[bad] = Wb, zb, cb
    return W, zero, conv, n_steps


def _zero_group_terms(data, W, s, theta, alpha, eta, zero, free, H_full, a, grad_C):
    """One-sided derivative terms for ``theta_kl`` (k free, l a zero group).

    When ``theta_kl`` leaves 0, group ``l`` becomes active with norm
    ``theta_kl |w_k| / sqrt(1 - rho_l^2)`` and its pinned features move as
    ``w_j = theta_kl |w_k| z_lj`` with ``z_lj = g_j / (alpha theta_jl^2
    sqrt(1 - rho_l^2))``, where ``g = -grad f`` on the pinned features and
    ``rho_l = ||g / theta_l|| / alpha`` (its dual certificate). Returns
    ``(coef, beta)`` with ``dG/dtheta_kl = -alpha coef_l sign(w_k) a_k +
    |w_k| beta_l``.
    """
    _, _, out = _grad_hess(data, W, s, alpha, eta, free, ~zero, 0.0, hessian=False)
    g = -(out["grad_f"] + alpha * W * out["dpen"])
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
    # beta_l = grad_C . z_l - a . (H z_l)  (H: full Hessian, a zero off free set)
    HZ = np.matmul(H_full, Z)
    beta = np.einsum("tp,tpl->tl", grad_C, Z) - np.einsum("tp,tpl->tl", a, HZ)
    return coef * zero, beta * zero


def chunk_value_and_grad(
    chunk, theta, alpha, eta, state=None, *, need_grad=True, tol=1e-10
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

    Returns
    -------
    value : float
    grad_theta : ndarray of shape (P, L) or None
    grad_alpha : float or None
    state : tuple
        ``(W, zero)`` for the next call.
    info : dict
        ``converged``: bool per task.
    """
    data = chunk.gram()
    W0, zero0 = (None, None) if state is None else state
    W, zero, conv, _ = solve_lower(data, theta, alpha, eta, W0=W0, zero0=zero0, tol=tol)
    info = {"converged": conv}
    resid = _matvec(chunk.X_val, W) - chunk.y_val
    omega = chunk.weight_val
    value = float(np.sum(omega * np.einsum("tn,tn->t", resid, resid)))
    if not need_grad:
        return value, None, None, (W, zero), info
    s = theta * theta
    support = theta > 0
    free = _free_mask(zero, support)
    grad_C = 2.0 * omega[:, None] * _rmatvec(chunk.X_val, resid)
    _, H_full, out = _grad_hess(data, W, s, alpha, eta, free, ~zero, 0.0)
    H = _mask_hessian(H_full, free)
    a = np.linalg.solve(H, np.where(free, grad_C, 0.0)[:, :, None])[:, :, 0]
    a = np.where(free, a, 0.0)
    inv_n = out["inv_n"]  # zero on zero groups
    grad_alpha = -float(np.sum(a * W * out["dpen"]))
    # Nonzero groups.
    aw = a * W  # (T, P)
    m = (aw @ s) * inv_n**3  # (T, L): (sum_j a_j theta_jl^2 w_j) / n_l^3
    grad_theta = -alpha * (2.0 * theta * (aw.T @ inv_n) - theta * ((W * W).T @ m))
    # Zero groups: one-sided derivatives for free features.
    if zero.any():
        coef, beta = _zero_group_terms(
            data, W, s, theta, alpha, eta, zero, free, H_full, a, grad_C
        )
        sa = np.sign(W) * a
        grad_theta += -alpha * (sa.T @ coef) + np.abs(W).T @ beta
        # Entries with theta_kl > 0 in a zero group have zero derivative.
        # (sa and |W| vanish on pinned features, so nothing else to mask.)
    return value, grad_theta, grad_alpha, (W, zero), info


class GroupStructureProblem:
    """Upper-level objective of the group-structure problem, for the core.

    Implements ``value_and_grad(theta, lam)`` and ``value(theta, lam)`` as
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
        Joblib workers over chunks (any joblib backend, e.g. dask or ray,
        through ``joblib.parallel_config``).
    tol : float
        Lower-level Newton tolerance.
    refit_chunks : list of (TaskChunk, x_means, y_means), default=None
        Centred training data of every task on all its rows, for
        :meth:`refit`.

    Attributes
    ----------
    alpha_max : float
        ``max_t ||X_t^T y_t||`` over the chunks: above it every task's
        solution is zero.
    all_converged : bool
        Whether every lower-level solve so far converged.
    """

    def __init__(self, chunks, eta, *, n_jobs=None, tol=1e-10, refit_chunks=None):
        self.chunks = chunks
        self.eta = eta
        self.n_jobs = n_jobs
        self.tol = tol
        self.refit_chunks = refit_chunks
        self.states = [None] * len(chunks)
        self.all_converged = True
        self.alpha_max = max(
            float(np.max(np.linalg.norm(chunk.gram().c, axis=1))) for chunk in chunks
        )

    @classmethod
    def from_tasks(
        cls, folds, eta, *, fit_intercept=True, refit_tasks=None, n_jobs=None
    ):
        """Centre, pad and chunk the tasks of every fold.

        Parameters
        ----------
        folds : list of TaskSet
            One :class:`~sklearn_relaxpen._bilevel.group_tasks.TaskSet` (with
            validation rows) per fold. ``G`` is
            the mean over folds and tasks of half the mean squared
            validation residual.
        eta : float
            Ridge term of the lower level.
        fit_intercept : bool, default=True
            Centre each task (an unpenalized intercept per task).
        refit_tasks : TaskSet, default=None
            All training rows of every task, for :meth:`refit`.
        n_jobs : int, default=None
            Joblib workers over chunks.

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
            refit_chunks = refit_tasks.chunks(fit_intercept)
        return cls(chunks, eta, n_jobs=n_jobs, refit_chunks=refit_chunks)

    def refit(self, theta, alpha):
        """Lower level on all training rows (``refit_tasks``) at ``theta``.

        Returns
        -------
        coef : ndarray of shape (T, P)
        intercept : ndarray of shape (T,)
        converged : bool
        """
        theta = np.asarray(theta, dtype=float)
        coef, intercept, ok = [], [], True
        for chunk, x_means, y_means in self.refit_chunks:
            W, _, conv, _ = solve_lower(chunk.gram(), theta, alpha, self.eta)
            ok &= bool(np.all(conv))
            coef.append(W)
            intercept.append(y_means - np.einsum("tp,tp->t", x_means, W))
        return np.concatenate(coef), np.concatenate(intercept), ok

    def _run(self, theta, lam, need_grad):
        theta = np.asarray(theta, dtype=float)
        alpha = float(np.exp(np.asarray(lam, dtype=float).ravel()[0]))
        args = [
            (chunk, theta, alpha, self.eta, state)
            for chunk, state in zip(self.chunks, self.states)
        ]
        if self.n_jobs in (None, 1) or len(self.chunks) == 1:
            results = [
                chunk_value_and_grad(*arg, need_grad=need_grad, tol=self.tol)
                for arg in args
            ]
        else:
            results = Parallel(n_jobs=self.n_jobs)(
                delayed(chunk_value_and_grad)(*arg, need_grad=need_grad, tol=self.tol)
                for arg in args
            )
        value = 0.0
        grad_theta = np.zeros_like(theta) if need_grad else None
        grad_alpha = 0.0
        for i, (v, gt, ga, state, info) in enumerate(results):
            value += v
            if need_grad:
                grad_theta += gt
                grad_alpha += ga
            self.states[i] = state
            self.all_converged &= bool(np.all(info["converged"]))
        return value, grad_theta, alpha * grad_alpha

    def value_and_grad(self, theta, lam):
        """``G``, ``dG/dtheta`` (P, L) and ``dG/dlog(alpha)`` (shape (1,))."""
        value, grad_theta, grad_log_alpha = self._run(theta, lam, True)
        return value, grad_theta, np.array([grad_log_alpha])

    def value(self, theta, lam):
        """``G(theta, exp(lam))``."""
        return self._run(theta, lam, False)[0]

    def solutions(self):
        """Coefficients ``(T, P)`` of the last call, chunks concatenated."""
        return np.concatenate([state[0] for state in self.states], axis=0)
