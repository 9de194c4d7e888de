# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Batched exact solver of the soft-group lasso (the lower level).

For every task ``t`` (paper eq. (8))::

    w_t = argmin_w  1/2 ||X_t w - y_t||^2 + alpha sum_l ||theta_l * w||_2
                    + eta/2 ||w||^2

``theta`` is shared (P, L) or given per task (T, P, L). The penalty is smooth
wherever every group norm ``n_l = ||theta_l * w||`` is positive. A group can
only be exactly zero with all its features, so a zero group pins every
feature ``j`` with ``theta_jl > 0`` to zero. The solution is described by the
set ``Z`` of zero groups: the pinned features are zero and the remaining
*free* features solve a smooth, strongly convex problem. The solver:

1. works on the free features only (an active set: with a near-binary
   ``theta`` a task has few nonzero groups, so the Newton systems are small;
   tasks are padded to the largest free set of the batch);
2. from a warm start (previous ``W`` and ``Z``), alternates exact damped
   Newton with ``Z`` fixed and updates of ``Z``: groups whose norm collapsed
   or whose block optimality test (zero is the best value of the group with
   the others fixed, a screening rule) passes join ``Z``, zero groups whose
   dual certificate fails leave it;
3. from a cold start, or when step 2 does not settle, identifies ``Z`` by
   damped Newton on the smoothed problem (``n_l -> sqrt(n_l^2 + mu^2)``)
   along a decreasing sequence of ``mu`` (from step 2's last iterate when
   there was a warm start, else from zero), then runs step 2.

A task is converged when its Newton decrement is below ``tol`` (relative to
``1/2 ||y_t||^2``), no nonzero group collapsed and every zero group passes
the dual certificate (``u_l`` with ``||u_l|| <= alpha`` and ``sum_{l in Z}
theta_l * u_l = -grad f`` on the pinned features; exact for one-hot rows,
sufficient in general). The line search is exact arithmetic on per-group
quadratics, so it costs no extra data pass.
"""

import numpy as np

_TINY = 1e-300
_STEPS = 0.5 ** np.arange(40)
_MU_POWERS = (2, 4, 6, 8, 10, 12)
_ZERO_REL = 1e-6
# Group norm (relative) below which Newton pauses to test the group for Z.
_SMALL_REL = 1e-3
# Smallest group norm used in 1 / n_l**3 (keeps the Hessian finite).
_NORM_FLOOR = 1e-60
# Z updates of the exact phase before falling back to the smoothing path.
# Most warm solves settle in 1-2 rounds; in a 500-task fit, the calls that
# ran 20 rounds spent 3/4 of the penalty stages' Newton steps and then fell
# back anyway (the smoothing path from the last iterate is cheaper).
_ROUNDS = 6


def group_sq_norms(W, s):
    """``n_l^2 = sum_j s_jl w_j^2`` for every task: (T, L)."""
    if s.ndim == 2:
        return (W * W) @ s
    return _vec_mat(W * W, s)


def _vec_mat(a, M):
    """``a_t^T M_t`` for every task: (T, k) and (T, k, m) -> (T, m)."""
    return np.matmul(a[:, None, :], M)[:, 0]


def _mat_vec(M, a):
    """``M_t a_t`` for every task: (T, k, m) and (T, m) -> (T, k)."""
    return np.matmul(M, a[:, :, None])[:, :, 0]


def pinning_counts(zero, support):
    """Number of zero groups whose support holds each feature: (T, P)."""
    z = zero.astype(float)
    if support.ndim == 2:
        return z @ support.T.astype(float)
    return _mat_vec(support.astype(float), z)


def free_mask(zero, support):
    """Free features: not in the support of any zero group. (T, P) bool."""
    return ~(pinning_counts(zero, support) > 0)


class _Reduced:
    """The problem restricted to each task's free features (padded).

    When the tasks have fewer training rows ``N`` than free features ``k``
    (with ``N + L <= k / 2``), the Hessian ``diag + X^T X - alpha V C V^T``
    is kept in factored form and solved by the Woodbury identity (a small
    ``(N + L)`` system per task) instead of a dense ``k x k`` one.
    """

    def __init__(self, gram, s, free):
        n_tasks, n_features = free.shape
        k = max(int(free.sum(axis=1).max(initial=0)), 1)
        # A permutation per task, free features first: the padding indices are
        # distinct pinned features, so scattering back writes their zeros.
        everything = k == n_features and free.all()
        if everything:  # no feature pinned: no gathering
            idx = np.broadcast_to(np.arange(k), (n_tasks, k))
            valid = free
        else:
            idx = np.argsort(~free, axis=1, kind="stable")[:, :k]
            valid = np.take_along_axis(free, idx, axis=1)
        self.Q = self.U = None
        X = gram.X
        if X is not None and X.shape[-2] + s.shape[-1] <= k // 2:
            XT = X.T[None] if X.ndim == 2 else X.transpose(0, 2, 1)
            if everything:
                XT = np.broadcast_to(XT, (n_tasks,) + XT.shape[1:])
            elif X.ndim == 2:
                XT = X.T[idx] * valid[:, :, None]
            else:
                XT = np.take_along_axis(XT, idx[:, :, None], axis=1)
                XT *= valid[:, :, None]
            # U = [X^T, V] (T, k, N + L) of the low-rank system: X^T is fixed,
            # the V columns are rewritten by every `hessian` call.
            n_rows = XT.shape[2]
            self.U = np.empty((n_tasks, k, n_rows + s.shape[-1]))
            self.U[:, :, :n_rows] = XT
        else:
            self.Q = _reduced_gram(gram, idx, valid)
        if everything:
            self.c = gram.c
            sr = s if s.ndim == 3 else np.broadcast_to(s, (n_tasks,) + s.shape)
        else:
            self.c = np.take_along_axis(gram.c, idx, axis=1) * valid
            if s.ndim == 2:
                sr = s[idx]
            else:
                sr = np.take_along_axis(s, idx[:, :, None], axis=1)
            sr = sr * valid[:, :, None]
        self.s = sr
        self.idx, self.valid, self.everything = idx, valid, everything
        self.scale, self.wscale = gram.scale, gram.wscale

    def gather(self, W):
        if self.everything:
            return W.copy()
        return np.take_along_axis(W, self.idx, axis=1) * self.valid

    def scatter(self, Wr, n_features):
        if self.everything:
            return Wr.copy()
        W = np.zeros((Wr.shape[0], n_features))
        np.put_along_axis(W, self.idx, Wr * self.valid, axis=1)
        return W

    def hessian(self, W, alpha, eta, active, mu=0.0, todo=None):
        """Gradient parts and Hessian of the reduced objective.

        Returns ``grad`` (T, k), the Newton system (:class:`_DenseSystem` or
        :class:`_LowRankSystem`), ``grad_f`` (smooth part) and the squared
        group norms, for the tasks ``todo`` (all when None). A low-rank
        system of all the tasks shares this object's workspace: it is valid
        until the next call.
        """
        c, s, valid, Q, U = self.c, self.s, self.valid, self.Q, self.U
        if todo is not None:
            c, s, valid = c[todo], s[todo], valid[todo]
            Q = None if Q is None else Q[todo]
            U = None if U is None else U[todo]
        nsq = group_sq_norms(W, s)
        n = np.sqrt(nsq + mu * mu)
        inv_n = np.where(active, 1.0 / np.maximum(n, _NORM_FLOOR), 0.0)
        dpen = _mat_vec(s, inv_n)
        if U is None:
            QW = _mat_vec(Q, W)
        else:
            XT = U[:, :, : U.shape[2] - s.shape[2]]
            QW = _mat_vec(XT, _vec_mat(W, XT))
        grad_f = QW - c + eta * W
        grad = np.where(valid, grad_f + alpha * W * dpen, 0.0)
        # Penalty curvature: diag(eta + alpha dpen) - alpha V diag(1/n^3) V^T
        # with V = W * s (column l: the features' weights in group l).
        diag = eta + alpha * dpen
        weights = -alpha * inv_n**3
        if U is None:  # Q already has the identity on the padding
            V = W[:, :, None] * s
            H = Q + np.matmul(V * weights[:, None, :], V.transpose(0, 2, 1))
            H[:, np.arange(H.shape[1]), np.arange(H.shape[1])] += diag
            system = _DenseSystem(H, Q)
        else:
            np.multiply(W[:, :, None], s, out=U[:, :, XT.shape[2] :])
            system = _LowRankSystem(diag + ~valid, U, weights)
        return grad, system, grad_f, nsq


def _reduced_gram(gram, idx, valid):
    """``Q`` restricted to the free features (identity on the padding)."""
    n_tasks, k = idx.shape
    if k == gram.c.shape[1] and valid.all():  # nothing pinned: idx is arange
        Qr = np.broadcast_to(gram.Q, (n_tasks, k, k))
    else:
        Qr = gram.reduced_Q(idx)
    pair = valid[:, :, None] & valid[:, None, :]
    Qr = np.where(pair, Qr, 0.0)
    Qr[:, np.arange(k), np.arange(k)] += ~valid
    return Qr


class _DenseSystem:
    """Newton system with an explicit Hessian ``H`` (T, k, k)."""

    def __init__(self, H, Q):
        self.H, self.Q = H, Q

    def solve(self, b):
        return batched_solve(self.H, b)

    def diagonal(self):
        return np.einsum("tii->ti", self.H)

    def smooth_quad(self, d):
        """``d^T Q d`` per task (the smooth part's curvature along ``d``)."""
        return np.einsum("tp,tp->t", np.matmul(self.Q, d[:, :, None])[:, :, 0], d)

    def subset(self, rows):
        return _DenseSystem(self.H[rows], self.Q[rows])


class _LowRankSystem:
    """``H = diag(D) + U diag(S) U^T`` with ``U = [X^T, V]`` (T, k, N + L),
    ``S = [1, ..., 1, -alpha / n^3]``, solved by the Woodbury identity
    ``H^{-1} = D^{-1} - D^{-1} U (I + S U^T D^{-1} U)^{-1} S U^T D^{-1}``
    (no inverse of ``S``, whose group entries may vanish)."""

    def __init__(self, D, U, weights):
        self.D, self.U = D, U
        self.n_rows = U.shape[2] - weights.shape[1]  # N
        self.S = np.ones(U.shape[:1] + U.shape[2:])
        self.S[:, self.n_rows :] = weights
        self._capacitance = None

    def solve(self, b):
        if self._capacitance is None:
            UD = self.U / self.D[:, :, None]
            K = np.matmul(self.U.transpose(0, 2, 1), UD)
            K *= self.S[:, :, None]
            K[:, np.arange(K.shape[1]), np.arange(K.shape[1])] += 1.0
            self._capacitance = (UD, K)
        UD, K = self._capacitance
        bD = b / self.D
        z = batched_solve(K, self.S * _vec_mat(bD, self.U))
        return bD - _mat_vec(UD, z)

    def diagonal(self):
        return self.D + np.einsum("tkm,tkm,tm->tk", self.U, self.U, self.S)

    def smooth_quad(self, d):
        Xd = _vec_mat(d, self.U[:, :, : self.n_rows])
        return np.einsum("tn,tn->t", Xd, Xd)

    def subset(self, rows):
        out = _LowRankSystem.__new__(_LowRankSystem)
        out.D, out.U, out.S = self.D[rows], self.U[rows], self.S[rows]
        out.n_rows = self.n_rows
        out._capacitance = None
        return out


def batched_solve(H, b):
    """``H_t^{-1} b_t`` for every task; a singular ``H_t`` only affects its own
    task (least squares), not the whole batch."""
    try:
        return np.linalg.solve(H, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for t in range(b.shape[0]):
            try:
                out[t] = np.linalg.solve(H[t], b[t])
            except np.linalg.LinAlgError:
                out[t] = np.linalg.lstsq(H[t], b[t], rcond=None)[0]
        return out


def _newton(red, W, alpha, eta, active, mu, tol, max_iter, small=None):
    """Damped Newton on the reduced (smoothed if mu > 0) problem.

    ``W`` is (T, k) in reduced coordinates. Returns the new ``W`` (a copy),
    per-task convergence flags and the number of Newton steps taken. With
    ``small`` (T, L) given, also returns a (T, L) mask of *vanishing* groups:
    a task stops early, unconverged, once an active group of norm at most
    ``small`` has a Newton step that crosses zero (``w_l . (w_l + d_l) <= 0``
    in the ``theta_l``-weighted inner product) or falls below ``small *
    _ZERO_REL / _SMALL_REL``, or when its line search fails next to a group
    norm below ``_ZERO_REL`` (relative). Newton only crawls towards a zero
    group (the norm's kink); the caller moves the group to the zero set
    instead.
    """
    W = W.copy()
    n_tasks = W.shape[0]
    mu = np.broadcast_to(np.asarray(mu, dtype=float).reshape(-1, 1), (n_tasks, 1))
    converged = np.zeros(n_tasks, dtype=bool)
    vanishing = np.zeros(active.shape, dtype=bool)
    todo = np.arange(n_tasks)
    n_steps = 0
    for _ in range(max_iter):
        if todo.size == 0:
            break
        sub = None if todo.size == n_tasks else todo
        Wt, act, mut = W[todo], active[todo], mu[todo]
        grad, system, grad_f, nsq = red.hessian(Wt, alpha, eta, act, mut, sub)
        d = -system.solve(grad)
        gd = np.einsum("tp,tp->t", grad, d)
        # H is positive definite in exact arithmetic; where rounding (a group
        # norm near zero) makes the direction useless, take a scaled gradient.
        ascent = ~(gd < 0) | ~np.isfinite(gd)
        if ascent.any():
            diag = np.abs(system.subset(ascent).diagonal())
            d[ascent] = -grad[ascent] / np.maximum(diag, _TINY)
            gd[ascent] = np.einsum("tp,tp->t", grad[ascent], d[ascent])
        done = -gd <= 2.0 * tol * red.scale[todo]
        # Exact line search model: f is quadratic and each group norm is the
        # square root of a quadratic in the step t.
        s = red.s if sub is None else red.s[todo]
        dQd = system.smooth_quad(d) + eta * np.einsum("tp,tp->t", d, d)
        gfd = np.einsum("tp,tp->t", grad_f, d)
        with np.errstate(over="ignore", invalid="ignore"):  # see _armijo
            A = nsq + mut * mut
            B = _vec_mat(Wt * d, s)
            C = _vec_mat(d * d, s)
        terms = (A, B, C, act, gfd, dQd, gd)
        # The full step first; the ladder of shorter ones only where it fails.
        new_sq, ok = _armijo(terms, alpha, _STEPS[:1])
        new_sq, ok = new_sq[:, 0], ok[:, 0]
        first = np.zeros(todo.size, dtype=np.intp)
        accepted = ok.copy()
        back = np.flatnonzero(~ok)
        if back.size:
            back_sq, back_ok = _armijo([x[back] for x in terms], alpha, _STEPS)
            first[back] = np.argmax(back_ok, axis=1)
            accepted[back] = back_ok.any(axis=1)
            taken = np.where(done[back], 0, first[back])[:, None, None]
            new_sq[back] = np.take_along_axis(back_sq, taken, axis=1)[:, 0]
        step = np.where(accepted, _STEPS[first], 0.0)
        step[done] = 1.0
        W[todo] = Wt + step[:, None] * d
        n_steps += 1
        stalled = (step == 0.0) & ~done
        if small is not None:
            norm_sq = new_sq  # the group norms at the step taken (t=1 if done)
            bound = small[todo] ** 2
            vanish = act & (
                ((A <= bound) & (A + B <= 0))
                | (norm_sq <= bound * (_ZERO_REL / _SMALL_REL) ** 2)
            )
            # A failed line search next to a (near) zero norm: the kink
            # blocks Newton whatever the exemptions.
            kink = A <= (_ZERO_REL * red.wscale[todo, None]) ** 2
            vanish |= act & kink & stalled[:, None]
            vanish &= ~done[:, None]
            vanishing[todo] = vanish
            stalled |= vanish.any(axis=1)
        converged[todo[done]] = True
        todo = todo[~(done | stalled)]
    if small is not None:
        return W, converged, n_steps, vanishing
    return W, converged, n_steps


def _armijo(terms, alpha, steps):
    """Squared group norms (T, n, L) and the Armijo test (T, n) at the trial
    ``steps`` of a Newton direction (the line search model of
    :func:`_newton`: ``f`` quadratic, each group norm the square root of a
    quadratic in the step)."""
    A, B, C, act, gfd, dQd, gd = terms
    t = steps[None, :, None]
    # A huge direction (a nearly singular H) overflows the model of its
    # trial steps: those steps are then rejected by the test.
    with np.errstate(over="ignore", invalid="ignore"):
        new_sq = np.maximum(A[:, None] + 2 * t * B[:, None] + t * t * C[:, None], 0)
        dpen = (2 * t * B[:, None] + t * t * C[:, None]) / (
            np.sqrt(new_sq) + np.sqrt(A)[:, None] + _TINY
        )
        dpen = np.where(act[:, None], dpen, 0.0).sum(axis=2)
        steps = steps[None, :]
        delta = steps * gfd[:, None] + 0.5 * steps**2 * dQd[:, None] + alpha * dpen
    return new_sq, delta <= 1e-4 * steps * gd[:, None]


def _task_view(s, support, todo):
    if s.ndim == 2:
        return s, support
    return s[todo], support[todo]


def _neg_grad(gram, W, s, alpha, eta, zero):
    """``-(grad f + alpha * penalty gradient of the nonzero groups)`` (T, P)."""
    nsq = group_sq_norms(W, s)
    inv_n = np.where(~zero, 1.0 / np.maximum(np.sqrt(nsq), _NORM_FLOOR), 0.0)
    dpen = inv_n @ s.T if s.ndim == 2 else _mat_vec(s, inv_n)
    grad_f = gram.qmul(W) - gram.c + eta * W
    return -(grad_f + alpha * W * dpen), grad_f, nsq


def _certificate_norms(g, s, zero, weights):
    """``||u_l||`` of the certificate ``u_lj = lam_l theta_jl g_j / sum_{l' in Z}
    lam_l' theta_jl'^2`` (it satisfies ``sum_{l in Z} theta_l * u_l = g`` on
    the pinned features for any weights ``lam > 0``)."""
    lz = zero * weights
    denom = lz @ s.T if s.ndim == 2 else _mat_vec(s, lz)
    ratio = np.where(denom > 0, g / np.maximum(denom, _TINY), 0.0)
    return weights * np.sqrt(group_sq_norms(ratio, s))


def kkt_violation(gram, W, s, support, alpha, eta, zero):
    """Zero groups whose dual certificate exceeds alpha: (T, L) bool.

    The certificate is a weighted least-squares split of ``g = -grad f`` on
    the pinned features among the zero groups that pin them. A feature
    pinned by one zero group leaves no choice; for features shared by
    several, the weights are balanced (a few multiplicative updates towards
    equal group norms, the minimax split) before a group is declared in
    violation, so that ``W = 0`` under an interior ``theta`` is recognised.
    """
    n_pinning = pinning_counts(zero, support)
    free = ~(n_pinning > 0)
    g, _, _ = _neg_grad(gram, W, s, alpha, eta, zero)
    g = np.where(free, 0.0, g)
    bound = alpha * (1 + 1e-6) + 1e-12 * np.sqrt(gram.scale)[:, None]
    weights = np.ones(zero.shape)
    u_norm = _certificate_norms(g, s, zero, weights)
    viol = zero & (u_norm > bound)
    # Only a feature pinned by several zero groups leaves a choice of split.
    rows = np.flatnonzero(viol.any(axis=1) & (n_pinning > 1).any(axis=1))
    if rows.size:
        s_r = s if s.ndim == 2 else s[rows]
        g_r, z_r, b_r = g[rows], zero[rows], bound[rows]
        w = weights[rows]
        for _ in range(50):
            u = _certificate_norms(g_r, s_r, z_r, w)
            open_rows = (z_r & (u > b_r)).any(axis=1)
            if not open_rows.any():
                break
            # Less load on the groups whose certificate is largest.
            step = np.sqrt(alpha / np.maximum(u, 1e-12 * alpha))
            step = np.where(open_rows[:, None] & z_r, step, 1.0)
            w = w * step
            w /= np.max(np.where(z_r, w, 0.0), axis=1, keepdims=True)
            w = np.where(z_r, np.maximum(w, 1e-12), 1.0)
        u = _certificate_norms(g_r, s_r, z_r, w)
        viol[rows] = z_r & (u > b_r)
    return viol


def _block_zero_test(gram, W, s, support, alpha, eta, zero):
    """Nonzero groups whose best value, the other groups fixed, is zero.

    Setting group ``l`` to zero pins its support; zero is then optimal for
    the group alone when ``||g^(l) / theta_l|| <= alpha`` on its support, with
    ``g^(l) = -grad f`` at ``W`` with the group's features zeroed (the
    group-lasso screening rule). A heuristic for the active set: the dual
    certificate of the next round checks it.
    """
    _, grad_f, _ = _neg_grad(gram, W, s, alpha, eta, zero)
    sup = support if support.ndim == 3 else support[None]
    Wl = W[:, :, None] * sup  # (T, P, L): each group's part of W
    QWl = gram.qmul(Wl)
    g = -(grad_f[:, :, None] - QWl - eta * Wl)
    theta = np.sqrt(s) if s.ndim == 3 else np.sqrt(s)[None]
    ratio = np.where(sup, g / np.where(sup, theta, 1.0), 0.0)
    r = np.sqrt(np.einsum("tpl,tpl->tl", ratio, ratio))
    return ~zero & sup.any(axis=1) & (r <= alpha)


def _smooth_path(red, Wr, alpha, eta, active, tol, powers, max_iter=50):
    """Damped Newton on the smoothed reduced problem along decreasing mu."""
    n_steps = 0
    for power in powers:
        mu = red.wscale * 10.0**-power
        Wr, _, k = _newton(red, Wr, alpha, eta, active, mu, tol, max_iter)
        n_steps += k
    return Wr, n_steps


def _enter_groups(gram, W, s, support, alpha, eta, zero, released):
    """Move the groups ``released`` (no longer in ``zero``) from zero onto
    their block minimizer.

    Group ``l`` leaves ``Z`` because its certificate failed: ``r_l =
    ||g / theta_l|| > alpha`` on the features it frees (``g = -grad f``, the
    other groups fixed). Along ``u_j = g_j / theta_jl^2`` the objective is
    ``-t r_l^2 + alpha t r_l + t^2 kappa_l / 2`` (``kappa_l`` the curvature
    of the smooth part and of the nonzero groups sharing the features), so
    ``t = r_l (r_l - alpha) / kappa_l > 0`` puts the group's norm well away
    from the kink at zero, where the Newton model is useless. Released
    groups are entered together (disjoint features for one-hot rows).
    """
    s3 = s if s.ndim == 3 else s[None]
    sup3 = support if support.ndim == 3 else support[None]
    pinned = zero | released
    freed = free_mask(zero, support) & ~free_mask(pinned, support)
    g, _, nsq = _neg_grad(gram, W, s, alpha, eta, pinned)
    mask = sup3 & freed[:, :, None] & released[:, None, :]
    U = np.where(mask, g[:, :, None] / np.where(mask, s3, 1.0), 0.0)  # (T, P, L)
    gu = np.einsum("tp,tpl->tl", g, U)
    pen = np.sqrt(np.einsum("tpl,tpl->tl", U * U, s3))
    QU = gram.qmul(U)
    kappa = np.einsum("tpl,tpl->tl", U, QU) + eta * np.einsum("tpl,tpl->tl", U, U)
    inv_n = np.where(~pinned, 1.0 / np.maximum(np.sqrt(nsq), _NORM_FLOOR), 0.0)
    kappa += alpha * np.einsum("tpl,tpm,tm->tl", U * U, s3, inv_n)
    step = np.where(
        released & (kappa > 0), np.maximum(gu - alpha * pen, 0.0), 0.0
    ) / np.where(kappa > 0, kappa, 1.0)
    return W + np.einsum("tpl,tl->tp", U, step)


def _overlaps(groups, support):
    """(T, L) mask: group ``l`` shares a feature with another group of
    ``groups`` (T, L)."""
    if support.ndim == 2:
        sup = support.astype(float)
        pair = sup.T @ sup
        np.fill_diagonal(pair, 0.0)
        return (groups.astype(float) @ pair) > 0
    # Only tasks with a feature in several groups have overlaps (none with
    # one-hot rows, e.g. the polish's moved assignments).
    out = np.zeros(groups.shape, dtype=bool)
    rows = np.flatnonzero((support.sum(axis=2) > 1).any(axis=1))
    if rows.size:
        sup = support[rows].astype(float)
        pair = np.einsum("tpl,tpm->tlm", sup, sup)
        pair[:, np.arange(pair.shape[1]), np.arange(pair.shape[1])] = 0.0
        out[rows] = np.einsum("tlm,tm->tl", pair, groups[rows].astype(float)) > 0
    return out


def _with_blockers(release, zero, support):
    """Add to ``release`` the zero groups that share a feature with a
    released group (overlapping supports): while they stay in ``Z`` they
    pin the shared features, the part of the certificate that failed, and
    the released group could not move off zero."""
    if not release.any():
        return release
    return release | (zero & _overlaps(release, support))


def _exact_phase(gram, W, s, support, alpha, eta, zero, tol, max_iter):
    """Newton with ``Z`` fixed, alternated with updates of ``Z`` (step 2).

    Each round: Newton on the free features (a task stops early when a group
    vanishes, see :func:`_newton`); then groups that vanished, or that pass
    the block optimality test in a task where Newton was slow, join ``Z``,
    and zero groups whose dual certificate fails leave it, entering at their
    block minimizer (:func:`_enter_groups`). A vanishing group sharing
    features with other groups (fractional ``theta``) joins ``Z`` only if
    the block test agrees; otherwise it is legitimately tiny and Newton
    goes on. Tasks still open after ``_ROUNDS`` rounds, or after two rounds
    where Newton ran out of steps with ``Z`` unchanged, are left unconverged
    (the caller restarts them from the smoothing path).
    """
    n_tasks, n_features = W.shape
    W, zero = W.copy(), zero.copy()
    released = np.zeros_like(zero)
    # Groups that left Z twice by a failed certificate no longer return to it
    # by their norm alone (a legitimately tiny group would cycle).
    n_released = np.zeros(zero.shape, dtype=np.intp)
    # Rounds where Newton ran out of steps with Z unchanged: the iterate is
    # crawling among tiny groups; after two, the task is left to the
    # smoothing path of the caller.
    n_crawls = np.zeros(n_tasks, dtype=np.intp)
    # Vanishing groups kept nonzero by the block test: legitimately tiny.
    tiny = np.zeros_like(zero)
    conv = np.zeros(n_tasks, dtype=bool)
    todo = np.arange(n_tasks)
    n_steps = 0
    for _ in range(_ROUNDS):
        sub = gram.subset(todo)
        s_t, sup_t = _task_view(s, support, todo)
        z = zero[todo]
        Wt = W[todo]
        rel = released[todo]
        rows = np.flatnonzero(rel.any(axis=1))
        if rows.size:
            s_r, sup_r = _task_view(s_t, sup_t, rows)
            Wt[rows] = _enter_groups(
                sub.subset(rows), Wt[rows], s_r, sup_r, alpha, eta, z[rows], rel[rows]
            )
        red = _Reduced(sub, s_t, free_mask(z, sup_t))
        forced = n_released[todo] >= 2
        small = np.where(forced | tiny[todo], 0.0, _SMALL_REL) * sub.wscale[:, None]
        Wr, newton_ok, k, vanishing = _newton(
            red,
            red.gather(Wt),
            alpha,
            eta,
            ~z,
            0.0,
            tol,
            max_iter,
            small,
        )
        n_steps += k
        Wt = red.scatter(Wr, n_features)
        norms = np.sqrt(group_sq_norms(Wt, s_t)) / sub.wscale[:, None]
        has_support = sup_t.any(axis=1) if sup_t.ndim == 3 else sup_t.any(axis=0)
        live = ~z & has_support
        vanishing &= live
        # A vanishing group that shares features with other live groups
        # (fractional theta) pins them if zero: only when the block test says
        # zero is its best value.
        shared = vanishing & _overlaps(live, sup_t)
        rows = np.flatnonzero(shared.any(axis=1))
        if rows.size:
            s_r, sup_r = _task_view(s_t, sup_t, rows)
            zero_ok = _block_zero_test(
                sub.subset(rows), Wt[rows], s_r, sup_r, alpha, eta, z[rows]
            )
            keep = shared[rows] & ~zero_ok
            vanishing[rows] &= ~keep
            tiny[todo[rows]] |= keep
        collapsed = live & (
            (~forced & (norms <= _ZERO_REL)) | vanishing | (norms <= 1e-30)
        )
        viol = kkt_violation(sub, Wt, s_t, sup_t, alpha, eta, z)
        ok = newton_ok & ~(collapsed | viol).any(axis=1)
        screened = np.zeros_like(z)
        slow = ~newton_ok & ~viol.any(axis=1) & ~collapsed.any(axis=1)
        if slow.any():
            screened[slow] = _block_zero_test(
                sub.subset(np.flatnonzero(slow)),
                Wt[slow],
                s_t if s_t.ndim == 2 else s_t[slow],
                sup_t if sup_t.ndim == 2 else sup_t[slow],
                alpha,
                eta,
                z[slow],
            )
        new_zero = z | collapsed | screened
        release = _with_blockers(viol, new_zero, sup_t)
        W[todo] = Wt
        conv[todo] = ok
        released[todo] = release
        n_released[todo] += release
        zero[todo] = new_zero & ~release
        n_crawls[todo] += slow & ~screened.any(axis=1)
        todo = todo[~ok & (n_crawls[todo] < 2)]
        if todo.size == 0:
            break
    return W, zero, conv, n_steps


def _continuation(gram, s, support, alpha, eta, tol, W=None, powers=_MU_POWERS):
    """Smoothed Newton along decreasing mu; returns W and identified zeros."""
    n_tasks, n_features = gram.c.shape
    n_groups = s.shape[-1]
    active = np.ones((n_tasks, n_groups), dtype=bool)
    red = _Reduced(gram, s, np.ones((n_tasks, n_features), dtype=bool))
    Wr = np.zeros((n_tasks, red.idx.shape[1])) if W is None else red.gather(W)
    n_steps = 0
    norms = None
    for power in powers:
        mu = gram.wscale * 10.0**-power
        Wr, _, k = _newton(red, Wr, alpha, eta, active, mu, tol, 50)
        n_steps += k
        nsq = group_sq_norms(Wr, red.s)
        norms, previous = np.sqrt(nsq), norms
    # As mu -> 0, a nonzero group keeps its norm while a zero group's norm
    # shrinks like mu rho_l / sqrt(1 - rho_l^2) (rho_l < 1 its dual ratio):
    # between the last two stages the former barely moves, the latter drops
    # by the factor between the two mu's.
    # Groups below 1e-6 of the coefficient scale are also declared zero; the
    # dual certificate of the exact phase reactivates them if they are not.
    zero = (norms <= 0.1 * previous) | (norms <= _ZERO_REL * gram.wscale[:, None])
    return red.scatter(Wr, n_features), zero, n_steps


def solve_lower(
    gram, theta, alpha, eta, *, W0=None, zero0=None, tol=1e-10, max_iter=30
):
    """Solve the lower level for a batch of tasks.

    Parameters
    ----------
    gram : Gram
        Gram matrices of the tasks (:meth:`TaskChunk.gram`).
    theta : ndarray of shape (P, L) or (T, P, L)
        Relaxed assignment (nonnegative), shared or one per task.
    alpha, eta : float
        Group-lasso strength and ridge term.
    W0, zero0 : ndarray, default=None
        Warm start (coefficients and zero groups from a previous call).
    tol : float
        Newton-decrement tolerance relative to ``1/2 ||y_t||^2``.
    max_iter : int
        Newton steps per exact phase (between two updates of the zero
        groups).

    Returns
    -------
    W : ndarray of shape (T, P)
    zero : ndarray of shape (T, L) of bool
    converged : ndarray of shape (T,) of bool
    n_steps : int
        Number of batched Newton steps.
    """
    theta = np.asarray(theta, dtype=float)
    s = theta * theta
    support = theta > 0
    n_tasks = gram.c.shape[0]
    n_steps = 0
    W = np.zeros((n_tasks, theta.shape[-2]))
    zero = np.zeros((n_tasks, theta.shape[-1]), dtype=bool)
    conv = np.zeros(n_tasks, dtype=bool)
    if W0 is not None:
        W, zero, conv, n_steps = _exact_phase(
            gram, W0, s, support, alpha, eta, zero0, tol, max_iter
        )
    bad = np.flatnonzero(~conv)
    if bad.size:
        sub = gram.subset(bad)
        s_b, sup_b = _task_view(s, support, bad)
        # The smoothing path starts from the warm start's iterate when there
        # is one (the smoothed problems are strongly convex: only the number
        # of steps depends on the start).
        W_start = None if W0 is None else W[bad]
        Wb, zb, k = _continuation(sub, s_b, sup_b, alpha, eta, tol, W=W_start)
        n_steps += k
        Wb, zb, cb, k = _exact_phase(sub, Wb, s_b, sup_b, alpha, eta, zb, tol, max_iter)
        n_steps += k
        W[bad], zero[bad], conv[bad] = Wb, zb, cb
    return W, zero, conv, n_steps
